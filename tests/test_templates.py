"""Excel templates: one workbook per table, header/notes rows, drop-downs; filled templates load back cleanly."""
from __future__ import annotations

import hashlib
from datetime import date, datetime

import openpyxl
import pytest

from checker import schema
from checker.templates import NOTES_MARK, write_templates



@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    out = tmp_path_factory.mktemp("tpl")
    return out, write_templates(out)


def test_one_workbook_per_table_with_sheet_header_notes(templates):
    out, files = templates
    assert [f.name for f in files] == [f"{t.title}.xlsx" for t in schema.TABLE_LIST]
    for t in schema.TABLE_LIST:
        wb = openpyxl.load_workbook(out / f"{t.title}.xlsx")
        assert wb.sheetnames == [t.title]
        ws = wb[t.title]
        header = [c.value for c in ws[1]]
        assert [h.rstrip("*") for h in header] == t.column_names
        for h, col in zip(header, t.columns):
            assert h.endswith("*") == col.required, (t.name, col.name)
        notes = [c.value for c in ws[2]]
        assert notes[0].startswith(NOTES_MARK) and all(notes)
        assert ws.max_row == 2 and ws.freeze_panes == "A3"


def test_drop_down_lists(templates):
    out, _ = templates
    ws = openpyxl.load_workbook(out / "信息资源.xlsx")["信息资源"]
    header = [c.value.rstrip("*") for c in ws[1]]
    lists = {}
    for dv in ws.data_validations.dataValidation:
        col = header[openpyxl.utils.column_index_from_string(str(dv.sqref).split(":")[0].rstrip("0123456789")) - 1]
        lists[col] = dv.formula1.strip('"').split(",")
    assert lists["共享类型"] == ["无条件共享", "有条件共享", "不予共享"]
    assert lists["共享方式"] == ["平台接口", "平台库表", "平台文件", "专项共享", "点对点", "邮件", "介质拷贝"]
    assert lists["更新周期"][:2] == ["实时", "每日"] and lists["是否涉密"] == ["是", "否"]
    assert "户籍登记信息" in lists["信息类别细目"]
    ws = openpyxl.load_workbook(out / "部门名录.xlsx")["部门名录"]
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"市级,区级"' in formulas and any("公安" in f and "镇街" in f for f in formulas)


def test_templates_are_byte_identical(tmp_path):
    a = write_templates(tmp_path / "a")
    b = write_templates(tmp_path / "b")
    for x, y in zip(a, b):
        assert hashlib.sha256(x.read_bytes()).digest() == hashlib.sha256(y.read_bytes()).digest()


def test_out_is_a_file(tmp_path):
    from checker.errors import UsageError
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="不是文件夹"):
        write_templates(tmp_path / "f")


def _fill(path, rows):
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    for i, row in enumerate(rows, start=3):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=v)
    wb.save(path)


def test_filled_templates_load_back_cleanly(tmp_path):
    from checker.load import load_inputs
    files = {p.stem: p for p in write_templates(tmp_path)}
    _fill(files["部门名录"], [
        ["广州市公安局", "114401000075028265", "市级", None, "公安", "否"],
        ["广州市政务服务数据管理局", "11440100MB2C92136C", "市级", None, "政务服务数据管理", "是"],
    ])
    _fill(files["信息资源"], [
        ["101001001/000012", "户籍人口信息", "广州市公安局", "基础信息资源", "自然人", "户籍登记信息", "无条件共享",
         None, None, "平台接口", "全市政务部门", "实时", "政务服务身份核验", "广州市公安局", "广州市公安局", "是", "否",
         "公民身份号码", None, date(2026, 1, 5), None],
    ])
    _fill(files["交换日志"], [
        ["JH202610000001", datetime(2026, 10, 8, 10, 30), "101001001/000012", "广州市公安局",
         "广州市政务服务数据管理局", "共享平台", "否", None, "身份核验", 12, "成功"],
    ])
    paths = [str(files[k]) for k in ("部门名录", "信息资源", "交换日志")]
    lr = load_inputs(paths, None)
    assert set(lr.tables) >= {"departments", "catalog", "exchanges"}
    assert len(lr.tables["departments"]) == 2 and len(lr.tables["catalog"]) == 1
    assert list(lr.tables["catalog"]["_row"]) == [3]
    assert lr.tables["exchanges"]["交换时间"].iloc[0] == datetime(2026, 10, 8, 10, 30)
    bad = lr.defects[lr.defects["problem"].astype(str).str.len() > 0]
    assert len(bad) == 0, bad.to_string()
