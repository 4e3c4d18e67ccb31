"""Every variation of inputs.md "How real exports vary", on real .xlsx/.xls/.ods files."""
import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from checker.load import load_inputs, read_table
from tests.test_load_common import (CATALOG_HEADER, DEPT_HEADER, basic_workbook, catalog_row, dept_rows, uscc,
                                    write_xlsx)


def test_basic_workbook_two_tables_and_meta(tmp_path):
    p = basic_workbook(tmp_path / "导出.xlsx")
    r = load_inputs([tmp_path])
    assert set(r.tables) == {"departments", "catalog"}
    d = r.tables["departments"]
    assert d["部门名称"].tolist() == ["市公安局", "市政务服务数据管理局", "海珠区民政局"]
    assert d["_row"].tolist() == [2, 3, 4]
    assert d["_file"].unique().tolist() == ["导出.xlsx"]          # relative to the folder given
    assert d["_sheet"].unique().tolist() == ["部门名录"]
    assert d["是否主管部门"].tolist() == [False, True, False]     # empty -> default 否
    assert str(d["是否主管部门"].dtype) == "boolean"
    c = r.tables["catalog"]
    assert c["发布日期"].dtype == "datetime64[ns]"
    assert list(c.columns[-3:]) == ["_file", "_sheet", "_row"]
    assert "最近更新日期" in c.columns and c["最近更新日期"].isna().all()   # absent `no` column added
    assert r.defects.empty, r.defects
    assert {e["table"] for e in r.inputs} == {"departments", "catalog"}
    assert all(len(e["sha256"]) == 64 for e in r.inputs)
    del p


