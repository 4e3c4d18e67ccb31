"""A deterministic, realistic synthetic ``Report`` for the writers' tests, visual checks and benchmarks.

Not used by a run: the pipeline builds the real Report. ``make_report(n_findings=400)``.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .. import model
from ..model import EvalResult, LoadResult, Period, Report

DEPARTMENTS = [
    "广州市政务服务数据管理局", "广州市公安局", "广州市民政局", "广州市卫生健康委员会", "广州市市场监督管理局",
    "广州市人力资源和社会保障局", "广州市教育局", "广州市住房和城乡建设局", "广州市自然资源局（规划和自然资源）",
    "广州市交通运输局", "广州市税务局", "广州市生态环境局", "天河区政务服务数据管理局", "海珠区民政局",
    "广州市规划和自然资源局/测绘地理信息分局",
]
RULES = [
    ("GZ165-08-1", "8 ¶1", "部门未编制政务信息资源目录", "严重", "目录管理"),
    ("GZ165-08-2", "8 ¶2", "目录更新报送超过15个工作日", "一般", "目录管理"),
    ("GZ165-10-1", "10 ¶1", "共享类型缺失或无效", "严重", "目录管理"),
    ("GZ165-10-3", "10 ¶3", "有条件共享缺少共享条件或依据", "一般", "目录管理"),
    ("GZ165-11-1", "11 ¶3", "共享资源目录要素不全", "一般", "目录管理"),
    ("GZ165-16-1", "16 ¶1", "未通过共享平台交换非涉密信息", "严重", "平台共享"),
    ("GZ165-17-1", "17 ¶1", "未公布共享责任人员", "一般", "平台共享"),
    ("GZ165-18-1", "18, 11", "数据超过一个更新周期未更新", "提示", "数据提供"),
    ("GZ165-19-2", "19 ¶2", "数据变化后超过5个工作日未上平台", "一般", "数据提供"),
    ("GZ165-20-1", "20 ¶2", "共享资源未经保密审查", "严重", "数据提供"),
    ("GZ165-20-2", "20 ¶2", "涉密信息上共享平台", "严重", "数据提供"),
    ("GZ165-REQ-1", "国发51号", "共享申请超过10个工作日未答复", "一般", "共享服务"),
    ("GZ165-DIS-1", "地方政策", "数据异议超过5个工作日未核实", "一般", "共享服务"),
]
ARTICLE_TEXT = ("各政务部门应当根据政务信息资源目录体系的要求，编制本部门政务信息资源目录，报送本级政务信息共享主管部门。"
                "有关法律法规作出修订或者行政管理职能发生变化的，各政务部门应当自发生变化之日起15个工作日内更新本部门政务信息资源目录。")
INPUT_OF = {"GZ165-08-1": "departments", "GZ165-08-2": "catalog_changes", "GZ165-16-1": "exchanges",
            "GZ165-17-1": "officers", "GZ165-19-2": "updates", "GZ165-REQ-1": "requests", "GZ165-DIS-1": "disputes"}
SHEET_OF = {t: model.TABLE_TITLES[t] for t in model.TABLES}


def make_report(n_findings: int = 400, *, history: bool = True, waivers: bool = True, seed: int = 7,
                departments: list[str] | None = None, period: str = "2026-10") -> Report:
    rng = np.random.default_rng(seed)
    depts = list(departments or DEPARTMENTS)
    per = Period.parse(period)
    rule_ids = [r[0] for r in RULES]
    rules = pd.DataFrame({
        "rule_id": rule_ids, "article": [r[1] for r in RULES], "article_text": ARTICLE_TEXT,
        "title": [r[2] for r in RULES], "explanation": [r[2] + "。" for r in RULES],
        "severity": [r[3] for r in RULES], "dimension": [r[4] for r in RULES],
        "inputs": [INPUT_OF.get(r[0], "catalog") for r in RULES],
    })
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
        "rule_id": rid, "severity": np.array([r[3] for r in RULES])[ri],
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
    params = {"GZ165-08-2": {"working_days": 15}, "GZ165-19-2": {"working_days": 5},
              "GZ165-REQ-1": {"working_days": 10}}
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
    dims = ["目录管理", "平台共享", "数据提供", "共享服务"]
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
    for r in rule_ids[:-1]:
        sc[r] = np.round(rng.uniform(60, 100, len(depts)), 1)
    sc["coverage"] = 87.5
    sc["rules_applicable"] = 12
    sc["raw_grade"] = sc["grade"]
    sc["capped_by"] = None
    sc.loc[len(sc) - 1, ["grade", "capped_by"]] = ["不合格", "P-20-2"]
    pack = {"pack": "gz165", "version": "2026.11.1", "title": "《广州市政务信息共享管理规定》合规检查规则包",
            "regulation": "广州市政务信息共享管理规定（市政府令第165号，2019年7月1日起施行）",
            "dimensions": [{"name": d, "weight": w, "rules": [r[0] for r in RULES if r[4] == d]}
                           for d, w in zip(dims, [30, 25, 30, 15])],
            "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 75}, {"grade": "合格", "min": 60},
                       {"grade": "不合格", "min": 0}],
            "policies": [{"id": "P-20-2", "title": "涉密信息上平台一票否决"},
                         {"id": "P-16-1", "title": "绕开平台点对点交换，等级最高为合格"}]}
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
