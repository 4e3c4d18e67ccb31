"""Low-level workbook writing: streamed tables with safe text cells, styles, deterministic zip output."""
from __future__ import annotations

import math
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl import LXML
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.compat import safe_string
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter, write_cell

from .common import FORMULA_PREFIX_RE, clean_text, clean_text1, display_width, formula_like, text_width, to_cells

# Big plain tables (no per-cell styles) have their rows written straight as sheet XML (inline strings:
# always text, never a formula), ~10x faster than openpyxl's per-cell path. Tests switch it off to compare.
FAST_BODY = True
FAST_CHUNK_ROWS = 20_000

# Excel's row limit (rows per sheet, header and note rows included). A table longer than fits holds its first
# rows in the report's order under a note row that says how many were left out and where the full list is
# (issue 11 item 4). The one constant for every workbook; tests lower it.
MAX_SHEET_ROWS = 1_048_576
OVERFLOW_FONT = Font(bold=True, color="9C0006")


def sheet_capacity(n_rows: int) -> int:
    """How many of ``n_rows`` data rows one sheet holds: all when they fit under the header, else the limit less
    the header and the note row."""
    return n_rows if n_rows <= MAX_SHEET_ROWS - 1 else max(0, MAX_SHEET_ROWS - 2)


def overflow_note(total: int, kept: int, where: str | None) -> str:
    return (f"本表共 {total} 行，超出 Excel 每个工作表 {MAX_SHEET_ROWS} 行的上限：此处只列出按报告顺序的前 {kept} 行，"
            f"另有 {total - kept} 行未列出" + (f"；完整清单见 {where}。" if where else "。"))

# Col.number_format for a column of days and moments (待办 最迟办理时间: working-day deadlines are days, hour
# deadlines are moments): each cell gets yyyy-mm-dd or yyyy-mm-dd hh:mm (issue 8 E1).
DATE_OR_TIME = "date-or-time"

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
TITLE_FONT = Font(bold=True, size=14, color="1F4E79")
SECTION_FONT = Font(bold=True, size=11, color="1F4E79")
THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


@dataclass
class Col:
    key: str                      # column of the frame
    label: str                    # Chinese header
    width: float | None = None    # fixed width; None = from the data
    max_width: float = 50
    number_format: str | None = None
    wrap: bool = False            # wrap long texts (the row grows) instead of cutting them at the column edge


def _t_xml(value: str) -> str:
    """``<t>text`` as openpyxl writes an inline string (xml:space when blanks surround a non-blank text)."""
    stripped = value.strip()
    t = "<t>" if not stripped or value == stripped else '<t xml:space="preserve">'
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return t + value


def _plain_xml(v, ref: str) -> str | None:
    """The XML of a plain value appended to a write-only sheet (openpyxl binds it to an unstyled cell: the
    type rules of Cell._bind_value, check_string's cut at 32,767 characters). None when openpyxl must handle
    it (a formula, XML-illegal characters (openpyxl's error), dates (they get a number format), other types)."""
    t = type(v)
    if t is str:
        v = v[:32767]
        if ILLEGAL_CHARACTERS_RE.search(v) is not None or (len(v) > 1 and v[0] == "=") or v in ERROR_CODES:
            return None
        if v == "":
            return '<c r="' + ref + '" t="inlineStr" />'
        return '<c r="' + ref + '" t="inlineStr"><is>' + _t_xml(v) + "</t></is></c>"
    if t is int or t is float or t is bool:
        text = safe_string(v)
        dt = "b" if t is bool else "n"
        if not text:
            return '<c r="' + ref + '" t="' + dt + '"><v /></c>'
        return '<c r="' + ref + '" t="' + dt + '"><v>' + text + "</v></c>"
    return None


class _RawRow:
    """The values of one appended row, handed to _MemWriter.write_row as they are (no cell objects)."""
    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


