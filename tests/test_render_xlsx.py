"""The auditors' workbook: sheets, headers, sizes, hostile text, determinism, row-limit continuation."""
from __future__ import annotations

import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from checker import model
from checker.render import write, writers
from checker.render import xlsxkit
from tests.demo_report import make_report

HOSTILE = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "  =HYPERLINK(\"http://x\")", "\t=1", "\r=2", "\n@x",
           "=cmd|' /C calc'!A0"]


def _hostile_report(n=60):
    r = make_report(n)
    f = r.result.findings
    for i, h in enumerate(HOSTILE):
        f.loc[i, "key"] = h
        f.loc[i, "message"] = h + "（值）"
        f.loc[i, "department"] = h if i == 0 else f.loc[i, "department"]
    f.loc[len(HOSTILE), "message"] = "控制字符\x01\x07在这里"
    r.load.defects.loc[0, "value"] = "=IMPORTXML(1)"
    r.result.pending.loc[0, "key"] = "-1"
    return r


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("x")
    r = make_report(300)
    p = write(r, out, ["xlsx"])[0]
    return r, p, openpyxl.load_workbook(p)


def test_registry_order_and_unknown_format(tmp_path):
    assert writers()[:5] == ["xlsx", "dept_xlsx", "html", "csv", "json"]
    from checker.errors import UsageError
    with pytest.raises(UsageError, match="未知的输出格式"):
        write(make_report(5), tmp_path, ["pdf"])


def test_sheets_in_order(book):
    r, p, wb = book
    assert p.name == "审计报告_2026-10.xlsx"
    assert wb.sheetnames == ["说明", "部门评分", "规则汇总", "问题明细", "待办", "输入问题", "未检查", "豁免", "整改跟踪"]


def test_optional_sheets_absent_without_waivers_and_history(tmp_path):
    r = make_report(20, history=False, waivers=False)
    wb = openpyxl.load_workbook(write(r, tmp_path, ["xlsx"])[0])
    assert wb.sheetnames == ["说明", "部门评分", "规则汇总", "问题明细", "待办", "输入问题", "未检查"]


def test_row_counts_and_headers(book):
    r, p, wb = book
    f = r.result.findings
    ws = wb["问题明细"]
    head = [c.value for c in ws[1]]
    assert head[:13] == ["规则编号", "严重程度", "部门", "对方部门", "条款", "问题说明", "记录标识", "来源表",
                         "来源文件", "工作表", "行号", "状态", "豁免编号"]
    assert "条款原文" in head
    assert ws.max_row == len(f) + 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(head))}{len(f) + 1}"
    # values in order, row NA -> empty, Int rows stay numbers
    keys = [ws.cell(i + 2, 7).value for i in range(len(f))]
    assert keys == f["key"].tolist()
    rows = [ws.cell(i + 2, 11).value for i in range(len(f))]
    exp = [None if pd.isna(v) else int(v) for v in f["row"]]
    assert rows == exp
    assert wb["待办"].max_row == len(r.result.pending) + 1
    assert wb["输入问题"].max_row == len(r.load.defects) + 1
    sc = wb["部门评分"]
    assert [c.value for c in sc[1]][:4] == ["排名", "部门", "得分", "等级"]
    assert sc.max_row == len(r.scorecard) + 1
    assert [sc.cell(i + 2, 2).value for i in range(len(r.scorecard))] == r.scorecard["department"].tolist()
    # the bar chart belongs to 部门评分 and plots its score column (openpyxl does not read charts back: follow
    # the sheet's drawing in the zip)
    with zipfile.ZipFile(p) as z:
        idx = wb.sheetnames.index("部门评分") + 1
        rels = z.read(f"xl/worksheets/_rels/sheet{idx}.xml.rels").decode()
        drawing = re.search(r'Target="/xl/drawings/(drawing\d+\.xml)"', rels).group(1)
        drels = z.read(f"xl/drawings/_rels/{drawing}.rels").decode()
        chart = re.search(r'Target="/xl/charts/(chart\d+\.xml)"', drels).group(1)
        xml = z.read(f"xl/charts/{chart}").decode()
    n = len(r.scorecard) + 1
    assert "<barChart>" in xml
    assert f"<f>'部门评分'!$C$2:$C${n}</f>" in xml and f"<f>'部门评分'!$B$2:$B${n}</f>" in xml


def test_grade_fills_and_not_applicable(book):
    r, _, wb = book
    ws = wb["部门评分"]
    for i, g in enumerate(r.scorecard["grade"]):
        c = ws.cell(i + 2, 4)
        assert c.value == g
        assert c.fill.fgColor.rgb.endswith({"优秀": "C6EFCE", "良好": "DDEBF7", "合格": "FFEB9C", "不合格": "FFC7CE"}[g])
    col = [c.value for c in ws[1]].index("共享服务(%)") + 1
    vals = [ws.cell(i + 2, col).value for i in range(len(r.scorecard))]
    assert "不适用" in vals and any(isinstance(v, float) for v in vals)
    capped = [c.value for c in ws[1]].index("触发的评级政策") + 1
    assert ws.cell(len(r.scorecard) + 1, capped).value == "P-20-2 涉密信息上平台一票否决"


def test_charts_present(book):
    _, p, _ = book
    with zipfile.ZipFile(p) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        xml = "".join(z.read(n).decode() for n in charts)
    assert len(charts) == 2                      # score bars + trend lines
    assert "<barChart>" in xml and "<lineChart>" in xml and '<barDir val="bar"' in xml


