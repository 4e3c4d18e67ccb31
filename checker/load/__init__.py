"""Loading every export: ``load_inputs(paths, overrides=None) -> LoadResult`` and ``read_table``.

Pipeline per sheet: safety checks (``safety``) -> raw grid (``readers``) -> table recognition (``recognize``) ->
header row and alias mapping (``header``) -> note/empty/合计 rows dropped -> coercion and defects (``coerce``) ->
duplicate keys; then cross-table references (``references``) once all tables are read.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputError
from ..model import DEFECT_COLUMNS, META_COLUMNS, META_FILE, META_ROW, META_SHEET, LoadResult, empty_frame
from ..text import as_text, category_cells, is_placeholder, nfkc_strip, norm_code, norm_header
from . import coerce, header, lanes, readers, recognize, references, safety  # noqa: F401  (safety: README limits)
from .readers import RawSheet

__all__ = ["load_inputs", "read_table", "read_sheets", "LoadResult"]

NOTE_KEYWORDS = ("必填", "选填", "填写", "填报说明", "格式：", "格式:", "说明：", "说明:")
# a cell that starts with a note keyword (after brackets/markers): 「必填，唯一」「（选填）」「填写说明：…」
_NOTE_CELL_RE = ("^[\\s(（\\[【*]*(?:" + "|".join(NOTE_KEYWORDS + ("非必填", "条件必填", "注：", "注:"))
                 .replace("(", "\\(").replace(")", "\\)") + ")")
TOTAL_WORDS = ("合计", "总计")
TEMPLATE_NOTE = "只有表头和模板的填写说明行，没有数据"
NOTE_SCAN_ROWS = 3


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sheets(path: str, shown: str | None = None) -> list[RawSheet]:
    """The raw sheets of one file (after the safety checks)."""
    return readers.read_file(path, shown or path)


# A typed cell (date/datetime/int/bool) that describes the column instead of holding a value: "是/否", "Y/N",
# "YYYY-MM-DD", "日期，如 2026-10-08", "整数"…
_DESCRIPTOR_RE = (r"是\s*[/／|或、]\s*否|[YyTt]\s*[/／]\s*[NnFf]|YYYY|yyyy|格式|日期|时间|整数|数字|如[:：\s]|例[:：]"
                  r"|示例|填写|必填|选填")


def _note_mask(raw: pd.DataFrame, table: schema.Table) -> np.ndarray:
    """Template/description rows right under the header (at most NOTE_SCAN_ROWS, contiguous from the top):
    a row with a note keyword (必填, 选填, 填写…), or a row none of whose typed cells (date/datetime/int/bool)
    parses while at least one of them describes its column ("是/否", "YYYY-MM-DD", "日期，如 …").

    A first record whose typed cells merely fail to parse (a date "2026-13-01", a flag "未知") is data, not a note:
    it is kept and its bad cells are reported as input defects."""
    k = min(NOTE_SCAN_ROWS, len(raw))
    mask = np.zeros(len(raw), dtype=bool)
    if k == 0:
        return mask
    head = _plain_frame(raw.iloc[:k])
    typed = [c for c in table.columns if c.name in head.columns
             and c.type in (schema.DATE, schema.DATETIME, schema.INT, schema.BOOL)]
    parsed = np.zeros(k, dtype=bool)
    describes = np.zeros(k, dtype=bool)
    for c in typed:
        val, bad = coerce.coerce_column(head[c.name], c)
        txt = as_text(head[c.name])
        raw_filled = (txt.notna() & ~is_placeholder(txt)).to_numpy()
        parsed |= raw_filled & ~np.asarray(bad, dtype=bool)
        describes |= txt.str.contains(_DESCRIPTOR_RE, regex=True, na=False).to_numpy(dtype=bool)
    # a note keyword opening the row's first filled cell, or opening two or more cells (one real value such as a
    # name starting with 填写 does not make a note row)
    cells = pd.DataFrame({c: nfkc_strip(head[c]) for c in head.columns if c not in META_COLUMNS})
    starts = cells.apply(lambda s: s.str.contains(_NOTE_CELL_RE, regex=True, na=False)).to_numpy(dtype=bool)
    filled_cells = cells.notna().to_numpy()
    first_filled = np.argmax(filled_cells, axis=1) if filled_cells.size else np.zeros(k, dtype=int)
    keyword = (starts.sum(axis=1) >= 2) if starts.size else np.zeros(k, dtype=bool)
    if starts.size:
        keyword |= starts[np.arange(k), first_filled] & filled_cells.any(axis=1)
    note = (describes & ~parsed) | keyword
    for i in range(k):                       # contiguous from the header down
        if not note[i]:
            break
        mask[i] = True
    return mask


# Exactly the characters of Python's str.isspace (tests/test_load_speed.py checks every code point), for RE2.
SPACE_CLASS = "[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_BLANK_RE = "^" + SPACE_CLASS + "+$"
_FAST_NONEMPTY_ROWS = 4096


def _nonempty_arrow(s: pd.Series) -> pd.Series | None:
    """``_nonempty`` of a column of str/None in bulk through pyarrow (null count, "" and a blank pattern in C++);
    None when the column holds anything else (numbers, dates: the slow path reads those)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(s.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):    # not all str (or a lone surrogate)
        return None
    if arr.null_count == len(arr):
        return pd.Series(False, index=s.index)
    blank = pc.or_kleene(pc.equal(arr, ""), pc.match_substring_regex(arr, _BLANK_RE))
    filled = pc.and_not(arr.is_valid(), pc.fill_null(blank, False))
    return pd.Series(filled.to_numpy(zero_copy_only=False), index=s.index, dtype=bool)


