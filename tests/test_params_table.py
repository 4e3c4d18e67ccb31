"""A table parameter (GZ165-18-1's cycle days) is a real parameter: --params changes one entry, typos are refused."""
from __future__ import annotations

import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.examples import example_period, example_tables
from checker.errors import PackError

CAL = Calendar.load()
EXAMPLE = {
    "period": "2026-10",
    "tables": {
        "catalog": [
            # 2026-09-30 → as_of 2026-10-31 is 31 days: on time for a 31-day month, late for a 30-day one
            {"信息资源代码": "301001001/000001", "信息资源名称": "甲", "提供部门": "市民政局", "共享类型": "无条件共享",
             "更新周期": "每月", "发布日期": "2026-09-30"},
            {"信息资源代码": "301001001/000002", "信息资源名称": "乙", "提供部门": "市民政局", "共享类型": "无条件共享",
             "更新周期": "每周", "发布日期": "2026-10-20"},
        ],
        "updates": [],
    },
}


def _keys(pack):
    period, as_of = example_period(EXAMPLE)
    res = evaluate(example_tables(EXAMPLE), pack.subset(["GZ165-18-1"]), period, as_of, CAL)
    return sorted(res.findings["key"])


def test_default_cycle_days(tmp_path):
    pack = load_pack("gz165")
    assert pack.params_used()["GZ165-18-1"]["cycle_days"]["每月"] == 31
    assert _keys(pack) == ["301001001/000002"]


def test_override_changes_only_the_named_cycle(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("GZ165-18-1: {cycle_days: {每月: 30}}\n", encoding="utf-8")
    pack = load_pack("gz165", f)
    used = pack.params_used()["GZ165-18-1"]["cycle_days"]
    assert used["每月"] == 30 and used["每周"] == 7 and len(used) == 6
    assert _keys(pack) == ["301001001/000001", "301001001/000002"]


@pytest.mark.parametrize("text,needle", [
    ("GZ165-18-1: {cycle_days: {每旬: 10}}\n", "每旬"),
    ("GZ165-18-1: {cycle_days: {每月: 三十}}\n", "每月"),
])
def test_override_typos_are_refused(tmp_path, text, needle):
    f = tmp_path / "p.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as e:
        load_pack("gz165", f)
    assert "cycle_days" in str(e.value) and needle in str(e.value)


def test_19_3_window_longer_than_the_rest_of_the_year_needs_no_next_year_calendar(tmp_path):
    """A quarter whose window would end after the period is simply not checked yet: no 2027 calendar needed."""
    f = tmp_path / "p.yaml"
    f.write_text("GZ165-19-3: {window_wd: 80}\n", encoding="utf-8")
    pack = load_pack("gz165", f)
    ex = {"period": "2026-Q4", "tables": {
        "catalog": [{"信息资源代码": "301001001/000001", "信息资源名称": "甲", "提供部门": "市民政局", "共享类型": "无条件共享",
                     "更新周期": "每季度", "发布日期": "2026-01-05", "特殊更新批准文号": "穗政数〔2026〕1号"}],
        "updates": []}}
    period, as_of = example_period(ex)
    res = evaluate(example_tables(ex), pack.subset(["GZ165-19-3"]), period, as_of, CAL)
    assert res.findings.empty and res.not_checked.empty
    # with the default window the same quarter is checked and the missing update found
    res = evaluate(example_tables(ex), load_pack("gz165").subset(["GZ165-19-3"]), period, as_of, CAL)
    assert res.findings["key"].tolist() == ["301001001/000001@2026-Q4"]
