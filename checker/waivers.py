"""Waivers (豁免): the auditors' list of accepted findings (outputs.md "Waivers").

``read_waivers(path, rule_ids)`` reads and validates the file (.xlsx sheet ``豁免`` or .csv);
``apply_waivers(findings, waivers, as_of)`` marks covered findings 已豁免 with the waiver's id and
counts what each waiver covered. Matching is a merge on normalised (rule, department[, key]), never a
loop over findings.

Normalisation for matching (both sides): NFKC, all whitespace removed, letters upper-cased. Keys are
written by the rules from normalised values already; doing the same to both sides makes a waiver typed
with full-width digits, stray spaces or lower-case letters match its finding.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

import pandas as pd

from .errors import InputError
from .model import FINDING_COLUMNS, STATUS_WAIVED, WAIVER_COLUMNS
from .text import as_text, is_missing, norm_code, norm_header

SHEET = "豁免"
COLUMNS = ["规则编号", "部门", "记录", "理由", "批准人", "有效期至"]
REQUIRED = ["规则编号", "部门", "理由", "批准人", "有效期至"]
# Header aliases an auditor might type.
ALIASES = {"规则": "规则编号", "规则ID": "规则编号", "规则id": "规则编号", "部门名称": "部门",
           "记录键": "记录", "问题记录": "记录", "豁免理由": "理由", "原因": "理由", "审批人": "批准人",
           "有效期": "有效期至", "截止日期": "有效期至"}
_WS = re.compile(r"\s+")


def norm_match(values: pd.Series) -> pd.Series:
    """Matching form of a rule ID / department / key: NFKC, no whitespace, upper case; None stays None."""
    return norm_code(pd.Series(values, copy=False).reset_index(drop=True)).set_axis(values.index)


def _clean_text(values: pd.Series) -> pd.Series:
    """Display form: the text as the auditor typed it, only trimmed (spaces incl. full-width ones, line breaks,
    zero-width characters); empty -> None. NFKC is for matching only (``norm_match``): a reason's 「，」 or
    「［2020］」 is shown as written (issue 8, C4)."""
    s = as_text(pd.Series(values, copy=False))
    t = s.str.replace(r"^[\s\u200b-\u200f\u2060\ufeff]+|[\s\u200b-\u200f\u2060\ufeff]+$", "", regex=True)
    return t.where(t.notna() & t.ne(""), None).astype(object)


# findings.csv writes a text starting with = + - @ tab CR with a leading ' (CSV injection, see render.tabular): a
# key or department copied from it matches with or without that '
_CSV_GUARD = r"^'(?=[=+\-@\t\r])"


def _unguard(values: pd.Series) -> pd.Series:
    s = pd.Series(values, copy=False).astype(object)
    is_text = s.map(type).eq(str).to_numpy(dtype=bool)
    if not is_text.any():
        return values
    out = s.copy()
    out[is_text] = s[is_text].astype(str).str.replace(_CSV_GUARD, "", regex=True)
    return out


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def _parse_date(v) -> date | None:
    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (datetime, pd.Timestamp)):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 1 <= v < 100000:  # Excel serial number
            return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(v))).date()
        v = str(int(v))
    t = unicodedata.normalize("NFKC", str(v)).strip()
    for pat in _DATE_PATTERNS:
        m = pat.match(t)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    if re.fullmatch(r"\d{1,5}(\.\d+)?", t):
        return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(t)))).date()
    return None


def _read_raw(path: Path) -> tuple[pd.DataFrame, str, int]:
    """The raw grid (all object, "" for empty), the sheet name ('' for CSV) and the Excel row of grid row 0."""
    from .load.readers import read_grid
    if not path.exists():
        raise InputError("豁免文件不存在", file=str(path), hint="请检查豁免文件的路径", field="豁免文件")
    if path.is_dir():
        raise InputError("这是一个文件夹，不是豁免文件", file=str(path),
                         hint="豁免文件应为一个 .xlsx（工作表「豁免」）或 .csv 文件，如 豁免.xlsx", field="豁免文件")
    grid, sheet = read_grid(str(path), str(path), sheets=(SHEET,), what="豁免清单")
    return grid.where(grid.notna(), ""), sheet, 1


def _header_name(v) -> str:
    t = norm_header(v)
    return ALIASES.get(t, t)


def read_waivers(path: str | Path, rule_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Read and validate a waivers file. Returns WAIVER_COLUMNS (expired/covered not yet set).

    ``rule_ids``: the pack's rule IDs; a waiver naming another ID is an error naming its row.
    """
    path = Path(path)
    grid, sheet, first_row = _read_raw(path)
    names = grid.apply(lambda col: col.map(_header_name)) if len(grid) else grid
    header_at = None
    for i in range(min(len(grid), 20)):
        if "规则编号" in set(names.iloc[i]):
            header_at = i
            break
    if header_at is None:
        raise InputError("找不到表头行（应含「规则编号」「部门」「记录」「理由」「批准人」「有效期至」）",
                         file=str(path), sheet=sheet or None,
                         hint="请在第一行写表头：规则编号、部门、记录、理由、批准人、有效期至（记录可留空）")
    header = list(names.iloc[header_at])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"缺少必填列「{'」「'.join(missing)}」", file=str(path), sheet=sheet or None,
                         row=header_at + first_row, hint="请补上该列（记录列可留空）")
    body = grid.iloc[header_at + 1:]
    cols = {c: body.iloc[:, header.index(c)] if c in header else pd.Series(None, index=body.index, dtype="object")
            for c in COLUMNS}
    for c in ("部门", "记录"):
        cols[c] = _unguard(cols[c])
    frame = pd.DataFrame({c: (_clean_text(v) if c != "有效期至" else v.astype("object")) for c, v in cols.items()})
    frame["row"] = (frame.index.to_series() + first_row).astype("int64")
    frame["有效期至"] = frame["有效期至"].map(lambda v: None if (isinstance(v, str) and not v.strip()) else v)
    blank = frame[[c for c in COLUMNS if c != "有效期至"]].isna().all(axis=1) & frame["有效期至"].isna()
    # a final 合计/总计 row (inputs.md: a row whose first non-empty cell is 合计 or 总计 is dropped) — the
    # auditors keep their waiver list in Excel like the exports
    first = body.apply(lambda r: next((v for v in r if v is not None and str(v).strip()), None), axis=1) \
        if len(body) else pd.Series(dtype="object")
    total = first.map(lambda v: re.sub(r"\s+", "", str(v)) in ("合计", "总计") if v is not None else False)
    total = pd.Series(total.to_numpy(dtype=bool), index=frame.index) if len(total) else pd.Series(False, index=frame.index)
    frame = frame[~blank & ~total].reset_index(drop=True)

    def fail(mask: pd.Series, column: str, problem: str, hint: str, cli_hint: str | None = None) -> None:
        if mask.any():
            r = frame.loc[mask].iloc[0]
            value = r[column]
            shown = f"（值「{value}」）" if value is not None and str(value).strip() else ""
            raise InputError(f"{problem}{shown}", file=str(path), sheet=sheet or None, row=int(r["row"]),
                             column=column, hint=hint, cli_hint=cli_hint)

    for c in ("规则编号", "部门"):
        fail(frame[c].isna(), c, "必填项为空", f"请填写{c}")
    rid = norm_match(frame["规则编号"])
    if rule_ids is not None:
        known = {str(r).upper() for r in rule_ids}
        unknown = ~rid.isin(known)
        near = ""
        if unknown.any():
            import difflib
            close = difflib.get_close_matches(str(rid[unknown].iloc[0]), sorted(known), n=3, cutoff=0.6)
            near = f"（相近的规则编号：{'、'.join(close)}）" if close else ""
        fail(unknown, "规则编号", "规则编号不存在", f"请改正{near}", cli_hint="全部规则编号可用 sharecheck rules 查看")
    for c, what in (("理由", "豁免理由"), ("批准人", "批准人")):
        fail(is_missing(frame[c]), c, f"缺少{what}", f"每条豁免都须写明{what}")
    until = frame["有效期至"].map(_parse_date)
    fail(frame["有效期至"].isna(), "有效期至", "有效期至为空", "请填写豁免的最后有效日期，如 2026-12-31")
    fail(until.isna(), "有效期至", "日期无法识别", "请写成 2026-12-31 这样的日期")

    out = pd.DataFrame({
        "waiver_id": [f"W{i + 1:03d}" for i in range(len(frame))],
        "rule_id": rid.astype("object"),
        "department": frame["部门"].astype("object"),
        "key": frame["记录"].astype("object"),
        "reason": frame["理由"].astype("object"),
        "approver": frame["批准人"].astype("object"),
        "valid_until": until.astype("object"),
        "expired": pd.Series(False, index=frame.index, dtype="bool"),
        "covered": pd.Series(0, index=frame.index, dtype="int64"),
        "file": path.name,             # no machine path in a report (issue 8, C6)
        "row": frame["row"].astype("int64"),
    }, columns=WAIVER_COLUMNS)
    return out