def plain_objects(s: pd.Series) -> pd.Series:
    """A categorical column (text read dictionary-encoded, ``readers._text_as_objects``) as the object column it
    stands for (``str``, None for an empty cell); any other column as it is."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(object).where(s.notna(), None)
    return s


def _plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``plain_objects`` of every column (a few rows: the note rows, the repeated header rows)."""
    return pd.DataFrame({c: plain_objects(df[c]) for c in df.columns}, index=df.index)


def _on_categories(s: pd.Series, judge) -> np.ndarray:
    """``judge`` (a bool Series function, value by value) of a categorical column, judged on its categories once
    and spread by the codes; an empty cell is judged as None."""
    cats, take = category_cells(s)
    return np.asarray(judge(cats), dtype=bool)[take]


def _nonempty(s: pd.Series) -> pd.Series:
    """Cell has content: not None/NaN, not "" and not only (full-width) spaces."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.Series(_on_categories(s, _nonempty), index=s.index)
    if s.dtype == object and len(s) >= _FAST_NONEMPTY_ROWS:
        fast = _nonempty_arrow(s)
        if fast is not None:
            return fast
    filled = s.notna()
    if s.dtype == object and filled.any():
        try:
            filled &= s.ne("") & ~s.str.isspace().eq(True)
        except AttributeError:            # no strings at all (numbers, dates)
            pass
    return filled


def _frame_for(sheet: RawSheet, match: header.HeaderMatch, table: schema.Table) -> tuple[pd.DataFrame, list]:
    ncols = max(match.mapping.values()) + 1 if match.mapping else 0
    width = max(ncols, len(match.headers))
    if sheet.preview.shape[0] and not sheet.sheet:
        width = max(width, ncols)
    data, rows, read_defects = sheet.data(match.row, width)
    if len(data.columns):
        nonempty = pd.DataFrame({c: _nonempty(data[c]) for c in data.columns})
        anything = nonempty.any(axis=1).to_numpy()
        # a record has a value in at least one recognised column; a row holding only extra columns (a pre-numbered
        # 序号, a 备注) is not a record
        mapped = [p for p in match.mapping.values() if p in nonempty.columns]
        keep = nonempty[mapped].any(axis=1).to_numpy().copy() if mapped else np.zeros(len(data), dtype=bool)
    else:
        anything = keep = np.zeros(len(data), dtype=bool)
    # a final 合计/总计 row: the last non-empty row whose first non-empty cell is 合计/总计 (spaces and a trailing
    # colon ignored)
    if anything.any() and sheet.slice_last:
        last = np.flatnonzero(anything)[-1]
        cells = [v for v, f in zip(data.iloc[last].tolist(), nonempty.iloc[last].tolist()) if f]
        first = norm_code(pd.Series([cells[0]], dtype=object)).iloc[0] if cells else None
        if first is not None and first.rstrip(":") in TOTAL_WORDS:
            keep[last] = False
    if not keep.all():                    # (a copy of a million-row frame only when a row really goes)
        data, rows = data.loc[keep].reset_index(drop=True), rows[keep]
    raw = pd.DataFrame({name: data[pos] if pos in data.columns else pd.Series([None] * len(data), dtype=object)
                        for name, pos in sorted(match.mapping.items(), key=lambda kv: kv[1])})   # sheet order
    again = _repeated_header(raw, sheet, match)
    if again.any():
        raw, rows = raw.loc[~again].reset_index(drop=True), rows[~again]
    raw[META_FILE] = sheet.shown
    raw[META_SHEET] = sheet.sheet
    raw[META_ROW] = rows
    note = _note_mask(raw, table) if sheet.slice_start == 0 else np.zeros(len(raw), dtype=bool)
    notes_only = bool(len(raw)) and bool(note.all())
    if note.any():
        raw = raw.loc[~note].reset_index(drop=True)
    defects = []
    if read_defects:
        d = pd.DataFrame(read_defects)
        defects.append(coerce.defect_frame(table.name, sheet.shown, sheet.sheet, d["row"].to_numpy(), "",
                                           d["value"], d["problem"].to_numpy(dtype=object)))
    return raw, defects, notes_only


def _repeated_header(raw: pd.DataFrame, sheet: RawSheet, match: header.HeaderMatch) -> np.ndarray:
    """Rows that repeat the header row (two exports pasted one under the other): not records. A row qualifies
    when every recognised column holds its own header text. Vectorised: only rows whose first recognised
    column equals its header cell are looked at closely."""
    out = np.zeros(len(raw), dtype=bool)
    cols = [c for c in raw.columns if c in match.mapping]
    if len(raw) == 0 or len(cols) < 2 or match.row >= len(sheet.preview):
        return out
    head = sheet.preview.iloc[match.row]
    first = cols[0]
    h0 = head.iloc[match.mapping[first]] if match.mapping[first] < len(head) else None
    if h0 is None or not isinstance(h0, str):
        return out
    cand = raw[first].astype(object).eq(h0).to_numpy(dtype=bool)
    if not cand.any():
        return out
    sub = _plain_frame(raw.loc[cand, cols])
    same = np.ones(len(sub), dtype=bool)
    for c in cols:
        pos = match.mapping[c]
        h = head.iloc[pos] if pos < len(head) else None
        want = norm_header(str(h)) if h is not None else ""
        same &= sub[c].map(lambda v: v is not None and norm_header(str(v)) == want).to_numpy(dtype=bool)
    out[np.flatnonzero(cand)[same]] = True
    return out


def _column_label(sheet: RawSheet, pos: int) -> str:
    if sheet.sheet:                                     # a worksheet: Excel's column letter
        n, letters = pos + 1, ""
        while n:
            n, r = divmod(n - 1, 26)
            letters = chr(65 + r) + letters
        return f"第 {letters} 列"
    return f"第 {pos + 1} 列"


def _duplicate_header_defects(sheet: RawSheet, match: header.HeaderMatch, table: schema.Table) -> list:
    """Two header cells for one field (a visible and a hidden 共享类型 column, say) were resolved silently: say
    which one was used (issue 8, C3). The visible one wins, then the first."""
    dups = match.duplicates or {}
    if not dups:
        return []
    row = int(sheet.preview_rows[match.row]) if match.row < len(sheet.preview_rows) else match.row + 1
    rows, cols, values, problems = [], [], [], []
    for name, positions in sorted(dups.items(), key=lambda kv: kv[1][0]):
        def label(p):
            return _column_label(sheet, p) + ("（隐藏列）" if p in sheet.hidden else "")
        used, rest = positions[0], positions[1:]
        why = "可见的列优先" if used not in sheet.hidden and any(p in sheet.hidden for p in rest) else "取最左边的一列"
        rows.append(row)
        cols.append(name)
        values.append("、".join(label(p) for p in positions))
        problems.append(f"表头中有 {len(positions)} 列都是「{name}」（{'、'.join(label(p) for p in positions)}），"
                        f"已使用{label(used)}（{why}），{'、'.join(label(p) for p in rest)}未读取；请删除多余的列")
    return [coerce.defect_frame(table.name, sheet.shown, sheet.sheet, np.asarray(rows), "", values,
                                np.asarray(problems, dtype=object)).assign(column=cols)]


def _prepare_file(real: str, shown: str, stub: bool, skip_keys: frozenset = frozenset(),
                  skip_tables: frozenset = frozenset()) -> lanes.Prepared:
    """A lane's work on one file (``lanes``): read, each sheet recognised and loaded as its table (except the
    sheets and tables given by ``--table``: ``skip_keys`` as (absolute path, sheet or None), ``skip_tables``).
    ``stub``: the sheets come back without their cells (from a worker)."""
    if stub:                 # a lane's worker: pyarrow's thread pool would compete with this process's lane
        import pyarrow as pa
        pa.set_cpu_count(1)
    try:
        sheets = read_sheets(real, shown)
    except InputError as exc:
        return lanes.Prepared(error=exc)
    out = []
    for sh in sheets:
        name, why = recognize.recognize(sh)
        ready = lanes.Ready(name, why)
        if name is not None and name not in skip_tables and not _overridden(skip_keys, real, sh.sheet):
            try:
                *result, ready.unfilled = _load_sheet_unfilled(sh, schema.TABLES[name])
                ready.result = tuple(result)
            except InputError as exc:
                ready.error = exc
        if stub:
            sh = dataclasses.replace(sh, preview=sh.preview.iloc[:0], preview_rows=sh.preview_rows[:0],
                                     _load=None, controls=True, stub=True)
        sh.ready = ready
        out.append(sh)
    return lanes.Prepared(sheets=out)


def _overridden(keys, real: str, sheet: str) -> bool:
    """The sheet is read from a ``--table`` source instead (``keys``: (absolute path, sheet or None))."""
    path = os.path.abspath(real)
    return (path, sheet) in keys or (path, None) in keys


def _real(sheet: RawSheet) -> RawSheet:
    """A sheet with its cells: a stub from a lane's worker is read again here."""
    if not sheet.stub:
        return sheet
    for sh in read_sheets(sheet.path, sheet.shown):
        if sh.sheet == sheet.sheet:
            sh.ready = sheet.ready
            return sh
    raise InputError(f"找不到工作表「{sheet.sheet}」", file=sheet.shown)          # the file changed under the run


