"""Readers: every file becomes a list of ``RawSheet`` (a preview grid for header finding + a loader for the data).

- Excel/ODS (.xlsx .xlsm .xls .ods): ``pandas.read_excel(engine="calamine", header=None, dtype=object)``, sheet by
  sheet (names fetched first). The grid starts at A1, so grid row i is Excel row i + 1. A cell merged down over
  several rows gives its value to each of them (where the workbook carries merge information: .xlsx/.xlsm/.xls).
- CSV: encoding detected (UTF-8 with/without BOM, else GB18030); delimiter guessed (, tab ; |); the header line is
  found on a preview of the first records; the data are read by pyarrow as strings. When some records have another
  field count than the header (blank lines, a short 合计 line, a cut line), the file is read again record by record:
  blank lines are dropped, a short final 合计 line is kept for the loader to drop, any other odd record is reported
  (defect) and skipped. ``_row`` is the 1-based line number where the record starts (quoted line breaks counted).
- Parquet: pyarrow; the column names are the header (row 1), records are rows 2….
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from . import safety

PREVIEW_ROWS = 40
EXCEL_EXTS = (".xlsx", ".xlsm", ".xls", ".ods")
DATA_EXTS = EXCEL_EXTS + (".csv", ".parquet")


@dataclass
class RawSheet:
    path: str                    # real path
    shown: str                   # path as shown to users (_file)
    sheet: str                   # sheet name ("" for CSV/Parquet)
    stem: str                    # file stem (for recognition by file name)
    n_sheets: int                # sheets in the workbook (1 for CSV/Parquet)
    preview: pd.DataFrame        # object grid, positional columns, first rows (all rows for Excel)
    preview_rows: np.ndarray     # row numbers of preview rows
    _load: Callable[[int, int], tuple[pd.DataFrame, np.ndarray, list[dict]]] = field(repr=False, default=None)
    hidden: frozenset = frozenset()   # positions of hidden columns (xlsx/xlsm), for choosing between two headers
    controls: bool = True             # may hold control characters (False: a CSV whose bytes hold none)
    # a row slice of a part (the Dask engine's partitions): its first data row's 0-based index in the file, and
    # whether it holds the file's last row (a 合计 row and template notes are looked for only at the file's ends)
    slice_start: int = 0
    slice_last: bool = True
    # loaded in a lane (``lanes.Ready``: recognition and outcome); ``stub``: its cells were left in the worker
    ready: object = field(repr=False, default=None)
    stub: bool = False

    def data(self, header_idx: int, ncols: int) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
        """(cells after the header row [positional columns], their row numbers, read defects)."""
        return self._load(header_idx, ncols)


def read_file(path: str, shown: str) -> list[RawSheet]:
    ext = os.path.splitext(path)[1].lower()
    stem = os.path.splitext(os.path.basename(path))[0]
    if ext == ".csv" and os.path.isfile(path) and os.path.getsize(path) == 0:
        # a 0-byte CSV (a month with no disputes, say) is an empty sheet: recognition ignores it with a note
        empty = pd.DataFrame()
        return [RawSheet(path, shown, "", stem, 1, empty, np.zeros(0, np.int64),
                         lambda header_idx, ncols: (empty, np.zeros(0, np.int64), []))]
    safety.check_file(path, shown)
    if ext == ".csv":
        return [_read_csv(path, shown, stem)]
    if ext == ".parquet":
        return [_read_parquet(path, shown, stem)]
    return _read_excel(path, shown, stem)


# ---- Excel ------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _native_stderr_held():
    """While a native reader runs, file descriptor 2 goes to a scratch file: a Rust panic prints its message
    (and, with RUST_BACKTRACE, a backtrace) on stderr before pyo3 turns it into an exception, and the auditor
    must see one line 「错误：…」 only. Anything else written meanwhile is passed on afterwards."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):          # no real stderr (embedded): nothing to hold
        yield
        return
    scratch = tempfile.TemporaryFile()
    panicked = False
    try:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        except BaseException as exc:
            panicked = type(exc).__name__ == "PanicException"
            raise
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        if not panicked:
            scratch.seek(0)
            held = scratch.read()
            if held and b"panicked at" not in held:
                os.write(2, held)
        scratch.close()


def _native_failure(exc: BaseException) -> bool:
    """An error of a native reader to turn into a one-line input error: any ``Exception``, and pyo3's
    ``PanicException`` (a Rust panic inside calamine), which derives from ``BaseException``. Interrupts and exits
    pass."""
    return not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))


def _excel_error(exc: BaseException, shown: str, sheet: str | None = None) -> InputError:
    text = str(exc).lower()
    if isinstance(exc, MemoryError):
        text = "memory"
    if "password" in text or "encrypt" in text:
        return InputError("工作簿已加密（设置了打开密码）", file=shown, sheet=sheet, hint=safety.FIX_RESAVE)
    if "cell limit" in text or "memory" in text:
        return InputError("工作表的使用区域过大，读取需要的内存过多，疑似恶意文件或表格远处有零星内容", file=shown,
                          sheet=sheet, hint="请删除多余的空行空列（或远处的单元格）后另存；大表请改用 CSV 或 Parquet 导出")
    return InputError("工作簿无法读取（文件损坏或格式不受支持）", file=shown, sheet=sheet, hint=safety.FIX_RESAVE)


@contextlib.contextmanager
def _sheets_parsed(xf: pd.ExcelFile):
    """While ``xf.parse`` runs: the calamine sheets it fetches are kept by name (their merge information is read
    from them instead of parsing each sheet a second time: 0.8 s per sheet of the 50k-row catalog workbook), and
    the cells are converted by ``_calamine_cells`` (pandas' conversion, without a call per text cell)."""
    got: dict = {}
    reader = getattr(xf, "_reader", None)
    fetch = getattr(reader, "get_sheet_by_name", None)
    if fetch is None:
        yield got
        return

    def keep(name):                          # (fetched once: a sheet pandas parses after us is not parsed again)
        if name not in got:
            got[name] = fetch(name)
        return got[name]

    def cells(sheet, file_rows_needed=None):
        return _calamine_cells(sheet.to_python(skip_empty_area=False, nrows=file_rows_needed))

    reader.get_sheet_by_name = keep
    if _PANDAS_CELLS:
        reader.get_sheet_data = cells
    try:
        yield got
    finally:
        del reader.get_sheet_by_name          # (instance attributes: the class's methods again)
        if _PANDAS_CELLS:
            del reader.get_sheet_data