def _cell_xml(cell, styled) -> str | None:
    """The XML openpyxl's own cell writer (openpyxl.cell._writer.etree_write_cell, through et_xmlfile) gives
    ``cell``, as one string, for the cells the reports write: texts, numbers, booleans, days and moments,
    empty styled cells. None for anything else (formulas, rich text, hyperlinks, ISO dates, time zones): those
    go through openpyxl's writer. tests/test_xlsx_cells.py holds it to openpyxl's bytes."""
    if cell.hyperlink:
        return None
    dt = cell.data_type
    if dt == "f":
        return None
    value = cell._value
    head = '<c r="' + cell.coordinate + ('" s="' + f"{cell.style_id}" if styled else "")
    if dt == "s":
        if value is None or value == "":
            return head + '" t="inlineStr" />'
        if type(value) is not str:
            return None
        return head + '" t="inlineStr"><is>' + _t_xml(value) + "</t></is></c>"
    if dt == "d":
        if getattr(value, "tzinfo", None) is not None or cell.parent.parent.iso_dates \
                or isinstance(value, timedelta):
            return None
        dt = "n"
        value = to_excel(value, cell.parent.parent.epoch)
    if value is None or value == "":
        return head + '" t="' + dt + '" />'
    text = safe_string(value)
    if not text:
        return head + '" t="' + dt + '"><v /></c>'
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return head + '" t="' + dt + '"><v>' + text + "</v></c>"


class _Buffer(BytesIO):
    """A sheet's XML in memory. Not closed by the garbage collector before the sheet's writer generator is
    finalised (an abandoned workbook: an error while writing), which flushes into it."""

    def close(self):
        pass


class _MemWriter(WorksheetWriter):
    """openpyxl's sheet writer into memory instead of a temporary file (issue 10: creating and removing a
    temporary file per sheet cost more than writing a small sheet). Same XML: et_xmlfile writes UTF-8 with
    ``\n`` line ends to a binary buffer, as to a file opened on a POSIX system. Cells are written as the
    strings ``_cell_xml`` makes (openpyxl builds and serialises an element tree per cell)."""

    def __init__(self, ws):
        super().__init__(ws, out=_Buffer())

    def cleanup(self):
        pass

    def write_row(self, xf, row, row_idx):
        out = getattr(xf, "_file", None)
        if isinstance(row, _RawRow):
            values = row.values
            if LXML or out is None:               # openpyxl's own path, from its own cells
                return super().write_row(xf, WriteOnlyWorksheet._values_to_row(self.ws, values, row_idx), row_idx)
        elif LXML or out is None:
            return super().write_row(xf, row, row_idx)
        else:
            values = None
        ws = self.ws
        attrs = {"r": f"{row_idx}"}
        attrs.update(ws.row_dimensions.get(row_idx, {}))
        with xf.element("row", attrs):
            if values is None:
                cells = row
            else:
                cells = self._cells(values, row_idx, out)
            for cell in cells:                    # as WorksheetWriter.write_row
                if cell._comment is not None:
                    ws._comments.append(CommentRecord.from_cell(cell))
                styled = cell.has_style
                if cell._value is None and not styled and not cell._comment:
                    continue
                x = _cell_xml(cell, styled)
                if x is None:
                    write_cell(xf, ws, cell, styled)
                else:
                    out(x)

    def _cells(self, values, row_idx: int, out):
        """WriteOnlyWorksheet._values_to_row without a cell object per plain value: plain texts and numbers are
        written here (``_plain_xml``), in column order; the cells (and values openpyxl must bind) are yielded."""
        ws = self.ws
        suffix = str(row_idx)
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, Cell):
                cell = value
            else:
                x = _plain_xml(value, _letter(col_idx) + suffix)
                if x is not None:
                    out(x)
                    continue
                cell = WriteOnlyCell(ws, value=value)
            cell.column = col_idx
            cell.row = row_idx
            if cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate
            yield cell


_LETTERS: dict[int, str] = {}


def _letter(i: int) -> str:
    x = _LETTERS.get(i)
    if x is None:
        x = _LETTERS[i] = get_column_letter(i)
    return x


