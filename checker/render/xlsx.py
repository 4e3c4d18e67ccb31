"""The auditors' workbook 审计报告_<period>.xlsx and the per-department workbooks 部门报告/<部门>_<period>.xlsx."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.pagebreak import Break

from .. import model
from ..model import Report
from ..score import counted_mask
from . import common as cm
from . import xlsxkit
from .xlsxkit import DATE_OR_TIME, Col, kv_cells, pack_lines, new_workbook, save_deterministic, setup_print, write_table

INTRO_VALUE_WIDTH = 64      # column B of the auditors' 说明 sheet
# Columns printed of 问题明细 (the rule title and the article text stay on screen only).
FINDING_PRINT_COLS = 13
FINDING_COLS = [
    Col("rule_id", "规则编号", 13), Col("severity", "严重程度", 9), Col("department", "部门", max_width=24, wrap=True),
    Col("counterpart", "对方部门", max_width=20, wrap=True), Col("article", "条款", 14, wrap=True),
    Col("message", "问题说明", 50, wrap=True), Col("key", "记录标识", max_width=36),
    Col("input_title", "来源表", 10), Col("file", "来源文件", max_width=22), Col("sheet", "工作表", max_width=12),
    Col("row", "行号", 8), Col("status", "状态", 8), Col("waiver_id", "豁免编号", 10),
    Col("title", "规则名称", max_width=30), Col("article_text", "条款原文", 50),
]
PENDING_COLS = [
    Col("rule_id", "规则编号", 13), Col("department", "部门", max_width=28), Col("key", "记录标识", max_width=30),
    Col("due", "最迟办理时间", 17, number_format=DATE_OR_TIME), Col("message", "说明", 50, wrap=True),
    Col("input_title", "来源表", 10), Col("file", "来源文件", max_width=28), Col("sheet", "工作表", max_width=14),
    Col("row", "行号", 8),
]
DEFECT_COLS = [
    Col("table_title", "表", 10), Col("file", "文件", max_width=28), Col("sheet", "工作表", max_width=14),
    Col("row", "行号", 8), Col("column", "列", max_width=16), Col("value", "单元格内容", max_width=30),
    Col("problem", "问题", 50, wrap=True),
]

SEVERITY_FILLS = {k: PatternFill("solid", fgColor=v) for k, v in cm.SEVERITY_COLOURS.items()}
SEVERITY_FONTS = {"严重": "9C0006", "一般": "9C5700", "提示": "595959"}     # as the HTML page's 问题明细


def _severity_colours(sheets: list, n_rows: int, cols: list[Col]) -> None:
    """Colour the 严重程度 cells of a findings table by severity (issue 8 E8), as the HTML page does: one
    conditional format per severity over the column, so that the table keeps its fast streamed path."""
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.utils import get_column_letter
    keys = [c.key for c in cols]
    if "severity" not in keys or not sheets:
        return
    letter = get_column_letter(keys.index("severity") + 1)
    for ws in sheets:
        head, rows, _ = ws._sharecheck_table
        if not rows:
            continue
        ref = f"{letter}{head + 1}:{letter}{rows + head}"
        for sev, fill in SEVERITY_FILLS.items():
            ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[f'"{sev}"'], fill=fill,
                                                          font=Font(bold=True, color=SEVERITY_FONTS[sev])))


# Where the full lists are when a sheet cannot hold them all (issue 11 item 4).
FINDINGS_FULL = "findings.csv 或 findings.parquet"
PENDING_FULL = "pending.csv"
DEFECTS_FULL = "defects.csv"


def overflow_items(findings: pd.DataFrame, pending: pd.DataFrame | None = None,
                   defects: pd.DataFrame | None = None) -> list:
    """说明 rows for the tables longer than a sheet holds (none for a month under the limit)."""
    items = []
    for sheet, frame, where in [("问题明细", findings, FINDINGS_FULL), ("待办", pending, PENDING_FULL),
                                ("输入问题", defects, DEFECTS_FULL)]:
        n = 0 if frame is None else len(frame)
        kept = xlsxkit.sheet_capacity(n)
        if kept < n:
            items.append((f"「{sheet}」未列全", f"共 {n} 行，工作表只列出前 {kept} 行（Excel 行数上限），"
                                             f"另有 {n - kept} 行未列出；完整清单见 {where}"))
    return items


GRADE_FILLS = {k: (PatternFill("solid", fgColor=v), Font(bold=True, color=cm.GRADE_FONT_COLOURS[k]))
               for k, v in cm.GRADE_COLOURS.items()}


def _findings_for_sheet(f: pd.DataFrame) -> pd.DataFrame:
    f = f.copy()
    f["input_title"] = f["input"].map(cm.table_title) if len(f) else []
    f["row"] = pd.to_numeric(f["row"], errors="coerce").astype("Int64")
    return f


def _pending_frame(p: pd.DataFrame | None) -> pd.DataFrame:
    p = p.copy() if p is not None else model.empty_frame(model.PENDING_COLUMNS)
    for c in model.PENDING_COLUMNS:
        if c not in p.columns:
            p[c] = None
    p["input_title"] = p["input"].map(cm.table_title) if len(p) else []
    p["due"] = pd.to_datetime(p["due"], errors="coerce")
    p["row"] = pd.to_numeric(p["row"], errors="coerce").astype("Int64")
    return p


def _defect_frame(d: pd.DataFrame | None) -> pd.DataFrame:
    d = d.copy() if d is not None else model.empty_frame(model.DEFECT_COLUMNS)
    for c in model.DEFECT_COLUMNS:
        if c not in d.columns:
            d[c] = None
    d["table_title"] = d["table"].map(cm.table_title) if len(d) else []
    d["row"] = pd.to_numeric(d["row"], errors="coerce").astype("Int64")
    d["value"] = cm.obj_text(d["value"]) if len(d) else d["value"]
    return d


def score_sheet_frame(report: Report, sc: pd.DataFrame) -> pd.DataFrame:
    """The scorecard rows as the score sheet shows them (coverage rounded, policies named, 不适用 for no rate)."""
    dims, rules = cm.scorecard_columns(report)
    sc = sc.copy()
    sc["coverage"] = cm.coverage_percent(sc["coverage"])
    sc["capped_by"] = cm.capped_text(report, sc["capped_by"])
    rate_cols = dims + rules
    for c in rate_cols:
        v = pd.to_numeric(sc[c], errors="coerce")
        sc[c] = v.astype("object").where(v.notna(), cm.NOT_APPLICABLE)
    sc["score"] = pd.to_numeric(sc["score"], errors="coerce")
    sc["rank"] = pd.to_numeric(sc["rank"], errors="coerce").astype("Int64")
    return sc


def score_rows_prepared(report: Report, sc: pd.DataFrame) -> pd.DataFrame | None:
    """``score_sheet_frame`` of the whole scorecard, once for every department's one-row score sheet, when that
    gives each row exactly what its own conversion would: every converted column already numeric (to_numeric is
    then the identity, whatever the other rows hold). None otherwise (each row is converted on its own)."""
    dims, rules = cm.scorecard_columns(report)
    for c in ["coverage", "score", "rank"] + dims + rules:
        if c not in sc.columns or not pd.api.types.is_numeric_dtype(sc[c].dtype):
            return None
    try:
        return score_sheet_frame(report, sc)
    except (TypeError, ValueError):
        return None


def _score_sheet(wb, report: Report, sc: pd.DataFrame, title: str, chart: bool = True,
                 prepared: pd.DataFrame | None = None):
    """``prepared``: ``score_sheet_frame(report, sc)`` when the caller has it."""
    dims, rules = cm.scorecard_columns(report)
    sc = score_sheet_frame(report, sc) if prepared is None else prepared
    cols = [Col("rank", "排名", 6), Col("department", "部门", max_width=30), Col("score", "得分", 8, number_format="0.0"),
            Col("grade", "等级", 8)]
    cols += [Col(d, f"{d}(%)", 11, number_format="0.0") for d in dims]
    cols += [Col("coverage", "覆盖率(%)", 10, number_format="0.0"), Col("rules_applicable", "适用规则数", 10),
             Col("raw_grade", "按分数应得等级", 14), Col("capped_by", "触发的评级政策", max_width=60)]
    cols += [Col(r, r, 12, number_format="0.0") for r in rules]
    main_cols = 4 + len(dims) + 4
    chart_rows = int((max(7.5, 0.7 * len(sc) + 3)) / 0.5) + 4 if chart and len(sc) else 0
    ws = write_table(wb, title, sc, cols, row_styles={"grade": GRADE_FILLS, "raw_grade": GRADE_FILLS},
                     print_cols=main_cols, print_extra_rows=chart_rows)[0]
    if chart and len(sc):
        ch = BarChart()
        ch.type = "bar"
        ch.style = 10
        ch.title = "部门得分"
        ch.y_axis.title = "得分"
        ch.y_axis.scaling.min = 0
        ch.y_axis.scaling.max = 100
        ch.x_axis.scaling.orientation = "maxMin"   # rank 1 on top
        ch.y_axis.crosses = "max"                   # ... and the score axis below the bars, not above
        ch.legend = None
        ch.x_axis.tickLblSkip = 1
        ch.gapWidth = 40
        ch.y_axis.number_format = "0"
        ch.y_axis.majorUnit = 10
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        data = Reference(ws, min_col=3, min_row=1, max_row=len(sc) + 1)
        cats = Reference(ws, min_col=2, min_row=2, max_row=len(sc) + 1)
        ch.add_data(data, titles_from_data=True)
        ch.set_categories(cats)
        # each bar in its grade's colour (the title says which colour is which grade)
        from openpyxl.chart.marker import DataPoint
        from openpyxl.chart.shapes import GraphicalProperties
        series = ch.series[0]
        for i, g in enumerate(sc["grade"].tolist()):
            colour = cm.GRADE_BAR_COLOURS.get(str(g))
            if colour:
                series.dPt.append(DataPoint(idx=i, spPr=GraphicalProperties(solidFill=colour)))
        ch.title = "部门得分（" + "　".join(f"{cm.GRADE_BAR_NAMES[g]}＝{g}" for g in cm.GRADE_BAR_COLOURS) + "）"
        ch.height = max(7.5, 0.7 * len(sc) + 3)
        ch.width = 24
        ws.add_chart(ch, f"A{len(sc) + 4}")
        # the chart starts a printed page of its own (never cut between the table's last page and the next)
        ws.row_breaks.append(Break(id=len(sc) + 2))
    return ws


def _rule_summary_sheet(wb, report: Report):
    rs = cm.rule_summary(report)
    cols = [Col("rule_id", "规则编号", 13), Col("article", "条款", 18, wrap=True),
            Col("title", "规则名称", 40, wrap=True),
            Col("severity", "严重程度", 9), Col("dimension", "评分维度", 10), Col("run", "检查情况", 9),
            Col("findings", "问题数", 8), Col("waived", "其中已豁免", 10), Col("counted", "计分问题数", 10),
            Col("checked", "检查单元数", 10), Col("rate", "合规率(%)", 10, number_format="0.0"),
            Col("departments", "涉及部门数", 10), Col("article_text", "条款原文", 60)]
    write_table(wb, "规则汇总", rs, cols, row_styles={"run": {"未检查": PatternFill("solid", fgColor="EDEDED")}},
                print_cols=len(cols) - 1)


def _not_checked_sheet(wb, report: Report, rules: pd.DataFrame):
    from openpyxl.cell import WriteOnlyCell
    from .xlsxkit import WRAP, header_cells, text_cell
    nc = report.result.not_checked
    nc = nc.copy() if nc is not None else model.empty_frame(model.NOT_CHECKED_COLUMNS)
    for c in model.NOT_CHECKED_COLUMNS:
        if c not in nc.columns:
            nc[c] = None
    nc["title"] = nc["rule_id"].map(rules.set_index("rule_id")["title"]) if len(nc) else []
    nc["missing_inputs"] = cm.table_titles(nc["missing_inputs"]) if len(nc) else []
    # fixed widths: the sheet holds two tables (rules not run; records skipped) sharing the columns
    cols = [Col("rule_id", "规则编号", 13), Col("title", "规则名称", 40, wrap=True),
            Col("missing_inputs", "缺少的输入", 24, wrap=True), Col("reason", "原因", 70, wrap=True)]
    ws = write_table(wb, "未检查", nc, cols, allow_fast=False, autofilter=len(nc) > 0)[0]

    def note(text, bold=False):
        c = WriteOnlyCell(ws, value=text)
        c.font = Font(bold=True, color="1F4E79") if bold else Font(color="595959")
        ws.append([c])

    if not len(nc):
        note("全部规则均已检查（所需的输入表都已提供）。")
    sk = report.result.skipped
    if sk is not None and len(sk):
        sk = sk.copy()
        sk["input"] = sk["input"].map(cm.table_title)
        ws.append([])
        note("部分记录未检查（规则所需的值缺失或无法识别、或不在检查范围内）", bold=True)
        ws.append(header_cells(ws, ["规则编号", "来源表", "跳过记录数", "原因"]))
        for rid, inp, cnt, why in zip(cm.obj_text(sk["rule_id"]), sk["input"], pd.to_numeric(sk["count"]).tolist(),
                                      cm.obj_text(sk["reason"])):
            reason = text_cell(ws, why)
            reason.alignment = WRAP
            n = WriteOnlyCell(ws, value=int(cnt) if pd.notna(cnt) else None)
            n.alignment = Alignment(horizontal="center", vertical="top")
            ws.append([text_cell(ws, rid), text_cell(ws, inp), n, reason])


UNKNOWN_FINDING_KEYS = ["department", "rule_id", "severity", "message", "key", "input_title", "file", "sheet", "row"]


def _unknown_dept_sheet(wb, report: Report, f: pd.DataFrame, unknown: pd.DataFrame) -> None:
    """「部门名录中没有的部门」(issue 8 C2): the names, how many input rows and findings each has, the closest
    directory name; then their findings, listed under the name as written. Only when there is such a name."""
    if not len(unknown):
        return
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter
    from .xlsxkit import WRAP, header_cells, stream_rows, text_cell
    ws = wb.create_sheet(cm.UNKNOWN_DEPT_SECTION)
    setup_print(ws, title_rows=None)
    widths = [30, 30, 12, 40, 14, 22, 22, 12, 8]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    n = [0]

    def add(values, height=None):
        ws.append(values)
        n[0] += 1
        if height:
            ws.row_dimensions[n[0]].height = height

    head = text_cell(ws, f"{cm.UNKNOWN_DEPT_SECTION}：{len(unknown)} 个")
    head.font = Font(bold=True, size=13, color="1F4E79")
    add([head])
    note = text_cell(ws, cm.UNKNOWN_DEPT_NOTE)
    note.alignment = WRAP
    add([note], height=45)
    add([])
    keys = ["department", "nearest", "rows", "tables", "findings"]
    add(header_cells(ws, [cm.UNKNOWN_DEPT_LABELS[k] for k in keys]))
    for row in unknown[keys].itertuples(index=False):
        add([text_cell(ws, row.department), text_cell(ws, row.nearest or ""), WriteOnlyCell(ws, value=row.rows),
             text_cell(ws, row.tables or ""), WriteOnlyCell(ws, value=row.findings)])
    fu = f[f["department"].isin(set(unknown["department"]))]
    add([])
    sub = text_cell(ws, f"这些部门的问题：{len(fu)} 个（不计分；也列在「问题明细」中）")
    sub.font = Font(bold=True, color="1F4E79")
    add([sub])
    labels = {**cm.FINDING_LABELS, "input_title": "来源表"}
    add(header_cells(ws, [labels[k] for k in UNKNOWN_FINDING_KEYS]))
    fu = fu.sort_values(["department", "rule_id", "key"], kind="mergesort", na_position="last")
    stream_rows(wb, ws, fu, [Col(k, labels[k], w, wrap=k == "message") for k, w in zip(UNKNOWN_FINDING_KEYS, widths)],
                first_row=n[0] + 1)


def _waiver_sheet(wb, report: Report):
    w = cm.waivers_frame(report)
    if w is None:
        return
    w["valid_until"] = pd.to_datetime(w["valid_until"], errors="coerce")
    cols = [Col("waiver_id", "豁免编号", 10), Col("rule_id", "规则编号", 13), Col("department", "部门", max_width=28),
            Col("key", "记录标识", max_width=30), Col("reason", "理由", max_width=40), Col("approver", "批准人", 10),
            Col("valid_until", "有效期至", 12, number_format="yyyy-mm-dd"), Col("expired_text", "是否过期", 9),
            Col("covered", "覆盖问题数", 10), Col("flag", "提示", max_width=26), Col("file", "豁免文件", max_width=24),
            Col("row", "行号", 8)]
    warn = PatternFill("solid", fgColor="FFC7CE")
    write_table(wb, "豁免", w, cols, row_styles={"flag": {"未覆盖任何问题": warn, "未覆盖任何问题（部门名录中无此部门，请核对部门名称）": warn,
                                                            "已过期，不适用于任何问题": warn}})


def tracking_frame(report: Report, findings: pd.DataFrame, resolved: pd.DataFrame | None,
                   severity_of: pd.Series | None = None) -> pd.DataFrame:
    """New / persisting findings of this period and resolved ones since the previous period."""
    f = findings
    st = f["status"].astype("object")
    since = f["since"] if "since" in f.columns else pd.Series(None, index=f.index, dtype=object)
    since = since.astype("object").where(since.notna(), None)
    since = since.where(~(st.eq(model.STATUS_NEW) & since.isna()), report.period.label)
    cur = pd.DataFrame({"track": st, "rule_id": f["rule_id"], "severity": f["severity"],
                        "department": f["department"], "key": f["key"], "message": f["message"], "since": since})
    cur = cur[st.isin([model.STATUS_NEW, model.STATUS_PERSISTING])]
    if resolved is not None and len(resolved):
        r = resolved.copy()
        for c in model.RESOLVED_COLUMNS:
            if c not in r.columns:
                r[c] = None
        if severity_of is None:
            severity_of = cm.rules_frame(report).set_index("rule_id")["severity"]
        sev = r["rule_id"].map(severity_of)
        res = pd.DataFrame({"track": model.STATUS_RESOLVED, "rule_id": r["rule_id"], "severity": sev,
                            "department": r["department"], "key": r["key"], "message": r["message"],
                            "since": r["since"]})
        cur = pd.concat([cur, res], ignore_index=True)
    order = {model.STATUS_NEW: 0, model.STATUS_PERSISTING: 1, model.STATUS_RESOLVED: 2}
    cur = cur.assign(_o=cur["track"].map(order)).sort_values(
        ["_o", "department", "rule_id", "key"], kind="mergesort", na_position="last").drop(columns="_o")
    return cur.reset_index(drop=True)


def trend_pivot(trends: pd.DataFrame, departments: list[str]) -> pd.DataFrame:
    t = trends.copy()
    t["score"] = pd.to_numeric(t["score"], errors="coerce")
    pv = t.pivot_table(index="department", columns="period", values="score", aggfunc="last", sort=True)
    pv = pv.reindex([d for d in departments if d in pv.index] + sorted(set(pv.index) - set(departments)))
    pv = pv[sorted(pv.columns)]
    return pv


def _tracking_sheet(wb, report: Report, findings: pd.DataFrame, resolved, trends, departments: list[str],
                    chart_departments: int = 15, severity_of: pd.Series | None = None,
                    follow: list[tuple[str, list[str]]] | None = None):
    """整改跟踪. ``follow`` (the auditors' workbook): the departments its trend chart shows
    (``common.followed_departments``); None: the first ``chart_departments`` rows (a department's own)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter
    from .xlsxkit import header_cells, setup_print, text_cell
    ws = wb.create_sheet("整改跟踪")
    nrows = [0]

    def add(values):
        ws.append(values)
        nrows[0] += 1

    setup_print(ws, title_rows=None)
    # widths first: a streamed sheet ignores column widths set after its first row. Column A holds the
    # department of the trend table and the status of the tracking table below it.
    widths = [30, 13, 10, 28, 36, 60, 12]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    track = tracking_frame(report, findings, resolved, severity_of)
    counts = track["track"].value_counts()
    head = text_cell(ws, f"整改跟踪：本期 {report.period.label}，对比上期"
                                   f"{' ' + report.previous_period if report.previous_period else '（无上期记录）'}")
    head.font = Font(bold=True, size=13, color="1F4E79")
    add([head])
    add([text_cell(ws, f"新增 {int(counts.get(model.STATUS_NEW, 0))} 个，持续 {int(counts.get(model.STATUS_PERSISTING, 0))} 个，"
               f"已整改 {int(counts.get(model.STATUS_RESOLVED, 0))} 个。已豁免的问题见「问题明细」。")])
    add([])
    pv = trend_pivot(trends, departments) if trends is not None and len(trends) else None
    if pv is not None and len(pv):
        c = WriteOnlyCell(ws, value="各部门得分趋势")
        c.font = Font(bold=True, color="1F4E79")
        add([c])
        top = 5
        why = dict(follow or [])
        add(header_cells(ws, ["部门"] + [str(p) for p in pv.columns] + (["图中显示（原因）"] if follow else [])))
        for dept, row in zip(pv.index, pv.itertuples(index=False)):
            vals = []
            for v in row:
                cell = WriteOnlyCell(ws, value=None if pd.isna(v) else float(v))
                cell.number_format = "0.0"
                vals.append(cell)
            tag = ["是（" + "、".join(why[dept]) + "）" if dept in why else ""] if follow else []
            add([text_cell(ws, cm.obj_text(pd.Series([dept], dtype=object)).iloc[0])] + vals
                + [text_cell(ws, t) for t in tag])
        rows_of = {d: top + 1 + i for i, d in enumerate(pv.index)}
        if follow is not None:
            shown = [d for d, _ in follow if d in rows_of]
        else:
            shown = list(pv.index[:chart_departments])
        ch = LineChart()
        ch.title = "得分趋势" + ("" if follow is None or len(shown) == len(pv) else
                             f"（{len(shown)} 个需跟进的部门：不合格、得分下降、得分最低）")
        ch.y_axis.title = "得分"
        ch.y_axis.scaling.min = 0
        ch.y_axis.scaling.max = 100
        ch.height, ch.width = 11, 30
        ch.y_axis.number_format = "0"
        ch.y_axis.majorUnit = 20
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        for d in shown:                                   # one series per department shown (rows need not touch)
            r = rows_of[d]
            ch.add_data(Reference(ws, min_col=1, max_col=len(pv.columns) + 1, min_row=r, max_row=r),
                        from_rows=True, titles_from_data=True)
        ch.set_categories(Reference(ws, min_col=2, max_col=len(pv.columns) + 1, min_row=top, max_row=top))
        ws.add_chart(ch, f"{get_column_letter(len(pv.columns) + (4 if follow else 3))}{top}")
        pad = max(0, 20 - len(pv))
        if follow is not None and len(shown) < len(pv):
            add([])
            pad -= 1
            note = f"图中显示 {len(shown)} 个需跟进的部门（见上表末列）；网页版报告可自选部门。"
            n = text_cell(ws, note)
            n.font = Font(color="595959")
            add([n])
            pad -= 1
        for _ in range(max(0, pad) + 1):
            add([])
    c = WriteOnlyCell(ws, value="问题整改状态（新增、持续、已整改）")
    c.font = Font(bold=True, color="1F4E79")
    add([c])
    room = xlsxkit.MAX_SHEET_ROWS - nrows[0] - 1                 # rows left under the header
    if len(track) > room:                                         # issue 11 item 4: keep the first rows, say so
        room -= 1
        n = text_cell(ws, xlsxkit.overflow_note(len(track), room, "findings.csv（新增、持续）和历史库（已整改）"))
        n.font = xlsxkit.OVERFLOW_FONT
        add([n])
        track = track.iloc[:max(0, room)]
    add(header_cells(ws, [cm.TRACK_LABELS[k] for k in ["track", "rule_id", "severity", "department", "key",
                                                              "message", "since"]]))
    from .xlsxkit import Col, stream_rows
    keys = ["track", "rule_id", "severity", "department", "key", "message", "since"]
    stream_rows(wb, ws, track, [Col(k, cm.TRACK_LABELS[k], w, wrap=k in ("department", "message"))
                                for k, w in zip(keys, widths)],
                first_row=nrows[0] + 1)


def _intro_items(report: Report, findings: pd.DataFrame, department: str | None = None,
                 extra: list | None = None, rules: pd.DataFrame | None = None,
                 nc: list[str] | None = None) -> list:
    """Rows of the 说明 sheet. ``rules``/``nc`` (the rule catalogue, the rules not checked) may be given by a
    caller that writes many workbooks, so that they are computed once per run, not once per department."""
    pack = report.pack or {}
    rules = cm.rules_frame(report) if rules is None else rules
    nc = cm.not_checked_ids(report) if nc is None else nc
    run = [r for r in rules["rule_id"].astype(str) if r not in nc]
    sev = cm.severity_counts(findings)
    stc = cm.status_counts(findings)
    title = f"{pack.get('report_title') or '政务信息共享合规审计报告'}（{report.period.label}）" if department is None \
        else f"{department} 政务信息共享合规审计报告（{report.period.label}）"
    items: list = [("#title", title)]
    items += [
        ("审计期间", f"{report.period.label}（{report.period.start.isoformat()} 至 {report.period.end.isoformat()}）"),
        ("审计基准日", report.as_of.isoformat()),
        ("依据", str(pack.get("regulation") or "")),
        ("规则包", f"{pack.get('title', '')}（{pack.get('pack', '')} 版本 {pack.get('version', '')}）"),
    ]
    items += cm.pack_lines(pack)
    if report.previous_period:
        items.append(("对比期间", str(report.previous_period)))
    if extra:
        items += extra
    items.append(("#section", "概况"))
    items.append(("问题总数", f"{len(findings)} 个（严重 {sev['严重']}，一般 {sev['一般']}，提示 {sev['提示']}）"))
    items.append(("问题状态", "，".join(f"{k} {v}" for k, v in stc.items())))
    items += overflow_items(findings, *((report.result.pending, report.load.defects) if department is None
                                        else (None, None)))
    if department is None:
        items.append(("参评部门", f"{len(cm.scorecard_frame(report))} 个"))
        items.append(("待办事项", f"{0 if report.result.pending is None else len(report.result.pending)} 个"))
        items.append(("输入问题", f"{0 if report.load.defects is None else len(report.load.defects)} 个"))
        unknown = cm.unknown_departments(report)
        if len(unknown):
            items.append((cm.UNKNOWN_DEPT_SECTION, f"{len(unknown)} 个：" + "、".join(unknown["department"])
                          + "（其问题不计分、不排名，见同名工作表）"))
        items.append(("#section", "检查范围"))
        # IDs packed into lines that fit the column: a rule ID never wraps in the middle (issue 8 E3)
        items.append(("已检查规则", pack_lines(run, INTRO_VALUE_WIDTH, first=f"{len(run)} 条：")))
        items.append(("未检查规则", pack_lines(nc, INTRO_VALUE_WIDTH, first=f"{len(nc)} 条：") + "\n（原因见「未检查」）"
                      if nc else "0 条"))
        items.append(("#section", "输入文件"))
        items.append(("#header", ["表", "文件", "工作表", "行数", "SHA-256"]))
        for inp in sorted(report.load.inputs or [], key=lambda d: (str(d.get("table", "")), str(d.get("path", "")),
                                                                    str(d.get("sheet", "")))):
            table = cm.table_title(inp.get("table")) if inp.get("table") else "未识别，已忽略"
            if inp.get("duplicate_of"):       # an event-table part given twice (issue 11)
                table = f"{cm.table_title(inp.get('part_of'))}（与 {inp['duplicate_of']} 内容相同，只计一次）"
            items.append([table, str(inp.get("path", "")), str(inp.get("sheet") or ""),
                          inp.get("rows"), str(inp.get("sha256", ""))])
        items.append(("#section", "本次使用的参数"))
        items.append(("#header", ["规则编号", "参数（参数文件中的名称）", "取值"]))
        for rid in sorted(report.params or {}):
            for k in sorted(report.params[rid] or {}):
                label = ((pack.get("param_labels") or {}).get(rid) or {}).get(k)
                items.append([rid, cm.param_label(k, label), _param_text(report.params[rid][k])])
        items.append(("#section", "评分权重"))
        scored = set(pack.get("scored_severities") or ["严重", "一般"])
        for d in pack.get("dimensions", []):
            rw = d.get("rule_weights") or {}
            if isinstance(rw, list):
                rw = dict(zip(d.get("rules", []), rw))
            names = [f"{r}（权重 {rw[r]}）" if r in rw else str(r) for r in d.get("rules", [])]
            items.append([str(d.get("name")), pack_lines(names, INTRO_VALUE_WIDTH, first=f"权重 {d.get('weight')}；规则：")])
        items.append(["计分的严重程度", "、".join(s for s in model.SEVERITIES if s in scored)
                      + "（提示类问题和已豁免的问题不计分）"])
        grades = sorted(pack.get("grades") or [], key=lambda g: -float(g.get("min", 0)))
        if grades:
            items.append(["等级", "；".join(f"{g.get('grade')} ≥ {g.get('min')}" if float(g.get("min", 0)) > 0
                                           else f"{g.get('grade')} 低于 {grades[i - 1].get('min')}" if i else
                                           str(g.get("grade")) for i, g in enumerate(grades))])
        if pack.get("policies"):
            items.append(("#section", "评级政策"))
            for p in pack.get("policies", []):
                items.append([str(p.get("id")), str(p.get("title"))])
    items.append(("#section", "如何阅读本报告"))
    for line in (cm.HOW_TO_READ if department is None else cm.HOW_TO_READ_DEPT):
        items.append(["", line])
    return items


# Update cycles in the order of time (每日 … 每年), not in code-point order (issue 8 E3).
CYCLE_ORDER = ["每日", "每周", "每月", "每季度", "每半年", "每年"]


def _param_text(v) -> str:
    """A parameter value for the 说明 sheet; a table (cycle_days) one entry per line, cycles in time order."""
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if isinstance(v, dict):
        keys = [k for k in CYCLE_ORDER if k in v] + sorted(k for k in v if k not in CYCLE_ORDER)
        return "\n".join(f"{k}：{v[k]}" for k in keys)
    return str(v)


def write_audit_workbook(report: Report, out_dir: Path) -> Path:
    path = Path(out_dir) / f"审计报告_{report.period.label}.xlsx"
    wb = new_workbook(report.as_of)
    f = _findings_for_sheet(cm.findings_frame(report))
    rules = cm.rules_frame(report)
    ws = wb.create_sheet("说明")
    setup_print(ws, landscape=False, title_rows=None)
    ws.page_setup.orientation = "landscape"
    kv_cells(ws, _intro_items(report, f, rules=rules), widths=(20, INTRO_VALUE_WIDTH, 14, 8, 68))
    _score_sheet(wb, report, cm.scorecard_frame(report), "部门评分")
    _rule_summary_sheet(wb, report)
    _severity_colours(write_table(wb, "问题明细", f, FINDING_COLS, print_cols=FINDING_PRINT_COLS,
                                  overflow=FINDINGS_FULL), len(f), FINDING_COLS)
    write_table(wb, "待办", _pending_frame(report.result.pending), PENDING_COLS, overflow=PENDING_FULL)
    write_table(wb, "输入问题", _defect_frame(report.load.defects), DEFECT_COLS, overflow=DEFECTS_FULL)
    _unknown_dept_sheet(wb, report, f, cm.unknown_departments(report))
    _not_checked_sheet(wb, report, rules)
    _waiver_sheet(wb, report)
    if report.trends is not None or report.resolved is not None:
        _tracking_sheet(wb, report, f, report.resolved, report.trends, cm.departments_of_report(report),
                        follow=cm.followed_departments(report, report.trends))
    return save_deterministic(wb, path, report.as_of)


def department_rule_counts(report: Report, findings: pd.DataFrame, checked: pd.DataFrame | None
                           ) -> dict[str, tuple[dict, dict, dict]]:
    """Per department, ``department_rule_frame``'s counts for all departments at once (one grouping instead of
    one per department): {department: ({rule: findings}, {rule: counted findings}, {rule: checked units})}.
    Integer counts (checked units summed per department and rule), the same numbers as the department's own."""
    out: dict[str, tuple[dict, dict, dict]] = {}

    def entry(d):
        e = out.get(d)
        if e is None:
            e = out[d] = ({}, {}, {})
        return e
    if findings is not None and len(findings):
        counted = counted_mask(findings, report.pack, report.rules)
        g = pd.DataFrame({"d": findings["department"], "r": findings["rule_id"].astype(str),
                          "c": counted.astype(int)}).groupby(["d", "r"], sort=False)["c"]
        for (d, r), n in g.size().items():
            entry(d)[0][r] = int(n)
        for (d, r), n in g.sum().items():
            entry(d)[1][r] = int(n)
    if checked is not None and len(checked):
        u = pd.to_numeric(checked["checked"], errors="coerce").fillna(0).groupby(
            [checked["department"], checked["rule_id"].astype(str)], sort=False).sum()
        for (d, r), n in u.items():
            entry(d)[2][r] = int(n)
    return out


def department_rule_frame(report: Report, rules: pd.DataFrame, counts: tuple[dict, dict, dict],
                          sc_row: pd.DataFrame) -> pd.DataFrame:
    """One department's result per rule: findings, counted findings, checked units and its rate (or 不适用).

    ``counts``: the department's entry of ``department_rule_counts``; ``sc_row`` its scorecard row (the rates
    scored).
    """
    out = rules[["rule_id", "title", "dimension", "severity"]].copy()
    ids = out["rule_id"].astype(str)
    for col, per_rule in zip(("findings", "counted", "checked"), counts):
        out[col] = np.array([per_rule.get(r, 0) for r in ids.tolist()], dtype=int)
    nc = set(cm.not_checked_ids(report))
    rates = []
    for rid in ids:
        v = sc_row[rid].iloc[0] if len(sc_row) and rid in sc_row.columns else None
        if v is not None and not pd.isna(v):
            rates.append(float(v))
        elif rid in nc:
            rates.append("未检查")
        elif len(sc_row) and rid in sc_row.columns:
            rates.append(cm.NOT_APPLICABLE)
        else:
            rates.append("不计分")
    out["rate"] = pd.Series(rates, index=out.index, dtype=object)
    return out.reset_index(drop=True)


RULE_RATE_COLS = [
    Col("rule_id", "规则编号", 13), Col("title", "规则名称", 44, wrap=True), Col("dimension", "评分维度", 10),
    Col("severity", "严重程度", 9), Col("findings", "问题数", 8), Col("counted", "计分问题数", 10),
    Col("checked", "检查单元数", 10), Col("rate", "合规率(%)", 12, number_format="0.0"),
]


def write_department_workbooks(report: Report, out_dir: Path) -> list[Path]:
    """One workbook per department under 部门报告/, holding only that department's data.

    Every frame is grouped ONCE by department before the loop, so a department's workbook costs its own
    share of the findings, not a pass over all of them.
    """
    return start_department_workbooks(report, out_dir).result()


def start_department_workbooks(report: Report, out_dir: Path) -> "Pending":
    """``write_department_workbooks`` started: in the pool, the workbooks are being written when this returns
    (the caller writes the other reports meanwhile); serially, they are written by ``result()``."""
    folder = Path(out_dir) / "部门报告"
    depts = cm.departments_of_report(report)
    stems = cm.unique_file_stems(depts)
    rules = cm.rules_frame(report)
    nc_ids = cm.not_checked_ids(report)
    severity_of = rules.set_index("rule_id")["severity"]
    f = _findings_for_sheet(cm.findings_frame(report))
    # group every frame ONCE by department
    f_groups = f.groupby("department", sort=False).indices if len(f) else {}
    p = _pending_frame(report.result.pending)
    p_groups = p.groupby("department", sort=False).indices if len(p) else {}
    d = _defect_frame(report.load.defects)
    d_dept = cm.attribute_defects(report)
    d_groups = d.assign(_dept=d_dept.reindex(d.index)).groupby("_dept", sort=False).indices \
        if len(d) and len(d_dept) else {}
    ch = report.result.checked
    ch = ch if ch is not None else model.empty_frame(model.CHECKED_COLUMNS)
    c_groups = ch.groupby("department", sort=False).indices if len(ch) else {}
    sc = cm.scorecard_frame(report)
    sc_idx = {name: i for i, name in enumerate(sc["department"].tolist())}
    sc_shown = score_rows_prepared(report, sc)
    rule_counts = department_rule_counts(report, f, ch)
    res = report.resolved
    r_groups = res.groupby("department", sort=False).indices if res is not None and len(res) else {}
    tr = report.trends
    t_groups = tr.groupby("department", sort=False).indices if tr is not None and len(tr) else {}
    total = len(sc)
    empty_idx = np.array([], dtype=int)

    def one(dept: str) -> Path:
        fd = f.iloc[f_groups.get(dept, empty_idx)]
        row = sc.iloc[[sc_idx[dept]]] if dept in sc_idx else sc.iloc[0:0]
        extra = []
        if len(row):
            r0 = row.iloc[0]
            rank = r0["rank"]
            extra = [("部门", dept),
                     ("得分", "" if pd.isna(r0["score"]) else f"{float(r0['score']):.1f}"),
                     ("等级", "" if pd.isna(r0["grade"]) else str(r0["grade"])),
                     ("排名", f"第 {int(rank)} 名（共 {total} 个部门）" if pd.notna(rank) else "")]
            cap = cm.capped_text(report, row["capped_by"]).iloc[0]
            if cap:
                extra.append(("触发的评级政策", cap))
        else:
            extra = [("部门", dept), ("得分", "本部门未列入部门评分")]
        wb = new_workbook(report.as_of)
        ws = wb.create_sheet("说明")
        setup_print(ws, landscape=False, title_rows=None)
        kv_cells(ws, _intro_items(report, fd, department=dept, extra=extra, rules=rules, nc=nc_ids),
                 widths=(20, 90))
        _score_sheet(wb, report, row, "评分", chart=False,
                     prepared=sc_shown.iloc[[sc_idx[dept]]] if sc_shown is not None and dept in sc_idx else None)
        write_table(wb, "各规则合规率",
                    department_rule_frame(report, rules, rule_counts.get(dept, ({}, {}, {})), row),
                    RULE_RATE_COLS)
        _severity_colours(write_table(wb, "问题明细", fd, FINDING_COLS, print_cols=FINDING_PRINT_COLS,
                                      overflow=FINDINGS_FULL), len(fd), FINDING_COLS)
        write_table(wb, "待办", p.iloc[p_groups.get(dept, empty_idx)], PENDING_COLS, overflow=PENDING_FULL)
        write_table(wb, "输入问题", d.iloc[d_groups.get(dept, empty_idx)], DEFECT_COLS, overflow=DEFECTS_FULL)
        if report.trends is not None or report.resolved is not None:
            rd = res.iloc[r_groups.get(dept, empty_idx)] if res is not None else None
            td = tr.iloc[t_groups.get(dept, empty_idx)] if tr is not None else None
            _tracking_sheet(wb, report, fd, rd, td, [dept], severity_of=severity_of)
        return save_deterministic(wb, folder / f"{stems[dept]}_{report.period.label}.xlsx", report.as_of)

    return _start_map(one, depts)


# issue 10: the department workbooks are independent, so they are written by a pool of forked processes (each
# inherits the grouped frames; nothing is pickled but the department's name and the path written). A workbook's
# bytes depend only on its own data, so the files are identical to a serial run. Serial when there are few
# departments, one core, no fork (Windows, macOS default), or other non-daemon threads (see _other_threads).
# SHARECHECK_WORKERS=N sets the pool size (1 = serial).
MIN_PARALLEL_DEPARTMENTS = 8
MAX_WORKERS = 8
_JOB = None


def workers_for(n_items: int) -> int:
    import os
    from ..forks import cpus
    env = os.environ.get("SHARECHECK_WORKERS", "").strip()
    n = cpus()
    if not (env.isdigit() and int(env) >= 1):
        n = min(n, MAX_WORKERS)
        if n_items < MIN_PARALLEL_DEPARTMENTS:
            return 1
    import multiprocessing as mp
    if "fork" not in mp.get_all_start_methods() or _other_threads():
        return 1
    return max(1, min(n, n_items))


def _other_threads() -> bool:
    from ..forks import other_threads
    return other_threads()


def _run_job(item):
    return _JOB(item)


class Pending:
    """Work started by ``_start_map``: ``result()`` waits for (or, serially, does) it and returns the list;
    ``cancel()`` stops a pool whose result is no longer wanted (an error elsewhere). Either ends the pool."""

    def __init__(self, fn, items: list, pool=None, it=None):
        self._fn, self._items, self._pool, self._it = fn, items, pool, it

    def result(self) -> list:
        if self._pool is None:
            return [self._fn(x) for x in self._items]
        try:
            return list(self._it)
        finally:
            self._close(cancel=False)

    def cancel(self) -> None:
        if self._pool is not None:
            self._close(cancel=True)

    def _close(self, cancel: bool) -> None:
        global _JOB
        pool, self._pool = self._pool, None
        try:
            pool.shutdown(wait=True, cancel_futures=cancel)
        finally:
            _JOB = None


def _start_map(fn, items: list) -> Pending:
    """``[fn(x) for x in items]``, in order, in a pool of forked workers when that pays (see workers_for). The
    workers are forked here, before anything else is written (no writer's threads exist yet)."""
    global _JOB
    n = workers_for(len(items))
    if n <= 1:
        return Pending(fn, items)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    _JOB = fn
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork"))
    try:
        it = pool.map(_run_job, items, chunksize=max(1, len(items) // (n * 4)))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        _JOB = None
        raise
    return Pending(fn, items, pool, it)


def _map_departments(fn, items: list) -> list:
    """``[fn(x) for x in items]``, in order, in a pool of forked workers when that pays (see workers_for)."""
    return _start_map(fn, items).result()
