"""Shared helpers of the report writers: column labels, safe text, widths, file names, derived summaries.

Everything here is vectorised over whole frames; nothing loops per finding in Python except the
cell streaming that openpyxl itself requires.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from fractions import Fraction
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .. import model
from ..model import Report
from ..text import value_text as _value      # one wording of a parameter value for every output

# A cell whose text starts (after blanks, tabs, CR/LF) with one of these could be read as a formula
# by a spreadsheet program: the workbook writes it as an explicit text cell.
FORMULA_PREFIX_RE = r"^[\s\u3000]*[=+\-@]"
# Characters XML 1.0 cannot hold (openpyxl refuses them): replaced by U+FFFD so the text stays visible.
ILLEGAL_XML_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
# Excel's limit of characters in one cell.
MAX_CELL_CHARS = 32767

NOT_APPLICABLE = "不适用"

# Chinese column headers, shared by the workbook and the HTML page.
FINDING_LABELS = {
    "rule_id": "规则编号", "severity": "严重程度", "department": "部门", "counterpart": "对方部门",
    "article": "条款", "title": "规则名称", "message": "问题说明", "key": "记录标识", "input": "来源表",
    "file": "来源文件", "sheet": "工作表", "row": "行号", "status": "状态", "waiver_id": "豁免编号",
    "since": "首次发现期间", "article_text": "条款原文",
}
PENDING_LABELS = {
    "rule_id": "规则编号", "department": "部门", "input": "来源表", "file": "来源文件", "sheet": "工作表",
    "row": "行号", "key": "记录标识", "due": "最迟办理时间", "message": "说明",
}
DEFECT_LABELS = {
    "table": "表", "file": "文件", "sheet": "工作表", "row": "行号", "column": "列", "value": "单元格内容",
    "problem": "问题",
}
NOT_CHECKED_LABELS = {"rule_id": "规则编号", "title": "规则名称", "missing_inputs": "缺少的输入", "reason": "原因"}
SKIPPED_LABELS = {"rule_id": "规则编号", "input": "来源表", "count": "跳过记录数", "reason": "原因"}
WAIVER_LABELS = {
    "waiver_id": "豁免编号", "rule_id": "规则编号", "department": "部门", "key": "记录标识", "reason": "理由",
    "approver": "批准人", "valid_until": "有效期至", "expired_text": "是否过期", "covered": "覆盖问题数",
    "flag": "提示", "file": "豁免文件", "row": "行号",
}
RESOLVED_LABELS = {"rule_id": "规则编号", "department": "部门", "key": "记录标识", "message": "问题说明",
                   "since": "首次发现期间"}
TRACK_LABELS = {"track": "整改状态", "rule_id": "规则编号", "severity": "严重程度", "department": "部门",
                "key": "记录标识", "message": "问题说明", "since": "首次发现期间"}
RULE_SUMMARY_LABELS = {
    "rule_id": "规则编号", "article": "条款", "title": "规则名称", "severity": "严重程度", "dimension": "评分维度",
    "run": "检查情况", "findings": "问题数", "waived": "其中已豁免", "open": "未豁免问题数", "counted": "计分问题数", "checked": "检查单元数",
    "rate": "合规率(%)", "departments": "涉及部门数",
}
SCORE_META = ["department", "score", "grade", "rank", "coverage", "rules_applicable", "raw_grade", "capped_by"]
SCORE_LABELS = {"rank": "排名", "department": "部门", "score": "得分", "grade": "等级", "coverage": "覆盖率(%)",
                "rules_applicable": "适用规则数", "raw_grade": "按分数应得等级", "capped_by": "触发的评级政策"}

GRADE_COLOURS = {"优秀": "C6EFCE", "良好": "DDEBF7", "合格": "FFEB9C", "不合格": "FFC7CE"}
GRADE_FONT_COLOURS = {"优秀": "006100", "良好": "1F4E79", "合格": "9C5700", "不合格": "9C0006"}
# Bar colours of the score chart (stronger than the cell fills, so that a bar stands out) and their names.
GRADE_BAR_COLOURS = {"优秀": "70AD47", "良好": "5B9BD5", "合格": "FFC000", "不合格": "C00000"}
GRADE_BAR_NAMES = {"优秀": "绿", "良好": "蓝", "合格": "黄", "不合格": "红"}
SEVERITY_COLOURS = {"严重": "FFC7CE", "一般": "FFEB9C", "提示": "EDEDED"}



def pack_lines(pack: dict) -> list[tuple[str, str]]:
    """The pack chain, the values that differ from the parent pack and the scope's counts (说明 sheet, HTML,
    from the fields the run adds to the manifest: chain, differences, out_of_scope)."""
    out: list[tuple[str, str]] = []
    chain = pack.get("chain") or []
    if chain:
        out.append(("规则包链", " → ".join(f"{c.get('pack')} {c.get('version')}"
                                         + (f"（{c['status']}）" if c.get("status") else "") for c in chain)))
    diffs = pack.get("differences") or []
    if diffs:
        out.append(("与上级规则包不同", "；".join(
            f"{d['rule_id']} {d['what']}" + ("" if d["what"] in ("严重程度", "归属部门", "沿用") else f" {d['name']}")
            + f"：{_value(d['old'])} → {_value(d['new'])}" for d in diffs)))
    oos = pack.get("out_of_scope") or {}
    if oos:
        parts = []
        if oos.get("departments_condition"):
            parts.append(f"部门条件 {oos['departments_condition']}：范围内部门 {oos.get('departments_in_scope', 0)} 个，"
                         f"范围外部门 {oos.get('departments_out_of_scope', 0)} 个；范围外的问题 {oos.get('findings', 0)} 个、"
                         f"检查单元 {oos.get('checked_units', 0)} 个、待办 {oos.get('pending', 0)} 个（不计入本报告）")
        for t, n in sorted((oos.get("excluded") or {}).items()):
            parts.append(f"{table_title(t)}中 {n} 条记录不在范围内（{(oos.get('exclude_conditions') or {}).get(t, '')}），未检查")
        if parts:
            out.append(("适用范围", "；".join(parts)))
    return out


def param_label(key, label: str | None = None) -> str:
    """A parameter's display name (from its rule file: label and unit) with the identifier used in a --params file
    beside it; the identifier alone when the rule file gives no label."""
    key = str(key)
    return f"{label}（{key}）" if label else key


_READ_COUNTED = "计分问题：严重程度为「严重」或「一般」且未被豁免的问题；「提示」类问题只供参考，不计分。"
_READ_CAPPED = "「触发的评级政策」：评级政策（如涉密信息上平台一票否决）改变了按分数应得的等级。"
_READ_DETAILS = "「问题明细」每行一个问题，列出来源文件、工作表和 Excel 行号，可直接回到原表核对；可用表头筛选。"
_READ_PENDING = "「待办」是尚未超期的事项（不是问题），最迟办理时间之后仍未办理即成为问题。"
_READ_STATUS = "状态：新增 = 上期没有的问题；持续 = 上期已存在；已豁免 = 审计组认可并豁免，不计分；已整改 = 上期有、本期已无。"

_READ_COVERAGE = ("「覆盖率(%)」= 该部门适用的计分规则数（「适用规则数」，即在该规则下有检查单元的规则）÷ 规则包中计分规则的"
                  "总数；覆盖率低表示得分只基于少数几条规则，与其他部门比较时应留意。")

# How to read the report (说明 sheet and HTML page).
HOW_TO_READ = [
    "「部门评分」按得分排名；得分 = 各评分维度权重 × 维度内适用规则合规率的平均值，合规率 = 1 − 计分问题数 / 检查单元数。",
    _READ_COUNTED,
    "「不适用」：该部门在该规则下没有检查单元，或规则因缺少输入未检查；其权重分摊到同一维度的其他规则。",
    _READ_COVERAGE,
    _READ_CAPPED,
    "「规则汇总」的合规率 = 1 − 计分问题数 / 检查单元数（全部部门合计）；「提示」类规则不计分，其计分问题数为 0，"
    "合规率按其全部未豁免问题计，只表示发现的频度。",
    _READ_DETAILS,
    _READ_PENDING,
    "「输入问题」列出无法识别或不一致的单元格；这些记录可能未被相应规则检查（见「未检查」）。",
    _READ_STATUS,
]


# How to read a department's own workbook (its sheets: 说明, 评分, 各规则合规率, 问题明细, 待办, 输入问题…).
HOW_TO_READ_DEPT = [
    "「评分」是本部门的得分、等级和排名；得分 = 各评分维度权重 × 维度内适用规则合规率的平均值，"
    "合规率 = 1 − 计分问题数 / 检查单元数。",
    "「各规则合规率」逐条列出本部门在每条规则下的问题数、计分问题数、检查单元数和合规率。",
    _READ_COUNTED,
    "「不适用」：本部门在该规则下没有检查单元，或规则因缺少输入未检查；其权重分摊到同一维度的其他规则。",
    _READ_COVERAGE,
    _READ_CAPPED,
    _READ_DETAILS,
    _READ_PENDING,
    "「输入问题」列出本部门记录中无法识别或不一致的单元格，请核对并更正原表。",
    _READ_STATUS,
]


# ----------------------------------------------------------------------------------------------- text
def clean_text(s: pd.Series) -> pd.Series:
    """Object series: XML-illegal characters in texts replaced by U+FFFD, over-long texts cut to Excel's limit."""
    s = s.astype("object")
    if len(s) == 0:
        return s
    if pd.api.types.infer_dtype(s, skipna=True) == "string":
        mask = s.notna()
    else:
        mask = pd.Series([isinstance(v, str) for v in s.to_numpy(dtype=object)], index=s.index, dtype=bool)
    if not mask.any():
        return s
    sub = s[mask].astype(str)
    bad = sub.str.contains(ILLEGAL_XML_RE, regex=True)
    long = sub.str.len() > MAX_CELL_CHARS
    if not bad.any() and not long.any():
        return s
    out = s.copy()
    if bad.any():
        sub[bad] = sub[bad].str.replace(ILLEGAL_XML_RE, "\ufffd", regex=True)
    if long.any():
        sub[long] = sub[long].str.slice(0, MAX_CELL_CHARS - 1) + "…"
    out[mask] = sub
    return out