class _MemSheet(WriteOnlyWorksheet):
    def _values_to_row(self, values, row_idx):
        return _RawRow(values)

    def _get_writer(self):
        if self._writer is None:
            self._writer = _MemWriter(self)
            self._writer.write_top()


class _Workbook(Workbook):
    """A write-only workbook whose sheets are written into memory (see _MemWriter)."""

    def create_sheet(self, title=None, index=None):
        ws = _MemSheet(parent=self, title=title)
        self._add_sheet(sheet=ws, index=index)
        return ws


# In memory only where a text file and a binary buffer get the same bytes (no CR-LF translation: not Windows).
MEM_SHEETS = os.linesep == "\n"


def new_workbook(as_of: date) -> Workbook:
    wb = _Workbook(write_only=True) if MEM_SHEETS else Workbook(write_only=True)
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb.properties.creator = "sharecheck"
    wb.properties.lastModifiedBy = "sharecheck"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    return wb


def setup_print(ws, landscape: bool = True, title_rows: str | None = "1:1") -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows


def text_cell(ws, value: Any) -> Any:
    """A write-only cell holding ``value``; a str is always an explicit text cell (never a formula)."""
    if isinstance(value, str):
        value = clean_text1(value)
        c = WriteOnlyCell(ws, value=None)
        c.value = value
        c.data_type = "s"
        return c
    return WriteOnlyCell(ws, value=value)


def restyle(cell, *attrs: tuple[str, Any]) -> Any:
    """``cell.<name> = value`` for each (name, value), memoised per workbook and per starting style: the first
    time registers the styles in the workbook exactly as the assignments do; later cells get a copy of the
    resulting style array (openpyxl hashes every style object on each assignment). Only for style objects that
    live as long as the process (module constants): they are held by the memo and never change."""
    wb = cell.parent.parent
    memo = wb.__dict__.setdefault("_sharecheck_styles", {})
    key = (tuple(cell._style) if cell._style is not None else None,) + tuple((a, id(v)) for a, v in attrs)
    hit = memo.get(key)
    if hit is not None and all(x is v for x, (_a, v) in zip(hit[0], attrs)):
        cell._style = StyleArray(hit[1])
        return cell
    for a, v in attrs:
        setattr(cell, a, v)
    memo[key] = (tuple(v for _a, v in attrs), StyleArray(cell._style))
    return cell


_HEADER_STYLE = (("fill", HEADER_FILL), ("font", HEADER_FONT), ("alignment", HEADER_ALIGN), ("border", BORDER))


def header_cells(ws, labels: list[str]) -> list:
    return [restyle(text_cell(ws, lab), *_HEADER_STYLE) for lab in labels]


_SMALL_COLUMN = 32
_FORMULA_PREFIX = re.compile(FORMULA_PREFIX_RE)


def column_values(ws, s: pd.Series, number_format: str | None = None, align: Alignment | None = None) -> list:
    """Cell values of one column: texts cleaned; formula-like texts as explicit text cells; ``align`` (e.g.
    WRAP) given to every value."""
    if len(s) <= _SMALL_COLUMN:
        # a few cells (a department's own score row, a short list): plain Python per cell beats pandas per column,
        # and a department's workbook is made of such columns
        vals = to_cells(s)
        mask = np.zeros(len(vals), dtype=bool)
        for i, v in enumerate(vals):
            if isinstance(v, str):
                vals[i] = v = clean_text1(v)
                mask[i] = _FORMULA_PREFIX.match(v) is not None
    else:
        s = clean_text(s) if s.dtype == object else s
        vals = to_cells(s)
        mask = formula_like(s).to_numpy() if s.dtype == object else np.zeros(len(vals), dtype=bool)
    for i in mask.nonzero()[0]:
        c = WriteOnlyCell(ws, value=None)
        c.value = vals[i]
        c.data_type = "s"
        vals[i] = c
    if number_format:
        for i, v in enumerate(vals):
            if v is not None and not isinstance(v, (Cell, str)):
                c = WriteOnlyCell(ws, value=v)
                if number_format == DATE_OR_TIME:     # a day shows as a day, a moment with its time
                    midnight = isinstance(v, datetime) and v.hour == v.minute == v.second == v.microsecond == 0
                    c.number_format = "yyyy-mm-dd" if midnight or not isinstance(v, datetime) \
                        else "yyyy-mm-dd hh:mm"
                else:
                    c.number_format = number_format
                vals[i] = c
    if align is not None:
        for i, v in enumerate(vals):
            if v is None:
                continue
            if not isinstance(v, Cell):
                c = WriteOnlyCell(ws, value=None)
                c.value = v
                if isinstance(v, str):
                    c.data_type = "s"
                vals[i] = v = c
            restyle(v, ("alignment", align))
    return vals