# pandas 3 converts calamine's cells as ``_calamine_cell`` does (2.x made Timestamps of dates): elsewhere pandas' own
# conversion is used
_PANDAS_CELLS = int(pd.__version__.split(".")[0]) == 3
try:
    from pandas._libs.parsers import STR_NA_VALUES as _NA_TEXT        # the texts read_excel makes NaN by default
except ImportError:                                                   # (then pandas parses every sheet)
    _NA_TEXT, _PANDAS_CELLS = frozenset(), False


def _calamine_cell(value):
    """pandas' ``CalamineReader.get_sheet_data`` conversion of one cell (pandas 2.1-3.x): an integral float becomes
    an int, a date a datetime; anything else (text, int, bool, datetime, timedelta, time) is kept."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, (datetime.datetime, datetime.timedelta)):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    return value


def _calamine_cells(rows: list[list]) -> list[list]:
    """The cells of ``CalamineSheet.to_python`` as pandas converts them; text cells (most of a sheet) are passed
    through without a function call (issue 10: about 2.5x faster on the catalog workbook)."""
    conv = _calamine_cell
    return [[c if type(c) is str else conv(c) for c in row] for row in rows]


def _parse_grid(xf: pd.ExcelFile, name: str) -> pd.DataFrame:
    """``pd.read_excel(xf, sheet_name=name, header=None, dtype=object)``: built in bulk from calamine's cells
    (``_calamine_grid``) where that gives pandas' grid, else by pandas."""
    reader = getattr(xf, "_reader", None)
    if _PANDAS_CELLS and getattr(reader, "get_sheet_by_name", None) is not None:
        grid = _calamine_grid(reader.get_sheet_by_name(name).to_python(skip_empty_area=False))
        if grid is not None:
            return grid
    return pd.read_excel(xf, sheet_name=name, header=None, dtype=object)


_TYPES = np.frompyfunc(type, 1, 1)


def _calamine_grid(rows: list[list]) -> pd.DataFrame | None:
    """What pandas 3's ``read_excel(header=None, dtype=object)`` makes of calamine's cells, in bulk (issue 10:
    0.5 s instead of 1.3 s on the stress month's catalog workbook): the cells converted as
    ``_calamine_cell`` converts them, and pandas' default missing-value texts ("", "NA", "null", "None"…) made NaN
    (its ``sanitize_objects``; tests/test_load_excel_grid.py checks the grids against pandas'). None where pandas
    parses differently (ragged rows, a byte-order mark in A1): then pandas parses the sheet."""
    if not rows:
        return pd.DataFrame()
    width = len(rows[0])
    if not width or any(len(r) != width for r in rows):
        return None
    first = rows[0][0]
    if isinstance(first, str) and first.startswith("\ufeff"):
        return None
    from pandas._libs.lib import is_string_array
    from pandas.core.algorithms import isin
    grid = np.array(rows, dtype=object)
    if grid.shape != (len(rows), width):
        return None
    other = np.flatnonzero(np.concatenate([np.zeros(len(rows), bool) if is_string_array(col) else _TYPES(col) != str
                                           for col in np.ascontiguousarray(grid.T)]))
    other = (other % len(rows)) * width + other // len(rows)          # (column-major positions to the grid's)
    other.sort()
    if len(other):
        cells = np.empty(len(other), dtype=object)
        cells[:] = [_calamine_cell(v) for v in grid.flat[other]]
        grid.flat[other] = cells
    flat = grid.ravel()
    flat[isin(flat, list(_NA_TEXT))] = np.nan
    return pd.DataFrame(grid, dtype=object)


def _fill_vertical_merges(xf: pd.ExcelFile, name: str, grid: pd.DataFrame, sheet=None) -> None:
    """A cell merged down over several rows (a 部门 spanning its officers, a heading spanning a two-row header) holds
    its value in the top cell only; give every row of the merge that value. Horizontal spans are left alone (a
    title over the columns, a group heading over sub-headings). Workbooks without merge information are unchanged.
    ``sheet``: the calamine sheet already fetched for ``name``, if any."""
    try:
        with _native_stderr_held():
            sheet = sheet if sheet is not None else xf.book.get_sheet_by_name(name)
            ranges = sheet.merged_cell_ranges or []
    except BaseException as exc:  # noqa: BLE001 - merge information is optional; a Rust panic included
        if not _native_failure(exc):
            raise
        return
    nrows, ncols = grid.shape
    for (r0, c0), (r1, _c1) in ranges:
        if r1 <= r0 or r0 >= nrows or c0 >= ncols:
            continue
        value = grid.iat[r0, c0]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        below = grid.iloc[r0 + 1:min(r1, nrows - 1) + 1, c0]
        grid.iloc[r0 + 1:min(r1, nrows - 1) + 1, c0] = below.where(below.notna(), value)


_Q = r"[\"']"
_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = {k: re.compile(r"\b" + k + r"\s*=\s*" + _Q + r"([^\"']*)" + _Q) for k in ("name", "r:id", "Id", "Target",
                                                                                   "min", "max", "hidden")}
_REL_TAG = re.compile(r"<(?:\w+:)?Relationship\b[^>]*>")
_COL_TAG = re.compile(r"<(?:\w+:)?col\b[^>]*>")


def _hidden_columns(path: str) -> dict[str, frozenset]:
    """Sheet name -> positions (0-based) of its hidden columns, from the ``<cols>`` of each worksheet part of an
    .xlsx/.xlsm. Best effort: any oddity gives no hidden columns (the first header cell then wins)."""
    import html
    import posixpath
    out: dict[str, frozenset] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower(): n for n in zf.namelist()}
            wb = zf.read(names["xl/workbook.xml"]).decode("utf-8", "replace")
            rels = zf.read(names["xl/_rels/workbook.xml.rels"]).decode("utf-8", "replace")
            target = {}
            for tag in _REL_TAG.findall(rels):
                i, t = _ATTR["Id"].search(tag), _ATTR["Target"].search(tag)
                if i and t:
                    full = t.group(1).lstrip("/") if t.group(1).startswith("/") else posixpath.join("xl", t.group(1))
                    target[i.group(1)] = posixpath.normpath(full).lower()
            for tag in _SHEET_TAG.findall(wb):
                n, r = _ATTR["name"].search(tag), _ATTR["r:id"].search(tag)
                part = names.get(target.get(r.group(1), "")) if n and r else None
                if part is None:
                    continue
                with zf.open(part) as fh:
                    head = fh.read(1 << 20).decode("utf-8", "replace")
                head = head.split("<sheetData", 1)[0]
                hidden = set()
                for col in _COL_TAG.findall(head):
                    h, lo, hi = _ATTR["hidden"].search(col), _ATTR["min"].search(col), _ATTR["max"].search(col)
                    if h and h.group(1) in ("1", "true") and lo and hi:
                        a, b = int(lo.group(1)), int(hi.group(1))
                        hidden.update(range(max(a - 1, 0), min(b, 16384)))
                if hidden:
                    out[html.unescape(n.group(1))] = frozenset(hidden)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, RuntimeError, EOFError, NotImplementedError):
        return {}
    return out


