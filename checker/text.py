"""Text normalisation shared by the loader and the engine.

All Series functions are vectorised (``Series.str``) and keep the index. They accept any object Series: non-string
values (numbers from Excel cells) are turned into text first (an integral float ``12.0`` becomes ``"12"``).
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

# Placeholders that mean "nothing given" in a free-text field (compared after NFKC, whitespace removal, upper-case).
PLACEHOLDERS = frozenset({"/", "-", "—", "——", "－", "–", "无", "暂无", "N/A", "NA", "NULL"})
_PLACEHOLDERS_NORM = frozenset(unicodedata.normalize("NFKC", p).upper() for p in PLACEHOLDERS)
PLACEHOLDER_CODES = _PLACEHOLDERS_NORM          # placeholders as ``norm_code`` writes them (for ``isin``)

# after NFKC, U+3000 is a plain space; \s also covers tabs, line breaks, NBSP; plus the invisible zero-width
# characters copy-paste leaves in cells (ZWSP/ZWNJ/ZWJ, LRM/RLM, word joiner, a stray BOM)
_WS_RE = r"[\s\u200b-\u200f\u2060\ufeff]+"


def _scalar_to_text(v):
    """One cell -> str or None (used only for non-str objects, which are few: numbers, dates from Excel)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        if float(v).is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat(sep=" ")
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _objects_to_text(s: pd.Series) -> np.ndarray:
    """Non-str cells of an object column as text. A Parquet or Excel column of numbers arrives as Python ints or
    floats: those are converted in bulk by type (``True == 1`` rules out one factorisation over mixed types)."""
    vals = s.to_numpy(dtype=object)
    tcodes, tuniq = pd.factorize(s.map(type).to_numpy(dtype=object))
    tuniq = list(tuniq)

    def of_type(typ) -> np.ndarray:
        return tcodes == tuniq.index(typ) if typ in tuniq else np.zeros(len(vals), dtype=bool)

    out = np.empty(len(vals), dtype=object)               # None where nothing is written
    done = of_type(type(None))
    for typ in (bool, np.bool_):
        m = of_type(typ)
        if m.any():
            out[m] = np.where(vals[m].astype(bool), "TRUE", "FALSE")
            done |= m
    for typ in (int, float):
        m = of_type(typ)
        if m.sum() < 64:
            continue
        if typ is int:
            ints = vals[m]
            try:
                out[m] = np.asarray(ints.astype(np.int64).astype(str), dtype=object)
            except OverflowError:
                continue
        else:
            f = vals[m].astype(np.float64)
            integral = np.isfinite(f) & (f == np.floor(f)) & (np.abs(f) < 1e16)
            txt = np.empty(len(f), dtype=object)            # (None: NaN, an empty Excel cell, has no text)
            txt[integral] = f[integral].astype(np.int64).astype(str)
            rest = ~integral & ~np.isnan(f)
            txt[rest] = [_scalar_to_text(v) for v in f[rest]]
            out[m] = txt
        done |= m
    if (~done).any():
        out[~done] = [_scalar_to_text(v) for v in vals[~done]]
    return out


def as_text(series: pd.Series) -> pd.Series:
    """Object Series of ``str`` / ``None`` (no normalisation). Strings pass through untouched."""
    s = pd.Series(series, copy=False)
    if s.dtype == object:
        from pandas._libs.lib import is_string_array
        vals = s.to_numpy(dtype=object)
        if not len(s) or is_string_array(vals, skipna=False):
            return s.copy()                                # text only: the common case, decided in C
        if is_string_array(vals, skipna=True):
            return s.where(s.notna(), None)                # text and empty cells
        is_str = s.map(type).eq(str).to_numpy()
        out = s.astype(object).copy()
        other = ~is_str
        out[other] = _objects_to_text(s[other])                # only the non-string cells
        return out
    if pd.api.types.is_string_dtype(s.dtype):
        return s.astype(object).where(s.notna(), None)
    # one dtype (numbers, booleans, timestamps from Parquet or Excel): convert the distinct values only
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = np.array([_scalar_to_text(v) for v in pd.Series(uniques).astype(object)] + [None], dtype=object)
    return pd.Series(texts[codes], index=s.index, dtype=object)


