"""Scorecard: hand-computed scores (weights spreading, floors, waivers, rounding half up, ranks, policies)."""
from __future__ import annotations

from fractions import Fraction

from pathlib import Path

import pandas as pd
import pytest
import yaml

from checker.model import FINDING_COLUMNS, NOT_CHECKED_COLUMNS, RULE_INFO_COLUMNS
from checker.score import round_half_up, score, scored_rules

with open(Path(__file__).resolve().parents[1] / "rules" / "gz165" / "pack.yaml", encoding="utf-8") as fh:
    PACK = yaml.safe_load(fh)
DIMS = ["目录管理", "平台共享", "数据提供", "共享服务"]


def findings(*rows) -> pd.DataFrame:
    """rows: (rule_id, department, severity[, status])."""
    out = []
    for i, r in enumerate(rows):
        rule, dept, sev = r[:3]
        st = r[3] if len(r) > 3 else "新增"
        out.append({"rule_id": rule, "severity": sev, "department": dept, "counterpart": None, "input": "catalog",
                    "file": "目录.xlsx", "sheet": "信息资源", "row": i + 2, "key": f"K{i}", "message": "…",
                    "status": st})
    return pd.DataFrame(out, columns=FINDING_COLUMNS + ["status"])


def checked(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["rule_id", "department", "checked"])


def depts(*names) -> pd.DataFrame:
    return pd.DataFrame({"部门名称": list(names), "部门代码": [None] * len(names)})


NONE_MISSING = pd.DataFrame(columns=NOT_CHECKED_COLUMNS)


def row(sc: pd.DataFrame, dept: str) -> pd.Series:
    return sc.set_index("department").loc[dept]


def test_columns_exactly_as_architecture():
    sc = score(findings(), checked(("GZ165-10-1", "甲局", 1)), NONE_MISSING, PACK, depts("甲局"))
    rules = [r for d in PACK["dimensions"] for r in d["rules"] if r != "GZ165-18-1"]
    assert list(sc.columns) == (["department", "score", "grade", "rank"] + DIMS + rules
                                + ["coverage", "rules_applicable", "raw_grade", "capped_by"])
    assert len(rules) == 30


def test_hand_computed_weights_spread_inside_and_across_dimensions():
    # 甲局: 10-1 4 findings / 10 checked -> 60%; 10-3 0/5 -> 100%  => 目录管理 80%
    #       17-1 1/1 -> 0%                                         => 平台共享 0%
    #       数据提供, 共享服务 not applicable (their weight spreads)
    # score = (30×0.8 + 25×0) / 55 = 24/55 = 43.636… -> 43.6
    f = findings(*[("GZ165-10-1", "甲局", "一般")] * 4, ("GZ165-17-1", "甲局", "一般"))
    c = checked(("GZ165-10-1", "甲局", 10), ("GZ165-10-3", "甲局", 5), ("GZ165-17-1", "甲局", 1))
    sc = score(f, c, NONE_MISSING, PACK, depts("甲局"))
    r = row(sc, "甲局")
    assert r["GZ165-10-1"] == 60.0 and r["GZ165-10-3"] == 100.0 and r["GZ165-17-1"] == 0.0
    assert r["目录管理"] == 80.0 and r["平台共享"] == 0.0
    assert pd.isna(r["数据提供"]) and pd.isna(r["共享服务"]) and pd.isna(r["GZ165-10-2"])
    assert r["score"] == 43.6 and r["grade"] == "不合格" and r["raw_grade"] == "不合格"
    assert r["rules_applicable"] == 3 and r["coverage"] == 10.0       # 3 of 30 scored rules