def _read_excel(path: str, shown: str, stem: str) -> list[RawSheet]:
    try:
        with _native_stderr_held():
            xf = pd.ExcelFile(path, engine="calamine")
            names = list(xf.sheet_names)
    except BaseException as exc:  # noqa: BLE001 - any parser failure (a Rust panic too) is an "unreadable file"
        if not _native_failure(exc):
            raise
        raise _excel_error(exc, shown) from None
    out = []
    with xf:
        for name in names:
            try:
                with _native_stderr_held(), _sheets_parsed(xf) as fetched:
                    grid = _parse_grid(xf, name)
            except BaseException as exc:  # noqa: BLE001 - a Rust panic (PanicException) included
                if not _native_failure(exc):
                    raise
                raise _excel_error(exc, shown, name) from None
            if len(grid) > safety.MAX_ROWS:
                raise InputError(f"行数过多（{len(grid)} 行，上限 {safety.MAX_ROWS} 行）", file=shown, sheet=name,
                                 hint="请改用 CSV 或 Parquet 导出大表")
            grid.columns = range(grid.shape[1])
            grid.index = range(len(grid))
            _fill_vertical_merges(xf, name, grid, fetched.get(name))
            rows = np.arange(1, len(grid) + 1, dtype=np.int64)

            def load(h, ncols, grid=grid, rows=rows):
                data = grid.iloc[h + 1:, :ncols].reset_index(drop=True)
                return data, rows[h + 1:], []

            out.append(RawSheet(path, shown, str(name), stem, len(names), grid, rows, load))
    if out and os.path.splitext(path)[1].lower() in (".xlsx", ".xlsm"):
        hidden = _hidden_columns(path)
        for sh in out:
            sh.hidden = hidden.get(sh.sheet, frozenset())
    return out


# ---- CSV --------------------------------------------------------------------------------------------------------
_SAMPLE_BYTES = 4 * 1024 * 1024


