"""Waivers: reading (.xlsx sheet 豁免 / .csv in UTF-8, BOM, GB18030), validation errors naming the row, matching."""
from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from checker.errors import InputError, SharecheckError
from checker.model import FINDING_COLUMNS, STATUS_WAIVED, WAIVER_COLUMNS
from checker.waivers import apply_waivers, read_waivers

RULES = ["GZ165-10-1", "GZ165-16-1", "GZ165-19-1", "GZ165-08-1"]
HEADER = ["规则编号", "部门", "记录", "理由", "批准人", "有效期至"]


def findings() -> pd.DataFrame:
    rows = [
        ("GZ165-10-1", "严重", "市公安局", None, "catalog", "c.xlsx", "信息资源", 5, "101001001/000012", "共享类型缺失"),
        ("GZ165-10-1", "严重", "市公安局", None, "catalog", "c.xlsx", "信息资源", 6, "101001001/000013", "共享类型缺失"),
        ("GZ165-16-1", "严重", "市民政局", "市公安局", "exchanges", "e.csv", "", 10, "JH0001", "点对点"),
        ("GZ165-16-1", "严重", "市民政局", "市公安局", "exchanges", "e.csv", "", 11, "JH0002", "点对点"),
        ("GZ165-19-1", "严重", "市公安局", None, "updates", "u.xlsx", "数据更新", 3,
         "101001001/000012@2026-10-03 08:00:00", "滞后"),
        ("GZ165-08-1", "严重", "海珠区教育局", None, "departments", "d.xlsx", "部门名录", 4, "海珠区教育局", "未编制"),
    ]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def write_xlsx(path, rows, sheet="豁免", title=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append(["2026年10月 豁免清单"])
    ws.append(HEADER)
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def write_csv(path, rows, encoding="utf-8-sig"):
    lines = [",".join(HEADER)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


GOOD = [
    ("GZ165-10-1", "市公安局", "101001001/000012", "目录调整中", "张三", date(2026, 12, 31)),
    ("gz165-16-1", "市 民政局", None, "专网改造，经批准", "李四", "2026/11/30"),
    ("GZ165-19-1", "市公安局", "101001001/000012@2026-10-03 08:00:00", "系统故障", "王五", "2026年10月31日"),
    ("GZ165-08-1", "海珠区教育局", None, "新设机构", "王五", "2026-09-30"),   # expired at as_of 2026-10-31
]


def test_xlsx_read_and_apply(tmp_path):
    w = read_waivers(write_xlsx(tmp_path / "w.xlsx", GOOD), RULES)
    assert list(w.columns) == WAIVER_COLUMNS
    assert list(w["waiver_id"]) == ["W001", "W002", "W003", "W004"]
    assert list(w["row"]) == [3, 4, 5, 6]            # Excel rows: title row 1, header row 2
    assert w.loc[1, "rule_id"] == "GZ165-16-1"
    assert w.loc[1, "valid_until"] == date(2026, 11, 30)
    f, wv = apply_waivers(findings(), w, as_of=date(2026, 10, 31))
    assert list(f["status"]) == [STATUS_WAIVED, None, STATUS_WAIVED, STATUS_WAIVED, STATUS_WAIVED, None]
    assert list(f["waiver_id"]) == ["W001", None, "W002", "W002", "W003", None]
    assert list(wv["covered"]) == [1, 2, 1, 0]
    assert list(wv["expired"]) == [False, False, False, True]


def test_valid_until_is_inclusive(tmp_path):
    w = read_waivers(write_xlsx(tmp_path / "w.xlsx", GOOD[3:]), RULES)
    f, wv = apply_waivers(findings(), w, as_of=date(2026, 9, 30))
    assert f.loc[5, "status"] == STATUS_WAIVED and wv.loc[0, "covered"] == 1
    f, wv = apply_waivers(findings(), w, as_of=date(2026, 10, 1))
    assert f.loc[5, "status"] is None and bool(wv.loc[0, "expired"])


def test_specific_waiver_wins_over_general(tmp_path):
    rows = [("GZ165-10-1", "市公安局", None, "整体", "甲", "2026-12-31"),
            ("GZ165-10-1", "市公安局", "101001001/000013", "单条", "乙", "2026-12-31")]
    f, wv = apply_waivers(findings(), read_waivers(write_csv(tmp_path / "w.csv", rows), RULES), date(2026, 10, 31))
    assert list(f["waiver_id"][:2]) == ["W001", "W002"]
    assert list(wv["covered"]) == [1, 1]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_and_normalisation(tmp_path, encoding):
    rows = [("ＧＺ165-10-1", "市公安局", " 101001001/000013 ", "理由", "张三", "20261231")]
    w = read_waivers(write_csv(tmp_path / "w.csv", rows, encoding), RULES)
    assert w.loc[0, "department"] == "市公安局"
    f, wv = apply_waivers(findings(), w, date(2026, 10, 31))
    assert f.loc[1, "waiver_id"] == "W001" and wv.loc[0, "covered"] == 1
    assert wv.loc[0, "row"] == 2


@pytest.mark.parametrize("row, column, fragment", [
    (("GZ165-99-9", "市公安局", None, "理由", "张三", "2026-12-31"), "规则编号", "规则编号不存在"),
    (("GZ165-10-1", "市公安局", None, "", "张三", "2026-12-31"), "理由", "缺少豁免理由"),
    (("GZ165-10-1", "市公安局", None, "无", "张三", "2026-12-31"), "理由", "缺少豁免理由"),
    (("GZ165-10-1", "市公安局", None, "理由", "", "2026-12-31"), "批准人", "缺少批准人"),
    (("GZ165-10-1", "市公安局", None, "理由", "张三", "下个月"), "有效期至", "日期无法识别"),
    (("GZ165-10-1", "市公安局", None, "理由", "张三", ""), "有效期至", "有效期至为空"),
    (("GZ165-10-1", "", None, "理由", "张三", "2026-12-31"), "部门", "必填项为空"),
])
def test_validation_names_row_and_column(tmp_path, row, column, fragment):
    path = write_xlsx(tmp_path / "w.xlsx", [GOOD[0], row])
    with pytest.raises(InputError) as ei:
        read_waivers(path, RULES)
    msg = str(ei.value)
    assert "第 4 行" in msg and f"列「{column}」" in msg and fragment in msg and "w.xlsx" in msg
    assert ei.value.exit_code == 2 and "\n" not in msg


def test_missing_column_and_sheet(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["规则编号", "部门", "记录", "理由", "有效期至"])
    wb.save(tmp_path / "a.xlsx")
    with pytest.raises(InputError, match="缺少必填列「批准人」"):
        read_waivers(tmp_path / "a.xlsx", RULES)
    wb = openpyxl.Workbook()
    wb.active.title = "其他"
    wb.create_sheet("另一个")
    wb.save(tmp_path / "b.xlsx")
    with pytest.raises(InputError, match="找不到工作表「豁免」"):
        read_waivers(tmp_path / "b.xlsx", RULES)
    (tmp_path / "c.txt").write_text("x")
    with pytest.raises(SharecheckError, match="不支持"):
        read_waivers(tmp_path / "c.txt", RULES)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputError, match=r"broken\.xlsx：工作簿已损坏"):
        read_waivers(tmp_path / "broken.xlsx", RULES)


def test_no_waivers_and_blank_rows(tmp_path):
    f, wv = apply_waivers(findings(), None, date(2026, 10, 31))
    assert wv is None and f["status"].isna().all() and f["waiver_id"].isna().all()
    path = write_xlsx(tmp_path / "w.xlsx", [GOOD[0], (None,) * 6, GOOD[1]])
    w = read_waivers(path, RULES)
    assert list(w["row"]) == [3, 5]
    f, wv = apply_waivers(findings().iloc[0:0], w, date(2026, 10, 31))
    assert len(f) == 0 and list(wv["covered"]) == [0, 0]


def test_excel_datetime_cell(tmp_path):
    rows = [("GZ165-10-1", "市公安局", None, "理由", "张三", datetime(2026, 10, 31, 0, 0))]
    w = read_waivers(write_xlsx(tmp_path / "w.xlsx", rows, title=False), RULES)
    assert w.loc[0, "valid_until"] == date(2026, 10, 31) and w.loc[0, "row"] == 2


def test_waivers_workbook_goes_through_the_safety_checks(tmp_path):
    """A zip bomb named as a waivers workbook is refused from its zip directory, before any parsing."""
    import zipfile
    bomb = tmp_path / "豁免.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                fh.write(chunk)
    with pytest.raises(InputError, match="豁免.xlsx"):
        read_waivers(bomb, RULES)
