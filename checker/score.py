"""Per-department scorecard (rules.md "Scorecard", architecture.md "Scoring").

rate(rule, dept) = max(0, 1 − counted findings / checked units) for every rule with checked units;
a dimension's rate is the (weighted) mean of its applicable rules; score = 100 × Σ(dim weight × dim rate) /
Σ(weights of the dimensions that apply), rounded half up to one decimal. The arithmetic is exact (integers
and ``Fraction``), so x.x5 always rounds up. Grade policies (``pack["policies"]``) are applied by
``checker.policy`` on durable_rules.

Readings (see the report of the scoring engineer / docs):
- counted findings: severity in ``pack["scored_severities"]`` and status not 已豁免;
- an advisory rule (declared severity not scored, e.g. GZ165-18-1) is never scored and has no rate column;
- a department with counted findings on a rule always has that rule applicable: its checked units are taken as
  at least its number of findings (a finding is never silently ignored);
- a department with no applicable rule gets score <NA>, grade 无法评分, rank <NA> (listed last).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import PackError
from .model import STATUS_WAIVED
from .policy import NO_GRADE, apply_policies, grade_of, validate_policies

__all__ = ["score", "scored_rules", "DEFAULT_ADVISORY_RULES", "round_half_up", "counted_mask", "open_mask",
           "advisory_rules", "scored_severities"]

# Rules that are advisory by definition when no rule catalogue is given (rules.md: "GZ165-18-1, advisory by
# definition, is not scored"). With ``rules=`` (the pack's rule_info()) the declared severities decide.
DEFAULT_ADVISORY_RULES: tuple[str, ...] = ()      # a pack lists its own (pack.yaml advisory_rules)
DEPT_NAME = "部门名称"


def round_half_up(x: Fraction, places: int = 1) -> Fraction:
    """Exact half-up rounding of a non-negative rational to ``places`` decimals."""
    q = 10 ** places
    return Fraction(int((x * q * 2 + 1) // 2), q)


def scored_severities(pack: Mapping[str, Any] | None) -> list[str]:
    """The severities that are scored (``pack["scored_severities"]``, default 严重/一般)."""
    return list((pack or {}).get("scored_severities") or ["严重", "一般"])


def advisory_rules(pack: Mapping[str, Any] | None, rules: pd.DataFrame | None = None) -> set[str]:
    """Rules that are never scored: declared severity not scored (with ``rules``), else the pack's list."""
    sev_ok = set(scored_severities(pack))
    if rules is not None and len(rules) and {"rule_id", "severity"} <= set(rules.columns):
        return set(rules.loc[~rules["severity"].isin(sev_ok), "rule_id"].astype(str))
    return set((pack or {}).get("advisory_rules", DEFAULT_ADVISORY_RULES))


def open_mask(findings: pd.DataFrame) -> pd.Series:
    """Findings not waived (未豁免), whatever their severity (``--fail-on``, the run summary)."""
    if "status" not in findings.columns:
        return pd.Series(True, index=findings.index, dtype=bool)
    return findings["status"].astype(object).ne(STATUS_WAIVED).astype(bool)


def counted_mask(findings: pd.DataFrame, pack: Mapping[str, Any] | None,
                 rules: pd.DataFrame | None = None) -> pd.Series:
    """THE definition of a counted finding (计分问题, rules.md "Scorecard"), used by the scorecard, the
    规则汇总 sheet, each department's 各规则合规率 sheet and the HTML page alike: severity scored (严重/一般),
    not waived, and its rule not advisory (an advisory rule such as GZ165-18-1 is never scored)."""
    if findings is None or not len(findings):
        return pd.Series(False, index=getattr(findings, "index", None), dtype=bool)
    m = findings["severity"].isin(scored_severities(pack)) & open_mask(findings)
    adv = advisory_rules(pack, rules)
    if adv:
        m &= ~findings["rule_id"].astype(str).isin(adv)
    return m.astype(bool)


