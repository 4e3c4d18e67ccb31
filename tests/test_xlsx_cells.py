"""issue 10 item 3: the faster writing paths give the bytes the previous ones gave.

- ``_cell_xml`` (cells of the streamed sheets as strings) against openpyxl's own cell writer, cell by cell;
- a whole workbook with the in-memory sheets and ``_cell_xml`` against stock openpyxl (temporary files,
  element trees), byte for byte;
- ``_body_chunks``, ``wrap_heights`` and ``display_width`` against the pandas forms they replaced (frozen below
  as the reference), on random and hostile texts;
- every workbook read back with openpyxl and calamine (same values from both readers).
"""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from io import BytesIO

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import etree_write_cell
from openpyxl.styles import Alignment, Font, PatternFill
from python_calamine import CalamineWorkbook

from checker.render import common as cm, write, xlsx, xlsxkit
from checker.render.common import FORMULA_PREFIX_RE, _WIDE, _WIDE_RE, _is_na, clean_text  # noqa: F401
from checker.render.xlsxkit import Col, get_column_letter
from tests.demo_report import make_report

TEXTS = ["x", "部门", " lead", "trail ", "  ", "\t", " ", "a & b < c > d", '"q" \'s\'', "cr\r\nlf", "多行\n第二行",
         "\u3000全角空格\u3000", "emoji 😀", "#N/A", "=1+1", "-3", "@x", "\ufeffbom", "x" * 300, "tab\tin", "&amp;",
         "]]>", "<t>", "\x85next", "\u2028sep"]


# ------------------------------------------------------------------------------------------ _cell_xml
def _openpyxl_xml(ws, cell, styled) -> str:
    from et_xmlfile import xmlfile
    buf = BytesIO()
    with xmlfile(buf) as xf:
        with xf.element("r"):
            etree_write_cell(xf, ws, cell, styled)
    return buf.getvalue().decode("utf-8")[len("<r>"):-len("</r>")]


def _cells(ws):
    values = TEXTS + ["", None, 0, 1, -7, 2 ** 40, 10 ** 17 + 1, 0.1, 2.5, -0.0, 1e20, 1e-7, float("nan"),
                      float("inf"), True, False, np.int64(5), np.float64(0.3), datetime(2026, 10, 3, 12, 30),
                      datetime(2026, 10, 3), date(2026, 1, 2), datetime(1900, 1, 1), timedelta(hours=3)]
    styles = [{}, {"font": Font(bold=True)}, {"alignment": Alignment(wrap_text=True, vertical="top")},
              {"number_format": "yyyy-mm-dd"}, {"number_format": "0.0"},
              {"fill": PatternFill("solid", fgColor="FFC7CE")}]
    for v in values:
        for st in styles:
            for force_text in (False, True):
                c = WriteOnlyCell(ws, value=v)
                if force_text and isinstance(v, str):
                    c.data_type = "s"
                for k, x in st.items():
                    setattr(c, k, x)
                c.row, c.column = 3, 7
                yield c


def test_cell_xml_is_openpyxls_own_cell_xml():
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("s")
    n = 0
    for c in _cells(ws):
        styled = c.has_style
        ours = xlsxkit._cell_xml(c, styled)
        if ours is None:                      # left to openpyxl (formulas, time deltas)
            assert c.data_type == "f" or isinstance(c._value, timedelta), (c._value, c.data_type)
            continue
        assert ours == _openpyxl_xml(ws, c, styled), (c._value, c.data_type, styled)
        n += 1
    assert n > 300


def _stock(monkeypatch, on: bool):
    """on: stock openpyxl (temporary files, openpyxl's cell writer) instead of the in-memory sheets."""
    monkeypatch.setattr(xlsxkit, "MEM_SHEETS", not on)


def _hostile_texts(r, seed=1):
    rng = random.Random(seed)
    f = r.result.findings
    for col in ["message", "key", "counterpart", "file"]:
        vals = f[col].astype(object).to_numpy().copy()
        for i in rng.sample(range(len(f)), min(len(f), 60)):
            vals[i] = rng.choice(TEXTS + ["bad\x00\x07chars\ufffe", "y" * 33000, None, ""])
        f[col] = vals
    r.result.pending.loc[0, "message"] = " 前后空格 & <x> "
    r.load.defects.loc[0, "value"] = "\t=IMPORTXML(1)"
    return r