def _ready_outcome(sheet: RawSheet, t: schema.Table):
    """The lane's ``lanes.Ready`` of ``sheet`` loaded as ``t``, or None (not loaded in a lane)."""
    r = sheet.ready
    return r if r is not None and r.loaded and r.table == t.name else None


def _load_candidate(sheet: RawSheet, t: schema.Table) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``_load_sheet(sheet, t)``, or its outcome where a lane already loaded it."""
    r = _ready_outcome(sheet, t)
    if r is None:
        return _load_sheet(_real(sheet), t)
    if r.error is not None:
        raise r.error
    return r.result


def _is_unfilled(sheet: RawSheet, t: schema.Table) -> bool:
    r = _ready_outcome(sheet, t)
    if r is not None and r.error is None:
        return r.unfilled
    return _unfilled_template(_real(sheet), t)


def _unfilled_template(sheet: RawSheet, table: schema.Table) -> bool:
    """The sheet has a header for ``table`` and no row but notes rows (an unfilled ``sharecheck template``)."""
    try:
        if recognize.blank(sheet.preview):
            return False
        match = header.find_header(sheet.preview, table, sheet.hidden)
        raw, _defects, notes_only = _frame_for(sheet, match, table)
    except InputError:
        return False
    return notes_only and not len(raw)


def _check_required(sheet: RawSheet, match: header.HeaderMatch, table: schema.Table) -> None:
    for col in table.required_columns:
        if col not in match.mapping:
            near = header.closest_header(col, table, match.headers)
            hint = (f"表头中最接近的是「{near}」；请把该列表头改为「{col}」或补上该列" if near
                    else f"请补上「{col}」列")
            aliases = table.column(col).aliases
            if aliases:
                hint += f"（也可用：{'、'.join(aliases)}）"
            raise InputError(f"{table.title}（{table.name}）缺少必需的列「{col}」", file=sheet.shown,
                             sheet=sheet.sheet or None, column=col, hint=hint)


def read_table(path: str, sheet: str | None, table_name: str, shown: str | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read one table from one file (sheet name, or None for the only / the recognised sheet).

    Returns (typed frame, defects without cross-table references, input entry)."""
    if table_name not in schema.TABLES:
        raise InputError(f"未知的表名「{table_name}」", hint="可用：" + "、".join(schema.TABLES))
    t = schema.TABLES[table_name]
    sheets = read_sheets(path, shown)
    if sheet is not None:
        chosen = [s for s in sheets if s.sheet == sheet]
        if not chosen:
            raise InputError(f"找不到工作表「{sheet}」", file=shown or path,
                             hint="现有工作表：" + "、".join(s.sheet for s in sheets))
        target = chosen[0]
    elif len(sheets) == 1:
        target = sheets[0]
    else:
        ranked = sorted(sheets, key=lambda s: -recognize.score_sheet(s, t))
        target = ranked[0]
    return _load_sheet(target, t)