def _num(v: Any, what: str) -> Fraction:
    try:
        f = Fraction(str(v))
    except (ValueError, TypeError):
        raise PackError(f"pack.yaml：{what}「{v}」不是数字") from None
    if f < 0:
        raise PackError(f"pack.yaml：{what}「{v}」不能为负数")
    return f


def scored_rules(pack: Mapping[str, Any], rules: pd.DataFrame | None = None) -> list[tuple[str, str, Fraction]]:
    """(rule_id, dimension, rule weight) of every rule that is scored, in pack order."""
    advisory = advisory_rules(pack, rules)
    out = []
    for d in pack["dimensions"]:
        rw = d.get("rule_weights") or {}
        if isinstance(rw, list):
            rw = dict(zip(d["rules"], rw))
        for r in d["rules"]:
            if str(r) in advisory:
                continue
            out.append((str(r), str(d["name"]), _num(rw.get(r, 1), f"维度「{d['name']}」规则 {r} 的权重")))
    return out


def _pct(fr: Fraction | None) -> float | None:
    return None if fr is None else float(round_half_up(fr * 100))


def score(findings: pd.DataFrame, checked: pd.DataFrame, not_checked: pd.DataFrame, pack: Mapping[str, Any],
          departments: pd.DataFrame | None, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scorecard: one row per department, sorted by rank then name.

    Columns: ``department, score, grade, rank, <dimension names…>, <scored rule IDs…>, coverage,
    rules_applicable, raw_grade, capped_by``. Dimension and rule columns are rates in percent (one decimal,
    Float64, <NA> when 不适用); ``coverage`` = applicable rules / scored rules of the pack, in percent.
    ``rules`` (optional, RULE_INFO_COLUMNS) gives the declared severities that decide which rules are advisory.
    """
    validate_policies(list(pack.get("policies") or []), list(pack["grades"]))
    srules = scored_rules(pack, rules)
    rule_ids = [r for r, _, _ in srules]
    dims = [str(d["name"]) for d in pack["dimensions"]]
    dim_w = {str(d["name"]): _num(d.get("weight", 0), f"维度「{d['name']}」的权重") for d in pack["dimensions"]}
    not_run = set(not_checked["rule_id"].astype(str)) if not_checked is not None and len(not_checked) else set()
    live = [r for r in rule_ids if r not in not_run]

    # department list: the directory plus any department the engine counted units or findings for
    names: list[str] = []
    if departments is not None and DEPT_NAME in departments.columns:
        names += departments[DEPT_NAME].dropna().astype(str).tolist()
    if checked is not None and len(checked):
        names += checked["department"].dropna().astype(str).tolist()
    if findings is not None and len(findings):
        names += findings["department"].dropna().astype(str).tolist()
    depts = sorted({n for n in names if n.strip()})
    if departments is not None and DEPT_NAME in departments.columns:
        # a department not in 部门名录 (a typo in 提供部门) is an input defect: not scored, not ranked; its
        # findings are listed under its name in 「部门名录中没有的部门」 (issue 8 C2)
        known = set(departments[DEPT_NAME].dropna().astype(str))
        depts = [d for d in depts if d in known]

    # checked units and counted findings, dept × rule (integer matrices)
    idx = pd.Index(depts, name="department")
    if checked is not None and len(checked):
        ch = checked[checked["rule_id"].astype(str).isin(live)]
        units = (ch.assign(checked=pd.to_numeric(ch["checked"], errors="coerce").fillna(0).astype("int64"))
                 .groupby(["department", "rule_id"])["checked"].sum().unstack("rule_id"))
    else:
        units = pd.DataFrame()
    units = units.reindex(index=idx, columns=live).fillna(0).astype("int64")
    if findings is not None and len(findings):
        f = findings
        counted = counted_mask(f, pack, rules)
        cnt = f[counted & f["rule_id"].astype(str).isin(live)].groupby(["department", "rule_id"]).size() \
            .unstack("rule_id")
        policy_counts = f[counted].groupby(["department", "rule_id"]).size().unstack("rule_id")
    else:
        cnt, policy_counts = pd.DataFrame(), pd.DataFrame()
    cnt = cnt.reindex(index=idx, columns=live).fillna(0).astype("int64")
    units = np.maximum(units, cnt)                       # a finding is never ignored (see module doc)

    # exact rates; a rule applies where it has checked units
    U, K = units.to_numpy(), cnt.to_numpy()
    applies = U > 0
    weights = {r: w for r, _, w in srules}
    dim_of = {r: d for r, d, _ in srules}
    rows = []
    for i, dept in enumerate(depts):
        rates: dict[str, Fraction] = {}
        for j, r in enumerate(live):
            if applies[i, j]:
                rates[r] = max(Fraction(0), 1 - Fraction(int(K[i, j]), int(U[i, j])))
        dim_rate: dict[str, Fraction | None] = {}
        for d in dims:
            rs = [r for r in rates if dim_of[r] == d]
            wsum = sum((weights[r] for r in rs), Fraction(0))
            if not rs or wsum == 0:
                dim_rate[d] = None
            else:
                dim_rate[d] = sum((weights[r] * rates[r] for r in rs), Fraction(0)) / wsum
        wsum = sum((dim_w[d] for d in dims if dim_rate[d] is not None), Fraction(0))
        if wsum > 0:
            raw = round_half_up(100 * sum((dim_w[d] * dim_rate[d] for d in dims if dim_rate[d] is not None),
                                          Fraction(0)) / wsum)
            raw_score = float(raw)
        else:
            raw_score = None
        row = {"department": dept, "score": raw_score}
        for d in dims:
            row[d] = _pct(dim_rate[d])
        for r in rule_ids:
            row[r] = _pct(rates.get(r))
        row["rules_applicable"] = len(rates)
        row["coverage"] = (float(round_half_up(Fraction(100 * len(rates), len(rule_ids))))
                           if rule_ids else None)
        rows.append(row)

    cols = ["department", "score", "grade", "rank"] + dims + rule_ids + ["coverage", "rules_applicable",
                                                                          "raw_grade", "capped_by"]
    if not rows:
        return _typed(pd.DataFrame({c: [] for c in cols}), dims, rule_ids)[cols]
    sc = pd.DataFrame(rows)
    grades = list(pack["grades"])
    sc["raw_grade"] = [grade_of(s, grades) for s in sc["score"]]

    # grade policies on one fact per department (counted findings per rule of any policy)
    facts = pd.DataFrame({"department": sc["department"], "score": sc["score"], "grade": sc["raw_grade"]})
    pol_rules = sorted({str(p["when"]["rule"]) for p in pack.get("policies") or []})
    pc = policy_counts.reindex(index=idx, columns=pol_rules).fillna(0).astype("int64")
    for r in pol_rules:
        facts[r] = pc[r].to_numpy()
    pol = apply_policies(facts, dict(pack))
    sc["score"] = pol["score"].to_numpy()
    sc["grade"] = pol["grade"].to_numpy()
    sc["capped_by"] = pol["capped_by"].to_numpy()

    # competition ranking on the final score, NA last
    s = pd.array(sc["score"], dtype="Float64")
    sc["score"] = s
    sc["rank"] = pd.Series(s).rank(method="min", ascending=False).astype("Int64").to_numpy()
    sc = sc.sort_values(["rank", "department"], na_position="last", kind="stable").reset_index(drop=True)
    return _typed(sc, dims, rule_ids)[cols]


def _typed(sc: pd.DataFrame, dims: list[str], rule_ids: list[str]) -> pd.DataFrame:
    sc = sc.copy()
    for c in ["score", "coverage"] + dims + rule_ids:
        sc[c] = pd.array(sc[c], dtype="Float64") if len(sc) else pd.array([], dtype="Float64")
    for c in ["rank", "rules_applicable"]:
        sc[c] = pd.array(sc[c], dtype="Int64") if len(sc) else pd.array([], dtype="Int64")
    for c in ["department", "grade", "raw_grade", "capped_by"]:
        sc[c] = sc[c].astype(object)
    return sc


NO_SCORE_GRADE = NO_GRADE   # the grade of a department with no applicable rule