def detect_encoding(path: str) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``: strict UTF-8 decoding of the first 4 MiB decides."""
    head = safety.head_bytes(path, _SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _read_csv(path: str, shown: str, stem: str) -> RawSheet:
    enc = detect_encoding(path)
    if enc == "utf-16":
        raise InputError("CSV 为 UTF-16（Unicode 文本）编码，暂不支持", file=shown,
                         hint="请另存为「CSV UTF-8（逗号分隔）」")
    mixed: bytes | None = None                 # the file re-encoded as UTF-8 when its lines mix encodings
    mixed_defects: list[dict] = []
    # a UTF-8 file whose later lines (beyond the detector's sample, or after a BOM) are GB18030 is mixed too
    if enc == "gb18030" or not _utf8_throughout(path):
        found = _mixed_encoding(path, shown)
        if found is not None:
            mixed, mixed_defects = found
            enc = "utf-8"
    head = mixed[:256 * 1024] if mixed is not None else safety.head_bytes(path, 256 * 1024)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise InputError("CSV 编码无法识别（既不是 UTF-8 也不是 GB18030）", file=shown,
                         hint="请另存为 UTF-8 编码的 CSV") from exc
    delim = _guess_delimiter(text)
    # preview: the first records, with the physical line each starts and ends on (a quoted field may hold line
    # breaks, also in a title line)
    preview_rows: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        prev = 0
        for rec in reader:
            preview_rows.append(rec)
            starts.append(prev + 1)
            ends.append(reader.line_num)
            prev = reader.line_num
            if len(preview_rows) >= PREVIEW_ROWS:
                break
    except csv.Error:                          # the 256 KiB head may end inside a quoted field
        pass
    width = max((len(r) for r in preview_rows), default=0)
    preview = pd.DataFrame([r + [None] * (width - len(r)) for r in preview_rows], dtype=object)
    preview = preview.where(preview.ne(""), None) if width else preview
    prows = np.asarray(starts, dtype=np.int64)

    def load(h, ncols):
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv

        # the header record's own field count (the preview grid is padded to its widest line)
        n = max(len(preview_rows[h]) if h < len(preview_rows) else ncols, 1)
        names = [f"c{i}" for i in range(n)]
        invalid: list[str] = []

        def handler(row):
            invalid.append(row.text)
            return "skip"

        # a row pyarrow cannot even decode for the handler (a file cut inside a UTF-8 character) is reported by
        # pyarrow through sys.unraisablehook ("Exception ignored in …" on stderr): count it as an odd row instead
        hook = sys.unraisablehook
        sys.unraisablehook = lambda _u: invalid.append("")

        def read(raw: bool):
            return pcsv.read_csv(
                pa.BufferReader(mixed) if mixed is not None else path,
                read_options=pcsv.ReadOptions(encoding="utf-8" if raw or enc == "utf-8-sig" else enc,
                                              skip_rows=ends[h] if h < len(ends) else h + 1,
                                              column_names=names, block_size=1 << 24),
                parse_options=pcsv.ParseOptions(delimiter=delim, invalid_row_handler=handler,
                                                ignore_empty_lines=False, newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(column_types={c: pa.binary() if raw else pa.string()
                                                                  for c in names},
                                                    strings_can_be_null=True, null_values=[""]))

        encoded: set[int] = set()
        try:
            tbl = None
            if enc == "gb18030" and mixed is None and delim in _GB18030_SAFE_DELIMITERS:
                tbl = read(True)
                if invalid:                      # (rows of another width: read again below, as before)
                    tbl = None
                    del invalid[:]
                else:
                    tbl, encoded = _gb18030_cells(tbl)
            if tbl is None:
                tbl = read(False)
        except pa.ArrowInvalid:
            # e.g. a header-only file without a final line break; the record reader copes (or names the problem)
            return _csv_records(path, enc, delim, h, n, shown, mixed, mixed_defects)
        except (UnicodeDecodeError, OSError) as exc:
            raise InputError(f"CSV 无法解析（{str(exc).splitlines()[0][:80]}）", file=shown,
                             hint="请确认是逗号分隔、UTF-8 或 GB18030 编码的 CSV") from exc
        finally:
            sys.unraisablehook = hook
        if invalid:
            # rows with another field count than the header (blank lines, a short 合计 line, a cut line…): read
            # again record by record, with exact line numbers
            return _csv_records(path, enc, delim, h, n, shown, mixed, mixed_defects)
        if tbl.num_rows > safety.MAX_ROWS:
            raise InputError(f"行数过多（{tbl.num_rows} 行，上限 {safety.MAX_ROWS} 行）", file=shown,
                             hint="请按月拆分")
        df, found = _text_as_objects(tbl.to_pandas(), tbl, encoded)
        df.columns = range(n)
        for i in range(n):                   # (every column is text: already objects or categoricals of str)
            if i not in found.categorical and df[i].dtype != object:
                df[i] = df[i].astype(object)
        # line number of each record: the first data line, plus one line per record before it, plus the line
        # breaks held inside quoted fields of the records before it (counted only when some value holds one)
        extra = np.zeros(tbl.num_rows, dtype=np.int64)
        for col in tbl.columns if found.newlines else ():
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cnt = pc.count_substring(col, "\n").fill_null(0)
            extra += np.asarray(cnt.to_numpy(zero_copy_only=False), dtype=np.int64)
        first = (ends[h] if h < len(ends) else h + 1) + 1
        before = np.concatenate([[0], np.cumsum(extra)[:-1]]) if len(extra) else extra
        rows = first + np.arange(tbl.num_rows, dtype=np.int64) + before
        # control characters: judged on the cells pyarrow read (their distinct values), not on the file's bytes
        sheet.controls = found.controls
        return df, rows, list(mixed_defects)

    def scan_bytes() -> bool:
        return _bytes_have_controls(path, enc if mixed is None else "gb18030")

    sheet = RawSheet(path, shown, "", stem, 1, preview, prows, load, controls=_LazyControls(scan_bytes))
    return sheet


class _LazyControls:
    """``RawSheet.controls`` of a CSV before its cells are read: true when the file's bytes hold a control
    character, scanned only when asked (the fast read decides from the cells instead and replaces it)."""

    def __init__(self, scan):
        self._scan, self._found = scan, None

    def __bool__(self) -> bool:
        if self._found is None:
            self._found = bool(self._scan())
        return self._found


_C0_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")


def _bytes_have_controls(path: str, enc: str) -> bool:
    """A cheap scan of a CSV's bytes (C speed): can any cell hold a control character? Most files: no, and the
    per-column check is skipped."""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(16 << 20)
            if not chunk:
                return False
            if _C0_BYTES.search(chunk) or (enc.startswith("utf-8") and _C1_UTF8.search(chunk)):
                return True


_TOTAL_WORDS = ("合计", "总计")
_DELIMITERS = (",", "\t", ";", "|")

# ---- mixed encodings (issue 8, A5) --------------------------------------------------------------------------
# A GB18030 export with a line pasted from a UTF-8 file: GB18030 decodes almost any bytes, so the UTF-8 line turns
# into 「骞垮窞甯傚叕瀹夊眬」 without an error. A line that is valid UTF-8 *and* holds multi-byte sequences is
# practically never GB18030 text. The lines whose encoding is not the file's majority are reported.
MAX_MIXED_BYTES = 256 * 1024 * 1024       # a mixed file is re-encoded in memory up to this size


def _utf8_throughout(path: str) -> bool:
    """The whole file decodes as UTF-8 (C speed, streamed). The detector only reads the first 4 MiB, and not at
    all after a BOM."""
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            if os.path.getsize(path) <= _SAMPLE_BYTES and not fh.read(3).startswith(codecs.BOM_UTF8):
                return True                         # the detector decoded all of it
            fh.seek(0)
            while True:
                chunk = fh.read(16 << 20)
                if not chunk:
                    dec.decode(b"", final=True)
                    return True
                dec.decode(chunk)
    except UnicodeDecodeError:
        return False


def _line_kinds(part: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(line start offsets, line end offsets, line is valid UTF-8 with a multi-byte sequence, line holds a byte
    >= 0x80 but is not valid UTF-8) for a buffer of whole lines. Vectorised over the bytes (numpy): a
    continuation byte must stand exactly where a lead byte announced one. A line holding a byte no UTF-8 text
    holds (C0, C1, F5-FF: nearly every GB18030 line) is told by that alone; the sequences are checked only on the
    other lines (issue 10: 2x faster on a GB18030 file)."""
    arr = np.frombuffer(part, dtype=np.uint8)
    nl = arr == 10
    ends = np.flatnonzero(nl)
    if not len(ends) or ends[-1] != len(arr) - 1:
        ends = np.append(ends, len(arr))
    starts = np.concatenate([[0], ends[:-1] + 1])
    hi = arr >= 0x80
    n = len(starts)
    if not hi.any():
        return starts, ends, np.zeros(n, bool), np.zeros(n, bool)
    hi_lines = np.logical_or.reduceat(hi, starts)          # per line: any such byte (each line holds >= 1 byte)
    err_lines = np.logical_or.reduceat((arr >= 0xF5) | ((arr - np.uint8(0xC0)) < 2), starts)   # (uint8: wraps)
    doubt = hi_lines & ~err_lines
    if doubt.any():
        err_lines = err_lines | _sequence_errors(arr, starts, doubt)
    return starts, ends, hi_lines & ~err_lines, hi_lines & err_lines


def _misplaced(arr: np.ndarray) -> np.ndarray:
    """Per byte: a continuation byte where none was announced, or none where one was."""
    cont = (arr & 0xC0) == 0x80
    lead2 = (arr >= 0xC2) & (arr <= 0xDF)
    lead3 = (arr & 0xF0) == 0xE0
    lead4 = (arr >= 0xF0) & (arr <= 0xF4)
    need = np.zeros(len(arr), dtype=bool)
    need[1:] |= (lead2 | lead3 | lead4)[:-1]
    need[2:] |= (lead3 | lead4)[:-2]
    need[3:] |= lead4[:-3]
    return cont != need


