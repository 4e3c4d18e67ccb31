"""A deterministic, realistic synthetic ``Report`` for the writers' tests, visual checks (tools/look.py) and
benchmarks: a test fixture, not part of the package (issue 8 F4).

The rule catalogue, the pack (dimensions, weights, grades, policies) and the parameters are the REAL gz165
pack's, so that the fixture cannot drift from it; findings, scores and inputs are synthetic.
``make_report(n_findings=400)``.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from checker import model
from checker.model import EvalResult, LoadResult, Period, Report

DEPARTMENTS = [
    "广州市政务服务数据管理局", "广州市公安局", "广州市民政局", "广州市卫生健康委员会", "广州市市场监督管理局",
    "广州市人力资源和社会保障局", "广州市教育局", "广州市住房和城乡建设局", "广州市自然资源局（规划和自然资源）",
    "广州市交通运输局", "广州市税务局", "广州市生态环境局", "天河区政务服务数据管理局", "海珠区民政局",
    "广州市规划和自然资源局/测绘地理信息分局",
]
# The rules findings are drawn from (real IDs of the pack); the last one, GZ165-DIS-1, is "not checked".
FINDING_RULES = ["GZ165-08-1", "GZ165-08-2", "GZ165-10-1", "GZ165-10-3", "GZ165-11-1", "GZ165-16-1", "GZ165-17-1",
                 "GZ165-18-1", "GZ165-19-2", "GZ165-20-1", "GZ165-20-2", "GZ165-REQ-1", "GZ165-DIS-1"]
INPUT_OF = {"GZ165-08-1": "departments", "GZ165-08-2": "catalog_changes", "GZ165-16-1": "exchanges",
            "GZ165-17-1": "officers", "GZ165-19-2": "updates", "GZ165-REQ-1": "requests", "GZ165-DIS-1": "disputes"}
SHEET_OF = {t: model.TABLE_TITLES[t] for t in model.TABLES}


@lru_cache(maxsize=1)
def real_pack():
    """(rule catalogue, pack manifest, parameters) of the bundled gz165 pack."""
    from checker import engine
    p = engine.load_pack("gz165")
    return p.rule_info(), dict(p.manifest), p.params_used()


def make_report(n_findings: int = 400, *, history: bool = True, waivers: bool = True, seed: int = 7,
                departments: list[str] | None = None, period: str = "2026-10") -> Report:
    rng = np.random.default_rng(seed)
    depts = list(departments or DEPARTMENTS)
    per = Period.parse(period)
    real_rules, real_manifest, real_params = real_pack()
    rules = real_rules.copy()
    sev_of = dict(zip(rules["rule_id"], rules["severity"]))
    RULES = [(r, sev_of[r]) for r in FINDING_RULES]
    rule_ids = [r[0] for r in RULES]
    # findings
    ri = rng.integers(0, len(RULES) - 1, n_findings)       # GZ165-DIS-1 is "not checked"
    di = rng.integers(0, len(depts), n_findings)
    rid = np.array(rule_ids)[ri]
    inp = np.array([INPUT_OF.get(r, "catalog") for r in rule_ids])[ri]
    seq = np.arange(n_findings)
    keys = pd.Series([f"44010{d:02d}{s:06d}" for d, s in zip(di, seq)], dtype=object)
    msg = pd.Series([f"报送滞后 {int(x)} 个工作日，超过 15 个工作日" for x in rng.integers(16, 60, n_findings)],
                    dtype=object)
    status = np.where(seq % 11 == 0, model.STATUS_WAIVED, np.where(seq % 3 == 0, model.STATUS_PERSISTING,
                                                                   model.STATUS_NEW))
    rows = pd.array(rng.integers(2, 5000, n_findings), dtype="Int64")
    rows[seq % 17 == 0] = pd.NA
    f = pd.DataFrame({
        "rule_id": rid, "severity": np.array([r[1] for r in RULES])[ri],
        "department": np.array(depts, dtype=object)[di],
        "counterpart": np.where(seq % 4 == 0, np.array(depts, dtype=object)[(di + 1) % len(depts)], None),
        "input": inp, "file": "2026年10月共享数据导出.xlsx", "sheet": [SHEET_OF[t] for t in inp], "row": rows,
        "key": keys, "message": msg,
    })
    f["status"] = status
    f["waiver_id"] = np.where(status == model.STATUS_WAIVED, "W-001", None)
    f = f.sort_values(["rule_id", "department", "key"], kind="mergesort").reset_index(drop=True)
    # checked units
    ch = pd.DataFrame([(r, d, int(50 + 7 * i + j)) for i, r in enumerate(rule_ids[:-1]) for j, d in enumerate(depts)],
                      columns=model.CHECKED_COLUMNS)
    pend = pd.DataFrame({
        "rule_id": "GZ165-19-2", "department": [depts[i % len(depts)] for i in range(40)], "input": "updates",
        "file": "数据更新.xlsx", "sheet": "数据更新", "row": pd.array(range(2, 42), dtype="Int64"),
        "key": [f"RC{i:05d}@2026-10-29 10:00:00" for i in range(40)],
        "due": pd.Timestamp("2026-11-05"), "message": "数据变化后尚未上平台，最迟 2026-11-05 办理",
    })
    nc = pd.DataFrame({"rule_id": ["GZ165-DIS-1"], "missing_inputs": [["disputes"]],
                       "reason": ["未提供数据异议表（数据异议），本规则未检查"]})
    sk = pd.DataFrame({"rule_id": ["GZ165-19-2"], "input": ["updates"], "count": [12],
                       "reason": ["数据变化时间缺失或无法识别"]})
    params = {k: dict(v) for k, v in real_params.items() if v}
    # tables and defects (defects attributable through the tables' meta columns)
    cat = pd.DataFrame({"信息资源代码": [f"RC{i:05d}" for i in range(60)],
                        "提供部门": [depts[i % len(depts)] for i in range(60)],
                        "_file": "目录.xlsx", "_sheet": "信息资源", "_row": pd.array(range(2, 62), dtype="Int64")})
    defects = pd.DataFrame({
        "table": "catalog", "file": "目录.xlsx", "sheet": "信息资源", "row": pd.array(range(2, 32), dtype="Int64"),
        "column": "共享类型", "value": [f"类型{i}" for i in range(30)], "problem": "共享类型无法识别",
    })
    defects = pd.concat([defects, pd.DataFrame({
        "table": ["exchanges"], "file": ["交换日志.csv"], "sheet": [""], "row": pd.array([7], dtype="Int64"),
        "column": ["提供部门"], "value": ["不存在的部门"], "problem": ["部门名录中无此部门"]})], ignore_index=True)
    load = LoadResult(tables={"catalog": cat},
                      inputs=[{"path": "目录.xlsx", "sheet": "信息资源", "table": "catalog", "rows": 60,
                               "sha256": "ab" * 32},
                              {"path": "2026年10月共享数据导出.xlsx", "sheet": "部门名录", "table": "departments",
                               "rows": len(depts), "sha256": "cd" * 32}],
                      defects=defects)
    result = EvalResult(findings=f, checked=ch, pending=pend, not_checked=nc, skipped=sk, params=params)
    # scorecard
    dims = [d["name"] for d in real_manifest["dimensions"]]
    score = np.round(rng.uniform(40, 99, len(depts)), 1)
    order = np.argsort(-score, kind="stable")
    sc = pd.DataFrame({"department": np.array(depts, dtype=object)[order], "score": score[order]})
    sc["grade"] = pd.cut(sc["score"], [-1, 60, 75, 90, 101], right=False,
                         labels=["不合格", "合格", "良好", "优秀"]).astype(str)
    sc["rank"] = sc["score"].rank(method="min", ascending=False).astype(int)
    for j, d in enumerate(dims):
        v = np.round(rng.uniform(50, 100, len(depts)), 1).astype(object)
        if j == 3:
            v[::4] = pd.NA
        sc[d] = v
    from checker.score import scored_rules
    for r, _, _ in scored_rules(real_manifest, rules):
        if r != "GZ165-DIS-1":
            sc[r] = np.round(rng.uniform(60, 100, len(depts)), 1)
    sc["coverage"] = 87.5
    sc["rules_applicable"] = 12
    sc["raw_grade"] = sc["grade"]
    sc["capped_by"] = None
    sc.loc[len(sc) - 1, ["grade", "capped_by"]] = ["不合格", "P-20-2"]
    pack = real_manifest
    wv = None
    if waivers:
        wv = pd.DataFrame({"waiver_id": ["W-001", "W-002", "W-003"], "rule_id": ["GZ165-10-1", "GZ165-17-1", "GZ165-20-1"],
                           "department": [depts[1], depts[2], depts[3]], "key": [None, None, "RC00003"],
                           "reason": ["系统改造中，已书面说明", "人员调整", "已完成保密审查，待补录"],
                           "approver": ["张三", "李四", "王五"],
                           "valid_until": [date(2026, 12, 31), date(2026, 9, 30), date(2026, 12, 31)],
                           "expired": [False, True, False], "covered": [int((status == model.STATUS_WAIVED).sum()), 0, 0],
                           "file": "豁免.xlsx", "row": [2, 3, 4]})
    resolved = trends = None
    prev = None
    if history:
        prev = "2026-09"
        resolved = pd.DataFrame({"rule_id": ["GZ165-10-1"] * 5, "department": depts[:5],
                                 "key": [f"RC9{i:04d}" for i in range(5)], "message": "共享类型缺失", "since": "2026-08"})
        periods = ["2026-07", "2026-08", "2026-09", "2026-10"]
        tr = [(p, d, float(np.round(min(100, s - 3 * (3 - k) + (i % 5)), 1)), "")
              for k, p in enumerate(periods) for i, (d, s) in enumerate(zip(sc["department"], sc["score"]))]
        trends = pd.DataFrame(tr, columns=model.TREND_COLUMNS)
        f["since"] = np.where(f["status"] == model.STATUS_PERSISTING, "2026-08", None)
    return Report(period=per, as_of=per.end, pack=pack, params=params, rules=rules, load=load, result=result,
                  scorecard=sc, waivers=wv, resolved=resolved, trends=trends, previous_period=prev)