def col_alignments(cols: list["Col"]) -> list[Alignment | None]:
    """Alignment of each column: when any column wraps (rows may grow), every cell is top-aligned so that
    the texts of one row start on the same line; None (default alignment) otherwise."""
    if not any(c.wrap for c in cols):
        return [None] * len(cols)
    return [WRAP if c.wrap else TOP for c in cols]


# Height of one line of 11-pt text in points, and the most lines a wrapped row is given.
LINE_HEIGHT = 15
MAX_WRAP_LINES = 12


def _text_widths(t: pd.Series) -> pd.Series:
    """Approximate display widths: a character of 3 UTF-8 bytes (CJK, full-width) counts 2, ASCII 1.

    (Byte lengths are ~10x faster than a regular expression over a million texts.)"""
    n = t.str.len().astype(float)
    b = t.str.encode("utf-8", errors="replace").str.len().astype(float)
    return n + (b - n) / 2


def _text_width1(t: str) -> float:
    """``_text_widths`` of one text."""
    n = float(len(t))
    return n + (float(len(t.encode("utf-8", errors="replace"))) - n) / 2


def _wrapped_lines(t: str, per_line: float) -> float:
    """Lines of one wrapped text (as wrap_heights counts them): each line of a multi-line text on its own."""
    if "\n" not in t:
        return max(math.ceil(_text_width1(t) / per_line), 1.0)
    return float(sum(max(math.ceil(_text_width1(seg) / per_line), 1) for seg in t.split("\n")))


def wrap_heights(frame: pd.DataFrame, cols: list[Col], widths: list[float]) -> pd.Series | None:
    """Row heights (points) for the rows whose wrapped texts need more than one line; NaN elsewhere.

    Spreadsheet programs do not all re-fit row heights when they open a file (LibreOffice does not), so a
    wrapped row is given the height of its longest text. Vectorised; None when no column wraps.
    """
    lines = None
    for c, w in zip(cols, widths):
        if not c.wrap or c.key not in frame.columns or len(frame) == 0:
            continue
        t = frame[c.key]
        if t.dtype != object:
            continue
        # the work runs once per distinct text (departments, articles repeat a lot), in plain Python: the same
        # floats as the vectorised form (_text_widths, ceil, at least one line per line break)
        codes, uniq = pd.factorize(t.to_numpy(dtype=object))
        per_line = max(1.0, float(w) * 1.1 - 1)
        n = np.array([_wrapped_lines(u if type(u) is str else "", per_line) for u in uniq] + [1.0], dtype=float)
        n = n[codes]                                                  # code -1 (missing) -> one line
        lines = n if lines is None else np.maximum(lines, n)
    if lines is None:
        return None
    lines = np.minimum(lines, MAX_WRAP_LINES)
    return pd.Series(np.where(lines > 1, lines * LINE_HEIGHT, np.nan), index=frame.index)


# The rows a column's width is computed from (common.display_width's head sample).
WIDTH_SAMPLE = 3000