def _sequence_errors(arr: np.ndarray, starts: np.ndarray, doubt: np.ndarray) -> np.ndarray:
    """Per line: a misplaced continuation byte (``_misplaced``) among its bytes, for the lines in ``doubt`` (False for
    the others). The lines are gathered with the 3 bytes before each (a lead byte at the end of one line announces
    bytes of the next); before the buffer's start stand zero bytes, which announce nothing."""
    lines = np.flatnonzero(doubt)
    if 2 * len(lines) > len(starts):                      # most lines: the whole buffer at once
        return np.logical_or.reduceat(_misplaced(arr), starts) & doubt
    padded = np.concatenate([np.zeros(3, np.uint8), arr])
    stops = np.append(starts[1:], len(arr))
    first, last = starts[lines], stops[lines] + 3           # in padded offsets: 3 bytes before the line, the line
    lens = last - first
    seg = np.concatenate([[0], np.cumsum(lens)[:-1]])
    idx = np.arange(int(lens.sum())) + np.repeat(first - seg, lens)
    bad = _misplaced(padded[idx])
    for j in range(3):                                      # the context bytes' own verdicts do not count
        bad[seg + j] = False
    out = np.zeros(len(starts), dtype=bool)
    out[lines] = np.logical_or.reduceat(bad, seg + 3)
    return out


def _mixed_encoding(path: str, shown: str) -> tuple[bytes, list[dict]] | None:
    """None when every non-ASCII line of a (GB18030-detected) CSV decodes one way. Otherwise the file re-encoded
    as UTF-8, each line decoded with its own encoding, and one input defect per line of the minority encoding."""
    size = os.path.getsize(path)
    spans: dict[bool, list[np.ndarray]] = {True: [], False: []}     # utf-8 lines / other non-ASCII lines
    offset = 0
    with open(path, "rb") as fh:
        tail = b""
        while True:
            chunk = fh.read(8 << 20)
            buf = tail + chunk
            if not buf:
                break
            cut = (buf.rfind(b"\n") + 1) if chunk else len(buf)
            if cut == 0:
                if len(buf) <= (64 << 20):
                    tail = buf
                    continue
                cut = len(buf)
            part, tail = buf[:cut], buf[cut:]
            starts, ends, utf8, other = _line_kinds(part)
            for kind, mask in ((True, utf8), (False, other)):
                if mask.any():
                    spans[kind].append(np.stack([starts[mask] + offset, ends[mask] + offset], axis=1))
            offset += len(part)
            if not chunk:
                break
    utf8 = np.concatenate(spans[True]) if spans[True] else np.zeros((0, 2), np.int64)
    other = np.concatenate(spans[False]) if spans[False] else np.zeros((0, 2), np.int64)
    if not len(utf8) or not len(other):
        return None                           # one encoding throughout
    majority_utf8 = len(utf8) > len(other)
    if size > MAX_MIXED_BYTES:
        raise InputError("CSV 中混用了 UTF-8 和 GB18030 两种编码（部分行按另一种编码读会变成乱码）", file=shown,
                         hint="请用一种编码重新导出整个文件（建议 UTF-8）")
    with open(path, "rb") as fh:
        data = fh.read()
    minority_enc, majority_enc = ("gb18030", "utf-8") if majority_utf8 else ("utf-8", "gb18030")
    minority = other if majority_utf8 else utf8
    pieces: list[str] = []
    defects: list[dict] = []
    pos, line_no, counted = 0, 1, 0
    if data.startswith(codecs.BOM_UTF8):
        pos = 3
    for a, b in minority.tolist():
        pieces.append(data[pos:a].decode(majority_enc, errors="replace"))
        line = data[a:b]
        line_no += data.count(b"\n", counted, a)
        counted = a
        try:
            text = line.decode(minority_enc)
            wrong = line.decode(majority_enc, errors="replace")
            problem = (f"此行的编码（{minority_enc.upper()}）与文件其余部分（{majority_enc.upper()}）不同，"
                       f"按文件的编码读会变成乱码「{wrong[:20]}」；已按 {minority_enc.upper()} 读取，"
                       "请用一种编码重新导出整个文件")
        except UnicodeDecodeError:
            text = line.decode(minority_enc, errors="replace")
            problem = ("此行含无法识别的字节（既不是 UTF-8 也不是 GB18030，可能已损坏），无法识别的字符已显示为 �；"
                       "请重新导出该文件")
        pieces.append(text)
        defects.append({"row": int(line_no), "column": "", "value": text.rstrip("\r")[:200], "problem": problem})
        pos = b
    pieces.append(data[pos:].decode(majority_enc, errors="replace"))
    return "".join(pieces).encode("utf-8"), defects


def _guess_delimiter(text: str) -> str:
    """The delimiter that splits the most of the first lines into the same number (≥ 2) of fields; title lines
    (one field) do not count. Ties go to the comma."""
    sample = text[:64 * 1024]
    best, best_score = ",", (0, 0)
    for d in _DELIMITERS:
        try:
            counts = [len(rec) for _, rec in zip(range(30), csv.reader(io.StringIO(sample, newline=""), delimiter=d))]
        except csv.Error:
            continue
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda c: (multi.count(c), c))
        score = (multi.count(mode), mode)
        if score > best_score:
            best, best_score = d, score
    return best