def test_rule_weights_inside_a_dimension():
    pack = yaml.safe_load(yaml.safe_dump(PACK, allow_unicode=True))
    pack["dimensions"][0]["rule_weights"] = {"GZ165-10-1": 3}          # others default 1
    f = findings(("GZ165-10-1", "甲局", "严重"))
    c = checked(("GZ165-10-1", "甲局", 2), ("GZ165-10-3", "甲局", 2))
    r = row(score(f, c, NONE_MISSING, pack, depts("甲局")), "甲局")
    # (3×0.5 + 1×1) / 4 = 62.5%
    assert r["目录管理"] == 62.5 and r["score"] == 62.5 and r["grade"] == "合格"


def test_floor_at_zero_and_advisory_and_waived_not_counted():
    f = findings(*[("GZ165-10-1", "甲局", "一般")] * 5,                  # 5 findings on 2 units -> 0, not −150%
                 ("GZ165-16-2", "甲局", "一般", "已豁免"),               # waived: listed, not scored
                 ("GZ165-16-2", "甲局", "提示"),                         # advisory severity: not scored
                 ("GZ165-18-1", "甲局", "提示"))                         # advisory rule: never scored
    c = checked(("GZ165-10-1", "甲局", 2), ("GZ165-16-2", "甲局", 4), ("GZ165-18-1", "甲局", 9))
    r = row(score(f, c, NONE_MISSING, PACK, depts("甲局")), "甲局")
    assert r["GZ165-10-1"] == 0.0
    assert r["GZ165-16-2"] == 100.0
    assert "GZ165-18-1" not in r.index
    assert r["score"] == round(25 * 100 / 55, 1) == 45.5                  # (30×0 + 25×1)/55
    assert r["rules_applicable"] == 2


def test_rounding_half_up_at_x_x5():
    # 10-1: 1 finding / 8 units -> 87.5% ; 10-3: 0/1 -> 100% ; 目录管理 = 93.75 -> 93.8 (Python round gives 93.8
    # too, so also check a true .x5 that binary floats get wrong: 1/16 -> 6.25% of ... see below)
    f = findings(("GZ165-10-1", "甲局", "一般"))
    c = checked(("GZ165-10-1", "甲局", 8), ("GZ165-10-3", "甲局", 1))
    r = row(score(f, c, NONE_MISSING, PACK, depts("甲局")), "甲局")
    assert r["目录管理"] == 93.8 and r["score"] == 93.8
    # 1 − 7/40 = 82.5% exactly; 1 − 3/16 = 81.25 -> 81.3 (round() gives 81.2: banker's rounding)
    assert round(81.25, 1) == 81.2
    f2 = findings(*[("GZ165-10-1", "乙局", "一般")] * 3)
    c2 = checked(("GZ165-10-1", "乙局", 16))
    r2 = row(score(f2, c2, NONE_MISSING, PACK, depts("乙局")), "乙局")
    assert r2["GZ165-10-1"] == 81.3 and r2["score"] == 81.3
    assert round_half_up(Fraction(255, 100)) == Fraction(26, 10)       # 2.55 -> 2.6 (float 2.55 is 2.5499…)
    assert round_half_up(Fraction(254999, 100000)) == Fraction(25, 10)
    assert round_half_up(Fraction(0)) == 0 and round_half_up(Fraction(100)) == 100


def test_not_checked_rule_is_not_applicable_even_with_units():
    f = findings(("GZ165-REQ-1", "甲局", "一般"))
    c = checked(("GZ165-REQ-1", "甲局", 1), ("GZ165-10-1", "甲局", 1))
    nc = pd.DataFrame({"rule_id": ["GZ165-REQ-1"], "missing_inputs": ["requests"], "reason": ["未提供共享申请"]})
    r = row(score(f, c, nc, PACK, depts("甲局")), "甲局")
    assert pd.isna(r["GZ165-REQ-1"]) and pd.isna(r["共享服务"])
    assert r["score"] == 100.0


def test_findings_without_checked_units_still_count():
    # the engine forgot the unit: the finding is not ignored (units := findings)
    f = findings(("GZ165-08-1", "甲局", "严重"))
    r = row(score(f, checked(("GZ165-10-1", "甲局", 1)), NONE_MISSING, PACK, depts("甲局")), "甲局")
    assert r["GZ165-08-1"] == 0.0