@pytest.mark.parametrize("fmt", ["xlsx", "dept_xlsx"])
def test_in_memory_sheets_give_stock_openpyxl_bytes(tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    r = _hostile_texts(make_report(400))
    _stock(monkeypatch, True)
    before = openpyxl.Workbook.create_sheet
    stock = write(r, tmp_path / "stock", [fmt])
    _stock(monkeypatch, False)
    ours = write(r, tmp_path / "ours", [fmt])
    assert openpyxl.Workbook.create_sheet is before
    assert [p.name for p in ours] == [p.name for p in stock] and ours
    for a, b in zip(stock, ours):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_in_memory_sheets_leave_no_temporary_files(tmp_path, monkeypatch):
    from openpyxl.worksheet import _writer
    made = []
    real = _writer.create_temporary_file
    monkeypatch.setattr(_writer, "create_temporary_file", lambda *a, **k: made.append(1) or real(*a, **k))
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    write(make_report(50), tmp_path, ["xlsx", "dept_xlsx"])
    assert made == []


# ------------------------------------------------------------------------------ the replaced pandas forms
def _old_xml_escape(s: pd.Series) -> pd.Series:
    return (s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
            .str.replace(">", "&gt;", regex=False).str.replace("\r", "&#13;", regex=False))


def _old_body_chunks(part, cols, first_row=2, styles=None, heights=None):
    """xlsxkit._body_chunks before issue 10 item 3 (pandas string operations per column), the reference."""
    styles = styles or {}
    hts = None if heights is None else heights.to_numpy(dtype=float)
    n = len(part)
    for lo in range(0, n, xlsxkit.FAST_CHUNK_ROWS):
        chunk = part.iloc[lo:lo + xlsxkit.FAST_CHUNK_ROWS]
        m = len(chunk)
        rnum = pd.Series(range(first_row + lo, first_row + lo + m), dtype="int64").astype(str)
        rnum.index = chunk.index
        if hts is not None:
            h = pd.Series(hts[lo:lo + m], index=chunk.index)
            attr = ('" ht="' + h.map(lambda x: f"{x:g}") + '" customHeight="1">').where(h.notna(), '">')
            acc = '<row r="' + rnum + attr
        else:
            acc = '<row r="' + rnum + '">'
        for j, c in enumerate(cols, start=1):
            letter = get_column_letter(j)
            if c.key not in chunk.columns:
                continue
            s = chunk[c.key]
            if s.dtype == object:
                present = s.notna() & s.ne("")
                if not present.any():
                    continue
                codes, uniq = pd.factorize(s[present])
                u = clean_text(pd.Series(uniq, dtype=object))
                txt = _old_xml_escape(u.astype(str))
                pres = txt.str.contains(r"^\s|\s$", regex=True)
                style = f'" s="{styles[c.key]}' if c.key in styles else ""
                inner = (style + '" t="inlineStr"><is>' + pd.Series("<t>", index=txt.index)
                         .where(~pres, '<t xml:space="preserve">') + txt + "</t></is></c>").to_numpy(dtype=object)
                cell = '<c r="' + letter + rnum[present] + pd.Series(inner[codes], index=rnum[present].index)
            else:
                present = s.notna()
                if not present.any():
                    continue
                v = s[present]
                if pd.api.types.is_integer_dtype(v.dtype):
                    vs = v.astype("int64").astype(str)
                else:
                    vs = v.astype("float64").map(repr)
                style = f'" s="{styles[c.key]}' if c.key in styles else ""
                cell = '<c r="' + letter + rnum[present] + style + '" t="n"><v>' + vs + "</v></c>"
            acc = acc + cell.reindex(acc.index, fill_value="")
        yield ("".join((acc + "</row>").tolist())).encode("utf-8")


def _old_text_widths(t):
    n = t.str.len().astype(float)
    b = t.str.encode("utf-8", errors="replace").str.len().astype(float)
    return n + (b - n) / 2


def _old_wrap_heights(frame, cols, widths):
    lines = None
    for c, w in zip(cols, widths):
        if not c.wrap or c.key not in frame.columns or len(frame) == 0:
            continue
        t = frame[c.key]
        if t.dtype != object:
            continue
        codes, uniq = pd.factorize(pd.Series(t.to_numpy(dtype=object), dtype=object))
        u = pd.Series(uniq, dtype=object)
        u = u.where(u.map(type).eq(str), "")
        per_line = max(1.0, float(w) * 1.1 - 1)
        multi = u.str.contains("\n", regex=False)
        n = np.ceil(_old_text_widths(u) / per_line).clip(lower=1).to_numpy().copy()
        if multi.any():
            ex = u[multi].str.split("\n").explode().fillna("")
            n[multi.to_numpy()] = np.ceil(_old_text_widths(ex) / per_line).clip(lower=1).groupby(level=0).sum().to_numpy()
        n = np.append(n, 1.0)[codes]
        lines = n if lines is None else np.maximum(lines, n)
    if lines is None:
        return None
    lines = np.minimum(lines, xlsxkit.MAX_WRAP_LINES)
    return pd.Series(np.where(lines > 1, lines * xlsxkit.LINE_HEIGHT, np.nan), index=frame.index)


def _old_display_width(s, sample=3000):
    if len(s) == 0:
        return 0.0
    if len(s) <= 32:
        firsts = [str(v).split("\n", 1)[0] for v in s.tolist() if not _is_na(v)]
        if not firsts:
            return 0.0
        w = [len(t) + len(_WIDE_RE.findall(t)) for t in firsts]
        return float(np.percentile(np.asarray(w, dtype=float), 95))
    t = s.iloc[:sample]
    t = t[t.notna()].astype(str)
    if t.empty:
        return 0.0
    first_line = t.str.split("\n", n=1).str[0]
    w = first_line.str.len() + first_line.str.count(_WIDE)
    return float(np.percentile(w.to_numpy(dtype=float), 95))


def _random_frame(rng: random.Random, n: int) -> pd.DataFrame:
    pool = TEXTS + ["bad\x00\x07\x1fchars\ufffe", "z" * 33000, "广州市公安局", "GZ165-08-1", "第一行\n\n第三行 "]
    texts = [rng.choice(pool + [None, "", np.nan]) for _ in range(n)]
    words = [None if rng.random() < 0.1 else "".join(rng.choice("甲乙丙 abc\n") for _ in range(rng.randint(0, 90)))
             for _ in range(n)]
    ints = pd.array([None if rng.random() < 0.2 else rng.randint(-10 ** 6, 10 ** 12) for _ in range(n)], dtype="Int64")
    floats = [rng.choice([0.1, 2.0, -1e-9, 1e21, float("nan"), 123456.789]) for _ in range(n)]
    return pd.DataFrame({"t": pd.Series(texts, dtype=object), "w": pd.Series(words, dtype=object), "i": ints,
                         "f": pd.Series(floats, dtype="float64"), "k": np.arange(n, dtype="int64"),
                         "e": pd.Series([None] * n, dtype=object)}, index=range(7, 7 + n))


@pytest.mark.parametrize("seed", range(6))
def test_body_heights_widths_match_the_pandas_forms(seed, monkeypatch):
    rng = random.Random(seed)
    n = rng.choice([0, 1, 5, 31, 33, 250, 2100])
    monkeypatch.setattr(xlsxkit, "FAST_CHUNK_ROWS", rng.choice([7, 1000, 20_000]))
    frame = _random_frame(rng, n)
    cols = [Col("t", "文本", wrap=True), Col("w", "说明", 30, wrap=True), Col("i", "行号"), Col("f", "数"),
            Col("k", "序号"), Col("e", "空"), Col("missing", "无此列")]
    widths = [rng.choice([12.0, rng.uniform(2, 60)]), rng.choice([30.0, round(rng.uniform(2, 60), 1)]), 8, 8, 8, 8, 8]
    assert _old_wrap_heights(frame, cols, widths) is not None
    pd.testing.assert_series_equal(xlsxkit.wrap_heights(frame, cols, widths), _old_wrap_heights(frame, cols, widths))
    heights = xlsxkit.wrap_heights(frame, cols, widths)
    for styles in ({}, {"t": 3, "i": 5}):
        for h in (None, heights):
            new = b"".join(xlsxkit._body_chunks(frame, cols, 4, styles, h))
            old = b"".join(_old_body_chunks(frame, cols, 4, styles, h))
            assert new == old
            # chunk by chunk too (the zip stream gets the same writes)
            assert list(xlsxkit._body_chunks(frame, cols, 4, styles, h)) == list(_old_body_chunks(frame, cols, 4, styles, h))
    for key in ["t", "w", "e"]:
        for k in (n, 3000, 10):
            s = frame[key].iloc[:k]
            assert cm.display_width(s) == _old_display_width(s), key
    mixed = pd.Series([1, 1.0, True, "1", None, np.nan, pd.NA, pd.NaT, np.float64(2.5), "甲\n乙"] * 5, dtype=object)
    assert cm.display_width(mixed) == _old_display_width(mixed)


# -------------------------------------------------------------------------------- read back, both readers
def _norm(v):
    if isinstance(v, str):
        return v.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, datetime) and v == datetime(v.year, v.month, v.day):
        return v.date()
    return v


