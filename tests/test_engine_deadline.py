"""Properties of the generic deadline construct (working days and hours), on the real 2026 calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from hypothesis import given, settings, strategies as st

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.examples import example_tables
from checker.model import Period

CAL = Calendar.load()
PACK = load_pack("gz165")
WD_RULES = {  # rule -> (table, event column, action column, key column, extra columns)
    "GZ165-08-2": ("catalog_changes", "变化发生日期", "报送日期", "变更编号", {"部门": "市民政局"}),
    "GZ165-17-2": ("officers", "变动日期", "告知日期", "姓名", {"部门": "市民政局", "是否已发布": "是"}),
    "GZ165-REQ-1": ("requests", "申请日期", "答复日期", "申请编号", {"提供部门": "市民政局", "申请部门": "市公安局"}),
    "GZ165-DIS-1": ("disputes", "提出日期", "核实日期", "异议编号", {"提供部门": "市民政局", "提出部门": "市公安局"}),
    "GZ165-DIS-2": ("disputes", "提出日期", "更正日期", "异议编号", {"提供部门": "市民政局", "提出部门": "市公安局"}),
}
# events around the 2026 Spring Festival and National Day 调休 as well as ordinary days
EVENTS = st.one_of(st.dates(date(2026, 2, 5), date(2026, 3, 5)), st.dates(date(2026, 9, 18), date(2026, 10, 15)),
                   st.dates(date(2026, 1, 2), date(2026, 11, 30)))


def _month(d: date) -> Period:
    return Period.parse(f"{d.year}-{d.month:02d}")


def _run(rule_id, rows, period, as_of, limit):
    pack = PACK.subset([rule_id])
    pack.rules[0].params = dict(pack.rules[0].params, limit_wd=limit)
    table = WD_RULES[rule_id][0]
    return evaluate(example_tables({"tables": {table: rows}}), pack, period, as_of, CAL)


@settings(max_examples=60, deadline=None)
@given(rule_id=st.sampled_from(sorted(WD_RULES)), event=EVENTS, n=st.integers(1, 20))
def test_action_on_the_deadline_passes_one_day_later_fails(rule_id, event, n):
    table, ev, ac, key, extra = WD_RULES[rule_id]
    due = CAL.add_wd(event, n)
    late = CAL.add_wd(event, n + 1)
    rows = [dict(extra, **{key: "ON", ev: str(event), ac: str(due)}),
            dict(extra, **{key: "LATE", ev: str(event), ac: str(late)})]
    if _month(due) == _month(late):
        res = _run(rule_id, rows, _month(due), _month(due).end, n)
        assert list(res.findings["key"].str.split("/").str[-1]) == ["LATE"]
        assert f"滞后 {n + 1} 个工作日，超过 {n} 个工作日" in res.findings["message"].iloc[0]
        assert int(res.checked["checked"].sum()) == 2
    else:  # each is checked in the period of its action
        r1 = _run(rule_id, rows, _month(due), _month(due).end, n)
        r2 = _run(rule_id, rows, _month(late), _month(late).end, n)
        assert r1.findings.empty and int(r1.checked["checked"].sum()) == 1
        assert list(r2.findings["key"].str.split("/").str[-1]) == ["LATE"]


@settings(max_examples=60, deadline=None)
@given(rule_id=st.sampled_from(sorted(WD_RULES)), event=EVENTS, n=st.integers(1, 20))
def test_open_item_is_pending_until_the_deadline_then_late(rule_id, event, n):
    table, ev, ac, key, extra = WD_RULES[rule_id]
    rows = [dict(extra, **{key: "OPEN", ev: str(event)})]
    due = CAL.add_wd(event, n)
    res = _run(rule_id, rows, _month(due), due, n)           # as_of = the last on-time day
    assert res.findings.empty
    assert len(res.pending) == 1 and res.pending["due"].iloc[0] == pd.Timestamp(due)
    assert res.checked.empty                                 # pending items are not checked units
    late = CAL.add_wd(event, n + 1)
    res = _run(rule_id, rows, _month(late), late, n)
    assert len(res.findings) == 1 and res.pending.empty
    assert f"已过 {n + 1} 个工作日，超过 {n} 个工作日" in res.findings["message"].iloc[0]


def test_known_2026_holiday_deadlines():
    # 2026-09-30 + 15 wd = 2026-10-27 (National Day 10-01..10-07 off, Saturday 10-10 worked)
    assert CAL.add_wd(date(2026, 9, 30), 15) == date(2026, 10, 27)
    # Spring Festival: 02-12 + 5 wd = 02-26 (02-14 worked, 02-16..02-23 off)
    assert CAL.add_wd(date(2026, 2, 12), 5) == date(2026, 2, 26)


def test_action_after_as_of_inside_period_counts_as_open():
    rows = [{"变更编号": "A", "部门": "市民政局", "变化发生日期": "2026-09-01", "报送日期": "2026-10-30"}]
    res = _run("GZ165-08-2", rows, Period.parse("2026-10"), date(2026, 10, 15), 15)
    assert "截至 2026-10-15 仍未报送" in res.findings["message"].iloc[0]
    res = _run("GZ165-08-2", rows, Period.parse("2026-10"), date(2026, 10, 31), 15)
    assert "2026-10-30 才报送" in res.findings["message"].iloc[0]


def test_action_outside_period_not_checked_and_negative_lag_on_time():
    rows = [{"变更编号": "A", "部门": "市民政局", "变化发生日期": "2026-09-01", "报送日期": "2026-11-20"},
            {"变更编号": "B", "部门": "市民政局", "变化发生日期": "2026-10-20", "报送日期": "2026-10-10"},
            {"变更编号": "C", "部门": "市民政局", "报送日期": "2026-10-10"}]
    res = _run("GZ165-08-2", rows, Period.parse("2026-10"), None, 15)
    assert res.findings.empty and res.pending.empty
    assert res.checked.to_dict("records") == [{"rule_id": "GZ165-08-2", "department": "市民政局", "checked": 1}]
    assert res.skipped.to_dict("records") == [{"rule_id": "GZ165-08-2", "input": "catalog_changes", "count": 1,
                                               "reason": "变化发生日期为空或无法识别"}]


@settings(max_examples=40, deadline=None)
@given(start=st.datetimes(datetime(2026, 10, 1), datetime(2026, 10, 29)),
       seconds=st.integers(0, 3 * 86400))
def test_hours_deadline_19_1(start, seconds):
    start = start.replace(microsecond=0)
    end = start + timedelta(seconds=seconds)
    tables = example_tables({"tables": {
        "catalog": [{"信息资源代码": "101001001/000001", "提供部门": "市公安局", "资源分类": "基础信息资源",
                     "共享类型": "无条件共享"}],
        "updates": [{"信息资源代码": "101001001/000001", "数据变化时间": str(start), "平台更新时间": str(end)}]}})
    p = Period.parse("2026-10") if end.month == 10 else Period.parse("2026-11")
    res = evaluate(tables, PACK.subset(["GZ165-19-1"]), p, None, CAL)
    assert len(res.findings) == (1 if seconds > 24 * 3600 else 0)
    assert res.findings["key"].tolist() == ([f"101001001/000001@{start:%Y-%m-%d %H:%M:%S}"]
                                            if seconds > 24 * 3600 else [])


def test_hours_pending_and_late_at_end_of_as_of():
    tables = example_tables({"tables": {
        "catalog": [{"信息资源代码": "101001001/000001", "提供部门": "市公安局", "资源分类": "基础信息资源"}],
        "updates": [{"信息资源代码": "101001001/000001", "数据变化时间": "2026-10-30 00:00:00"},
                    {"信息资源代码": "101001001/000001", "数据变化时间": "2026-10-31 00:00:00"}]}})
    res = evaluate(tables, PACK.subset(["GZ165-19-1"]), Period.parse("2026-10"), None, CAL)
    assert res.findings["key"].tolist() == ["101001001/000001@2026-10-30 00:00:00"]
    assert res.pending["due"].tolist() == [pd.Timestamp("2026-11-01 00:00:00")]