def clean_text1(value: str) -> str:
    """``clean_text`` for one string (header labels, key-value cells): no pandas machinery per cell."""
    value = re.sub(ILLEGAL_XML_RE, "\ufffd", value)
    return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS - 1] + "…"


def formula_like(s: pd.Series) -> pd.Series:
    """Boolean mask: text cells a spreadsheet could take for a formula (=, +, -, @ after blanks)."""
    if s.dtype != object or len(s) == 0:
        return pd.Series(False, index=s.index)
    t = s.map(lambda v: v if isinstance(v, str) else None)
    return t.str.contains(FORMULA_PREFIX_RE, regex=True, na=False).astype(bool)


def to_cells(s: pd.Series) -> list:
    """Python values for a spreadsheet/HTML: NA -> None, numpy/pandas scalars -> Python, timestamps -> datetime."""
    if len(s) == 0:
        return []
    dt = s.dtype
    if len(s) <= 32:                      # a few cells: plain Python, same values as below
        vals = s.tolist()
        if isinstance(dt, pd.BooleanDtype) or dt == bool:
            return [None if _is_na(v) else ("是" if v else "否") for v in vals]
        if pd.api.types.is_datetime64_any_dtype(dt):
            return [None if _is_na(v) else v.to_pydatetime() for v in vals]
        return [None if _is_na(v) else v for v in vals]
    if pd.api.types.is_datetime64_any_dtype(dt):
        vals = [None if pd.isna(v) else v.to_pydatetime() for v in s.tolist()]
        na = s.isna().to_numpy()
        return [None if n else v for v, n in zip(vals, na)]
    if isinstance(dt, pd.BooleanDtype) or dt == bool:
        return [None if v is pd.NA else ("是" if v else "否") for v in s.astype("boolean").tolist()]
    if pd.api.types.is_integer_dtype(dt):
        return s.astype("object").where(s.notna(), None).tolist()
    if pd.api.types.is_float_dtype(dt):
        return s.astype("object").where(s.notna(), None).tolist()
    vals = s.astype("object").where(s.notna(), None).tolist()
    return vals