def _csv_records(path: str, enc: str, delim: str, h: int, n: int, shown: str, mixed: bytes | None = None,
                 mixed_defects: list[dict] | None = None) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """Records after the header record ``h``, read with the csv module (exact start lines). A record with another
    field count than the header's ``n``: blank lines are dropped; trailing empty fields beyond ``n`` are dropped; a
    short final 合计/总计 line is padded (the loader drops it); an extra unnamed column filled on most lines is
    ignored; any other record is an input defect and skipped."""
    recs: list[list[str]] = []
    rows: list[int] = []
    odd: list[tuple[int, list[str]]] = []
    last_line: dict[int, int] = {}                             # start line -> last physical line of odd records
    try:
        with (io.StringIO(mixed.decode("utf-8"), newline="") if mixed is not None
              else open(path, encoding=enc, errors="strict", newline="")) as fh:
            reader = csv.reader(fh, delimiter=delim)
            prev = 0
            for i, rec in enumerate(reader):
                start, prev = prev + 1, reader.line_num
                if i <= h:
                    continue
                if len(rec) == n:
                    recs.append(rec)
                    rows.append(start)
                elif not any(f.strip() for f in rec):
                    continue                                   # blank line
                elif len(rec) > n and not any(f.strip() for f in rec[n:]):
                    recs.append(rec[:n])                        # trailing empty fields
                    rows.append(start)
                else:
                    odd.append((start, rec))
                    last_line[start] = prev
                if len(recs) > safety.MAX_ROWS:
                    raise InputError(f"行数过多（超过 {safety.MAX_ROWS} 行）", file=shown, hint="请按月拆分")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"CSV 无法解析（{str(exc).splitlines()[0][:80]}）", file=shown,
                         hint="请确认是逗号分隔、UTF-8 或 GB18030 编码的 CSV") from exc
    wide = [o for o in odd if len(o[1]) > n]
    unnamed_column = len(wide) > (len(recs) + len(odd)) / 2     # data wider than the header on most lines
    defects = []
    extra_rows: list[tuple[int, list[str]]] = []
    for start, rec in odd:
        first = next((f for f in rec if f.strip()), "")
        if len(rec) < n and re.sub(r"\s+", "", first).rstrip(":：") in _TOTAL_WORDS:
            extra_rows.append((start, rec + [""] * (n - len(rec))))
        elif len(rec) > n and unnamed_column:
            extra_rows.append((start, rec[:n]))
        else:
            end = last_line.get(start, start)
            if end - start >= 2:
                # an unclosed quote swallows every following line into one field: say how many lines went
                problem = (f"字段个数与表头不符（表头 {n} 列，此记录 {len(rec)} 列），且从第 {start} 行一直延续到第 {end} 行"
                           f"（共 {end - start + 1} 行被读成一条记录，多半是第 {start} 行有未闭合的引号 \"），这些行都已跳过；"
                           f"请检查第 {start} 行的引号")
            else:
                problem = f"字段个数与表头不符（表头 {n} 列，此行 {len(rec)} 列），该行已跳过"
            defects.append({"row": int(start), "column": "", "value": delim.join(rec)[:200], "problem": problem})
    if extra_rows:
        merged = sorted(list(zip(rows, recs)) + extra_rows, key=lambda t: t[0])
        rows = [r for r, _ in merged]
        recs = [x for _, x in merged]
    df = pd.DataFrame(recs, columns=range(n), dtype=object) if recs else pd.DataFrame(columns=range(n), dtype=object)
    df = df.where(df.ne(""), None)
    return df, np.asarray(rows, dtype=np.int64), defects + list(mixed_defects or [])


# ---- Parquet ----------------------------------------------------------------------------------------------------

def _read_parquet(path: str, shown: str, stem: str) -> RawSheet:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        n = pf.metadata.num_rows
    except Exception as exc:  # noqa: BLE001
        raise InputError("Parquet 文件无法读取（已损坏）", file=shown, hint="请重新导出") from exc
    if n > safety.MAX_ROWS:
        raise InputError(f"行数过多（{n} 行，上限 {safety.MAX_ROWS} 行）", file=shown, hint="请按月拆分")
    preview = pd.DataFrame([names], dtype=object)

    def load(h, ncols):
        df = _parquet_frame(lambda: pf.read(), shown, ncols, sheet)
        return df, np.arange(2, len(df) + 2, dtype=np.int64), []

    sheet = RawSheet(path, shown, "", stem, 1, preview, np.array([1], dtype=np.int64), load)
    return sheet


def _parquet_frame(read, shown: str, ncols: int, sheet: RawSheet | None = None) -> pd.DataFrame:
    """The Arrow table ``read()`` returns as the loader's raw frame: plain columns, text as objects, the first
    ``ncols`` columns numbered, every value that is neither a timestamp nor text as an object (None for null).
    ``sheet.controls`` becomes False when no text cell holds a control character (an RE2 pass over each text
    column's distinct values: the loader's per-column check is then skipped, as for a CSV whose bytes hold none)."""
    try:
        tbl = _plain_columns(read())
        df, found = _text_as_objects(tbl.to_pandas(), tbl)
    except Exception as exc:  # noqa: BLE001
        raise InputError("Parquet 文件无法读取（已损坏）", file=shown, hint="请重新导出") from exc
    if sheet is not None and not found.controls and tbl.num_columns == df.shape[1]:
        sheet.controls = False               # no text cell holds a control character: nothing to clean
    df = df.iloc[:, :ncols]
    df.columns = range(df.shape[1])
    for c in df.columns:
        if c in found.categorical:
            continue
        if not (pd.api.types.is_datetime64_any_dtype(df[c]) or df[c].dtype == object):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def parquet_rows(path: str) -> int:
    """Rows of a Parquet file (its footer only)."""
    import pyarrow.parquet as pq
    return int(pq.ParquetFile(path).metadata.num_rows)


def parquet_slice(path: str, shown: str, start: int, stop: int) -> RawSheet:
    """Rows [start, stop) of a Parquet file as a sheet, read by row groups (only the groups that hold the slice
    are decoded); row numbers are the file's (header = line 1)."""
    import pyarrow.parquet as pq

    sheet = _read_parquet(path, shown, os.path.splitext(os.path.basename(path))[0])
    pf = pq.ParquetFile(path)
    meta = pf.metadata

    def load(h, ncols):
        groups, first, at = [], None, 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if at + n > start and at < stop:
                groups.append(g)
                first = at if first is None else first
            at += n
        df = _parquet_frame(lambda: (pf.read_row_groups(groups) if groups else pf.schema_arrow.empty_table())
                            .slice(start - (first or 0), stop - start), shown, ncols, sheet)
        return df, np.arange(start + 2, start + 2 + len(df), dtype=np.int64), []

    sheet._load = load
    sheet.slice_start = start
    sheet.slice_last = stop >= meta.num_rows
    return sheet


# A long text column with few distinct values (codes, names, channels) is handed on dictionary-encoded, as a pandas
# categorical whose codes are Arrow's dictionary indices: the loader judges and normalises its distinct values only,
# and never makes a Python object per cell (issue 10). Serial numbers and timestamps are spread as objects; a column
# whose spread sample of DISTINCT_SAMPLE values is almost all distinct is not dictionary-encoded at all (that costs
# a hash per cell and buys nothing).
CATEGORICAL_ROWS = 4096
CATEGORICAL_SHARE = 0.5
DISTINCT_SAMPLE = 16384


