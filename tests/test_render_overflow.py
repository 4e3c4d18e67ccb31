"""Issue 11 item 4: tables longer than an xlsx sheet holds are cut with a note; findings.parquet holds every finding.

The row limit is xlsxkit.MAX_SHEET_ROWS; the tests lower it so that a few dozen rows overflow."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from checker.render import write
from checker.render import xlsxkit
from tests.demo_report import make_report

LIMIT = 30          # rows per sheet incl. header and note -> 28 data rows when cut


def _read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture
def cut_run(tmp_path, monkeypatch):
    from checker.render import html
    monkeypatch.setattr(xlsxkit, "MAX_SHEET_ROWS", LIMIT)
    monkeypatch.setattr(html, "MAX_HTML_ROWS", 10)
    monkeypatch.setattr(html, "MAX_HTML_FINDINGS", 10)
    r = make_report(120)
    paths = write(r, tmp_path)
    return r, tmp_path, paths


def _intro(wb) -> dict:
    return {ws_row[0]: ws_row[1] for ws_row in wb["说明"].iter_rows(values_only=True) if ws_row and ws_row[0]}


def test_findings_sheet_holds_first_rows_with_note(cut_run):
    r, out, _ = cut_run
    wb = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx")
    assert "问题明细(2)" not in wb.sheetnames
    ws = wb["问题明细"]
    assert ws.max_row == LIMIT
    note = ws.cell(1, 1).value
    assert "共 120 行" in note and f"前 {LIMIT - 2} 行" in note and f"另有 {120 - LIMIT + 2} 行未列出" in note
    assert "findings.csv" in note and "findings.parquet" in note
    assert ws.cell(2, 1).value == "规则编号" and ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == f"A2:O{LIMIT}"
    keys = [ws.cell(k, 7).value for k in range(3, LIMIT + 1)]
    assert keys == r.result.findings["key"].iloc[:LIMIT - 2].tolist()       # the first rows, in the report's order
    intro = _intro(wb)
    assert f"另有 {120 - LIMIT + 2} 行未列出" in intro["「问题明细」未列全"]
    assert "「待办」未列全" in intro and "pending.csv" in intro["「待办」未列全"]       # 40 pending rows > 28
    assert "「输入问题」未列全" in intro and "defects.csv" in intro["「输入问题」未列全"]  # 31 defects > 28
    # the full lists
    f = _read_csv(out / "findings.csv")
    assert len(f) == 120 and f["key"].tolist() == r.result.findings["key"].tolist()
    assert len(_read_csv(out / "pending.csv")) == 40
    d = _read_csv(out / "defects.csv")
    assert len(d) == 31 and d["problem"].tolist() == r.load.defects["problem"].tolist()
    ws_d = wb["输入问题"]
    assert ws_d.max_row == LIMIT and "defects.csv" in ws_d.cell(1, 1).value and ws_d.cell(2, 1).value == "表"
    m = json.loads((out / "manifest.json").read_text("utf-8"))
    assert m["findings_files"] == ["findings.csv", "findings.parquet"]
    assert m["workbook_left_out"]["问题明细"] == {"rows": 120, "in_workbook": LIMIT - 2, "left_out": 120 - LIMIT + 2,
                                                "full_list": "findings.csv"}
    assert set(m["workbook_left_out"]) == {"问题明细", "待办", "输入问题"}
    html = (out / "report.html").read_text("utf-8")
    assert "见 defects.csv" in html and "见 pending.csv" in html
    assert f"findings.parquet（工作簿「问题明细」超出 Excel 行数上限，只列出前 {LIMIT - 2} 个）" in html


def test_department_workbook_follows_the_same_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsxkit, "MAX_SHEET_ROWS", 8)          # 6 data rows when cut
    r = make_report(120)
    write(r, tmp_path, ["dept_xlsx"])
    counts = r.result.findings["department"].value_counts()
    dept = counts.index[0]
    n = int(counts.iloc[0])
    assert n > 7
    path = next(p for p in (tmp_path / "部门报告").glob("*.xlsx") if p.name.startswith(dept))
    wb = openpyxl.load_workbook(path)
    ws = wb["问题明细"]
    assert ws.max_row == 8 and f"共 {n} 行" in ws.cell(1, 1).value and f"另有 {n - 6} 行未列出" in ws.cell(1, 1).value
    mine = r.result.findings[r.result.findings["department"] == dept]
    assert [ws.cell(k, 7).value for k in range(3, 9)] == mine["key"].iloc[:6].tolist()
    assert "「问题明细」未列全" in _intro(wb)


def test_exactly_at_the_limit_is_not_cut(tmp_path, monkeypatch):
    r = make_report(120)
    monkeypatch.setattr(xlsxkit, "MAX_SHEET_ROWS", 121)        # header + 120 rows fit exactly
    write(r, tmp_path, ["xlsx", "csv", "json"])
    wb = openpyxl.load_workbook(tmp_path / "审计报告_2026-10.xlsx")
    ws = wb["问题明细"]
    assert ws.cell(1, 1).value == "规则编号" and ws.max_row == 121 and ws.freeze_panes == "A2"
    assert not any(k.endswith("未列全") for k in _intro(wb))
    assert not (tmp_path / "pending.csv").exists() and not (tmp_path / "defects.csv").exists()
    assert "workbook_left_out" not in json.loads((tmp_path / "manifest.json").read_text("utf-8"))


def test_under_the_limit_bytes_do_not_depend_on_the_limit(tmp_path, monkeypatch):
    r = make_report(60)
    a = write(r, tmp_path / "a", ["xlsx", "dept_xlsx", "html"])
    monkeypatch.setattr(xlsxkit, "MAX_SHEET_ROWS", 200)
    b = write(r, tmp_path / "b", ["xlsx", "dept_xlsx", "html"])
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_findings_parquet_matches_csv_and_is_deterministic(tmp_path):
    r = make_report(400)
    write(r, tmp_path / "a", ["csv"])
    write(r, tmp_path / "b", ["csv"])
    pa_bytes = (tmp_path / "a" / "findings.parquet").read_bytes()
    assert pa_bytes == (tmp_path / "b" / "findings.parquet").read_bytes()
    t = pq.read_table(tmp_path / "a" / "findings.parquet")
    assert t.column_names == ["rule_id", "severity", "department", "counterpart", "input", "file", "sheet", "row",
                              "key", "message", "status"]
    assert str(t.schema.field("row").type) == "int64" and str(t.schema.field("key").type) == "string"
    assert t.schema.metadata is None                                 # no pandas metadata, no times
    meta = pq.ParquetFile(tmp_path / "a" / "findings.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    p = t.to_pandas()
    c = _read_csv(tmp_path / "a" / "findings.csv")
    assert len(p) == len(c) == 400
    for col in c.columns:
        if col == "row":
            assert p["row"].astype("Int64").astype(str).replace("<NA>", "").tolist() == c["row"].tolist()
        else:
            got = p[col].fillna("").tolist()
            want = [v[1:] if v.startswith("'") and not got[i].startswith("'") else v for i, v in enumerate(c[col])]
            assert got == want, col
    assert p["row"].isna().sum() == r.result.findings["row"].isna().sum() > 0
    assert p["counterpart"].isna().sum() == r.result.findings["counterpart"].isna().sum() > 0


def test_findings_parquet_for_no_findings(tmp_path):
    r = make_report(0)
    write(r, tmp_path, ["csv"])
    t = pq.read_table(tmp_path / "findings.parquet")
    assert t.num_rows == 0 and "status" in t.column_names


def test_tracking_sheet_is_cut_too(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsxkit, "MAX_SHEET_ROWS", 100)
    r = make_report(200)
    assert r.trends is not None or r.resolved is not None
    wb = openpyxl.load_workbook(write(r, tmp_path, ["xlsx"])[0])
    rows = list(wb["整改跟踪"].iter_rows(values_only=True))
    assert len(rows) == 100
    i = next(k for k, row in enumerate(rows) if row[0] and str(row[0]).startswith("本表共"))
    note = rows[i][0]
    kept = 100 - (i + 2)                                    # rows under the note and the header
    assert rows[i + 1][0] == "整改状态" and f"前 {kept} 行" in note and "历史库" in note
    total = int(note.split("本表共 ")[1].split(" 行")[0])
    assert total > kept and f"另有 {total - kept} 行未列出" in note