def test_rule_summary_counts(book):
    r, _, wb = book
    ws = wb["规则汇总"]
    head = [c.value for c in ws[1]]
    data = {ws.cell(i, 1).value: {h: ws.cell(i, j + 1).value for j, h in enumerate(head)}
            for i in range(2, ws.max_row + 1)}
    f = r.result.findings
    for rid, g in f.groupby("rule_id"):
        row = data[rid]
        assert row["问题数"] == len(g)
        assert row["其中已豁免"] == int((g["status"] == model.STATUS_WAIVED).sum())
        assert row["涉及部门数"] == g["department"].nunique()
        chk = int(r.result.checked.loc[r.result.checked["rule_id"] == rid, "checked"].sum())
        assert row["检查单元数"] == chk
        open_ = len(g) - row["其中已豁免"]
        assert row["合规率(%)"] == pytest.approx(round(max(0, 1 - open_ / chk) * 100, 1))
    assert data["GZ165-DIS-1"]["检查情况"] == "未检查"


def test_intro_sheet_contents(book):
    r, _, wb = book
    text = "\n".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value is not None)
    assert "2026-10-31" in text and "gz165" in text and r.pack["version"] in text
    assert "ab" * 32 in text and "目录.xlsx" in text
    assert "limit_wd" in text and "GZ165-DIS-1" in text
    assert "如何阅读本报告" in text


def test_waivers_and_tracking(book):
    r, _, wb = book
    ws = wb["豁免"]
    head = [c.value for c in ws[1]]
    rows = [{h: ws.cell(i, j + 1).value for j, h in enumerate(head)} for i in range(2, ws.max_row + 1)]
    assert len(rows) == len(r.waivers)
    flags = {x["豁免编号"]: x["提示"] for x in rows}
    assert flags["W-002"] == "已过期，不适用于任何问题" and flags["W-003"] == "未覆盖任何问题" and flags["W-001"] is None
    t = wb["整改跟踪"]
    vals = [[c.value for c in row] for row in t.iter_rows()]
    flat = [v for row in vals for v in row if v is not None]
    f = r.result.findings
    assert flat.count("新增") == int((f["status"] == "新增").sum())
    assert flat.count("持续") == int((f["status"] == "持续").sum())
    assert flat.count("已整改") == len(r.resolved)
    assert "2026-07" in flat and "2026-10" in flat      # trend pivot header


@pytest.mark.parametrize("fmt", ["xlsx", "dept_xlsx"])
def test_hostile_text_stays_text(tmp_path, fmt):
    r = _hostile_report()
    paths = write(r, tmp_path, [fmt])
    seen = set()
    for p in paths:
        wb = openpyxl.load_workbook(p)
        for ws in wb:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value in HOSTILE + ["=IMPORTXML(1)", "-1"]:
                        assert c.data_type == "s", (p.name, ws.title, c.coordinate, c.value)
                        seen.add(c.value)
                    if isinstance(c.value, str) and c.value.startswith("控制字符"):
                        assert c.value == "控制字符\ufffd\ufffd在这里"
        with zipfile.ZipFile(p) as z:
            for n in z.namelist():
                if n.startswith("xl/worksheets/"):
                    assert not re.search(rb"<(\w+:)?f[ >]", z.read(n)), (p.name, n)
    assert {"=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "=cmd|' /C calc'!A0"} <= seen
    if fmt == "xlsx":
        assert {"=IMPORTXML(1)", "-1", "\t=1"} <= seen


def test_byte_identical(tmp_path):
    a = write(make_report(200), tmp_path / "a", ["xlsx", "dept_xlsx"])
    b = write(make_report(200), tmp_path / "b", ["xlsx", "dept_xlsx"])
    assert [p.name for p in a] == [p.name for p in b]
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
    with zipfile.ZipFile(a[0]) as z:
        core = z.read("docProps/core.xml").decode()
        assert "2026-10-31T00:00:00Z" in core
        assert {i.date_time for i in z.infolist()} == {(2026, 10, 31, 0, 0, 0)}


def test_column_widths_count_cjk_double(book):
    _, _, wb = book
    ws = wb["问题明细"]
    # 部门 holds long Chinese names: wider than the 9-char 严重程度 column, capped at the max
    assert 20 <= ws.column_dimensions["C"].width <= 24
    assert ws.column_dimensions["B"].width == 9


def test_empty_report(tmp_path):
    r = make_report(0, history=False, waivers=False)
    wb = openpyxl.load_workbook(write(r, tmp_path, ["xlsx"])[0])
    assert wb["问题明细"].max_row == 1


def test_fast_body_reads_back_like_openpyxl_cells(tmp_path, monkeypatch):
    r = _hostile_report(120)
    f = r.result.findings
    f.loc[20, "message"] = "  前后空格  "
    f.loc[21, "message"] = "a & b < c > d \"q\" 'x'\r\n第二行"
    fast = write(r, tmp_path / "fast", ["xlsx"])[0]
    monkeypatch.setattr(xlsxkit, "FAST_BODY", False)
    slow = write(r, tmp_path / "slow", ["xlsx"])[0]
    a, b = openpyxl.load_workbook(fast), openpyxl.load_workbook(slow)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        va = [[(c.value, c.data_type) for c in row] for row in a[name].iter_rows()]
        vb = [[(c.value, c.data_type) for c in row] for row in b[name].iter_rows()]
        # openpyxl's own path loses a CR (XML end-of-line normalisation); the fast path keeps it (&#13;)
        norm = lambda rows: [[(v.replace("\r\n", "\n").replace("\r", "\n") if isinstance(v, str) else v,
                               t if v not in (None, "") else None)
                              for v, t in row] for row in rows]
        assert norm(va) == norm(vb), name
    ws = a["问题明细"]
    msgs = [ws.cell(i, 6).value for i in range(2, ws.max_row + 1)]
    assert "\r=2（值）" in msgs                                  # kept exactly
    assert "  前后空格  " in msgs and "a & b < c > d \"q\" 'x'\r\n第二行" in msgs