def _load_sheet(sheet: RawSheet, t: schema.Table, dedup: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One sheet as a typed table. ``dedup`` False (a partition on a Dask worker): repeated keys are left for the
    client to find across the whole table (issue 11)."""
    return _load_sheet_unfilled(sheet, t, dedup)[:3]


def _load_sheet_unfilled(sheet: RawSheet, t: schema.Table, dedup: bool = True
                         ) -> tuple[pd.DataFrame, pd.DataFrame, dict, bool]:
    """``_load_sheet``, and whether the sheet is an unfilled template as ``_unfilled_template`` judges it (its
    header, and notes rows only)."""
    if recognize.blank(sheet.preview):
        raise InputError(f"{'工作表' if sheet.sheet else '文件'}是空的（没有表头，也没有数据），无法作为{t.title}表读取",
                         file=sheet.shown, sheet=sheet.sheet or None, hint="请重新导出该表")
    match = header.find_header(sheet.preview, t, sheet.hidden)
    _check_required(sheet, match, t)
    raw, defects, notes_only = _frame_for(sheet, match, t)
    if sheet.slice_start == 0:                  # (said once per file, not once per row slice)
        defects += _duplicate_header_defects(sheet, match, t)
    if sheet.controls:
        raw, found = coerce.control_characters(raw, t)
        defects += found
    frame, cdefects = coerce.coerce_table(raw, t)
    defects += cdefects
    if dedup:
        frame, dups = coerce.drop_duplicates(frame, t)
        if dups is not None:
            defects.append(dups)
    twins = [c for c in frame.columns if c.startswith(schema.DISPLAY_PREFIX)]   # issue 8 C4
    frame = frame[t.column_names + META_COLUMNS + twins].reset_index(drop=True)
    entry = {"path": sheet.shown, "sheet": sheet.sheet, "table": t.name, "rows": int(len(frame)),
             "sha256": _sha256(sheet.path), "note": ""}
    if notes_only and not len(frame):
        # an unfilled template (``sharecheck template``): its only row is the notes row. Not provided: the rules
        # that need the table are 未检查, not run on an empty table (issue 8, C1)
        entry.update(table=None, note=f"{TEMPLATE_NOTE}（{t.title}表），按未提供处理")
        entry["template_of"] = t.name
    return frame, _concat(defects), entry, notes_only and not len(raw)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        d = empty_frame(DEFECT_COLUMNS)
        d["row"] = d["row"].astype("Int64")
        return d
    return pd.concat(parts, ignore_index=True)


def sort_defects(defects: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order: table (schema order), file, sheet, row, column, problem."""
    if defects.empty:
        return defects
    order = {t: i for i, t in enumerate(schema.TABLES)}
    d = defects.assign(_t=defects["table"].map(order), _r=defects["row"].fillna(0))
    d = d.sort_values(["_t", "file", "sheet", "_r", "column", "problem"], kind="mergesort")
    return d.drop(columns=["_t", "_r"]).reset_index(drop=True)


# The event tables that may come in any number of parts (issue 11): files, sheets, a folder of part files.
PARTED = ("exchanges", "updates")


def _part_label(sh: RawSheet) -> str:
    return sh.shown + (f"「{sh.sheet}」" if sh.sheet else "")


def _distinct_parts(sheets: list[RawSheet], inputs: list[dict], t: schema.Table) -> list[RawSheet]:
    """The parts of one event table in part order: by the path as shown, then the sheet's place in its workbook.
    A part whose file has the SHA-256 of an earlier part's file (the same sheet of an identical file) counts
    once; the manifest's inputs say so."""
    order = sorted(range(len(sheets)), key=lambda i: (sheets[i].shown, i))
    seen: dict[tuple[str, str], RawSheet] = {}
    digests: dict[str, str] = {}
    kept: list[RawSheet] = []
    for i in order:
        sh = sheets[i]
        digest = digests.setdefault(sh.path, _sha256(sh.path))
        first = seen.get((digest, sh.sheet))
        if first is not None:
            inputs.append({"path": sh.shown, "sheet": sh.sheet, "table": None, "rows": 0, "sha256": digest,
                           "note": f"与 {_part_label(first)} 内容完全相同（SHA-256 相同），只计一次（{t.title}表）",
                           "duplicate_of": first.shown, "part_of": t.name})
            continue
        seen[(digest, sh.sheet)] = sh
        kept.append(sh)
    return kept


def _load_part(path: str, shown: str, sheet: str, table_name: str, rows: tuple[int, int] | None = None,
               dedup: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One part of an event table (or rows [start, stop) of a Parquet part), read from its file: runs on the Dask
    worker the part is given to (``load_parts`` here loads the sheets it already holds)."""
    t = schema.TABLES[table_name]
    if rows is not None:
        safety.check_file(path, shown)
        return _load_sheet(readers.parquet_slice(path, shown, rows[0], rows[1]), t, dedup)
    for sh in read_sheets(path, shown):
        if sh.sheet == sheet:
            return _load_sheet(sh, t, dedup)
    raise InputError(f"找不到工作表「{sheet}」", file=shown)          # the file changed under the run


def part_tasks(sheets: list[RawSheet], step: int | None) -> list[tuple]:
    """The load tasks of an event table's parts, in part order: (path, shown, sheet, row slice or None); a Parquet
    part longer than ``step`` rows is cut into slices of ``step`` rows. Paths are absolute: a worker's working
    folder is its own."""
    tasks = []
    for sh in sheets:
        path = os.path.abspath(sh.path)
        n = readers.parquet_rows(path) if step and path.lower().endswith(".parquet") else 0
        if step and n > step:
            tasks += [(path, sh.shown, sh.sheet, (a, min(a + step, n))) for a in range(0, n, step)]
        else:
            tasks.append((path, sh.shown, sh.sheet, None))
    return tasks


def merge_part_entries(entries: list[dict]) -> tuple[list[dict | None], list[bool]]:
    """The input entries of the tasks of one event table: the slices of one part make one entry (their rows added
    up; the later slices get None). Also, per task, whether its rows count (False for an unfilled template)."""
    merged: dict[tuple[str, str], dict] = {}
    out: list[dict | None] = []
    used: list[bool] = []
    for entry in entries:
        key = (entry["path"], entry["sheet"])
        if key in merged:
            merged[key]["rows"] += entry["rows"]
            out.append(None)
            used.append(not merged[key].get("template_of"))
            continue
        merged[key] = dict(entry)
        out.append(merged[key])
        used.append(not entry.get("template_of"))
    return out, used


def concat_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Parts of one table as one frame: categoricals stay categoricals (categories in sorted order, as one file's)."""
    from pandas.api.types import union_categoricals
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out = {}
    for c in frames[0].columns:
        cols = [f[c] for f in frames]
        if all(isinstance(x.dtype, pd.CategoricalDtype) for x in cols):
            u = union_categoricals([x.array for x in cols], ignore_order=True)
            out[c] = pd.Series(u.set_categories(sorted(u.categories)), name=c)
        else:
            out[c] = pd.concat(cols, ignore_index=True)
    return pd.DataFrame(out)


def load_parts(sheets: list[RawSheet], t: schema.Table) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """An event table from its parts (already in part order). Each part is loaded as one file is (its own
    defects, file/sheet/row); then duplicate keys across parts are defects, the first kept in part order. (The
    dask engine does the same on its workers: ``checker.dask_engine``.)"""
    results = [_load_candidate(sh, t) for sh in sheets]
    shown, used = merge_part_entries([entry for _f, _d, entry in results])
    frames, defects, entries = [], [], []
    for (frame, d, _entry), entry, counts in zip(results, shown, used):
        if entry is not None:                  # an unfilled template among the parts: no rows, noted
            entries.append(entry)
        if counts:
            frames.append(frame)
            defects.append(d)
    if not frames:
        frames = [results[0][0]]
    frame = concat_parts(frames)
    frame, dups = coerce.drop_duplicates(frame, t)
    if dups is not None:
        defects.append(dups)
        frame = frame.reset_index(drop=True)
    return frame, _concat(defects), entries


def _in_lanes(files: list[tuple[str, str]], override_keys: set, overrides: dict) -> list[lanes.Prepared] | None:
    """Every file prepared (``_prepare_file``) in lanes, in file order; None when one lane is all there is."""
    n = lanes.workers(files)
    if not n:
        return None
    prepare = functools.partial(_prepare_file, skip_keys=frozenset(override_keys), skip_tables=frozenset(overrides))
    with lanes.Lanes(files, prepare, n) as ln:
        ln.run_here()
        return [ln.take(i) for i in range(len(files))]


def load_inputs(paths, overrides: dict[str, tuple[str, str | None]] | None = None, require: bool = True,
                deferred: dict | None = None) -> LoadResult:
    """Read every table from files/folders. ``overrides``: ``{table: (path, sheet_or_None)}`` (``--table``).

    ``deferred`` (the dask engine, issue 11): the event tables found in files and folders are not read here;
    ``deferred[table]`` gets their parts in part order (``RawSheet``s), for the workers to read. Their reference
    defects are the workers' too. A ``--table`` override is read here, as one file is.

    ``require``: raise ``InputError`` when a required input (departments, catalog) is not found (the CLI's
    ``validate`` may pass False to list what was found)."""
    overrides = dict(overrides or {})
    for name in overrides:
        if name not in schema.TABLES:
            raise InputError(f"表来源指定了未知的表名「{name}」", hint="可用：" + "、".join(schema.TABLES),
                             field="表来源")
    unreadable: list[tuple[str, str]] = []
    base = readers.common_folder(list(paths) + [p for p, _s in overrides.values()])
    files = readers.scan_paths(paths, unreadable, base)
    candidates: dict[str, list[RawSheet]] = {}
    inputs: list[dict] = [{"path": d if d.endswith("/") else d + "/", "sheet": "", "table": None, "rows": 0,
                           "sha256": "", "note": f"无法读取的文件夹（{why}），其中的文件都未读取"}
                          for d, why in unreadable]
    override_keys = {(os.path.abspath(p), s) for p, s in overrides.values()}
    prepared = _in_lanes(files, override_keys, overrides) if deferred is None else None
    for k, (real, shown) in enumerate(files):
        if prepared is not None:
            if prepared[k].error is not None:
                raise prepared[k].error
            sheets = prepared[k].sheets
        else:
            sheets = read_sheets(real, shown)
        for sh in sheets:
            if _overridden(override_keys, real, sh.sheet):
                continue
            name, why = (sh.ready.table, sh.ready.why) if sh.ready is not None else recognize.recognize(sh)
            if name is None:
                inputs.append({"path": shown, "sheet": sh.sheet, "table": None, "rows": 0,
                               "sha256": _sha256(real), "note": why})
                continue
            if name in overrides:
                inputs.append({"path": shown, "sheet": sh.sheet, "table": None, "rows": 0, "sha256": _sha256(real),
                               "note": f"已另行指定 {name} 的来源，此表未读取"})
                continue
            candidates.setdefault(name, []).append(sh)
    for name, sheets in candidates.items():
        if len(sheets) > 1:
            # an unfilled template is not provided (C1): it competes with no export
            t = schema.TABLES[name]
            unfilled = [sh for sh in sheets if _is_unfilled(sh, t)]
            filled = [sh for sh in sheets if sh not in unfilled]
            keep = filled or unfilled[:1]
            inputs += [{"path": sh.shown, "sheet": sh.sheet, "table": None, "rows": 0, "sha256": _sha256(sh.path),
                        "note": f"{TEMPLATE_NOTE}（{t.title}表），按未提供处理", "template_of": name}
                       for sh in unfilled if sh not in keep]
            candidates[name] = sheets = keep
        if len(sheets) > 1 and name in PARTED:
            # an event table in parts (files, sheets, a folder of part files): one table, parts in name order;
            # an identical file given twice (same SHA-256) counts once
            candidates[name] = sheets = _distinct_parts(sheets, inputs, schema.TABLES[name])
            continue
        if len(sheets) > 1:
            a, b = sheets[0], sheets[1]
            la = f"{a.shown}" + (f"「{a.sheet}」" if a.sheet else "")
            lb = f"{b.shown}" + (f"「{b.sheet}」" if b.sheet else "")
            raise InputError(f"{la} 与 {lb} 都像是{schema.TABLES[name].title}表（{name}），无法确定用哪一个",
                             hint="请只保留一个", cli_hint=f"或用 --table {name}=文件[:工作表] 指定")
    tables: dict[str, pd.DataFrame] = {}
    templates: dict[str, dict] = {}                  # unfilled templates: not provided
    defect_parts: list[pd.DataFrame] = []
    for t in schema.TABLE_LIST:
        if t.name in overrides:
            p, s = overrides[t.name]
            frame, d, entry = read_table(p, s, t.name, shown=readers.shown_name(p, base))
        elif t.name in candidates and deferred is not None and t.name in PARTED:
            deferred[t.name] = candidates[t.name]
            continue
        elif t.name in candidates and len(candidates[t.name]) > 1:
            frame, d, entries = load_parts(candidates[t.name], t)
            tables[t.name] = frame
            defect_parts.append(d)
            inputs += entries
            continue
        elif t.name in candidates:
            frame, d, entry = _load_candidate(candidates[t.name][0], t)
        else:
            continue
        if entry.get("template_of"):
            inputs.append(entry)
            templates[t.name] = entry
            continue
        tables[t.name] = frame
        defect_parts.append(d)
        inputs.append(entry)
    if require:
        for name in schema.REQUIRED_INPUTS:
            if name not in tables:
                t = schema.TABLES[name]
                if name in templates:
                    e = templates[name]
                    where = e["path"] + (f"「{e['sheet']}」" if e["sheet"] else "")
                    raise InputError(f"必需的输入表「{t.title}」（{name}）{TEMPLATE_NOTE}（未填写的模板）", file=where,
                                     hint="请在模板第 3 行起填写数据，或放入该表的导出文件")
                raise InputError(f"未找到必需的输入表「{t.title}」（{name}）",
                                 hint=f"请提供工作表名为「{t.sheets[0]}」的工作簿或文件",
                                 cli_hint=f"或用 --table {name}=文件[:工作表] 指定")
    defect_parts += references.reference_defects(tables)
    defects = sort_defects(_concat(defect_parts))
    inputs.sort(key=lambda e: (e["path"], e["sheet"] or ""))
    return LoadResult(tables=tables, inputs=inputs, defects=defects)