def test_ties_share_rank_and_no_score_is_last():
    f = findings(("GZ165-10-1", "乙局", "一般"), ("GZ165-10-1", "丙局", "一般"))
    c = checked(("GZ165-10-1", "甲局", 4), ("GZ165-10-1", "乙局", 4), ("GZ165-10-1", "丙局", 4),
                ("GZ165-10-1", "丁局", 4))
    f = pd.concat([f, findings(*[("GZ165-10-1", "丁局", "一般")] * 2)], ignore_index=True)
    sc = score(f, c, NONE_MISSING, PACK, depts("戊局", "丁局", "丙局", "乙局", "甲局"))
    assert sc["department"].tolist() == ["甲局", "丙局", "乙局", "丁局", "戊局"]
    assert sc["score"].tolist()[:4] == [100.0, 75.0, 75.0, 50.0]
    assert sc["rank"].tolist()[:4] == [1, 2, 2, 4]
    last = sc.iloc[-1]
    assert pd.isna(last["score"]) and pd.isna(last["rank"]) and last["grade"] == "无法评分"
    assert last["rules_applicable"] == 0 and last["coverage"] == 0.0
    assert str(sc["score"].dtype) == "Float64" and str(sc["rank"].dtype) == "Int64"


def test_policies_applied_and_listed():
    f = findings(("GZ165-16-1", "甲局", "严重"),
                 ("GZ165-20-2", "乙局", "严重"),
                 ("GZ165-08-1", "丙局", "严重"),
                 ("GZ165-20-2", "丁局", "严重", "已豁免"))                # waived: no veto
    c = checked(*[(r, d, 100) for d in ["甲局", "乙局", "丙局", "丁局"]
                  for r in ["GZ165-16-1", "GZ165-20-2", "GZ165-08-1"]])
    sc = score(f, c, NONE_MISSING, PACK, depts("甲局", "乙局", "丙局", "丁局"))
    a, b, cc, d = (row(sc, x) for x in ["甲局", "乙局", "丙局", "丁局"])
    assert a["raw_grade"] == "优秀" and a["grade"] == "合格" and a["capped_by"] == "绕开平台点对点交换，等级最高为合格"
    assert b["grade"] == "不合格" and b["capped_by"] == "涉密信息上平台一票否决" and b["score"] > 90
    assert cc["score"] == 0.0 and cc["grade"] == "不合格" and cc["raw_grade"] == "优秀"
    assert d["grade"] == "优秀" and d["capped_by"] == ""
    # rank uses the final score: 丙局 (0 after P-08-1) is last
    assert sc["department"].tolist()[-1] == "丙局"


def test_rule_catalogue_decides_advisory_rules():
    info = pd.DataFrame([{"rule_id": r, "severity": "提示" if r == "GZ165-19-3" else "一般"}
                         for d in PACK["dimensions"] for r in d["rules"]], columns=RULE_INFO_COLUMNS)
    ids = [r for r, _, _ in scored_rules(PACK, info)]
    assert "GZ165-19-3" not in ids and "GZ165-18-1" in ids


def test_deterministic_and_empty_inputs():
    f = findings(("GZ165-10-1", "乙局", "一般"))
    c = checked(("GZ165-10-1", "甲局", 3), ("GZ165-10-1", "乙局", 3))
    a = score(f, c, NONE_MISSING, PACK, depts("乙局", "甲局"))
    b = score(f.iloc[::-1], c.iloc[::-1], NONE_MISSING, PACK, depts("甲局", "乙局"))
    pd.testing.assert_frame_equal(a, b)
    assert a.to_csv(index=False) == b.to_csv(index=False)
    empty = score(findings(), checked(), NONE_MISSING, PACK, depts())
    assert empty.empty and "score" in empty.columns
