"""Grade policies (pack.yaml ``policies``) run on durable_rules — the only module that imports it.

durable_rules is unmaintained and has traps we measured, so this adapter is deliberately small:
- one fresh ruleset per call (unique name: pid + counter), never reused;
- facts asserted ONE BY ONE (``post_batch``/``assert_facts`` lose or delay work at ~20k facts), each with an
  explicit unique ``id`` (fact identity is otherwise a 32-bit hash of the content);
- a catch-all rule on ``kind == "dept"`` so a fact that matches no policy is still handled (durable raises
  ``MessageNotHandledException`` otherwise; the tempting ``+m.id`` "field exists" condition hangs the engine);
- after the run, every fact must have been seen by the catch-all exactly once, else ``PolicyError``.

The rules engine only decides WHICH policies fire for which department. Applying them is plain Python, in a
fixed order that does not depend on firing order:
1. ``score``: the score becomes the lowest score set by a firing policy, and the grade is re-derived from it;
2. ``grade``: the grade becomes the worst grade set by a firing policy;
3. ``max_grade``: the grade is capped at every firing cap (the worst cap wins).
"""
from __future__ import annotations

import itertools
import os
import threading
from decimal import Decimal
from typing import Any

import pandas as pd

from .errors import PackError, SharecheckError

__all__ = ["apply_policies", "grade_of", "validate_policies", "PolicyError", "NO_GRADE"]

NO_GRADE = "无法评分"
_counter = itertools.count(1)
_lock = threading.Lock()


class PolicyError(SharecheckError):
    """The policy engine did not handle every department (should never happen; the run stops)."""


def grade_of(score: Any, grades: list[dict[str, Any]]) -> str:
    """The first grade (highest ``min`` first) whose ``min`` the score reaches; NO_GRADE for a missing score."""
    if score is None or score is pd.NA or (isinstance(score, float) and score != score):
        return NO_GRADE
    s = Decimal(str(score))
    for g in sorted(grades, key=lambda g: Decimal(str(g["min"])), reverse=True):
        if s >= Decimal(str(g["min"])):
            return str(g["grade"])
    return str(sorted(grades, key=lambda g: Decimal(str(g["min"])))[0]["grade"])


def validate_policies(policies: list[dict[str, Any]], grades: list[dict[str, Any]]) -> None:
    names = {str(g["grade"]) for g in grades}
    seen = set()
    for i, p in enumerate(policies or []):
        where = f"pack.yaml 的 policies 第 {i + 1} 条"
        if not isinstance(p, dict) or not isinstance(p.get("when"), dict) or not isinstance(p.get("then"), dict):
            raise PackError(f"{where} 应有 id、title、when、then")
        pid = str(p.get("id", ""))
        if not pid or pid in seen:
            raise PackError(f"{where} 的 id「{pid}」为空或重复")
        seen.add(pid)
        if not p["when"].get("rule"):
            raise PackError(f"{where}（{pid}）的 when 缺少 rule")
        mf = p["when"].get("min_findings", 1)
        if not isinstance(mf, int) or isinstance(mf, bool) or mf < 1:
            raise PackError(f"{where}（{pid}）的 min_findings 应为不小于 1 的整数")
        then = p["then"]
        unknown = set(then) - {"score", "grade", "max_grade"}
        if unknown or not then:
            raise PackError(f"{where}（{pid}）的 then 只能有 score、grade、max_grade")
        for k in ("grade", "max_grade"):
            if k in then and str(then[k]) not in names:
                raise PackError(f"{where}（{pid}）的 {k}「{then[k]}」不是 grades 中的等级")
        if "score" in then and not (isinstance(then["score"], (int, float)) and 0 <= then["score"] <= 100):
            raise PackError(f"{where}（{pid}）的 score 应为 0–100 的数")


def _recorder(fired: dict[int, list[int]], j: int):
    # durable_rules calls an action with (c, complete) when it takes two parameters and then waits for
    # ``complete`` forever: actions must take exactly one parameter (no ``j=j`` default-argument closures).
    def action(c):
        fired.setdefault(int(c.m.idx), []).append(j)
    return action


