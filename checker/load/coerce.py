"""Vectorised coercion of raw cells into the typed values of docs/architecture.md, and per-table input defects."""
from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from .. import schema
from ..codes import resource_code_valid, uscc_valid
from ..model import DEFECT_COLUMNS, META_FILE, META_ROW, META_SHEET
from ..text import (PLACEHOLDER_CODES, _on_uniques, as_text, category_cells, fullmatch, is_missing, is_placeholder,
                    nfkc_strip, norm_code, norm_name, text_categorical)

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
MAX_SERIAL = 2958465                     # 9999-12-31
NS_SERIAL = (pd.Timestamp.max.date() - EXCEL_EPOCH.date()).days   # the last day datetime64[ns] holds
# Local time of the audited exports: timezone-aware values (Parquet timestamps with a zone, ISO text with an
# offset) are converted to it and then handed on as naive wall-clock times.
LOCAL_TZ = "Asia/Shanghai"
LOCAL_UTC_OFFSET_MIN = 8 * 60            # UTC+08:00 all year (no daylight saving time)
# A number cell holding exactly 8 digits in this range is a YYYYMMDD date (as a serial it would be past 9999).
_YMD8_MIN, _YMD8_MAX = 19000101, 29991231

_DATE_RE = (r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
            r"(?:(?:\s+|T|\s*[日号]?\s*)(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})"
            r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?"
            r"(?:\s*(?P<Z>Z|[+-]\d{2}:?\d{2}))?)?$")
_YMD8_RE = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
_SERIAL_RE = r"^\d{1,5}(?:\.\d+)?$"

BOOL_TRUE = ("是", "Y", "YES", "1", "TRUE", "T", "√", "✓", "✔", "对")
BOOL_FALSE = ("否", "N", "NO", "0", "FALSE", "F", "×", "✗", "✘", "错", "X")   # X: the × typed on a keyboard
_BOOL_MAP = {**{k: True for k in BOOL_TRUE}, **{k: False for k in BOOL_FALSE}}


def _types(s: pd.Series) -> pd.Series:
    return s.map(type)


def _naive_local(ts: pd.Series) -> pd.Series:
    """A datetime Series (naive or timezone-aware) as naive local wall-clock times (``LOCAL_TZ``)."""
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return _ns(ts)


def _ns(ts: pd.Series) -> pd.Series:
    """Datetimes of any unit (pandas 3 reads 9999-12-31 as microseconds) as datetime64[ns]; a value outside that
    range (9999-12-31 written for "never", 0001-01-01) becomes NaT, so the cell is unreadable, as in Parquet."""
    if ts.dtype == "datetime64[ns]" or not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        return ts
    inside = ts.isna() | ((ts >= pd.Timestamp.min) & (ts <= pd.Timestamp.max))
    return ts.where(inside).astype("datetime64[ns]")


def parse_datetime(raw: pd.Series, date_only: bool = False) -> tuple[pd.Series, pd.Series]:
    """(datetime64[ns] Series, bool Series "non-empty but unreadable").

    A placeholder (``/ - — 无 暂无 N/A``) counts as empty, not as unreadable (rules.md: "Missing")."""
    s = pd.Series(raw, copy=False)
    bulk = _iso_in_bulk(s)
    if bulk is not None:
        hit, values = bulk
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        out[hit] = values
        bad = np.zeros(len(s), dtype=bool)
        bad[hit] = np.isnat(values)
        rest = ~hit & s.notna().to_numpy()
        if rest.any():
            o_rest, b_rest = parse_datetime(s[rest])
            out[rest] = o_rest.to_numpy()
            bad[rest] = b_rest.to_numpy(dtype=bool)
        return (out.dt.normalize() if date_only else out), pd.Series(bad, index=s.index)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ts = pd.to_datetime(s, errors="coerce")
        if getattr(ts.dt, "tz", None) is None and ts.dtype != "datetime64[ns]":
            out = _ns(ts)     # Parquet timestamps in ms/us may lie outside the ns range: unreadable
        else:
            out = _naive_local(ts)
        bad = s.notna() & out.isna()
    else:
        s = s.astype(object)
        t = _types(s)
        is_dt = t.isin([_dt.datetime, _dt.date, pd.Timestamp]).to_numpy()
        is_num = t.isin([int, float, np.int64, np.float64, np.int32, np.float32]).to_numpy()
        is_str = t.eq(str).to_numpy()
        bad = pd.Series(False, index=s.index)
        if is_dt.any():
            out[is_dt] = _from_objects(s[is_dt])
        if is_num.any():
            num = pd.to_numeric(s[is_num], errors="coerce")
            out[is_num] = _from_number(num)
        filled = s.notna().to_numpy().copy()
        if is_str.any():
            txt = nfkc_strip(s[is_str])
            parsed = _parse_text(txt)
            failed = txt.notna() & parsed.isna()
            if failed.any():                                 # placeholders are empty, not unreadable
                txt = txt.copy()
                txt[failed] = txt[failed].where(~is_placeholder(txt[failed]), None)
            out[is_str] = parsed
            filled[is_str] = txt.notna().to_numpy()
        bad = pd.Series(filled, index=s.index) & out.isna()
    if date_only:
        out = out.dt.normalize()
    return out, bad.astype(bool)