_HEAD_ROWS = 4096


def text_categorical(s) -> bool:
    """A categorical whose categories are all ``str`` (text read dictionary-encoded: ``readers._text_as_objects``).
    The text functions read it through its codes, as the object column of ``str``/None it stands for."""
    dtype = getattr(s, "dtype", None)
    return (isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype == object
            and pd.api.types.infer_dtype(dtype.categories, skipna=False) in ("string", "empty"))


def category_cells(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A categorical's categories and one empty cell (None) as an object column, and for each row the position of
    its value in it: a value-by-value reading of that column, spread by ``take``, reads every row."""
    cats = pd.Series(list(s.cat.categories) + [None], dtype=object)
    codes = s.cat.codes.to_numpy()
    return cats, np.where(codes >= 0, codes, len(cats) - 1)


def _as_text_or_codes(series) -> pd.Series:
    """``as_text``, except that a text categorical stays as it is (``_on_uniques`` reads its codes)."""
    return series if text_categorical(series) else as_text(series)


def _factorized(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of a text categorical as of the object column it stands for: the used categories in the
    order of their first row (not the categories' own order, which may hold values of dropped rows)."""
    codes = s.cat.codes.to_numpy()
    used = codes >= 0
    first, order = pd.factorize(codes[used])
    out = np.full(len(codes), -1, dtype=np.intp)
    out[used] = first
    return out, s.cat.categories.to_numpy(dtype=object)[order]


def _on_uniques(s: pd.Series, fn, categorical: bool = False) -> pd.Series:
    """Apply a vectorised str function to the distinct values only (exports repeat names/codes a lot).

    ``categorical``: return a pandas categorical built from the same factorisation (for the repetitive columns of
    the big event tables), instead of spreading the values back into millions of Python strings. A text
    categorical is read through its codes (no factorisation of its rows)."""
    if text_categorical(s):
        codes, uniques = _factorized(s)
        if not categorical:
            mapped = fn(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
            out = np.empty(len(mapped) + 1, dtype=object)
            out[:-1] = mapped
            out[-1] = None
            return pd.Series(out[codes], index=s.index, dtype=object)
    elif categorical:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if categorical:
        mapped = pd.Series(fn(pd.Series(uniques, dtype=object)).to_numpy(dtype=object), dtype=object)
        new_codes, cats = pd.factorize(mapped, use_na_sentinel=True)   # normalisation may merge values
        if len(new_codes):
            codes = np.where(codes >= 0, new_codes[np.maximum(codes, 0)], -1)
        return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object)), index=s.index)
    if len(s) < 2048:
        return fn(s)
    head = s.iloc[:_HEAD_ROWS]
    if len(s) > 4 * _HEAD_ROWS and head.nunique() > len(head) // 2:
        return fn(s)                     # serial numbers, timestamps: a factorisation of a million rows buys nothing
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) > len(s) // 2:
        return fn(s)
    mapped = fn(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    out = np.empty(len(s), dtype=object)
    ok = codes >= 0
    out[ok] = mapped[codes[ok]]
    out[~ok] = None
    return pd.Series(out, index=s.index, dtype=object)


def fullmatch(s: pd.Series, pattern: str) -> np.ndarray:
    """Bool array: the value is a str that fully matches ``pattern`` (RE2 syntax through pyarrow, in C++; falls back
    to ``Series.str.fullmatch`` for values pyarrow cannot take). Missing values do not match."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return s.str.fullmatch(pattern).eq(True).to_numpy()
    hit = pc.match_substring_regex(arr, f"^(?:{pattern})$")
    return np.asarray(hit.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _fast_ascii(s: pd.Series, clean_re: str, fn) -> pd.Series:
    """Rows fully matching ``clean_re`` (plain ASCII already in normal form) are kept as they are; ``fn`` runs on
    the others only. Big exports are mostly such values (serial numbers, timestamps)."""
    if len(s) < 2048 or not s.notna().any():
        return fn(s)
    clean = fullmatch(s, clean_re)
    if not clean.any():
        return fn(s)
    out = s.astype(object).copy()
    if (~clean).any():
        out[~clean] = fn(s[~clean])
    return out


_CLEAN_TEXT = r"[!-~](?:[ -~]*[!-~])?"          # printable ASCII, no surrounding spaces
_CLEAN_CODE = r"[!-`{-~]+"                      # printable ASCII, no spaces, no lower-case letters
_CLEAN_NAME = r"[!-~]+"                         # printable ASCII, no spaces


def _finish(s: pd.Series) -> pd.Series:
    """Empty strings -> None; object dtype."""
    s = s.astype(object)
    return s.where(s.notna() & s.ne(""), None)


def nfkc_strip(series: pd.Series) -> pd.Series:
    """NFKC-normalise and trim (incl. full-width spaces); ``None`` for empty."""
    s = _as_text_or_codes(series)
    return _on_uniques(s, lambda y: _fast_ascii(
        y, _CLEAN_TEXT, lambda x: _finish(x.str.normalize("NFKC").str.strip())))


def norm_code(series: pd.Series, categorical: bool = False) -> pd.Series:
    """Codes: NFKC, every whitespace removed (incl. U+3000), upper-cased; ``None`` for empty."""
    s = _as_text_or_codes(series)
    return _on_uniques(s, lambda y: _fast_ascii(
        y, _CLEAN_CODE, lambda x: _finish(x.str.normalize("NFKC").str.replace(_WS_RE, "", regex=True).str.upper())),
        categorical)


def norm_key(series: pd.Series, categorical: bool = False) -> pd.Series:
    """Free text as rules.md "Key" writes it: NFKC, every whitespace removed; ``None`` for empty."""
    s = _as_text_or_codes(series)
    return _on_uniques(s, lambda y: _fast_ascii(
        y, _CLEAN_NAME, lambda x: _finish(x.str.normalize("NFKC").str.replace(_WS_RE, "", regex=True))),
        categorical)


# Chinese names are written with full-width brackets (广州市黄埔区人民政府（广州开发区管理委员会）); NFKC folds them to
# ASCII. A name keeps the form the registers write, so that reports show it as written; both spellings match.
_NAME_BRACKETS = str.maketrans({"(": "（", ")": "）"})


def _name_form(s: pd.Series) -> pd.Series:
    folded = s.str.normalize("NFKC").str.replace(_WS_RE, "", regex=True)
    return _finish(folded.str.translate(_NAME_BRACKETS))


def norm_name(series: pd.Series, categorical: bool = False) -> pd.Series:
    """Names (部门名称 …) and code-list values: NFKC, every whitespace removed, brackets full-width (（）, the form
    Chinese names are written in); ``None`` for empty."""
    s = _as_text_or_codes(series)
    return _on_uniques(s, lambda y: _fast_ascii(y, r"[!-'*-~]+", _name_form), categorical)


def is_missing(series: pd.Series) -> pd.Series:
    """Bool Series: None/NaN/empty, or a placeholder (``/ - — 无 暂无 N/A``, ``－``, ``——``, ``n/a``, ``NA``…)."""
    s = norm_code(series)
    return (s.isna() | s.isin(_PLACEHOLDERS_NORM)).astype(bool)


def is_placeholder(series: pd.Series) -> pd.Series:
    """Bool Series: a non-empty placeholder (``/ - — 无 暂无 N/A``…). Cheap on long columns of real values: only
    short strings are normalised (placeholders are at most a few characters); a categorical is judged on its
    categories."""
    if isinstance(getattr(series, "dtype", None), pd.CategoricalDtype):
        cats = is_placeholder(pd.Series(series.cat.categories, dtype=object)).to_numpy(dtype=bool)
        codes = series.cat.codes.to_numpy()
        hit = np.zeros(len(codes), dtype=bool)
        if len(cats):
            hit = np.where(codes >= 0, cats[np.maximum(codes, 0)], False)
        return pd.Series(hit, index=series.index)
    s = as_text(series)
    out = pd.Series(False, index=s.index)
    short = s.notna() & s.str.len().le(12).fillna(False).astype(bool)
    if short.any():
        out[short] = norm_code(s[short]).isin(_PLACEHOLDERS_NORM).to_numpy()
    return out


# ---- scalar versions ------------------------------------------------------------------------------------------

def nfkc_strip1(value) -> str | None:
    t = _scalar_to_text(value)
    if t is None:
        return None
    t = unicodedata.normalize("NFKC", t).strip()
    return t or None


def norm_code1(value) -> str | None:
    t = _scalar_to_text(value)
    if t is None:
        return None
    t = re.sub(_WS_RE, "", unicodedata.normalize("NFKC", t)).upper()
    return t or None


def norm_name1(value) -> str | None:
    t = _scalar_to_text(value)
    if t is None:
        return None
    t = re.sub(_WS_RE, "", unicodedata.normalize("NFKC", t)).translate(_NAME_BRACKETS)
    return t or None


def is_missing1(value) -> bool:
    t = norm_code1(value)
    return t is None or t in _PLACEHOLDERS_NORM


def norm_header(value) -> str:
    """A header cell for matching: NFKC, whitespace/line breaks and ``*`` markers removed, brackets' notes kept."""
    t = _scalar_to_text(value)
    if t is None:
        return ""
    t = unicodedata.normalize("NFKC", t)
    t = re.sub(r"[\s*\u200b-\u200f\u2060\ufeff]+", "", t)
    return t


# ---- control characters -------------------------------------------------------------------------------------
# C0 controls except tab / line feed / carriage return, DEL, and C1 controls: never part of a name or a code. A NUL
# splits a name from its references; an ESC sequence reaching a terminal can rewrite what the auditor sees.
CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
# what a terminal must not receive: the controls above, and the bidirectional overrides that reorder a line
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_control(series: pd.Series) -> np.ndarray:
    """Bool array: the cell is text holding a control character (``CONTROL_RE``). Judged on the distinct values
    only (export columns repeat a lot)."""
    s = pd.Series(series, copy=False)
    if not len(s):
        return np.zeros(0, dtype=bool)
    if text_categorical(s):
        codes, uniques = _factorized(s)
    else:
        codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    txt = as_text(pd.Series(uniques, dtype=object))
    hit = txt.str.contains(CONTROL_RE, regex=True, na=False).to_numpy(dtype=bool)
    if not hit.any():
        return np.zeros(len(s), dtype=bool)
    return np.where(codes >= 0, hit[np.maximum(codes, 0)], False)


def escape_control(series: pd.Series) -> pd.Series:
    """Text with each control character written as an escape (``\\x00``): how a defect shows the value."""
    return as_text(series).str.replace(CONTROL_RE, lambda m: f"\\x{ord(m.group()):02x}", regex=True)


def strip_control(series: pd.Series) -> pd.Series:
    """Text with the control characters removed (other values unchanged)."""
    return series.str.replace(CONTROL_RE, "", regex=True)


def terminal_safe(text: str) -> str:
    """Text for the terminal: every control character (line breaks kept) and bidi override shown as an escape
    (``\\x1b``), so that an input cannot move the cursor, clear the screen or reorder the line."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                else f"\\u{ord(m.group()):04x}", text)


def value_text(v) -> str:
    """A parameter value as the auditors read it: 是/否 for booleans, lists joined with /, tables as {k:v，…}."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, tuple)):
        return "/".join(value_text(x) for x in v)
    if isinstance(v, dict):
        return "{" + "，".join(f"{k}:{value_text(x)}" for k, x in v.items()) + "}"
    return str(v)