def obj_text(s: pd.Series) -> pd.Series:
    """Any series as object series of str or None (for text columns that may hold lists, numbers, NA)."""
    def conv(v):
        if v is None or (not isinstance(v, (list, tuple, set, dict, np.ndarray)) and pd.isna(v)):
            return None
        if isinstance(v, (list, tuple, np.ndarray)):
            return "、".join(str(x) for x in v)
        if isinstance(v, set):
            return "、".join(sorted(str(x) for x in v))
        if isinstance(v, (datetime, pd.Timestamp)):
            return fmt_datetime(v)
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    if s.dtype == object:
        return s.map(conv)
    return s.astype("object").map(conv)


def fmt_datetime(v: Any) -> str:
    if v is None or (not isinstance(v, (str,)) and pd.isna(v)):
        return ""
    ts = pd.Timestamp(v)
    if ts.hour == 0 and ts.minute == 0 and ts.second == 0:
        return ts.strftime("%Y-%m-%d")
    if ts.second == 0:
        return ts.strftime("%Y-%m-%d %H:%M")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def display_width(s: pd.Series, sample: int = 3000) -> float:
    """Display width of a text column in Excel character units (CJK and full-width count double).

    A robust width: the 95th percentile of a head sample, so one long outlier does not blow the column up.
    """
    if len(s) == 0:
        return 0.0
    if len(s) <= 32:                      # a few cells: plain Python (a department's workbook has many such)
        firsts = [str(v).split("\n", 1)[0] for v in s.tolist() if not _is_na(v)]
        if not firsts:
            return 0.0
        w = [len(t) + len(_WIDE_RE.findall(t)) for t in firsts]
        return float(np.percentile(np.asarray(w, dtype=float), 95))
    # the head sample, in plain Python, once per distinct text (the same widths as the str accessor gave: a
    # first line's length plus its wide characters, from the same regular expression)
    vals = s.iloc[:sample].to_numpy(dtype=object)
    vals = vals[~pd.isna(vals)]
    if not len(vals):
        return 0.0
    seen = _FIRST_LINE_WIDTHS
    if len(seen) > 200_000:
        seen.clear()
    w = []
    for v in vals.tolist():
        t = str(v)
        x = seen.get(t)
        if x is None:
            x = seen[t] = _first_line_width(t)
        w.append(x)
    return float(np.percentile(np.asarray(w, dtype=float), 95))


