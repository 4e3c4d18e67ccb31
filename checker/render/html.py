"""report.html: one self-contained page (inline CSS, JS and SVG; no external asset) from reports/*.j2."""
from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from .. import model
from ..model import Report
from ..engine.resources import reports_dir
from . import common as cm

# At most this many findings are embedded in the page; the rest are in the workbook and findings.csv.
MAX_HTML_FINDINGS = 5000
MAX_HTML_ROWS = 2000          # pending, defects
UNKNOWN_FINDING_COLS = ["department", "rule_id", "severity", "message", "key", "input", "file", "sheet", "row"]
TREND_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(reports_dir())), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def _asset(name: str) -> str:
    return (reports_dir() / name).read_text(encoding="utf-8")


def _records(frame: pd.DataFrame, cols: list[str]) -> list[list[str]]:
    """Rows of display strings (empty for NA)."""
    if frame is None or len(frame) == 0:
        return []
    parts = []
    for c in cols:
        s = frame[c] if c in frame.columns else pd.Series([None] * len(frame))
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            t = s.map(cm.fmt_datetime)
        else:
            t = cm.obj_text(s)
        parts.append(t.fillna("").astype(str).tolist())
    return [list(r) for r in zip(*parts)]


def _px(text: str, size: float = 12) -> float:
    """Approximate rendered width in pixels of ``text`` at ``size`` px (CJK and full-width = one em)."""
    return cm.text_width(text) * size * 0.55 + 2


def bar_chart(sc: pd.DataFrame) -> dict:
    """Horizontal bars of scores, ranked; geometry precomputed for the template. The label column is as wide
    as the longest department name and the right margin holds the value and grade (issue 8 E5: nothing is
    clipped at either edge)."""
    bar_w, row_h = 420, 22
    labels = [str(d) for d in sc["department"]]
    label_w = int(max([120.0] + [_px(x) for x in labels]) + 12)
    bars = []
    tail = 0.0
    for i, (d, s, g) in enumerate(zip(labels, pd.to_numeric(sc["score"], errors="coerce"), sc["grade"])):
        v = 0.0 if pd.isna(s) else float(s)
        value = "" if pd.isna(s) else f"{v:.1f}"
        grade = "" if pd.isna(g) else str(g)
        w = round(bar_w * max(0.0, min(v, 100.0)) / 100, 1)
        tail = max(tail, w + 4 + _px(f"{value} {grade}") - bar_w)
        bars.append({"y": 10 + i * row_h, "label": d, "w": w, "value": value, "grade": grade,
                     "colour": "#" + cm.GRADE_COLOURS.get(str(g), "DDDDDD"),
                     "stroke": "#" + cm.GRADE_FONT_COLOURS.get(str(g), "888888")})
    ticks = [{"x": label_w + bar_w * t / 100, "t": t} for t in (0, 60, 75, 90, 100)]
    right = int(max(24.0, tail) + 12)
    return {"bars": bars, "label_w": label_w, "bar_w": bar_w, "row_h": row_h, "ticks": ticks,
            "height": 10 + len(bars) * row_h + 24, "width": label_w + bar_w + right}


def trend_chart(trends: pd.DataFrame | None, departments: list[str],
                follow: list[tuple[str, list[str]]] | None = None) -> dict | None:
    """Score lines of every department; those in ``follow`` (``common.followed_departments``) are shown by
    default, the others are drawn hidden and the reader can pick them (checkboxes, report.js)."""
    if trends is None or len(trends) == 0:
        return None
    t = trends.copy()
    t["score"] = pd.to_numeric(t["score"], errors="coerce")
    periods = sorted(t["period"].astype(str).unique())
    pv = t.pivot_table(index="department", columns="period", values="score", aggfunc="last")
    ranked = [d for d in departments if d in pv.index] + sorted(set(pv.index) - set(departments))
    tags = dict(follow or [])
    shown = [d for d, _ in (follow or []) if d in pv.index] if follow is not None else ranked[:TREND_FOLLOW]
    names = shown + [d for d in ranked if d not in shown]
    w, h, left, top = 640, 260, 50, 20
    pw, ph = w - left - 30, h - top - 40
    xs = {p: left + (pw * i / max(1, len(periods) - 1) if len(periods) > 1 else pw / 2) for i, p in enumerate(periods)}
    lines = []
    for k, d in enumerate(names):
        pts = [(xs[p], top + ph * (1 - float(pv.at[d, p]) / 100)) for p in periods
               if p in pv.columns and pd.notna(pv.at[d, p])]
        cur = pv.at[d, periods[-1]] if periods[-1] in pv.columns else None
        lines.append({"name": d, "id": f"t{k}", "colour": TREND_COLOURS[k % len(TREND_COLOURS)],
                      "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts),
                      "dots": [{"x": round(x, 1), "y": round(y, 1)} for x, y in pts],
                      "shown": d in shown, "tags": "、".join(tags.get(d, [])),
                      "last": "" if cur is None or pd.isna(cur) else f"{float(cur):.1f}"})
    return {"width": w, "height": h, "left": left, "top": top, "pw": pw, "ph": ph,
            "xlabels": [{"x": round(xs[p], 1), "t": p} for p in periods],
            "ylabels": [{"y": round(top + ph * (1 - v / 100), 1), "t": v} for v in (0, 25, 50, 75, 100)],
            "lines": lines, "n_shown": len(shown), "more": max(0, len(names) - len(shown))}