def apply_waivers(findings: pd.DataFrame, waivers: pd.DataFrame | None, as_of: date
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Mark covered findings 已豁免 (``status``) with ``waiver_id``; count coverage per waiver.

    Findings get the columns ``status`` (已豁免 or None, history fills the rest) and ``waiver_id``.
    A waiver whose 有效期至 is before ``as_of`` is expired and covers nothing. When several waivers
    cover one finding, a waiver naming the record wins over a department-wide one, then the first in
    the file; each finding counts for one waiver only.
    """
    f = findings.copy()
    if "status" not in f.columns:
        f["status"] = pd.Series(None, index=f.index, dtype="object")
    f["waiver_id"] = pd.Series(None, index=f.index, dtype="object")
    if waivers is None:
        return f, None
    w = waivers.copy()
    w["expired"] = w["valid_until"].map(lambda d: d < as_of).astype("bool")
    w["covered"] = 0
    active = w.loc[~w["expired"]]
    if len(f) and len(active):
        fk = pd.DataFrame({
            "_i": range(len(f)),
            "_r": norm_match(f["rule_id"]).values,
            "_d": norm_match(f["department"]).values,
            "_k": norm_match(f["key"]).values,
        })
        wk = pd.DataFrame({
            "waiver_id": active["waiver_id"].values,
            "_r": norm_match(active["rule_id"]).values,
            "_d": norm_match(active["department"]).values,
            "_k": norm_match(active["key"]).values,
        })
        specific = wk[wk["_k"].notna()]
        general = wk[wk["_k"].isna()].drop(columns="_k")
        m1 = fk.merge(specific, on=["_r", "_d", "_k"], how="inner").assign(_p=0)
        m2 = fk.merge(general, on=["_r", "_d"], how="inner").assign(_p=1)
        m = pd.concat([m1, m2], ignore_index=True)
        if len(m):
            m = m.sort_values(["_i", "_p", "waiver_id"], kind="mergesort").drop_duplicates("_i")
            idx = f.index[m["_i"].to_numpy()]
            f.loc[idx, "waiver_id"] = m["waiver_id"].to_numpy()
            f.loc[idx, "status"] = STATUS_WAIVED
            counts = m["waiver_id"].value_counts()
            w["covered"] = w["waiver_id"].map(counts).fillna(0).astype("int64")
    w["covered"] = w["covered"].astype("int64")
    for c in ("status", "waiver_id"):
        f[c] = f[c].astype("object").where(f[c].notna(), None)
    return f, w[WAIVER_COLUMNS].reset_index(drop=True)


__all__ = ["read_waivers", "apply_waivers", "norm_match", "SHEET", "COLUMNS", "FINDING_COLUMNS"]