@dataclass
class ArrowText:
    """What ``_text_as_objects`` found: the positions it made categorical, and whether any text cell holds a
    control character (``text.CONTROL_RE``)."""
    categorical: set = field(default_factory=set)
    controls: bool = False
    newlines: bool = False            # some text holds a line break (a quoted field over several lines)


# GB18030 keeps every byte below 0x80 for ASCII (its multi-byte sequences use 0x81-0xFE, then 0x30-0x39 or 0x40-0xFE):
# a comma, tab, semicolon, quote or line break in its bytes is always that character, so pyarrow can split the
# records without decoding them. ("|" is 0x7C, a possible second byte: such a file is decoded first.)
_GB18030_SAFE_DELIMITERS = (",", "\t", ";")


def _gb18030_cells(tbl):
    """A GB18030 CSV read as bytes (``pa.binary`` columns) as the table the transcoding read gives: an ASCII
    column cast to text as it is, any other decoded once per distinct value and kept dictionary-encoded
    (``_text_as_objects`` takes those as they are). Issue 10: the stress month's 146 MB exchange log in 1.0 s
    instead of 1.9 s. (None, set()) when some value does not decode or two decode alike: then the file is read
    with pyarrow's transcoding, which words the problem as before."""
    import pyarrow as pa
    import pyarrow.compute as pc
    cols, encoded = [], set()
    for i, col in enumerate(tbl.columns):
        if _ascii_only(col):
            cols.append(col.cast(pa.string()))
            continue
        enc = pc.dictionary_encode(col).combine_chunks()
        try:
            words = [None if v is None else v.decode("gb18030") for v in enc.dictionary.to_pylist()]
        except UnicodeDecodeError:
            return None, set()
        if len(set(words)) != len(words):
            return None, set()
        cols.append(pa.chunked_array([pa.DictionaryArray.from_arrays(enc.indices, pa.array(words, pa.string()))]))
        encoded.add(i)
    return pa.table(cols, names=tbl.column_names), encoded


def _ascii_only(col) -> bool:
    """Every byte of a binary (chunked) column is below 0x80."""
    for ch in col.chunks:
        bufs = ch.buffers()
        if not len(ch) or bufs[2] is None:
            continue
        off = np.frombuffer(bufs[1], dtype=np.int32, count=len(ch) + 1, offset=ch.offset * 4)
        if (np.frombuffer(bufs[2], dtype=np.uint8)[off[0]:off[-1]] >= 0x80).any():
            return False
    return True


def _text_as_objects(df: pd.DataFrame, tbl, encoded: set[int] = frozenset()) -> tuple[pd.DataFrame, ArrowText]:
    """Arrow text columns as ``object`` holding ``str`` or ``None`` (what pandas 2's ``to_pandas`` gave; pandas 3
    hands them over as its ``str`` dtype, NaN for a null), or, when repetitive (``CATEGORICAL_SHARE``), as a
    categorical of ``str``. Through a dictionary encoding: each distinct text becomes one Python string shared by its
    rows, and a null is None — 2-3x faster than ``astype(object)`` and a fraction of its memory (issue 10: 0.9 GB
    less on the 1M-exchange month). Control characters are looked for once per distinct value (RE2). A
    dictionary-typed text column (Parquet) is text like any other. ``encoded``: the positions of columns already
    encoded as ``_dictionary`` gives them (one chunk, distinct words in order of first appearance)."""
    import pyarrow as pa
    found = ArrowText()
    for i in range(df.shape[1]):
        col = tbl.column(i)
        if i in encoded:
            codes, words = _codes_and_words(col.chunk(0))
        else:
            if pa.types.is_dictionary(col.type) and _is_text_type(col.type.value_type):
                col = col.cast(col.type.value_type)
            if not _is_text_type(col.type):
                continue
            if _mostly_distinct(col):
                found.controls = found.controls or _has_controls(col)
                found.newlines = found.newlines or _has_newline(col)
                df.isetitem(i, pd.Series(col.to_numpy(zero_copy_only=False), index=df.index, dtype=object))
                continue
            codes, words = _dictionary(col)
        found.controls = found.controls or _has_controls(words)
        found.newlines = found.newlines or _has_newline(words)
        if len(codes) >= CATEGORICAL_ROWS and len(words) <= len(codes) * CATEGORICAL_SHARE:
            cat = pd.Categorical.from_codes(codes.astype(np.int32),
                                            categories=pd.Index(words.to_numpy(zero_copy_only=False), dtype=object))
            df.isetitem(i, pd.Series(cat, index=df.index))
            found.categorical.add(i)
            continue
        spread = np.empty(len(words) + 1, dtype=object)
        spread[:-1] = words.to_numpy(zero_copy_only=False)
        spread[-1] = None
        df.isetitem(i, pd.Series(spread[codes], index=df.index, dtype=object))
    return df, found


def _mostly_distinct(col) -> bool:
    """More than 99 % of ``DISTINCT_SAMPLE`` values spread evenly over a long column are distinct (serial numbers,
    timestamps: some 800,000 distinct values or more): the column would hardly become categorical, and its
    dictionary would cost more than it saves. (Only speed depends on this: both readings give the same cells.)"""
    import pyarrow.compute as pc
    if len(col) < 8 * DISTINCT_SAMPLE:
        return False
    sample = col.take(np.linspace(0, len(col) - 1, DISTINCT_SAMPLE).astype(np.int64))
    return pc.count_distinct(sample).as_py() > 0.99 * DISTINCT_SAMPLE


def _dictionary(col) -> tuple[np.ndarray, object]:
    """(indices with -1 for null, the dictionary as an Arrow array) of a text column."""
    import pyarrow.compute as pc
    return _codes_and_words(pc.dictionary_encode(col).combine_chunks())


def _codes_and_words(enc) -> tuple[np.ndarray, object]:
    """(indices with -1 for null, the dictionary) of an Arrow dictionary array."""
    return enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), enc.dictionary


def _has_controls(arr) -> bool:
    """Any text of an Arrow (chunked) array holds a control character (``text.CONTROL_RE``, in RE2)."""
    import pyarrow.compute as pc
    from ..text import CONTROL_RE
    return bool(len(arr)) and bool(pc.any(pc.match_substring_regex(arr, CONTROL_RE)).as_py())


def _has_newline(arr) -> bool:
    import pyarrow.compute as pc
    return bool(len(arr)) and bool(pc.any(pc.match_substring(arr, "\n")).as_py())