def test_title_rows_merged_blank_note_hidden_columns_trailing_and_total(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门名录"
    ws["B1"] = "广州市政务部门名录（导出时间：2026-11-02）"
    ws.merge_cells("B1:H1")
    ws["B2"] = "单位：个"
    # header in row 4, starting at column B, with an extra hidden column and trailing empty columns
    header = ["序号", "*单位名称", "统一社会信用代码", "行政\n层级", "所属区", "部门类别", "主管部门"]
    for j, h in enumerate(header):
        ws.cell(row=4, column=2 + j, value=h)
    ws.column_dimensions["C"].hidden = True
    rows = dept_rows()
    for i, r in enumerate(rows):
        for j, v in enumerate([i + 1] + r):
            ws.cell(row=5 + i, column=2 + j, value=v)
    ws.cell(row=9, column=2, value=" 合  计 ")
    ws.cell(row=9, column=3, value=3)
    for k in range(10, 14):                       # trailing formatted-but-empty rows
        ws.cell(row=k, column=2, value=None).number_format = "@"
    ws.cell(row=12, column=20, value="")
    cat = wb.create_sheet("信息资源")
    cat.append(CATALOG_HEADER)
    cat.append(catalog_row())
    wb.save(tmp_path / "a.xlsx")
    r = load_inputs([tmp_path / "a.xlsx"])
    d = r.tables["departments"]
    assert d["_row"].tolist() == [5, 6, 7]
    assert d["部门名称"].tolist() == [x[0] for x in rows]
    assert d["部门代码"].tolist() == [x[1] for x in rows]
    assert d["层级"].tolist() == ["市级", "市级", "区级"]
    assert r.defects.empty, r.defects


def test_total_row_only_when_last(tmp_path):
    rows = [DEPT_HEADER, ["总计", uscc(9), "市级", None, "公安", "否"]] + dept_rows() + [["总 计", None]]
    basic_workbook(tmp_path / "a.xlsx", {"部门名录": rows})
    r = load_inputs([tmp_path / "a.xlsx"])
    assert r.tables["departments"]["部门名称"].tolist()[0] == "总计"     # not the final row: a real (odd) record
    assert len(r.tables["departments"]) == 4


def test_template_note_row_under_header_is_skipped(tmp_path):
    notes = ["必填，唯一", "必填，18 位统一社会信用代码", "市级/区级", "选填", "见代码表", "是/否"]
    basic_workbook(tmp_path / "a.xlsx", {"部门名录": [DEPT_HEADER, notes] + dept_rows()})
    r = load_inputs([tmp_path / "a.xlsx"])
    assert r.tables["departments"]["_row"].tolist() == [3, 4, 5]
    assert r.defects.empty, r.defects


def test_aliases_fullwidth_spaces_markers_and_bracket_notes(tmp_path):
    header = ["\u3000单位名称\u3000", "机构代码*", "行政层级", "区", "部门类别", "＊是否主管部门"]
    cat_header = [h for h in CATALOG_HEADER]
    cat_header[0] = "目录代码"
    cat_header[2] = "信息资源\n提供方"
    cat_header[6] = "共享属性"
    cat_header[18] = "发布日期（YYYY-MM-DD）"
    basic_workbook(tmp_path / "a.xlsx", {"部门名录": [header] + dept_rows(),
                                         "信息资源": [cat_header, catalog_row()]})
    r = load_inputs([tmp_path / "a.xlsx"])
    assert r.tables["departments"]["部门名称"].tolist()[0] == "市公安局"
    c = r.tables["catalog"]
    assert c["信息资源代码"].tolist() == ["101001001/000001"]
    assert c["发布日期"].tolist() == [pd.Timestamp("2026-10-08")]
    assert r.defects.empty, r.defects


def test_date_forms_in_cells(tmp_path):
    forms = [dt.datetime(2026, 10, 8), dt.date(2026, 10, 8), "2026-10-08", "2026/10/8", "2026.10.08",
             "2026年10月8日", "20261008", "46303", 46303, "46303.0", " ２０２６－１０－０８ ", "2026-10-08 13:45"]
    rows = [catalog_row(f"101001001/{i:06d}", published=v) for i, v in enumerate(forms)]
    rows.append(catalog_row("101001001/000099", published="2026-02-30"))
    rows.append(catalog_row("101001001/000098", published="下月"))
    rows.append(catalog_row("101001001/000097", published=None))
    basic_workbook(tmp_path / "a.xlsx", {"信息资源": [CATALOG_HEADER] + rows})
    r = load_inputs([tmp_path / "a.xlsx"])
    got = r.tables["catalog"]["发布日期"]
    assert got.iloc[:len(forms)].tolist() == [pd.Timestamp("2026-10-08")] * len(forms)
    assert got.iloc[len(forms):].isna().all()
    d = r.defects.set_index("value")
    assert d.loc["2026-02-30", "problem"] == "日期无法识别"
    assert d.loc["下月", "row"] == len(forms) + 3
    assert (r.defects["problem"] == "发布日期为空").sum() == 1


def test_codes_folded_sharetype_and_bools(tmp_path):
    cat = [CATALOG_HEADER,
           catalog_row(" １０１００１００１ / ０００００１ ", 共享类型=1, 是否保密审查="Y", 是否涉密="N"),
           catalog_row("101001001/000002", 共享类型="02", 是否保密审查="√", 是否涉密="×"),
           catalog_row("101001001/000003", 共享类型="不共享", 是否保密审查=True, 是否涉密=0),
           catalog_row("101001001/000004", 共享类型="部分共享", 是否保密审查="true", 是否涉密="可能")]
    depts = [DEPT_HEADER] + [[r[0], " " + r[1].lower() + " ", *r[2:]] for r in dept_rows()]
    depts[1][1] = "９" + depts[1][1].strip()[1:]
    basic_workbook(tmp_path / "a.xlsx", {"部门名录": depts, "信息资源": cat})
    r = load_inputs([tmp_path / "a.xlsx"])
    assert r.tables["departments"]["部门代码"].tolist() == [x[1] for x in dept_rows()]
    c = r.tables["catalog"]
    assert c["信息资源代码"].iloc[0] == "101001001/000001"
    assert c["共享类型"].tolist() == ["无条件共享", "有条件共享", "不予共享", "部分共享"]
    assert c["是否保密审查"].tolist() == [True, True, True, True]
    assert c["是否涉密"].iloc[:3].tolist() == [False, False, False]
    assert pd.isna(c["是否涉密"].iloc[3])
    assert r.defects.empty, r.defects          # 共享类型 / 是否涉密 are the rules' business


def test_xls_and_ods_read(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("部门名录")
    ws.write(0, 0, "部门名录导出")
    for j, h in enumerate(DEPT_HEADER):
        ws.write(2, j, h)
    for i, r in enumerate(dept_rows()):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(3 + i, j, v)
    ws2 = wb.add_sheet("信息资源")
    for j, h in enumerate(CATALOG_HEADER):
        ws2.write(0, j, h)
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for j, v in enumerate(catalog_row()):
        if isinstance(v, dt.datetime):
            ws2.write(1, j, v, date_style)
        elif v is not None:
            ws2.write(1, j, v)
    wb.save(str(tmp_path / "old.xls"))
    r = load_inputs([tmp_path / "old.xls"])
    assert r.tables["departments"]["_row"].tolist() == [4, 5, 6]
    assert r.tables["catalog"]["发布日期"].tolist() == [pd.Timestamp("2026-10-08")]
    assert r.defects.empty, r.defects

    ods = tmp_path / "ods"
    ods.mkdir()
    with pd.ExcelWriter(ods / "book.ods", engine="odf") as xw:
        pd.DataFrame(dept_rows(), columns=DEPT_HEADER).to_excel(xw, sheet_name="部门名录", index=False)
        pd.DataFrame([catalog_row()], columns=CATALOG_HEADER).to_excel(xw, sheet_name="信息资源", index=False)
    r = load_inputs([ods])
    assert len(r.tables["departments"]) == 3 and r.tables["departments"]["_row"].tolist() == [2, 3, 4]
    assert r.tables["catalog"]["发布日期"].tolist() == [pd.Timestamp("2026-10-08")]


def test_recognition_by_header_and_by_file_stem(tmp_path):
    write_xlsx(tmp_path / "部门名录_2026-10.xlsx", {"Sheet1": [DEPT_HEADER] + dept_rows()})
    write_xlsx(tmp_path / "export.xlsx", {"Sheet1": [CATALOG_HEADER, catalog_row()],
                                          "说明": [["本表为平台导出"]]})
    r = load_inputs([tmp_path])
    assert set(r.tables) == {"departments", "catalog"}
    notes = [e for e in r.inputs if e["table"] is None]
    assert [(e["path"], e["sheet"]) for e in notes] == [("export.xlsx", "说明")]
    assert "未识别" in notes[0]["note"]


def test_folder_scan_skips_lock_and_hidden_files(tmp_path):
    basic_workbook(tmp_path / "a.xlsx")
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / ".hidden.xlsx").write_bytes(b"junk")
    (tmp_path / "readme.txt").write_text("x")
    r = load_inputs([tmp_path])
    assert {e["path"] for e in r.inputs} == {"a.xlsx"}


def test_read_table_explicit_sheet(tmp_path):
    write_xlsx(tmp_path / "x.xlsx", {"表1": [DEPT_HEADER] + dept_rows(), "表2": [["无关"]]})
    frame, defects, entry = read_table(str(tmp_path / "x.xlsx"), "表1", "departments")
    assert len(frame) == 3 and defects.empty and entry["table"] == "departments"
