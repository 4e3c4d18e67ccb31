"""Every rule file's `examples` run through the real engine (one parametrised test)."""
from __future__ import annotations

from collections import Counter

import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.examples import example_period, example_tables

PACK = load_pack("gz165")
CAL = Calendar.load()
CASES = [(r.id, i) for r in PACK.rules for i, _ in enumerate(r.data.get("examples") or [])]


def test_every_rule_has_a_failing_example():
    assert len(PACK.rules) == 31
    for r in PACK.rules:
        exs = r.data.get("examples") or []
        assert any(ex.get("findings") for ex in exs), f"{r.id} has no example with a finding"


@pytest.mark.parametrize("rule_id,idx", CASES, ids=[f"{r}#{i}" for r, i in CASES])
def test_rule_example(rule_id, idx):
    rule = PACK.rule(rule_id)
    ex = rule.data["examples"][idx]
    period, as_of = example_period(ex)
    res = evaluate(example_tables(ex), PACK.subset([rule_id]), period, as_of, CAL)
    assert res.not_checked.empty, res.not_checked
    want = [f if isinstance(f, dict) else {"key": f} for f in ex.get("findings") or []]
    assert Counter(res.findings["key"]) == Counter(w["key"] for w in want), res.findings[["key", "message"]]
    for w in want:
        m = res.findings["key"] == w["key"]
        for field in ("department", "severity", "counterpart"):
            if field in w:
                m &= res.findings[field] == w[field]
        assert m.any(), (w, res.findings)
    assert sorted(res.pending["key"]) == sorted(ex.get("pending") or [])
    if "skipped" in ex:
        reasons = res.skipped[~res.skipped["reason"].str.contains("审计期间")]
        assert int(reasons["count"].sum()) == ex["skipped"], res.skipped
    # messages are complete Chinese sentences naming values, never a template or a traceback
    for msg in list(res.findings["message"]) + list(res.pending["message"]):
        assert msg and "{" not in msg and "}" not in msg and "nan" not in msg.lower()
    assert (res.findings["rule_id"] == rule_id).all()
    # a finding names its source row, except one about a missing record (`row: ~`: 08-1, 17-1, 19-3)
    about_missing = all(c.row is None for c in rule.checks)
    assert (res.findings["row"].isna() if about_missing else res.findings["row"].notna()).all()