def widths_for(frame: pd.DataFrame, cols: list[Col]) -> list[float]:
    out = []
    for c in cols:
        if c.width is not None:
            out.append(c.width)
            continue
        s = frame[c.key] if c.key in frame.columns else pd.Series(dtype=object)
        # display_width reads a bounded head sample only: convert just that sample, not every cell (issue 10)
        s = s.iloc[:WIDTH_SAMPLE]
        if s.dtype != object:
            s = s.astype("object").map(lambda v: None if v is None or pd.isna(v) else str(v))
        w = max(display_width(s, WIDTH_SAMPLE), text_width(c.label) + 3)
        out.append(min(max(w + 2, 6), c.max_width))
    return out


def write_table(wb: Workbook, title: str, frame: pd.DataFrame, cols: list[Col], *, freeze: bool = True,
                autofilter: bool = True, row_styles: dict[str, dict[Any, Any]] | None = None,
                print_cols: int | None = None, print_extra_rows: int = 0, allow_fast: bool = True,
                overflow: str | None = None) -> list:
    """Stream ``frame`` as a table on sheet ``title``.

    Past MAX_SHEET_ROWS the sheet holds the first rows only, under a note row (row 1; the header is then row 2)
    giving the count left out and ``overflow``, where the full list is. The sheet records
    ``_sharecheck_table = (header row, data rows written, rows left out)``.
    ``row_styles``: {column key: {value: PatternFill}} fills single cells by value (small tables only).
    ``allow_fast=False`` when the caller appends more rows to the sheet afterwards.
    Returns the worksheets written (one).
    """
    n = len(frame)
    kept = sheet_capacity(n)
    part = frame.iloc[:kept] if kept < n else frame
    head = 2 if kept < n else 1
    widths = widths_for(part, cols)
    ws = wb.create_sheet(title)
    ws._sharecheck_table = (head, kept, n - kept)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = round(w, 1)
    if freeze:
        ws.freeze_panes = f"A{head + 1}"
    last = get_column_letter(len(cols))
    if autofilter:
        ws.auto_filter.ref = f"A{head}:{last}{len(part) + head}"
    setup_print(ws, title_rows=f"{head}:{head}")
    if print_cols:
        ws.print_area = f"A1:{get_column_letter(min(print_cols, len(cols)))}{len(part) + head + print_extra_rows}"
    if head == 2:
        note = text_cell(ws, overflow_note(n, kept, overflow))
        note.font = OVERFLOW_FONT
        ws.append([note])
    ws.append(header_cells(ws, [c.label for c in cols]))
    heights = wrap_heights(part, cols, widths)
    if FAST_BODY and allow_fast and not row_styles and _fast_ok(part, cols):
        if not hasattr(wb, "_sharecheck_bodies"):
            wb._sharecheck_bodies = []
        wb._sharecheck_bodies.append((ws, part, cols, head + 1, (_wrap_styles(ws, cols), heights)))
        return [ws]
    _set_heights(ws, heights, head + 1)
    columns = []
    aligns = col_alignments(cols)
    for j, c in enumerate(cols):
        s = part[c.key] if c.key in part.columns else pd.Series([None] * len(part), dtype=object)
        vals = column_values(ws, s, c.number_format, aligns[j])
        if row_styles and c.key in row_styles:
            fills = row_styles[c.key]
            for i, v in enumerate(vals):
                raw = v.value if isinstance(v, Cell) else v
                if raw in fills:
                    cell = v if isinstance(v, Cell) else WriteOnlyCell(ws, value=raw)
                    fill = fills[raw]
                    if isinstance(fill, tuple):
                        cell.fill, cell.font = fill
                    else:
                        cell.fill = fill
                    vals[i] = cell
        columns.append(vals)
    for row in zip(*columns):
        ws.append(list(row))
    return [ws]