TREND_FOLLOW = cm.TREND_FOLLOW


def _grade_legend(report: Report) -> list[dict]:
    """Grades of the pack, best first, with their colours and score band (the chart's legend)."""
    grades = sorted((report.pack or {}).get("grades") or [{"grade": g, "min": m} for g, m in
                                                           [("优秀", 90), ("良好", 75), ("合格", 60), ("不合格", 0)]],
                    key=lambda g: -float(g.get("min", 0)))
    out = []
    for i, g in enumerate(grades):
        name, lo = str(g.get("grade")), g.get("min")
        band = f"≥ {lo}" if float(lo or 0) > 0 else (f"< {grades[i - 1].get('min')}" if i else "")
        out.append({"grade": name, "band": band, "colour": "#" + cm.GRADE_COLOURS.get(name, "DDDDDD"),
                    "stroke": "#" + cm.GRADE_FONT_COLOURS.get(name, "888888")})
    return out


def context(report: Report) -> dict:
    f = cm.findings_frame(report)
    sc = cm.scorecard_frame(report)
    dims, rule_cols = cm.scorecard_columns(report)
    scv = sc.copy()
    scv["coverage"] = cm.coverage_percent(scv["coverage"]).map(lambda x: "" if pd.isna(x) else f"{x:.1f}")
    scv["capped_by"] = cm.capped_text(report, scv["capped_by"])
    for c in dims:
        v = pd.to_numeric(scv[c], errors="coerce")
        scv[c] = v.map(lambda x: cm.NOT_APPLICABLE if pd.isna(x) else f"{x:.1f}")
    scv["score"] = pd.to_numeric(scv["score"], errors="coerce").map(lambda x: "" if pd.isna(x) else f"{x:.1f}")
    score_cols = ["rank", "department", "score", "grade"] + dims + ["coverage", "capped_by"]
    score_rows = _records(scv, score_cols)
    # findings: severity first for the page, then the engine's order
    fs = f.assign(_s=f["severity"].map(model.SEVERITY_RANK).fillna(9)).sort_values("_s", kind="mergesort")
    shown = fs.iloc[:MAX_HTML_FINDINGS]
    shown = shown.assign(input_title=shown["input"].map(cm.table_title))
    fcols = ["rule_id", "severity", "department", "counterpart", "message", "key", "input_title", "file", "sheet",
             "row", "status"]
    pending = report.result.pending
    defects = report.load.defects
    nc = report.result.not_checked
    if nc is not None and len(nc):
        nc = nc.assign(missing_inputs=cm.table_titles(nc["missing_inputs"]))
    sk = report.result.skipped
    skipped = sk.assign(input=sk["input"].map(cm.table_title)) if sk is not None and len(sk) else None
    w = cm.waivers_frame(report)
    unknown = cm.unknown_departments(report)
    unknown_f = f[f["department"].isin(set(unknown["department"]))].sort_values(
        ["department", "rule_id", "key"], kind="mergesort", na_position="last")
    unknown_f = unknown_f.assign(input=unknown_f["input"].map(cm.table_title))
    rs = cm.rule_summary(report)
    rs["rate"] = rs["rate"].map(lambda x: "" if x is None or pd.isna(x) else f"{float(x):.1f}")
    pack = report.pack or {}
    filters = {
        "departments": sorted(set(f["department"].dropna().astype(str))),
        "rules": sorted(set(f["rule_id"].dropna().astype(str))),
        "severities": [s for s in model.SEVERITIES if (f["severity"] == s).any()],
        "statuses": sorted(set(f["status"].dropna().astype(str))),
    }
    return {
        "title": f"{pack.get('report_title') or '政务信息共享合规审计报告'}（{report.period.label}）",
        "period": report.period, "as_of": report.as_of.isoformat(), "pack": pack,
        # a pack that extends another, has a status, differs from its parent or has a scope says so under the title
        "pack_lines": [f"{k}：{v}" for k, v in cm.pack_lines(pack)]
        if len(pack.get("chain") or []) > 1 or any(c.get("status") for c in pack.get("chain") or [])
        or pack.get("differences") or pack.get("out_of_scope") else [],
        "previous_period": report.previous_period,
        "sev": cm.severity_counts(f), "stat": cm.status_counts(f), "n_findings": len(f),
        "n_pending": 0 if pending is None else len(pending), "n_defects": 0 if defects is None else len(defects),
        "score_head": ["排名", "部门", "得分", "等级"] + dims + ["覆盖率(%)", "触发的评级政策"],
        "score_rows": score_rows, "chart": bar_chart(sc),
        "trend": trend_chart(report.trends, cm.departments_of_report(report),
                             cm.followed_departments(report, report.trends)),
        "rule_head": [cm.RULE_SUMMARY_LABELS[k] for k in ["rule_id", "article", "title", "severity", "run", "findings",
                                                           "waived", "counted", "checked", "rate", "departments"]],
        "rule_rows": _records(rs, ["rule_id", "article", "title", "severity", "run", "findings", "waived", "counted",
                                   "checked", "rate", "departments"]),
        "finding_head": [cm.FINDING_LABELS[k] for k in ["rule_id", "severity", "department", "counterpart", "message",
                                                         "key", "input", "file", "sheet", "row", "status"]],
        "finding_rows": _records(shown, fcols), "findings_cut": max(0, len(f) - len(shown)),
        "max_findings": MAX_HTML_FINDINGS, "filters": filters,
        "pending_head": [cm.PENDING_LABELS[k] for k in ["rule_id", "department", "key", "due", "message", "file",
                                                         "sheet", "row"]],
        "pending_rows": _records(pending.iloc[:MAX_HTML_ROWS] if pending is not None else None,
                                 ["rule_id", "department", "key", "due", "message", "file", "sheet", "row"]),
        "pending_cut": max(0, (0 if pending is None else len(pending)) - MAX_HTML_ROWS),
        "defect_head": [cm.DEFECT_LABELS[k] for k in model.DEFECT_COLUMNS],
        "defect_rows": _records(defects.iloc[:MAX_HTML_ROWS].assign(table=lambda d: d["table"].map(cm.table_title))
                                if defects is not None and len(defects) else None, model.DEFECT_COLUMNS),
        "defect_cut": max(0, (0 if defects is None else len(defects)) - MAX_HTML_ROWS),
        # past the workbook's row limit the full lists are the CSVs (issue 11 item 4)
        "findings_full": _kept_if_cut(len(f)),
        "pending_full": _full_list(pending, "pending.csv"), "defect_full": _full_list(defects, "defects.csv"),
        "unknown_title": cm.UNKNOWN_DEPT_SECTION, "unknown_note": cm.UNKNOWN_DEPT_NOTE,
        "unknown_head": [cm.UNKNOWN_DEPT_LABELS[k] for k in cm.UNKNOWN_DEPT_LABELS],
        "unknown_rows": _records(unknown, list(cm.UNKNOWN_DEPT_LABELS)),
        "unknown_finding_head": [cm.FINDING_LABELS[k] for k in UNKNOWN_FINDING_COLS],
        "unknown_finding_rows": _records(unknown_f.iloc[:MAX_HTML_ROWS], UNKNOWN_FINDING_COLS),
        "unknown_finding_cut": max(0, len(unknown_f) - MAX_HTML_ROWS),
        "nc_head": ["规则编号", "缺少的输入", "原因"],
        "nc_rows": _records(nc, ["rule_id", "missing_inputs", "reason"]),
        "skipped_head": [cm.SKIPPED_LABELS[k] for k in ["rule_id", "input", "count", "reason"]],
        "skipped_rows": _records(skipped, ["rule_id", "input", "count", "reason"]),
        "waiver_head": [cm.WAIVER_LABELS[k] for k in ["waiver_id", "rule_id", "department", "key", "reason",
                                                       "approver", "valid_until", "expired_text", "covered", "flag"]],
        "waiver_rows": _records(w, ["waiver_id", "rule_id", "department", "key", "reason", "approver", "valid_until",
                                    "expired_text", "covered", "flag"]) if w is not None else None,
        "resolved_rows": _records(report.resolved, model.RESOLVED_COLUMNS) if report.resolved is not None else None,
        "resolved_head": [cm.RESOLVED_LABELS[k] for k in model.RESOLVED_COLUMNS],
        "how_to_read": cm.HOW_TO_READ,
        "grade_colours": cm.GRADE_COLOURS, "grade_legend": _grade_legend(report), "severity_colours": cm.SEVERITY_COLOURS,
        "css": _asset("report.css"), "js": _asset("report.js"),
    }


def _full_list(frame, name: str) -> str | None:
    from .xlsxkit import sheet_capacity
    n = 0 if frame is None else len(frame)
    return name if sheet_capacity(n) < n else None


def _kept_if_cut(n: int) -> int | None:
    from .xlsxkit import sheet_capacity
    return sheet_capacity(n) if sheet_capacity(n) < n else None


def render_html(report: Report) -> str:
    return _env().get_template("report.html.j2").render(**context(report))


def write_html(report: Report, out_dir: Path) -> Path:
    path = Path(out_dir) / "report.html"
    path.write_bytes(render_html(report).encode("utf-8"))
    return path
