"""Per-department workbooks: one per department, only its own data, safe unique file names."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from checker.render import common as cm
from checker.render import write
from tests.demo_report import make_report


def _cells(wb):
    return [c.value for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("d")
    r = make_report(300)
    paths = write(r, out, ["dept_xlsx"])
    return r, paths


def test_one_workbook_per_department(written):
    r, paths = written
    assert len(paths) == len(r.scorecard)
    assert all(p.parent.name == "部门报告" and p.name.endswith("_2026-10.xlsx") for p in paths)
    stems = cm.unique_file_stems(r.scorecard["department"].tolist())
    assert sorted(p.name for p in paths) == sorted(f"{s}_2026-10.xlsx" for s in stems.values())
    # the department with a slash keeps its Chinese name
    assert any(p.name == "广州市规划和自然资源局_测绘地理信息分局_2026-10.xlsx" for p in paths)


def test_department_isolation(written):
    r, paths = written
    f = r.result.findings
    stems = cm.unique_file_stems(r.scorecard["department"].tolist())
    by_file = {f"{s}_2026-10.xlsx": d for d, s in stems.items()}
    for p in paths:
        dept = by_file[p.name]
        wb = openpyxl.load_workbook(p)
        assert wb.sheetnames[:6] == ["说明", "评分", "各规则合规率", "问题明细", "待办", "输入问题"]
        values = set(map(str, _cells(wb)))
        own = f[f["department"] == dept]
        other = f[f["department"] != dept]
        assert set(own["key"]) <= values
        assert not (set(other["key"]) & values), p.name
        ws = wb["问题明细"]
        assert ws.max_row == len(own) + 1
        assert {ws.cell(i, 3).value for i in range(2, ws.max_row + 1)} <= {dept}
        sc = wb["评分"]
        assert sc.max_row == 2 and sc.cell(2, 2).value == dept
        others = set(r.scorecard["department"]) - {dept}
        # other departments appear only as counterparts of this department's findings
        allowed = set(own["counterpart"].dropna())
        assert not ((others - allowed) & values), p.name
        rank = int(r.scorecard.loc[r.scorecard["department"] == dept, "rank"].iloc[0])
        assert f"第 {rank} 名（共 {len(r.scorecard)} 个部门）" in values
        pend = wb["待办"]
        assert pend.max_row - 1 == int((r.result.pending["department"] == dept).sum())


def test_defects_attributed_by_source_row(written):
    r, paths = written
    cat = r.load.tables["catalog"]
    d = r.load.defects
    dept_of_row = dict(zip(cat["_row"], cat["提供部门"]))
    expected = d[d["table"] == "catalog"]["row"].map(dept_of_row).value_counts()
    stems = cm.unique_file_stems(r.scorecard["department"].tolist())
    total = 0
    for dept, stem in stems.items():
        p = next(x for x in paths if x.name == f"{stem}_2026-10.xlsx")
        ws = openpyxl.load_workbook(p)["输入问题"]
        n = ws.max_row - 1
        assert n == int(expected.get(dept, 0))
        total += n
    # the unattributable defect (unknown department in 交换日志) is in no department's workbook
    assert total == len(d) - 1


@pytest.mark.parametrize("name,expect", [
    ("a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"),
    ("...隐藏部门", "隐藏部门"),
    ("CON", "_CON"),
    ("com1", "_com1"),
    ("  ", "未命名部门"),
    ("局" * 100, "局" * cm.MAX_NAME_CHARS),
])
def test_safe_file_stem(name, expect):
    assert cm.safe_file_stem(name) == expect


def test_unique_stems_case_insensitive():
    m = cm.unique_file_stems(["A/局", "A_局", "a_局", "乙局"])
    assert m == {"A/局": "A_局", "A_局": "A_局(2)", "a_局": "a_局(3)", "乙局": "乙局"}


def test_odd_names_are_written(tmp_path):
    odd = ["广州市/公安局", "广州市_公安局", "CON", "..点开头", "很长" * 60, "广州市民政局"]
    r = make_report(80, departments=odd, history=False, waivers=False)
    paths = write(r, tmp_path, ["dept_xlsx"])
    assert len({p.name.casefold() for p in paths}) == len(odd)
    for p in paths:
        assert len(p.name.encode()) < 255 and not p.name.startswith(".")
        openpyxl.load_workbook(p)