def _fired(facts: list[dict[str, Any]], policies: list[dict[str, Any]]) -> dict[int, list[int]]:
    """Run the policies on durable_rules: fact index -> indexes of the policies that fired (sorted)."""
    from durable.lang import assert_fact, m, ruleset, when_all  # noqa: PLC0415 — kept inside this adapter

    fired: dict[int, list[int]] = {}
    handled: dict[int, int] = {}
    with _lock:
        name = f"sharecheck_policies_{os.getpid()}_{next(_counter)}"
        with ruleset(name):
            for j, p in enumerate(policies):
                field = f"n{j}"
                limit = int(p["when"].get("min_findings", 1))

                when_all(getattr(m, field) >= limit)(_recorder(fired, j))

            def catch_all(c):
                handled[int(c.m.idx)] = handled.get(int(c.m.idx), 0) + 1

            when_all(m.kind == "dept")(catch_all)

        for i, f in enumerate(facts):
            fact = {"id": f"dept-{i}", "idx": i, "kind": "dept"}
            for j, p in enumerate(policies):
                fact[f"n{j}"] = int(f["counts"].get(str(p["when"]["rule"]), 0))
            try:
                assert_fact(name, fact)
            except Exception as exc:  # MessageNotHandledException or an engine failure: never a traceback
                raise PolicyError(f"等级规则引擎处理部门「{f.get('department', '')}」时出错（{type(exc).__name__}）："
                                  "请检查 pack.yaml 的 policies；若仍出现，请联系维护人员") from None
    missing = [i for i in range(len(facts)) if handled.get(i) != 1]
    if missing:
        raise PolicyError(f"等级规则引擎未处理全部部门（{len(missing)} 个部门未处理，"
                          f"如「{facts[missing[0]].get('department', '')}」）：请重新运行；若仍出现，请联系维护人员")
    return {i: sorted(v) for i, v in fired.items()}


def apply_policies(facts: pd.DataFrame, pack: dict[str, Any]) -> pd.DataFrame:
    """Apply ``pack["policies"]`` to one fact per department.

    ``facts``: columns ``department``, ``score`` (float or NA), ``grade`` (the raw grade) and one column per rule
    ID holding the department's counted findings (a missing rule column counts as 0).
    Returns a frame on the same index: ``score``, ``grade``, ``policies`` (ids joined with ``；``) and
    ``capped_by`` (titles joined with ``；``, "" when none).
    """
    policies = list(pack.get("policies") or [])
    grades = list(pack["grades"])
    validate_policies(policies, grades)
    out = pd.DataFrame({"score": facts["score"].astype("Float64"), "grade": facts["grade"].astype(object),
                        "policies": "", "capped_by": ""}, index=facts.index)
    if not policies or facts.empty:
        return out
    rules = sorted({str(p["when"]["rule"]) for p in policies})
    counts = pd.DataFrame({r: (pd.to_numeric(facts[r], errors="coerce").fillna(0).astype("int64")
                               if r in facts.columns else 0) for r in rules}, index=facts.index)
    records = [{"department": d, "counts": c} for d, c in
               zip(facts["department"].tolist(), counts.to_dict("records"))]
    fired = _fired(records, policies)

    order = {str(g["grade"]): Decimal(str(g["min"])) for g in grades}   # higher min = better grade
    scores = out["score"].tolist()
    grade_list = out["grade"].tolist()
    ids, titles = [""] * len(facts), [""] * len(facts)
    for i, js in fired.items():          # only the departments a policy fired for (few)
        ps = [policies[j] for j in js]
        set_scores = [p["then"]["score"] for p in ps if "score" in p["then"]]
        score, grade = scores[i], grade_list[i]
        if set_scores:
            score = float(min(set_scores))
            grade = grade_of(score, grades)
        set_grades = [str(p["then"]["grade"]) for p in ps if "grade" in p["then"]]
        if set_grades:
            grade = min(set_grades, key=lambda g: order[g])
        for p in ps:
            cap = p["then"].get("max_grade")
            if cap is not None and grade in order and order[grade] > order[str(cap)]:
                grade = str(cap)
        scores[i], grade_list[i] = score, grade
        ids[i] = "；".join(str(p["id"]) for p in ps)
        titles[i] = "；".join(str(p.get("title") or p["id"]) for p in ps)
    out["score"] = pd.array(scores, dtype="Float64")
    out["grade"] = grade_list
    out["policies"] = ids
    out["capped_by"] = titles
    return out