def stream_rows(wb: Workbook, ws, frame: pd.DataFrame, cols: list[Col], first_row: int) -> None:
    """Write ``frame`` as the LAST rows of ``ws`` from ``first_row`` on (nothing may be appended after).

    Uses the fast XML path when the columns allow it, openpyxl cells otherwise.
    """
    widths = [c.width if c.width is not None else c.max_width for c in cols]
    heights = wrap_heights(frame, cols, widths)
    if FAST_BODY and _fast_ok(frame, cols):
        if not hasattr(wb, "_sharecheck_bodies"):
            wb._sharecheck_bodies = []
        wb._sharecheck_bodies.append((ws, frame, cols, first_row, (_wrap_styles(ws, cols), heights)))
        return
    _set_heights(ws, heights, first_row)
    columns = [column_values(ws, frame[c.key] if c.key in frame.columns
                             else pd.Series([None] * len(frame), dtype=object), c.number_format, a)
               for c, a in zip(cols, col_alignments(cols))]
    for row in zip(*columns):
        ws.append(list(row))


def _set_heights(ws, heights: pd.Series | None, first_row: int) -> None:
    if heights is None:
        return
    h = heights.to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isnan(h)):
        ws.row_dimensions[first_row + int(i)].height = float(h[i])


def _wrap_styles(ws, cols: list[Col]) -> dict[str, int]:
    """Cell style index (cellXfs) of each column's alignment (see col_alignments), registered in the
    workbook, by column key; empty when no column wraps."""
    out = {}
    for c, a in zip(cols, col_alignments(cols)):
        if a is not None:
            cell = WriteOnlyCell(ws, value=None)
            cell.alignment = a
            out[c.key] = cell.style_id
    return out


def _fast_ok(frame: pd.DataFrame, cols: list[Col]) -> bool:
    for c in cols:
        if c.number_format:
            return False
        if c.key not in frame.columns:
            continue
        s = frame[c.key]
        if s.dtype == object:
            if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
                return False
        elif not (pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype)):
            return False
    return True


def _xml_escape(s: pd.Series) -> pd.Series:
    return (s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
            .str.replace(">", "&gt;", regex=False).str.replace("\r", "&#13;", regex=False))


_EDGE_SPACE = re.compile(r"^\s|\s$")
# text -> its inline-string cell XML after the style attribute ('" t="inlineStr"><is><t>…</t></is></c>'); texts
# repeat across the sheets and workbooks of a run (departments, rules, files, messages). Bounded.
_TEXT_XML: dict[str, str] = {}
_TEXT_XML_MAX = 400_000


def _text_xml(v: str) -> str:
    """The inline-string cell XML of one text (cleaned as ``clean_text``, escaped as ``_xml_escape``)."""
    x = _TEXT_XML.get(v)
    if x is None:
        t = clean_text1(v)
        t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
        x = ('" t="inlineStr"><is><t xml:space="preserve">' if _EDGE_SPACE.search(t) else
             '" t="inlineStr"><is><t>') + t + "</t></is></c>"
        if len(_TEXT_XML) >= _TEXT_XML_MAX:
            _TEXT_XML.clear()
        _TEXT_XML[v] = x
    return x


def _column_xml(s: pd.Series, letter: str, rnum: np.ndarray, style: str) -> np.ndarray | None:
    """Cell XML of one column (object array; "" for an empty cell), None when every cell is empty."""
    vals = s.to_numpy(dtype=object)
    if s.dtype == object:
        present = ~pd.isna(vals)
        present &= vals != ""
        if not present.any():
            return None
        idx = np.flatnonzero(present)
        # the text work runs once per distinct value: factorised here, memoised across calls (_text_xml)
        codes, uniq = pd.factorize(vals[idx])
        frag = np.array([style + _text_xml(u if type(u) is str else str(u)) for u in uniq], dtype=object)
        body = frag[codes]
    else:
        present = ~pd.isna(vals)
        if not present.any():
            return None
        idx = np.flatnonzero(present)
        v = s.iloc[idx]
        if pd.api.types.is_integer_dtype(v.dtype):
            txt = [str(x) for x in v.astype("int64").tolist()]
        else:
            txt = [repr(x) for x in v.astype("float64").tolist()]
        body = np.array([style + '" t="n"><v>' + t + "</v></c>" for t in txt], dtype=object)
    out = np.full(len(vals), "", dtype=object)
    out[idx] = ('<c r="' + letter) + rnum[idx] + body
    return out