def test_every_workbook_reads_back_the_same_with_openpyxl_and_calamine(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "_other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    r = _hostile_texts(make_report(300), seed=4)
    paths = write(r, tmp_path, ["xlsx", "dept_xlsx"])
    assert len(paths) > 5
    for p in paths:
        wb = openpyxl.load_workbook(p)
        cal = CalamineWorkbook.from_path(str(p))
        assert wb.sheetnames == cal.sheet_names
        for ws in wb:
            a = [[_norm(c.value) for c in row] for row in ws.iter_rows()]
            b = [[_norm(v) for v in row] for row in cal.get_sheet_by_name(ws.title).to_python()]
            width = max([len(x) for x in a + b] or [0])
            pad = lambda rows: [list(x) + [None] * (width - len(x)) for x in rows]
            a = [[None if v == "" else v for v in x] for x in pad(a)]
            b = [[None if v == "" else v for v in x] for x in pad(b)]
            while a and not any(v is not None for v in a[-1]):
                a.pop()
            while b and not any(v is not None for v in b[-1]):
                b.pop()
            assert a == b, (p.name, ws.title)
            for row in ws.iter_rows():             # never a formula from input text
                for c in row:
                    assert c.data_type != "f", (p.name, ws.title, c.coordinate, c.value)


def _sheet_xml(wb_factory, rows) -> bytes:
    import zipfile
    wb = wb_factory()
    ws = wb.create_sheet("s")
    ws.column_dimensions["A"].width = 12
    for row in rows:
        ws.append(row(ws) if callable(row) else row)
    buf = BytesIO()
    wb.save(buf) if not isinstance(wb, xlsxkit._Workbook) else None
    if isinstance(wb, xlsxkit._Workbook):
        xlsxkit.save_deterministic(wb, _tmp_path[0] / "ours.xlsx", date(2026, 10, 31))
        return zipfile.ZipFile(_tmp_path[0] / "ours.xlsx").read("xl/worksheets/sheet1.xml")
    return zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml")


_tmp_path = [None]


def test_plain_values_appended_give_openpyxls_bytes(tmp_path):
    _tmp_path[0] = tmp_path
    plain = TEXTS + ["", "z" * 40000, "#N/A", "#DIV/0!", "=1+2", "=", 0, -5, 2 ** 70, 1.5, float("nan"), True,
                     False, None, date(2026, 1, 2), datetime(2026, 10, 3, 9, 5)]
    rows = [plain, plain[::-1], [None, None, "x"], [],
            lambda ws: [xlsxkit.text_cell(ws, "=公式样"), "a", xlsxkit.restyle(WriteOnlyCell(ws, value=3),
                                                                          ("font", xlsxkit.HEADER_FONT)), 7]]
    stock = _sheet_xml(lambda: openpyxl.Workbook(write_only=True), rows)
    ours = _sheet_xml(lambda: xlsxkit._Workbook(write_only=True), rows)
    assert b"t=\"e\"" in ours and b"<f>" in ours and b"z" * 32767 + b"<" in ours
    assert ours == stock
    from openpyxl.utils.exceptions import IllegalCharacterError
    for factory in (lambda: openpyxl.Workbook(write_only=True), lambda: xlsxkit._Workbook(write_only=True)):
        with pytest.raises(IllegalCharacterError):
            _sheet_xml(factory, [["ok", "bad\x01"]])


# ------------------------------------------------------------------------ the pool started before the others
def _all_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pool_starts_first_and_every_file_matches_a_serial_run(tmp_path, monkeypatch):
    import multiprocessing as mp
    from checker import render
    monkeypatch.setattr(xlsx, "_other_threads", lambda: False)      # pytest-xdist runs its own threads
    r = _hostile_texts(make_report(200), seed=2)
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    serial = write(r, tmp_path / "serial")
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    events = []
    real_start, real_xlsx = xlsx.start_department_workbooks, render._WRITERS["xlsx"]

    def start(*a, **k):
        p = real_start(*a, **k)
        events.append(("start", p._pool is not None))
        return p
    monkeypatch.setattr(xlsx, "start_department_workbooks", start)
    monkeypatch.setitem(render._WRITERS, "xlsx", lambda *a: events.append(("xlsx", None)) or real_xlsx(*a))
    pooled = write(r, tmp_path / "pool")
    assert events == [("start", True), ("xlsx", None)]               # forked before the auditors' workbook
    assert [p.relative_to(tmp_path / "pool") for p in pooled] == [p.relative_to(tmp_path / "serial") for p in serial]
    assert _all_bytes(tmp_path / "pool") == _all_bytes(tmp_path / "serial")
    assert xlsx._JOB is None and not mp.active_children()


def test_an_error_in_another_writer_ends_the_pool(tmp_path, monkeypatch):
    import multiprocessing as mp
    from checker import render
    monkeypatch.setattr(xlsx, "_other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")

    def boom(*a):
        raise OSError("disk full")
    monkeypatch.setitem(render._WRITERS, "html", boom)
    with pytest.raises(OSError, match="disk full"):
        write(make_report(150), tmp_path)
    assert xlsx._JOB is None and not mp.active_children()