# text -> width of its first line (texts repeat across the sheets and workbooks of a run); bounded
_FIRST_LINE_WIDTHS: dict[str, int] = {}


def _first_line_width(t: str) -> int:
    first = t.split("\n", 1)[0]
    return len(first) + len(_WIDE_RE.findall(first))


_WIDE = r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
_WIDE_RE = re.compile(_WIDE)


def _is_na(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and v != v


def text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


# ----------------------------------------------------------------------------------------------- names
_FORBIDDEN_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# invisible format characters: bidi overrides (U+202E shows "局_2026-10.xlsx" as "xlsx.01-6202_局", the classic
# file-name spoof), zero-width spaces/joiners, BOM — dropped from file names
_INVISIBLE_FILE_CHARS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_CHARS = 60
# file systems limit a name in bytes (255 on ext4/NTFS/APFS), not characters: 60 four-byte characters are 240
# bytes before "_<period>.xlsx", a "(2)" and any temporary suffix (issue 8, A7)
MAX_NAME_BYTES = 180


def safe_file_stem(name: str) -> str:
    """A file-name-safe form of a department name: Chinese kept, forbidden characters → `_`."""
    t = unicodedata.normalize("NFC", str(name or ""))
    t = _INVISIBLE_FILE_CHARS.sub("", t)
    t = _FORBIDDEN_FILE_CHARS.sub("_", t)
    t = t.strip().lstrip(".").strip()
    t = t[:MAX_NAME_CHARS]
    t = t.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore")     # whole characters only
    t = t.rstrip(". ")
    if not t:
        t = "未命名部门"
    if t.split(".")[0].upper() in _RESERVED:
        t = "_" + t
    return t


def unique_file_stems(names: Iterable[str]) -> dict[str, str]:
    """Map each name to a distinct safe stem (case-insensitively distinct, as on Windows/macOS)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        stem = safe_file_stem(n)
        cand, i = stem, 2
        while cand.casefold() in used:
            cand = f"{stem}({i})"
            i += 1
        used.add(cand.casefold())
        out[n] = cand
    return out


# ----------------------------------------------------------------------------------------------- frames
def findings_frame(report: Report) -> pd.DataFrame:
    """Findings with status/waiver_id guaranteed, plus article, title and article_text of their rule."""
    f = report.result.findings
    f = f.copy() if f is not None else model.empty_frame(model.FINDING_COLUMNS)
    for c in model.FINDING_COLUMNS:
        if c not in f.columns:
            f[c] = None
    if "status" not in f.columns:
        f["status"] = model.STATUS_NEW
    if "waiver_id" not in f.columns:
        f["waiver_id"] = None
    rules = rules_frame(report)[["rule_id", "article", "title", "article_text"]]
    m = f.merge(rules, on="rule_id", how="left", sort=False, validate="many_to_one")
    m.index = f.index
    return m


def rules_frame(report: Report) -> pd.DataFrame:
    """The rule catalogue, one row per rule (also rules only seen in findings), in pack order."""
    r = report.rules.copy() if report.rules is not None else model.empty_frame(model.RULE_INFO_COLUMNS)
    for c in model.RULE_INFO_COLUMNS:
        if c not in r.columns:
            r[c] = None
    r = r.drop_duplicates("rule_id", keep="first")
    extra = sorted(set(report.result.findings["rule_id"].dropna().astype(str)) - set(r["rule_id"].astype(str))) \
        if report.result.findings is not None and len(report.result.findings) else []
    if extra:
        r = pd.concat([r, pd.DataFrame({"rule_id": extra})], ignore_index=True)
    return r.reset_index(drop=True)


def not_checked_ids(report: Report) -> list[str]:
    nc = report.result.not_checked
    if nc is None or nc.empty:
        return []
    return sorted(set(nc["rule_id"].dropna().astype(str)))


def table_title(name: Any) -> str:
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return ""
    return model.TABLE_TITLES.get(str(name), str(name))


def table_titles(s: pd.Series) -> pd.Series:
    def conv(v):
        if v is None or (not isinstance(v, (list, tuple, np.ndarray)) and pd.isna(v)):
            return None
        items = list(v) if isinstance(v, (list, tuple, np.ndarray)) else re.split(r"[,，、;；\s]+", str(v))
        return "、".join(table_title(x) for x in items if str(x))
    return s.astype("object").map(conv)


def rule_summary(report: Report) -> pd.DataFrame:
    """Per rule: findings, waived, counted, checked units, rate (%), departments affected.

    ``counted`` are the counted findings (计分问题) as ``score.counted_mask`` defines them, the same number the
    scorecard and each department's workbook use; an advisory rule (e.g. GZ165-18-1) has none. ``rate`` =
    max(0, 1 − counted / checked) in percent, rounded half up to one decimal with exact arithmetic; for an
    advisory rule it is taken over its findings not waived (``open``), so that it still says how often it was
    found.
    """
    from ..score import advisory_rules, counted_mask, open_mask
    rules = rules_frame(report)
    f = report.result.findings
    nc = set(not_checked_ids(report))
    advisory = advisory_rules(report.pack, report.rules)
    if f is not None and len(f):
        waived = ~open_mask(f)
        rid = f["rule_id"].astype(str)
        counted = counted_mask(f, report.pack, report.rules)
        g = pd.DataFrame({"rule_id": rid, "w": waived.astype(int), "c": counted.astype(int),
                          "department": f["department"]})
        agg = g.groupby("rule_id", sort=True).agg(findings=("w", "size"), waived=("w", "sum"), counted=("c", "sum"))
        depts = g.dropna(subset=["department"]).groupby("rule_id")["department"].nunique()
        agg["departments"] = depts.reindex(agg.index).fillna(0).astype(int)
    else:
        agg = pd.DataFrame(columns=["findings", "waived", "counted", "departments"])
    ch = report.result.checked
    if ch is not None and len(ch):
        chk = pd.to_numeric(ch["checked"], errors="coerce").fillna(0).groupby(ch["rule_id"].astype(str), sort=True).sum()
    else:
        chk = pd.Series(dtype="int64")
    out = rules[["rule_id", "article", "title", "severity", "dimension", "article_text"]].copy()
    ids = out["rule_id"].astype(str)
    out["run"] = np.where(ids.isin(nc), "未检查", "已检查")
    for c in ["findings", "waived", "counted", "departments"]:
        out[c] = ids.map(agg[c]).fillna(0).astype(int).to_numpy() if len(agg) else 0
    out["open"] = out["findings"] - out["waived"]
    out["checked"] = ids.map(chk).fillna(0).astype(int).to_numpy() if len(chk) else 0
    basis = np.where(ids.isin(advisory), out["open"], out["counted"])
    out["rate"] = [None if int(n) <= 0 else exact_rate_percent(int(k), int(n))
                   for k, n in zip(basis.tolist(), out["checked"].tolist())]
    return out.reset_index(drop=True)


def exact_rate_percent(counted: int, checked: int) -> float:
    """max(0, 1 − counted / checked) in percent, one decimal, rounded half up exactly as the scorecard does."""
    from ..score import round_half_up as exact_half_up
    return float(exact_half_up(max(Fraction(0), 1 - Fraction(counted, checked)) * 100))


def scorecard_columns(report: Report) -> tuple[list[str], list[str]]:
    """(dimension columns, rule rate columns) of the scorecard, dimensions in pack order."""
    sc = report.scorecard
    cols = [c for c in sc.columns if c not in SCORE_META] if sc is not None else []
    dim_names = [d.get("name") for d in (report.pack or {}).get("dimensions", []) if isinstance(d, dict)]
    dims = [d for d in dim_names if d in cols]
    rules = [c for c in cols if c not in dims]
    return dims, rules


def policy_titles(report: Report) -> dict[str, str]:
    return {str(p.get("id")): str(p.get("title", "")) for p in (report.pack or {}).get("policies", [])
            if isinstance(p, dict)}


def capped_text(report: Report, s: pd.Series) -> pd.Series:
    titles = policy_titles(report)

    def conv(v):
        if v is None or (not isinstance(v, (list, tuple, np.ndarray)) and pd.isna(v)):
            return None
        items = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [x for x in re.split(r"[,;，；]\s*", str(v))]
        items = [str(x) for x in items if str(x)]
        if not items:
            return None
        return "；".join(f"{x} {titles[x]}" if x in titles else x for x in items)
    return s.astype("object").map(conv)


def coverage_percent(s: pd.Series) -> pd.Series:
    """Coverage in percent (the scorer gives applicable rules / scored rules in percent)."""
    return pd.to_numeric(s, errors="coerce").round(1)


def scorecard_frame(report: Report) -> pd.DataFrame:
    sc = report.scorecard.copy() if report.scorecard is not None else pd.DataFrame(columns=SCORE_META)
    for c in SCORE_META:
        if c not in sc.columns:
            sc[c] = None
    return sc.reset_index(drop=True)


def directory_names(report: Report) -> set[str] | None:
    """The 部门名称 of 部门名录 (None when the run has no directory)."""
    deps = report.load.tables.get("departments") if report.load is not None else None
    if deps is None or "部门名称" not in deps.columns:
        return None
    return set(deps["部门名称"].dropna().astype(str))


def departments_of_report(report: Report) -> list[str]:
    """Every department of 部门名录 with a scorecard row or a finding, in rank order then name (deterministic).
    A department not in 部门名录 gets no workbook of its own (see ``unknown_departments``)."""
    sc = scorecard_frame(report)
    names = [str(x) for x in sc["department"].tolist() if isinstance(x, str) and x]
    seen = set(names)
    known = directory_names(report)
    f = report.result.findings
    if f is not None and len(f):
        extra = sorted(set(x for x in f["department"].dropna().astype(str).unique() if x) - seen)
        names += [x for x in extra if known is None or x in known]
    return names


TREND_FOLLOW = 10          # departments a trend chart shows by default
TREND_TAGS = {"fail": "不合格", "falling": "下降", "lowest": "得分最低"}


def followed_departments(report: Report, trends: pd.DataFrame | None, limit: int = TREND_FOLLOW
                         ) -> list[tuple[str, list[str]]]:
    """The departments a trend chart shows by default (issue 8 E2): those the auditors follow up, not the top
    ranks whose lines overlap near 100. In this order, up to ``limit``: this period's lowest grade (不合格),
    lowest score first; those whose score fell since the previous recorded period, largest fall first; then
    the lowest scores. Each with the reasons (TREND_TAGS values) that apply."""
    if trends is None or not len(trends):
        return []
    t = trends.copy()
    t["score"] = pd.to_numeric(t["score"], errors="coerce")
    periods = sorted(t["period"].astype(str).unique())
    cur_p = report.period.label if report.period.label in periods else periods[-1]
    before = [p for p in periods if p < cur_p]
    pv = t.pivot_table(index="department", columns="period", values="score", aggfunc="last")
    cur = pv[cur_p].dropna() if cur_p in pv.columns else pd.Series(dtype=float)
    grades = sorted((report.pack or {}).get("grades") or [], key=lambda g: float(g.get("min", 0)))
    worst = str(grades[0].get("grade")) if grades else "不合格"
    g_cur = t[t["period"].astype(str) == cur_p].drop_duplicates("department", keep="last").set_index("department")
    fail = [d for d in g_cur.index if str(g_cur.at[d, "grade"]) == worst]
    fail.sort(key=lambda d: (cur.get(d, float("inf")), d))
    drop = pd.Series(dtype=float)
    if before and before[-1] in pv.columns:
        drop = (pv[before[-1]] - pv[cur_p]).dropna() if cur_p in pv.columns else drop
        drop = drop[drop > 0]
    falling = sorted(drop.index, key=lambda d: (-float(drop[d]), d))
    lowest = sorted(cur.index, key=lambda d: (float(cur[d]), d))
    out: list[str] = []
    for d in fail + falling + lowest:
        if d not in out:
            out.append(d)
        if len(out) >= limit:
            break
    tags = {d: [] for d in out}
    for d in out:
        if d in fail:
            tags[d].append(TREND_TAGS["fail"])
        if d in drop.index:
            tags[d].append(TREND_TAGS["falling"])
        if d in lowest[:limit] and not tags[d]:
            tags[d].append(TREND_TAGS["lowest"])
    return [(d, tags[d]) for d in out]


UNKNOWN_DEPT_SECTION = "部门名录中没有的部门"
UNKNOWN_DEPT_NOTE = ("下列部门名称出现在输入表中，但「部门名录」中没有（多为错别字或简称）：其问题照常列出，但不计分、"
                     "不排名，也不生成部门报告。请核对名称：改正输入表，或把该部门补入部门名录后重跑。")
UNKNOWN_DEPT_LABELS = {"department": "部门名称（输入中的写法）", "nearest": "部门名录中最接近的名称",
                       "rows": "引用它的输入行数", "tables": "出现在", "findings": "问题数"}


def unknown_departments(report: Report) -> pd.DataFrame:
    """Departments that findings or checked records are attributed to (a 提供部门, 部门 … of a record) but that
    are not in 部门名录 — without this they became phantom scored departments — one row each: the name as
    written, the closest directory name, input rows naming it (the input defects 部门名录中无此部门), the tables
    they are in, and its findings. A name only in a column that attributes nothing (使用部门, 申请部门) stays an
    input defect only. Empty without a directory."""
    cols = list(UNKNOWN_DEPT_LABELS)
    known = directory_names(report)
    if known is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    f = report.result.findings
    names: set[str] = set()
    fcount = pd.Series(dtype="int64")
    if f is not None and len(f):
        dep = f["department"].dropna().astype(str)
        dep = dep[(dep != "") & ~dep.isin(known)]
        names |= set(dep)
        fcount = dep.value_counts()
    ch = report.result.checked
    if ch is not None and len(ch):                     # records checked under the name, even without findings
        cd = ch["department"].dropna().astype(str)
        names |= set(cd[(cd != "") & ~cd.isin(known)])
    d = report.load.defects if report.load is not None else None
    rows = pd.Series(dtype="int64")
    tables = pd.Series(dtype=object)
    if d is not None and len(d):
        from ..load.references import PROBLEM_DEPT
        ref = d[d["problem"].astype(str) == PROBLEM_DEPT]
        if len(ref):
            v = obj_text(ref["value"])
            ok = v.notna() & ~v.isin(known)
            ref, v = ref[ok], v[ok]
            rows = ref.groupby(v.to_numpy()).apply(lambda g: len(g.drop_duplicates(["table", "file", "sheet",
                                                                                       "row"])))
            tables = ref.groupby(v.to_numpy())["table"].agg(
                lambda t: "、".join(table_title(x) for x in sorted(set(t.astype(str)), key=_table_key)))
    if not names:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    import difflib
    order = sorted(names)
    pool = sorted(known)
    near = []
    for n in order:                     # one lookup per distinct unknown name (a handful), not per row
        m = difflib.get_close_matches(n, pool, n=1, cutoff=0.5)
        near.append(m[0] if m else None)
    out = pd.DataFrame({"department": order, "nearest": near})
    out["rows"] = [int(rows.get(n, 0)) for n in order]
    out["tables"] = [tables.get(n) for n in order]
    out["findings"] = [int(fcount.get(n, 0)) for n in order]
    return out[cols]


def _table_key(name: str) -> int:
    names = list(model.TABLES)
    return names.index(name) if name in names else len(names)


def severity_counts(f: pd.DataFrame) -> dict[str, int]:
    vc = f["severity"].value_counts() if len(f) else pd.Series(dtype=int)
    return {s: int(vc.get(s, 0)) for s in model.SEVERITIES}


def status_counts(f: pd.DataFrame) -> dict[str, int]:
    st = f["status"] if "status" in f.columns else pd.Series(dtype=object)
    vc = st.value_counts() if len(st) else pd.Series(dtype=int)
    keys = [model.STATUS_NEW, model.STATUS_PERSISTING, model.STATUS_WAIVED]
    out = {k: int(vc.get(k, 0)) for k in keys}
    for k in sorted(set(vc.index.astype(str)) - set(keys)):
        out[k] = int(vc[k])
    return out


def waivers_frame(report: Report) -> pd.DataFrame | None:
    w = report.waivers
    if w is None:
        return None
    w = w.copy()
    for c in model.WAIVER_COLUMNS:
        if c not in w.columns:
            w[c] = None
    exp = w["expired"].astype("boolean").fillna(False).astype(bool)
    cov = pd.to_numeric(w["covered"], errors="coerce").fillna(0).astype(int)
    w["covered"] = cov
    w["expired_text"] = np.where(exp, "已过期", "有效")
    deps = report.load.tables.get("departments") if report.load is not None else None
    if deps is not None and "部门名称" in deps.columns and len(w):
        from ..waivers import norm_match
        unknown = ~norm_match(w["department"]).isin(set(norm_match(deps["部门名称"]).dropna())).to_numpy()
    else:
        unknown = np.zeros(len(w), dtype=bool)
    nothing = np.where(unknown, "未覆盖任何问题（部门名录中无此部门，请核对部门名称）", "未覆盖任何问题")
    flag = np.where(exp, "已过期，不适用于任何问题", np.where(cov.eq(0), nothing, ""))
    w["flag"] = pd.Series(flag, index=w.index).replace("", None)
    return w.reset_index(drop=True)


# Which column of each table names the department a record belongs to (for per-department defects).
DEPT_COLUMN = {
    "departments": "部门名称", "catalog": "提供部门", "catalog_changes": "部门", "exchanges": "提供部门",
    "officers": "部门", "requests": "提供部门", "disputes": "提供部门", "systems": "所属部门",
}
# Tables whose department comes from the catalog through 信息资源代码.
VIA_CATALOG = {"items", "updates"}


def attribute_defects(report: Report) -> pd.Series:
    """Department of each input defect (NA when the row cannot be attributed), aligned with defects' index."""
    d = report.load.defects if report.load is not None else None
    if d is None or d.empty:
        return pd.Series(dtype=object)
    out = pd.Series(None, index=d.index, dtype=object)
    tables = report.load.tables or {}
    cat = tables.get("catalog")
    code_to_dept = None
    if cat is not None and {"信息资源代码", "提供部门"} <= set(cat.columns):
        code_to_dept = cat.dropna(subset=["信息资源代码"]).drop_duplicates("信息资源代码").set_index("信息资源代码")["提供部门"]
    for table, idx in d.groupby(d["table"].astype(str), sort=True).groups.items():
        t = tables.get(table)
        if t is None or not set(model.META_COLUMNS) <= set(t.columns):
            continue
        if table in DEPT_COLUMN and DEPT_COLUMN[table] in t.columns:
            dept = t[DEPT_COLUMN[table]]
        elif table in VIA_CATALOG and code_to_dept is not None and "信息资源代码" in t.columns:
            dept = t["信息资源代码"].map(code_to_dept)
        else:
            continue
        sub = d.loc[idx]
        q = pd.DataFrame({"_file": sub["file"].astype(str), "_sheet": sub["sheet"].fillna("").astype(str),
                          "_row": pd.to_numeric(sub["row"], errors="coerce"), "_i": sub.index})
        # only the table's rows with a row number some defect names (the file and sheet texts of a million-row
        # table are not built for a few hundred defects; the first of each file/sheet/row is kept as before)
        t_row = pd.to_numeric(t[model.META_ROW], errors="coerce")
        near = t_row.isin(q["_row"].unique()).to_numpy(dtype=bool)
        t, dept, t_row = t[near], dept[near], t_row[near]
        look = pd.DataFrame({"_file": t[model.META_FILE].astype(str), "_sheet": t[model.META_SHEET].fillna("").astype(str),
                             "_row": t_row, "_dept": dept})
        look = look.drop_duplicates(["_file", "_sheet", "_row"])
        m = q.merge(look, on=["_file", "_sheet", "_row"], how="left", sort=False)
        out.loc[m["_i"].to_numpy()] = m["_dept"].to_numpy()
    return out