def _body_chunks(part: pd.DataFrame, cols: list[Col], first_row: int = 2, styles: dict[str, int] | None = None,
                 heights: pd.Series | None = None):
    """Sheet XML ``<row>`` elements of ``part`` (rows from ``first_row``), in chunks of FAST_CHUNK_ROWS rows,
    built column-wise on object arrays (one string per cell, joined once per row).

    ``styles``: column key -> cell style index (wrapped text columns); ``heights``: row heights (NaN = default).
    Texts are cleaned (``clean_text``) and escaped; a text with a blank at either end keeps it (xml:space).
    """
    styles = styles or {}
    hts = None if heights is None else heights.to_numpy(dtype=float)
    n = len(part)
    present_cols = [(get_column_letter(j), c) for j, c in enumerate(cols, start=1) if c.key in part.columns]
    for lo in range(0, n, FAST_CHUNK_ROWS):
        chunk = part.iloc[lo:lo + FAST_CHUNK_ROWS]
        m = len(chunk)
        rnum = np.array([str(r) for r in range(first_row + lo, first_row + lo + m)], dtype=object)
        if hts is not None:
            h = hts[lo:lo + m]
            opens = ['<row r="' + r + ('">' if x != x else f'" ht="{x:g}" customHeight="1">')
                     for r, x in zip(rnum.tolist(), h.tolist())]
        else:
            opens = ['<row r="' + r + '">' for r in rnum.tolist()]
        columns = [opens]
        for letter, c in present_cols:
            style = f'" s="{styles[c.key]}' if c.key in styles else ""
            x = _column_xml(chunk[c.key], letter, rnum, style)
            if x is not None:
                columns.append(x.tolist())
        columns.append(["</row>"] * m)
        yield "".join(["".join(t) for t in zip(*columns)]).encode("utf-8")


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column of ``width`` (Excel character units; a CJK character counts 2):
    every line break starts a line, each line wraps on its own. Slightly generous, so that no row is clipped."""
    per_line = max(1, int(width) - 1)
    return sum(max(1, -(-text_width(seg) // per_line)) for seg in str(text).split("\n"))


def pack_lines(items: list[str], width: float, sep: str = "、", first: str = "") -> str:
    """``items`` joined by ``sep``, broken into lines (``\n``) that fit ``width``, never inside an item (a rule ID
    such as GZ165-08-1 would otherwise wrap at its hyphen)."""
    limit = max(1, int(width * 0.9) - 2)       # spreadsheet programs fit a little less than the nominal width
    lines, cur = [], first
    for i, it in enumerate(items):
        piece = it + (sep if i < len(items) - 1 else "")
        if cur and text_width(cur + piece) > limit and cur != first:
            lines.append(cur)
            cur = piece
        else:
            cur += piece
    lines.append(cur)
    return "\n".join(lines)


def kv_cells(ws, items: list, widths: tuple = (22, 90)) -> None:
    """Write a free-form sheet (说明): rows of values; a row given as ('#title', text) is a title,
    ('#section', text) a section header, ('#header', [labels]) a table header."""
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    r = 0
    for row in items:
        r += 2 if isinstance(row, tuple) and row and row[0] == "#section" else 1
        if not (isinstance(row, tuple) and row and str(row[0]).startswith("#")):
            # wrapped texts: give the row the height of its lines (spreadsheet programs do not all re-fit)
            lines = max([1] + [wrapped_lines(v, widths[j] if j < len(widths) else 10)
                               for j, v in enumerate(row) if isinstance(v, str)])
            if lines > 1:
                ws.row_dimensions[r].height = 15 * lines
        if isinstance(row, tuple) and row and row[0] == "#title":
            c = text_cell(ws, row[1])
            c.font = TITLE_FONT
            ws.append([c])
        elif isinstance(row, tuple) and row and row[0] == "#section":
            c = text_cell(ws, row[1])
            c.font = SECTION_FONT
            ws.append([])
            ws.append([c])
        elif isinstance(row, tuple) and row and row[0] == "#header":
            ws.append(header_cells(ws, list(row[1])))
        else:
            vals = []
            for v in row:
                if isinstance(v, str):
                    vals.append(restyle(text_cell(ws, v), ("alignment", WRAP)))
                else:
                    vals.append(v)
            ws.append(vals)


_CORE_TIME_RE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


# deflate level of the workbooks: 3 compresses the sheet XML twice as fast as zlib's default 6, for files about 20 %
# larger (issue 10: the stress month's 3.7 MB auditors' workbook in 0.23 s instead of 0.46 s of deflate)
ZIP_LEVEL = 3


class _DeterministicZip(zipfile.ZipFile):
    """The archive openpyxl writes into, in one pass (issue 10): every member gets fixed times and attributes,
    docProps/core.xml the fixed core times, and the sheets of ``inject`` (member name -> fast body) their rows
    streamed into their ``<sheetData>``. Member order is openpyxl's own (fixed)."""

    def __init__(self, file, as_of: date, inject: dict):
        super().__init__(file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
        self._stamp = f"{as_of.year:04d}-{as_of.month:02d}-{as_of.day:02d}T00:00:00Z".encode()
        self._dt = (max(as_of.year, 1980), as_of.month, as_of.day, 0, 0, 0)
        self._inject = inject

    def _info(self, name: str) -> zipfile.ZipInfo:
        zi = zipfile.ZipInfo(name, date_time=self._dt)
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi._compresslevel = ZIP_LEVEL             # (a ZipInfo's own level; 3.13 also reads it as compress_level)
        zi.external_attr = 0o600 << 16
        zi.create_system = 0
        return zi

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        if isinstance(data, str):
            data = data.encode("utf-8")
        if name == "docProps/core.xml":
            data = _CORE_TIME_RE.sub(lambda m: m.group(1) + self._stamp + m.group(3), data)
        zi = self._info(name)
        if name in self._inject:
            part, cols, first, (styles, heights) = self._inject[name]
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:
                raise RuntimeError(f"no sheetData in {name}")
            with self.open(zi, "w", force_zip64=True) as fh:
                fh.write(head)
                for chunk in _body_chunks(part, cols, first, styles, heights):
                    fh.write(chunk)
                fh.write(sep + tail)
        else:
            super().writestr(zi, data)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl hands over a write-only sheet as a temporary file, or our in-memory buffer (_MemWriter)
        if isinstance(filename, BytesIO):
            self.writestr(arcname, filename.getvalue())
            return
        with open(filename, "rb") as fh:
            self.writestr(arcname or str(filename), fh.read())


def save_deterministic(wb: Workbook, path: Path, as_of: date) -> Path:
    """Save so identical content gives identical bytes: fixed core times and zip member times, fixed order.

    One pass: openpyxl writes straight into a ``_DeterministicZip`` (no re-zip of a first save)."""
    from openpyxl.writer.excel import ExcelWriter
    bodies = getattr(wb, "_sharecheck_bodies", [])
    inject = {}
    for ws, part, cols, first, extra in bodies:
        idx = wb.worksheets.index(ws) + 1
        inject[f"xl/worksheets/sheet{idx}.xml"] = (part, cols, first, extra)
    if not wb.worksheets:                       # as Workbook.save does for an empty write-only workbook
        wb.create_sheet()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    zf = None
    try:
        with open(tmp, "wb") as fh:
            zf = _DeterministicZip(fh, as_of, inject)
            ExcelWriter(wb, zf).save()
    except BaseException:
        _abandon(wb, zf)
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def _abandon(wb: Workbook, zf) -> None:
    """After a failed save: finish the sheets' row writers and forget the zip's file now, so that the garbage
    collector does not later print "Exception ignored" tracebacks for them (they would write to the closed file)."""
    for ws in wb.worksheets:
        rows = getattr(ws, "_rows", None)
        if rows is not None:
            try:
                rows.close()
            except Exception:  # noqa: BLE001 - the file they wrote to is gone; nothing left to save
                pass
    if zf is not None:
        zf.fp = None