_FAST_DT_ROWS = 4096


def _iso_in_bulk(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(hit mask, datetime64[ns] values of the hits) for a long object column's cells in the platform's own ISO form
    (``_FAST_RE``: plain ASCII, so NFKC and trimming leave them as they are), found by one RE2 pass over the Arrow
    array; None when the column is short or holds anything but str/None. The other cells take the general path."""
    if s.dtype != object or len(s) < _FAST_DT_ROWS:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    hit = pc.match_substring_regex(arr, f"^(?:{_FAST_RE})$").fill_null(False)
    mask = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    if not mask.any():
        return None
    texts = pd.Series(arr.filter(hit).to_numpy(zero_copy_only=False), dtype=object)
    values = _ns(pd.to_datetime(texts, format="ISO8601", errors="coerce")).to_numpy()
    return mask, values


def _from_objects(objs: pd.Series) -> pd.Series:
    """datetime/date/Timestamp objects (from Excel/ODS cells or Parquet) -> naive local datetimes."""
    try:
        conv = pd.to_datetime(objs, errors="coerce")          # the common case: all naive (Excel cells)
    except (ValueError, TypeError):
        conv = None                                          # naive and timezone-aware values mixed
    if conv is not None and pd.api.types.is_datetime64_any_dtype(conv.dtype) and getattr(conv.dt, "tz", None) is None:
        return _ns(conv)
    aware = objs.map(lambda v: getattr(v, "tzinfo", None) is not None).to_numpy(dtype=bool)
    res = pd.Series(pd.NaT, index=objs.index, dtype="datetime64[ns]")
    if (~aware).any():
        res[~aware] = _ns(pd.to_datetime(objs[~aware], errors="coerce"))
    if aware.any():
        res[aware] = _naive_local(pd.to_datetime(objs[aware], errors="coerce", utc=True))
    return res


def _from_number(num: pd.Series) -> pd.Series:
    """Number cells: an Excel serial, or — an integral 8-digit YYYYMMDD number (20261008 as a number cell, or
    20261008.0 as pandas/calamine hand it over) — a date."""
    ymd = num.notna() & (num >= _YMD8_MIN) & (num <= _YMD8_MAX) & (num == np.floor(num.fillna(0)))
    res = _from_serial(num.where(~ymd))
    if ymd.any():
        v = num[ymd].astype("int64")
        parts = pd.DataFrame({"y": v // 10000, "m": v // 100 % 100, "d": v % 100}, index=v.index)
        res[ymd] = _compose(parts)
    return res


def _from_serial(num: pd.Series) -> pd.Series:
    ok = num.notna() & (num >= 1) & (num <= min(MAX_SERIAL, NS_SERIAL))   # beyond: unreadable, as 9999-12-31 text
    res = pd.Series(pd.NaT, index=num.index, dtype="datetime64[ns]")
    if ok.any():
        secs = (num[ok].astype(float) * 86400).round()
        res[ok] = EXCEL_EPOCH + pd.to_timedelta(secs, unit="s")
    return res


def _compose(parts: pd.DataFrame) -> pd.Series:
    zone = parts["Z"] if "Z" in parts else None
    parts = parts[[c for c in parts.columns if c != "Z"]].astype(float)
    if parts.empty:
        return pd.Series(pd.NaT, index=parts.index, dtype="datetime64[ns]")
    frame = pd.DataFrame({"year": parts["y"], "month": parts["m"], "day": parts["d"],
                          "hour": parts.get("H", 0), "minute": parts.get("M", 0),
                          "second": parts.get("S", 0)}).fillna({"hour": 0, "minute": 0, "second": 0})
    valid = (frame["hour"] < 24) & (frame["minute"] < 60) & (frame["second"] < 60) & frame["year"].between(1900, 2999)
    frame.loc[~valid] = np.nan
    res = _ns(pd.to_datetime(frame, errors="coerce"))
    if zone is not None and zone.notna().any():
        # an explicit UTC offset (ISO 8601 text from an API export): convert to local wall-clock time
        z = zone.fillna("").str.replace(":", "", regex=False)
        sign = np.where(z.str.startswith("-"), -1, 1)
        hh = pd.to_numeric(z.str.slice(1, 3), errors="coerce").fillna(0)
        mm = pd.to_numeric(z.str.slice(3, 5), errors="coerce").fillna(0)
        offset_min = np.where(z.eq(""), np.nan, np.where(z.eq("Z"), 0, sign * (hh * 60 + mm)))
        has = ~np.isnan(offset_min)
        shift = pd.to_timedelta(np.where(has, LOCAL_UTC_OFFSET_MIN - np.nan_to_num(offset_min), 0), unit="m")
        res = res + shift
    return res


_FAST_RE = r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?"


def _parse_text(txt: pd.Series) -> pd.Series:
    res = pd.Series(pd.NaT, index=txt.index, dtype="datetime64[ns]")
    t = txt.fillna("")
    # fast path: the platform's own ISO form, parsed by pandas' C parser; the rest goes through the regexes
    fast = pd.Series(fullmatch(t, _FAST_RE), index=t.index)
    if fast.any():
        res[fast] = _ns(pd.to_datetime(t[fast], format="ISO8601", errors="coerce"))
        t = t[~fast]
        if t.empty:
            return res
    m = t.str.extract(_DATE_RE)
    hit = m["y"].notna()
    if hit.any():
        res[hit[hit].index] = _compose(m[hit])
    rest = ~hit
    m8 = t[rest].str.extract(_YMD8_RE)
    hit8 = m8["y"].notna()
    if hit8.any():
        res[hit8[hit8].index] = _compose(m8[hit8])
    rest = rest & ~t.index.isin(hit8[hit8].index)
    ser = pd.Series(fullmatch(t[rest], _SERIAL_RE), index=t[rest].index)
    if ser.any():
        idx = ser[ser].index
        res[idx] = _from_serial(pd.to_numeric(t[idx], errors="coerce"))
    return res


def _only_types(raw: pd.Series, types: tuple) -> bool:
    """Every non-empty cell of an object column is of one of ``types`` (bool is never taken for a number)."""
    present = [k for k in pd.unique(raw.map(type).to_numpy(dtype=object)) if k is not type(None)]
    return bool(present) and all(k in types for k in present)


def _real_booleans(raw: pd.Series) -> bool:
    """Every cell is a boolean or empty (a Parquet bool column): nothing to read."""
    return pd.api.types.is_bool_dtype(raw.dtype) or (raw.dtype == object and _only_types(raw, (bool, np.bool_)))


def parse_bool(raw: pd.Series, real: bool | None = None) -> tuple[pd.Series, pd.Series]:
    """(nullable boolean Series, bool Series "non-empty but unknown"). ``real``: ``_real_booleans(raw)`` if known."""
    if _real_booleans(raw) if real is None else real:
        return raw.astype("boolean"), pd.Series(False, index=raw.index)   # real booleans: nothing to read
    key = norm_code(raw)
    key = key.where(~key.isin(PLACEHOLDER_CODES), None)      # a placeholder is empty, not unreadable
    val = key.map(_BOOL_MAP)
    bad = key.notna() & val.isna()
    return val.astype("boolean"), bad.astype(bool)


# Long text columns of plain digits (a CSV's 记录数) are read by pyarrow in bulk; only the other cells take the
# general path (NFKC, placeholders, thousands separators). 15 digits stay exact in the general path's float64 too.
_FAST_INT_ROWS = 4096
_DIGITS_RE = r"^[0-9]{1,15}$"


def _digits_in_bulk(raw: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(hit mask, int64 values of the hits) for the cells that are plain ASCII digit strings; None when the column
    is short or holds anything but str/None (numbers, dates: the general path reads those)."""
    if raw.dtype != object or len(raw) < _FAST_INT_ROWS:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(raw.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    hit = pc.match_substring_regex(arr, _DIGITS_RE).fill_null(False)
    mask = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    if not mask.any():
        return None
    vals = np.zeros(len(raw), dtype=np.int64)
    vals[mask] = np.asarray(pc.cast(arr.filter(hit), pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return mask, vals


def parse_int(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    fast = _digits_in_bulk(raw)
    if fast is not None:
        mask, vals = fast
        out = pd.array(vals, dtype="Int64")
        out[~mask] = pd.NA
        bad = np.zeros(len(raw), dtype=bool)
        rest = ~mask & raw.notna().to_numpy()
        if rest.any():
            v_rest, b_rest = parse_int(raw[rest])
            out[rest] = v_rest.to_numpy(dtype=object)
            bad[rest] = b_rest.to_numpy(dtype=bool)
        return pd.Series(out, index=raw.index), pd.Series(bad, index=raw.index)
    if pd.api.types.is_integer_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("Int64"), pd.Series(False, index=raw.index)    # real integers (Parquet)
    if raw.dtype == object and _only_types(raw, (int, float, np.integer, np.floating)):
        raw = pd.to_numeric(raw, errors="coerce").astype("float64")   # numbers from Parquet/Excel cells
    if pd.api.types.is_float_dtype(raw.dtype):
        num = raw.astype("float64")
        integral = num.notna() & (num == np.floor(num.fillna(0))) & (num.abs() < 2 ** 62)
        return num.where(integral).astype("Float64").astype("Int64"), (num.notna() & ~integral).astype(bool)
    key = norm_code(raw)
    key = key.where(~key.isin(PLACEHOLDER_CODES), None)      # a placeholder is empty, not "not an integer"
    cleaned = key.str.replace(",", "", regex=False)
    num = pd.to_numeric(cleaned, errors="coerce")
    integral = num.notna() & (num == np.floor(num.fillna(0))) & (num.abs() < 2 ** 62)
    out = num.where(integral).astype("Float64").astype("Int64")
    bad = key.notna() & ~integral
    return out, bad.astype(bool)


def parse_sharetype(raw: pd.Series) -> pd.Series:
    key = norm_code(raw)
    mapped = key.map(schema.SHARE_TYPE_ALIASES)
    return mapped.where(mapped.notna(), nfkc_strip(raw)).astype(object).where(key.notna(), None)


_TYPED = (schema.DATE, schema.DATETIME, schema.BOOL, schema.INT, schema.SHARETYPE)


def coerce_column(raw: pd.Series, col: schema.Column, categorical: bool = False) -> tuple[pd.Series, pd.Series | None]:
    """(typed values, bad mask or None). ``categorical``: a code/name column held as a pandas categorical.

    A text categorical (read dictionary-encoded) of a typed column is read once per category and spread by the codes
    (every reading below is value by value); code, name and text columns read it through its codes (``text``)."""
    if col.type in _TYPED and text_categorical(raw):
        return _typed_by_categories(raw, col)
    return _coerce_values(raw, col, categorical)


def _typed_by_categories(raw: pd.Series, col: schema.Column) -> tuple[pd.Series, pd.Series | None]:
    """``coerce_column`` of a typed column held as a text categorical: its categories and one empty cell (None)
    are read as an object column, and each row takes its category's reading."""
    cats, take = category_cells(raw)
    val, bad = _coerce_values(cats, col, False)
    out = val.iloc[take].set_axis(raw.index)
    if bad is None:
        return out, None
    return out, pd.Series(np.asarray(bad, dtype=bool)[take], index=raw.index)


def _coerce_values(raw: pd.Series, col: schema.Column, categorical: bool) -> tuple[pd.Series, pd.Series | None]:
    if col.type in (schema.DATE, schema.DATETIME):
        return parse_datetime(raw, date_only=col.type == schema.DATE)
    if col.type == schema.BOOL:
        real = _real_booleans(raw)
        val, bad = parse_bool(raw, real)
        if col.default is not None:
            # a real boolean is never a placeholder: only its empty cells are missing
            missing = val.isna() if real else is_missing(raw)
            val = val.mask(missing.to_numpy(), col.default)
        return val, bad
    if col.type == schema.INT:
        return parse_int(raw)
    if col.type == schema.SHARETYPE:
        return parse_sharetype(raw), None
    if col.type == schema.CODE:
        return norm_code(raw, categorical), None
    if col.type == schema.NAME or col.codelist or col.name in schema.RULE_CODE_LISTS:
        # code-list values (also those a rule judges: 共享方式, 更新周期, 标识类型, 信息类别细目) are compared
        # whole, so a stray inner space (`平台 接口`) must not make a valid code invalid
        return norm_name(raw, categorical), None
    return nfkc_strip(raw), None


def empty_value(col: schema.Column, n: int, index) -> pd.Series:
    if col.type in (schema.DATE, schema.DATETIME):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if col.type == schema.BOOL:
        return pd.Series(col.default if col.default is not None else pd.NA, index=index, dtype="boolean")
    if col.type == schema.INT:
        return pd.Series(pd.NA, index=index, dtype="Int64")
    return pd.Series([None] * n, index=index, dtype=object)


# Dates a table may hold: [1900-01-01, 2200-01-01). Outside it a value is an input defect (unreadable).
DATE_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))

_PROBLEM_BAD = {schema.DATE: "日期无法识别", schema.DATETIME: "日期时间无法识别", schema.INT: "不是整数",
                schema.BOOL: "是/否值无法识别（应为 是/否、Y/N、1/0、true/false、√/×）"}


def defect_frame(table: str, file: pd.Series | str, sheet: pd.Series | str, rows, column: str, values,
                 problem) -> pd.DataFrame:
    n = len(rows)
    vals = as_text(pd.Series(values, dtype=object).reset_index(drop=True)) if n else pd.Series([], dtype=object)
    return pd.DataFrame({
        "table": [table] * n,
        "file": np.asarray(file, dtype=object) if not isinstance(file, str) else [file] * n,
        "sheet": np.asarray(sheet, dtype=object) if not isinstance(sheet, str) else [sheet] * n,
        "row": pd.array(np.asarray(rows, dtype=np.int64), dtype="Int64"),
        "column": [column] * n,
        "value": vals.fillna("").str.slice(0, 200).to_numpy(dtype=object) if n else [],
        "problem": np.asarray(problem, dtype=object) if not isinstance(problem, str) else [problem] * n,
    }, columns=DEFECT_COLUMNS)


CONTROL_PROBLEM = "单元格含控制字符（如 NUL、ESC 等不可见字符），已去除后读取；请检查导出程序或删除这些字符"


def control_characters(raw: pd.DataFrame, table: schema.Table) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Control characters (NUL, ESC…) are no part of a name or code: a NUL split a department from its catalog
    rows. Each text cell holding one is reported, and read without them (issue 8, A6)."""
    from ..text import escape_control, has_control, strip_control
    defects = []
    for col in table.columns:
        if col.name not in raw.columns or col.type in (schema.DATE, schema.DATETIME, schema.INT, schema.BOOL):
            continue
        ctl = has_control(raw[col.name])
        if not ctl.any():
            continue
        shown = escape_control(raw[col.name][ctl])
        defects.append(defect_frame(table.name, raw[META_FILE][ctl], raw[META_SHEET][ctl], raw[META_ROW][ctl],
                                    col.name, shown, CONTROL_PROBLEM))
        cleaned = raw[col.name].astype(object).where(raw[col.name].notna(), None) \
            if isinstance(raw[col.name].dtype, pd.CategoricalDtype) else raw[col.name].astype(object).copy()
        cleaned[ctl] = strip_control(as_text(cleaned[ctl])).to_numpy(dtype=object)
        raw = raw.assign(**{col.name: cleaned})
    return raw, defects


def coerce_table(raw: pd.DataFrame, table: schema.Table) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """raw: canonical columns present (object) + META columns. Returns (typed frame, defect frames)."""
    frame = pd.DataFrame(index=raw.index)
    defects: list[pd.DataFrame] = []
    files, sheets, rows = raw[META_FILE], raw[META_SHEET], raw[META_ROW]

    def add(mask, column, values, problem):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            pr = problem[mask] if isinstance(problem, (np.ndarray, pd.Series)) else problem
            defects.append(defect_frame(table.name, files[mask], sheets[mask], rows[mask], column,
                                        pd.Series(values)[mask], np.asarray(pr, dtype=object)
                                        if not isinstance(pr, str) else pr))

    for col in table.columns:
        if col.name not in raw.columns:
            frame[col.name] = empty_value(col, len(raw), raw.index)
            continue
        val, bad = coerce_column(raw[col.name], col, col.name in schema.CATEGORICAL.get(table.name, ()))
        far = np.zeros(len(raw), dtype=bool)
        if col.type in (schema.DATE, schema.DATETIME):
            far = (val.notna() & ((val < DATE_RANGE[0]) | (val >= DATE_RANGE[1]))).to_numpy(dtype=bool)
            if far.any():
                # a typo year (2262, 1677, a serial 1 = 1899-12-31): unreadable, not a reason to overflow the
                # deadline arithmetic (timestamps end in 2262) or to ask for a calendar of the 1800s
                val = val.mask(far)
                bad = np.asarray(bad, dtype=bool) & ~far
                add(far, col.name, raw[col.name], f"日期超出可处理的范围（应在 {DATE_RANGE[0].year}–"
                                                  f"{DATE_RANGE[1].year - 1} 年之间），多半是年份填错")
        frame[col.name] = val
        if bad is not None and not col.business:
            add(bad, col.name, raw[col.name], _PROBLEM_BAD[col.type])
        if col.codelist and not col.business:
            allowed = schema.CODE_LISTS[col.codelist]
            if getattr(col, "multi", False):     # 信息收集、信息发布: every part must be a code
                parts = val.astype(object).where(val.notna()).str.split(r"[、,，]").explode().str.strip()
                bad_part = (parts.notna() & (parts != "") & ~parts.isin(allowed)).groupby(level=0).any()
                unknown = val.notna() & bad_part.reindex(val.index, fill_value=False).to_numpy()
            else:
                unknown = val.notna() & ~val.isin(allowed)
            unknown = unknown & ~is_placeholder(val).to_numpy()   # placeholder = empty
            add(unknown, col.name, raw[col.name], f"{col.name}不在代码表中（应为：{'/'.join(allowed[:8])}"
                f"{'…' if len(allowed) > 8 else ''}）")
        empty = val.isna()
        needs_value = (col.name in table.key or col.counts_from
                       or (col.req == "yes" and col.ref and not col.business)
                       or (table.name == "departments" and col.name == "部门代码"))
        if needs_value and col.type not in (schema.DATE, schema.DATETIME):
            add(empty, col.name, raw[col.name], f"{col.name}为空")
        elif needs_value:
            add(empty & ~np.asarray(bad, dtype=bool) & ~far, col.name, raw[col.name], f"{col.name}为空")

    # code forms
    if table.name == "departments" and "部门代码" in raw.columns:
        code = frame["部门代码"]
        add(code.notna() & ~uscc_valid(code), "部门代码", raw["部门代码"],
            "部门代码不是有效的统一社会信用代码（18 位，校验位不正确或含非法字符）")
    if table.name == "catalog" and "信息资源代码" in raw.columns:
        code = frame["信息资源代码"]
        add(code.notna() & ~resource_code_valid(code), "信息资源代码", raw["信息资源代码"],
            "信息资源代码格式不对（应为 分类码/顺序码，如 101001001/000012）")
        if "信息类别细目" in raw.columns:
            # base resource (rules.md): 资源分类 = 基础信息资源, or 基础信息类别 set
            base = frame["资源分类"].eq("基础信息资源") | ~is_missing(frame["基础信息类别"])
            add(base & is_missing(frame["信息类别细目"]), "信息类别细目",
                raw["信息类别细目"], "基础信息资源未填写信息类别细目")

    _display_twins(raw, frame, table)
    frame[META_FILE] = files.to_numpy(dtype=object)
    frame[META_SHEET] = sheets.to_numpy(dtype=object)
    frame[META_ROW] = pd.array(rows.to_numpy(dtype=np.int64), dtype="Int64")
    return frame, defects


def _display_twins(raw: pd.DataFrame, frame: pd.DataFrame, table: schema.Table) -> None:
    """The input's own spelling of each text/name column, where it differs from the normalised value (issue 8 C4;
    schema.DISPLAY_PREFIX). Codes, dates, numbers and the event tables keep none."""
    if table.name not in schema.DISPLAY_TABLES or not len(raw):
        return
    for col in table.columns:
        if col.name not in raw.columns or col.type not in (schema.TEXT, schema.NAME):
            continue
        norm = frame[col.name]
        if not isinstance(norm.dtype, pd.CategoricalDtype) and norm.dtype != object:
            continue
        own = _on_uniques(as_text(raw[col.name]), _strip)     # (names and codes repeat: stripped once each)
        differs = (own.notna() & norm.notna() & (own.astype(object) != norm.astype(object))).to_numpy(dtype=bool)
        if differs.any():
            frame[schema.DISPLAY_PREFIX + col.name] = own.where(differs, None).astype(object)


def _strip(s: pd.Series) -> pd.Series:
    """Outer whitespace removed (Python's ``str.strip``); empty cells stay None."""
    return s.where(s.isna(), s.str.strip())


def drop_duplicates(frame: pd.DataFrame, table: schema.Table) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """First row per key kept; every later duplicate is a defect and dropped. Rows with an empty key are kept."""
    if not table.key or frame.empty:
        return frame, None
    has_key = frame[list(table.key)].notna().all(axis=1).to_numpy()
    keyed = frame if has_key.all() else frame.loc[has_key]      # (no copy of a big frame when every key is there)
    again, where = repeated_keys(keyed, list(table.key), META_ROW, META_FILE)
    if not again.any():
        return frame, None
    dup = np.zeros(len(frame), dtype=bool)
    dup[np.flatnonzero(has_key)[again]] = True
    return frame.loc[~dup], duplicate_defects(frame, table, dup, where)


def repeated_keys(frame: pd.DataFrame, by: list[str], row: str, file: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``frame`` whose ``by`` values repeat an earlier row's (a mask), and where the kept (first) row
    of each is, as its defect says (``kept_where``, from the columns ``row`` and ``file``). Also used on the key
    digests of the dask engine's partitions."""
    dup = frame.duplicated(by, keep="first").to_numpy()
    if not dup.any():                        # the common case: no key repeats, nothing to look up
        none = frame[file].to_numpy()[dup]
        return dup, kept_where(none, frame[row].to_numpy()[dup], none)
    first = frame.groupby(by, sort=False)[[row, file]].transform("first")
    return dup, kept_where(first[file].to_numpy()[dup], first[row].to_numpy()[dup], frame[file].to_numpy()[dup])


def kept_where(first_file: np.ndarray, first_row: np.ndarray, file: np.ndarray) -> np.ndarray:
    """Where the kept row of a duplicate key is, as its defect says: 「第 N 行」 in the same file, else
    「<file> 第 N 行」."""
    kept = pd.Series(first_row).astype("int64").astype(str).to_numpy(dtype=object)
    same_file = first_file == file
    return np.where(same_file, "第 " + kept + " 行", first_file.astype(str).astype(object) + " 第 " + kept + " 行")


def duplicate_defects(frame: pd.DataFrame, table: schema.Table, dup: np.ndarray, where: np.ndarray) -> pd.DataFrame:
    """The defects of the rows ``dup`` (a mask) of ``frame`` whose key repeats a kept row at ``where``."""
    d = frame.loc[dup]
    key = d[list(table.key)]
    label = "+".join(table.key)
    values = key.astype(str).agg(" / ".join, axis=1) if len(table.key) > 1 else key.iloc[:, 0]
    problem = pd.Series(f"{label}重复（保留", index=d.index) + pd.Series(where, index=d.index) + "）"
    return defect_frame(table.name, d[META_FILE], d[META_SHEET], d[META_ROW], label, values,
                        problem.to_numpy(dtype=object))
