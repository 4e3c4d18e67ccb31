"""evaluate(): not-checked inputs, keys and attribution, ordering determinism, result frames."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.examples import example_tables
from checker.model import (CHECKED_COLUMNS, FINDING_COLUMNS, NOT_CHECKED_COLUMNS, PENDING_COLUMNS, SKIPPED_COLUMNS,
                           Period)

CAL = Calendar.load()
PACK = load_pack("gz165")
P = Period.parse("2026-10")

DEPTS = [
    {"部门名称": "市公安局", "层级": "市级", "职能类别": "公安"},
    {"部门名称": "市民政局", "层级": "市级", "职能类别": "民政"},
    {"部门名称": "市政务服务数据管理局", "层级": "市级", "职能类别": "政务服务数据管理", "是否主管部门": "是"},
    {"部门名称": "海珠区民政局", "层级": "区级", "所属区": "海珠区", "职能类别": "民政"},
    {"部门名称": "海珠区政务服务数据管理局", "层级": "区级", "所属区": "海珠区", "职能类别": "政务服务数据管理",
     "是否主管部门": "是"},
]
CATALOG = [
    {"信息资源代码": "101001001/000001", "信息资源名称": "户籍", "提供部门": "市公安局", "资源分类": "基础信息资源",
     "基础信息类别": "自然人", "信息类别细目": "户籍登记信息", "共享类型": "无条件共享", "共享方式": "平台接口",
     "共享范围": "全市", "更新周期": "实时", "具体用途": "核验", "采集部门": "市公安局", "核准部门": "市公安局",
     "是否保密审查": "是", "标识类型": "公民身份号码", "发布日期": "2026-01-01"},
    {"信息资源代码": "301001001/000002", "信息资源名称": "低保", "提供部门": "市民政局", "资源分类": "部门信息资源",
     "共享类型": "有条件共享", "共享条件": "无", "共享方式": "邮件", "更新周期": "每月", "是否保密审查": "否",
     "发布日期": "2026-01-01"},
    {"信息资源代码": "301001001/000003", "信息资源名称": "内部", "提供部门": "市民政局", "资源分类": "部门信息资源",
     "共享类型": "不予共享", "共享依据": "《广州市信息化促进条例》", "发布日期": "2026-01-01"},
]


def _tables(**extra):
    spec = {"departments": DEPTS, "catalog": CATALOG}
    spec.update(extra)
    return example_tables({"tables": spec})


def test_result_frames_and_not_checked():
    res = evaluate(_tables(), PACK, P, None, CAL)
    assert list(res.findings.columns) == FINDING_COLUMNS
    assert list(res.pending.columns) == PENDING_COLUMNS
    assert list(res.checked.columns) == CHECKED_COLUMNS
    assert list(res.not_checked.columns) == NOT_CHECKED_COLUMNS
    assert list(res.skipped.columns) == SKIPPED_COLUMNS
    assert str(res.findings["row"].dtype) == "Int64"
    nc = res.not_checked.set_index("rule_id")
    # only departments + catalog given: every rule needing another table is not checked, with the table named
    assert nc.loc["GZ165-REQ-1", "missing_inputs"] == "共享申请（requests）"
    assert nc.loc["GZ165-REQ-3", "missing_inputs"] == "交换日志（exchanges）、共享申请（requests）"
    assert nc.loc["GZ165-17-1", "missing_inputs"] == "责任人员（officers）"
    assert "GZ165-10-1" not in nc.index and "GZ165-08-1" not in nc.index
    assert set(nc.index) == {r.id for r in PACK.rules if set(r.inputs) - {"departments", "catalog"}}
    assert not res.findings["rule_id"].isin(nc.index).any()
    assert res.params["GZ165-08-2"] == {"limit_wd": 15}


def test_keys_attribution_and_severity():
    res = evaluate(_tables(), PACK, P, None, CAL)
    f = {(r.rule_id, r.key): r for r in res.findings.itertuples()}
    # 08-1: department key; about a missing record (no catalog entry): no source row (outputs.md)
    r = f[("GZ165-08-1", "海珠区民政局")]
    assert (r.department, r.input, r.severity) == ("海珠区民政局", "catalog", "严重") and pd.isna(r.row)
    assert ("GZ165-08-1", "市政务服务数据管理局") not in f                   # 主管部门 excluded
    assert f[("GZ165-10-3", "301001001/000002")].message.endswith("缺少共享条件、共享依据")
    assert f[("GZ165-16-2", "301001001/000002")].department == "市民政局"
    assert f[("GZ165-20-1", "301001001/000002")].severity == "严重"
    assert f[("GZ165-10-5", "301001001/000003")].severity == "一般"
    assert "《广州市信息化促进条例》" in f[("GZ165-10-5", "301001001/000003")].message
    assert ("GZ165-21-1", "101001001/000001") not in f
    msg = f[("GZ165-11-1", "301001001/000002")].message
    assert msg.endswith("目录要素不全：缺少共享范围、缺少具体用途、缺少采集部门、缺少核准部门"), msg


def test_cross_table_attribution():
    t = _tables(
        catalog_changes=[{"变更编号": "bg-1", "部门": "海珠区民政局", "变化发生日期": "2026-08-01",
                          "报送日期": "2026-08-03"}],
        exchanges=[{"交换流水号": "JH-1", "交换时间": "2026-10-09 10:00:00", "信息资源代码": "301001001/000002",
                    "提供部门": "市民政局", "使用部门": "市公安局", "交换通道": "点对点"}],
        requests=[])
    res = evaluate(t, PACK, P, None, CAL)
    f = res.findings
    r = f[f.rule_id == "GZ165-08-3"].iloc[0]
    assert (r.department, r.counterpart, r.key) == ("海珠区政务服务数据管理局", "海珠区民政局", "bg-1")
    r = f[f.rule_id == "GZ165-REQ-3"].iloc[0]
    assert (r.department, r.counterpart, r.input) == ("市公安局", "市民政局", "exchanges")
    assert "未填写申请编号" in r.message
    r = f[f.rule_id == "GZ165-16-1"].iloc[0]
    assert (r.department, r.counterpart, r.severity) == ("市民政局", "市公安局", "严重")


def test_out_of_period_counted_in_skipped():
    t = _tables(exchanges=[
        {"交换流水号": f"JH-{i}", "交换时间": ts, "信息资源代码": "301001001/000002", "提供部门": "市民政局",
         "使用部门": "市公安局", "交换通道": "共享平台"}
        for i, ts in enumerate(["2026-09-30 23:59:59", "2026-10-01 00:00:00", "2026-10-31 23:59:59",
                                "2026-11-01 00:00:00"])])
    res = evaluate(t, PACK.subset(["GZ165-16-1"]), P, None, CAL)
    assert res.checked["checked"].tolist() == [2]
    assert res.skipped["count"].tolist() == [2] and "审计期间" in res.skipped["reason"].iloc[0]


def test_exchange_as_of_limits_period():
    t = _tables(exchanges=[
        {"交换流水号": "JH-1", "交换时间": "2026-10-20 10:00:00", "信息资源代码": "X", "提供部门": "市民政局",
         "使用部门": "市公安局", "交换通道": "邮件"}])
    assert len(evaluate(t, PACK.subset(["GZ165-16-1"]), P, date(2026, 10, 19), CAL).findings) == 0
    assert len(evaluate(t, PACK.subset(["GZ165-16-1"]), P, date(2026, 10, 20), CAL).findings) == 1


def test_ordering_is_deterministic_under_row_shuffles():
    t = _tables(exchanges=[
        {"交换流水号": f"JH-{i:03d}", "交换时间": f"2026-10-{1 + i % 28:02d} 10:00:00",
         "信息资源代码": "301001001/00000" + str(i % 4), "提供部门": ["市民政局", "市公安局"][i % 2],
         "使用部门": "市公安局", "交换通道": ["邮件", "共享平台", "点对点"][i % 3]} for i in range(60)])
    a = evaluate(t, PACK, P, None, CAL)
    shuffled = {k: v.sample(frac=1, random_state=7) for k, v in t.items()}
    b = evaluate(shuffled, PACK, P, None, CAL)
    for name in ("findings", "checked", "pending", "not_checked", "skipped"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    keys = a.findings[["rule_id", "department", "key"]].apply(tuple, axis=1).tolist()
    assert keys == sorted(keys)
    # 11-2: one finding per (code, provider), row = first exchange
    f = a.findings[a.findings.rule_id == "GZ165-11-2"]
    assert sorted(zip(f.key, f.department)) == sorted({("301001001/000000", "市民政局"),
                                                        ("301001001/000001", "市公安局")})


def test_params_override_changes_findings(tmp_path):
    rows = [{"变更编号": "A", "部门": "市民政局", "变化发生日期": "2026-09-30", "报送日期": "2026-10-28"}]
    t = _tables(catalog_changes=rows)
    assert len(evaluate(t, PACK.subset(["GZ165-08-2"]), P, None, CAL).findings) == 1
    pf = tmp_path / "p.yaml"
    pf.write_text("GZ165-08-2: {limit_wd: 16}\n", encoding="utf-8")
    pack = load_pack("gz165", pf)
    res = evaluate(t, pack.subset(["GZ165-08-2"]), P, None, CAL)
    assert res.findings.empty and res.params["GZ165-08-2"] == {"limit_wd": 16}


def test_quarter_checked_only_in_period_of_window_end():
    t = _tables(updates=[], catalog=[dict(CATALOG[1], 特殊更新批准文号="批准1号")])
    for period, n in (("2026-10", 1), ("2026-11", 0), ("2026-Q4", 1), ("2026-01", 1), ("2026-Q1", 1)):
        res = evaluate(t, PACK.subset(["GZ165-19-3"]), Period.parse(period), None, CAL)
        assert len(res.findings) == n, period
    res = evaluate(t, PACK.subset(["GZ165-19-3"]), Period.parse("2026-10"), date(2026, 10, 19), CAL)
    assert res.findings.empty                                # window ends 10-20, after as_of