def _is_text_type(t) -> bool:
    import pyarrow as pa
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _plain_columns(tbl):
    """Binary columns as text (UTF-8, undecodable bytes replaced) and nested columns (list/struct/map) as their
    text form: the loader reads cells as scalars, and an extra nested column of a platform log is kept and
    ignored like any extra column instead of crashing the comparisons."""
    import pyarrow as pa

    cols = []
    changed = False
    for field, col in zip(tbl.schema, tbl.columns):
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            try:
                col = col.cast(pa.string())                  # valid UTF-8: a vectorised cast
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = pa.array([None if v is None else (v.decode("utf-8", errors="replace") if isinstance(v, bytes)
                                                        else str(v)) for v in col.to_pylist()], type=pa.string())
            changed = True
        elif pa.types.is_nested(t):
            col, changed = pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.string()), True
        cols.append(col)
    return pa.Table.from_arrays(cols, names=tbl.schema.names) if changed else tbl


def _is_report_dir(path: str) -> bool:
    """A folder sharecheck wrote: it holds both manifest.json and findings.csv (outputs.md)."""
    return os.path.isfile(os.path.join(path, "manifest.json")) and os.path.isfile(os.path.join(path, "findings.csv"))


def common_folder(paths) -> str:
    """The folder every input lies in (a folder input itself, a file input's folder), absolute. Inputs are named
    relative to it, so that outputs are the same whether the files were given absolute or relative, and no
    absolute path of the machine reaches a report (issue 8, C6)."""
    dirs = []
    for p in paths:
        a = os.path.abspath(os.fspath(p))
        dirs.append(a if os.path.isdir(a) else os.path.dirname(a))
    if not dirs:
        return os.path.abspath(".")
    try:
        return os.path.commonpath(dirs)
    except ValueError:                       # different drives (Windows): no common folder
        return ""


def shown_name(path: str, base: str | None) -> str:
    """A file's name as reports show it: relative to ``base`` (see ``common_folder``), with ``/``."""
    if base is None:
        return os.fspath(path)
    a = os.path.abspath(os.fspath(path))
    try:
        rel = os.path.relpath(a, base) if base else os.path.basename(a)
    except ValueError:
        rel = os.path.basename(a)
    return rel.replace(os.sep, "/")


def scan_paths(paths, unreadable: list[tuple[str, str]] | None = None, base: str | None = None
               ) -> list[tuple[str, str]]:
    """(real path, shown path) of every data file; folders recursively, sorted; lock and hidden files skipped;
    a file reached twice is listed once. A sub-folder that cannot be listed (no permission) is appended to
    ``unreadable`` as (shown path, reason) instead of being skipped silently. With ``base``, every shown path
    is relative to it; without, relative to the folder given (a file: as given)."""
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            found = []

            def walk_error(exc: OSError, top=p) -> None:
                where = exc.filename or top
                shown_dir = shown_name(where, base if base is not None else os.path.abspath(top))
                if unreadable is None:
                    raise InputError("无法读取文件夹（没有权限）", file=shown_dir, hint="请确认有该文件夹的读取权限")
                unreadable.append((shown_dir, safety._os_reason(exc)))

            if not os.access(p, os.R_OK | os.X_OK):
                raise InputError(f"无法读取文件夹（没有读取权限）", file=p, hint="请确认当前用户有该文件夹的读取权限")
            for root, dirs, files in os.walk(p, onerror=walk_error):
                # hidden folders and sharecheck's own report folders (a run inside the exports folder writes
                # 审计结果/<period>/ there; the next run must not read its own reports back as exports)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_report_dir(os.path.join(root, d)))
                for f in files:
                    if f.startswith((".", "~$")) or os.path.splitext(f)[1].lower() not in DATA_EXTS:
                        continue
                    full = os.path.join(root, f)
                    found.append((full, shown_name(full, base) if base is not None
                                  else os.path.relpath(full, p).replace(os.sep, "/")))
            out.extend(sorted(found, key=lambda t: t[1]))
        elif os.path.exists(p):
            out.append((p, shown_name(p, base)))
        else:
            raise InputError("文件或文件夹不存在", file=p, hint="请检查路径")
    # the same file reached twice (a folder and a file inside it, a folder given twice, overlapping folders) is
    # one input, not two candidates for its table
    seen: set[str] = set()
    unique = []
    for real, shown in out:
        key = os.path.normcase(os.path.realpath(real))
        if key not in seen:
            seen.add(key)
            unique.append((real, shown))
    return unique


# ---- small side files (waivers, user calendar) -------------------------------------------------------------------

def read_grid(path: str, shown: str, sheets: tuple[str, ...] = (), first_sheet: bool = False,
              what: str = "文件") -> tuple[pd.DataFrame, str]:
    """The whole object grid (positional columns, ``None`` for empty cells) and sheet name of a small side file.

    Goes through the same safety checks and encoding detection as the exports. The sheet is the first of
    ``sheets`` present, else the only sheet, else (with ``first_sheet``) the first one.
    """
    safety.check_file(path, shown)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        enc = detect_encoding(path)
        try:
            if enc == "utf-16":
                raise UnicodeDecodeError(enc, b"", 0, 1, "utf-16")
            with open(path, encoding=enc, errors="strict", newline="") as fh:
                rows = list(csv.reader(fh))
        except UnicodeDecodeError:
            raise InputError(f"{what}的编码无法识别", file=shown,
                             hint="请另存为 UTF-8 或 GB18030 编码的 CSV") from None
        width = max((len(r) for r in rows), default=0)
        grid = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
        return (grid.where(grid.ne(""), None) if width else grid), ""
    if ext in EXCEL_EXTS:
        found = _read_excel(path, shown, os.path.splitext(os.path.basename(path))[0])
        by_name = {r.sheet: r for r in found}
        pick = next((by_name[s] for s in sheets if s in by_name), None)
        if pick is None and (len(found) == 1 or first_sheet) and found:
            pick = found[0]
        if pick is None:
            names = "、".join(by_name) or "无"
            raise InputError(f"找不到工作表「{sheets[0] if sheets else ''}」（现有：{names}）", file=shown,
                             hint=f"请把{what}放在名为「{sheets[0] if sheets else ''}」的工作表")
        return pick.preview, pick.sheet
    raise InputError(f"{what}格式「{ext or '无扩展名'}」不支持", file=shown, hint="请使用 .xlsx 或 .csv")
