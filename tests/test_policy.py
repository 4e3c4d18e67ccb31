"""Grade policies on durable_rules: same result as a plain Python reading, every fact handled, runs isolated."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.errors import PackError
from checker.policy import NO_GRADE, apply_policies, grade_of, validate_policies

with open(Path(__file__).resolve().parents[1] / "rules" / "gz165" / "pack.yaml", encoding="utf-8") as fh:
    PACK = yaml.safe_load(fh)
GRADES = PACK["grades"]
ORDER = {g["grade"]: g["min"] for g in GRADES}
RULES = ["GZ165-20-2", "GZ165-16-1", "GZ165-08-1", "GZ165-10-1"]


def reference(fact: dict, policies: list[dict]) -> tuple[float | None, str, list[str]]:
    """Plain reading: which policies fire, then score -> grade -> caps."""
    fired = [p for p in policies if fact.get(p["when"]["rule"], 0) >= p["when"].get("min_findings", 1)]
    score, grade = fact["score"], fact["grade"]
    sets = [p["then"]["score"] for p in fired if "score" in p["then"]]
    if sets:
        score = float(min(sets))
        grade = grade_of(score, GRADES)
    gs = [p["then"]["grade"] for p in fired if "grade" in p["then"]]
    if gs:
        grade = min(gs, key=ORDER.get)
    for p in fired:
        cap = p["then"].get("max_grade")
        if cap and grade in ORDER and ORDER[grade] > ORDER[cap]:
            grade = cap
    return score, grade, [p["id"] for p in fired]


def facts_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["department", "score", "grade"] + RULES)


def test_grade_of():
    assert grade_of(90.0, GRADES) == "优秀" and grade_of(89.9, GRADES) == "良好"
    assert grade_of(75, GRADES) == "良好" and grade_of(60.0, GRADES) == "合格" and grade_of(0.0, GRADES) == "不合格"
    assert grade_of(None, GRADES) == NO_GRADE and grade_of(float("nan"), GRADES) == NO_GRADE


_fact = st.builds(
    lambda i, s, counts: {"department": f"部门{i}", "score": s,
                          "grade": grade_of(s, GRADES), **dict(zip(RULES, counts))},
    st.integers(0, 10**6),
    st.one_of(st.none(), st.integers(0, 1000).map(lambda x: x / 10)),
    st.lists(st.integers(0, 3), min_size=len(RULES), max_size=len(RULES)),
)
_then = st.one_of(
    st.fixed_dictionaries({"grade": st.sampled_from(list(ORDER))}),
    st.fixed_dictionaries({"max_grade": st.sampled_from(list(ORDER))}),
    st.fixed_dictionaries({"score": st.integers(0, 100)}),
    st.fixed_dictionaries({"score": st.integers(0, 100), "grade": st.sampled_from(list(ORDER))}),
)
_policy_lists = st.lists(st.tuples(st.sampled_from(RULES), st.integers(1, 3), _then), max_size=5).map(
    lambda ps: [{"id": f"P{i}", "title": f"策略{i}", "when": {"rule": r, "min_findings": n}, "then": t}
                for i, (r, n, t) in enumerate(ps)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_fact, min_size=1, max_size=25), st.one_of(st.just(PACK["policies"]), _policy_lists))
def test_same_as_plain_reading(facts, policies):
    pack = {"grades": GRADES, "policies": policies}
    f = facts_frame(facts)
    f.index = [f"x{i}" for i in range(len(f))]
    out = apply_policies(f, pack)
    assert list(out.index) == list(f.index)
    for i, fact in enumerate(facts):
        s, g, ids = reference(fact, policies)
        got = out.iloc[i]
        assert got["grade"] == g
        assert (pd.isna(got["score"]) and s is None) or got["score"] == s
        assert got["policies"] == "；".join(ids)
        assert got["capped_by"] == "；".join(p["title"] for p in policies if p["id"] in ids)


def test_fact_matching_no_policy_is_handled():
    f = facts_frame([{"department": "甲局", "score": 88.0, "grade": "良好", **{r: 0 for r in RULES}}])
    out = apply_policies(f, PACK)
    assert out.iloc[0]["grade"] == "良好" and out.iloc[0]["capped_by"] == "" and out.iloc[0]["score"] == 88.0


def test_300_facts_in_one_run_all_handled():
    rows = [{"department": f"部门{i:03d}", "score": 95.0, "grade": "优秀",
             "GZ165-20-2": int(i % 7 == 0), "GZ165-16-1": int(i % 3 == 0), "GZ165-08-1": 0, "GZ165-10-1": 0}
            for i in range(300)]
    # identical contents for many facts: identity must come from the explicit id, not the content hash
    out = apply_policies(facts_frame(rows), PACK)
    assert len(out) == 300
    exp = ["不合格" if i % 7 == 0 else "合格" if i % 3 == 0 else "优秀" for i in range(300)]
    assert out["grade"].tolist() == exp


def test_two_runs_do_not_interfere():
    strict = {"grades": GRADES, "policies": [{"id": "A", "title": "甲", "when": {"rule": "GZ165-10-1",
                                                                                 "min_findings": 1},
                                                "then": {"grade": "不合格"}}]}
    lenient = {"grades": GRADES, "policies": [{"id": "B", "title": "乙", "when": {"rule": "GZ165-10-1",
                                                                                  "min_findings": 3},
                                                 "then": {"max_grade": "良好"}}]}
    f = facts_frame([{"department": "甲局", "score": 99.0, "grade": "优秀", "GZ165-10-1": 2}])
    for _ in range(3):
        assert apply_policies(f, strict).iloc[0]["grade"] == "不合格"
        assert apply_policies(f, lenient).iloc[0]["grade"] == "优秀"
    assert apply_policies(f.iloc[:0], strict).empty


def test_missing_rule_column_counts_as_zero_and_no_policies():
    f = pd.DataFrame({"department": ["甲局"], "score": [70.0], "grade": ["合格"]})
    assert apply_policies(f, PACK).iloc[0]["grade"] == "合格"
    assert apply_policies(f, {"grades": GRADES, "policies": []}).iloc[0]["policies"] == ""


@pytest.mark.parametrize("bad, match", [
    ([{"id": "X", "title": "t", "when": {"rule": "GZ165-10-1"}, "then": {"grade": "很差"}}], "不是 grades"),
    ([{"id": "X", "title": "t", "when": {"rule": "GZ165-10-1", "min_findings": 0}, "then": {"grade": "合格"}}],
     "min_findings"),
    ([{"id": "X", "title": "t", "when": {"rule": "GZ165-10-1"}, "then": {"bonus": 5}}], "then 只能有"),
    ([{"id": "X", "title": "t", "when": {}, "then": {"grade": "合格"}}], "缺少 rule"),
])
def test_invalid_policies_are_pack_errors(bad, match):
    with pytest.raises(PackError, match=match):
        validate_policies(bad, GRADES)
