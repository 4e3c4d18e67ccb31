"""Issue 10: the sheet-extent guard reads a worksheet's row and cell references with numpy where they are in the
standard form (``safety._standard_extent``). On every chunk it must give the regex scan's four numbers exactly, or
hand the chunk to the regexes (None): hostile XML is bounded as before."""
from __future__ import annotations

import zipfile

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.load import safety

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz"
ref_letters = st.text(LETTERS, min_size=1, max_size=4)
ref_digits = st.text("0123456789", min_size=1, max_size=12)
quote = st.sampled_from(['"', "'"])


@st.composite
def standard_cell(draw):
    q = draw(quote)
    tail = draw(st.sampled_from(["/>", ' t="s"><v>3</v></c>', "><v>1.5</v></c>", ' s="2"/>',
                                 ' t="inlineStr"><is><t>a:b &lt;c r="ZZZ9"&gt;</t></is></c>']))
    return f"<{draw(st.sampled_from('cC'))} {draw(st.sampled_from('rR'))}={q}{draw(ref_letters)}{draw(ref_digits)}{q}{tail}"


@st.composite
def standard_row(draw):
    q = draw(quote)
    return f'<{draw(st.sampled_from(["row", "ROW", "Row"]))} r={q}{draw(ref_digits)}{q} spans="1:3">'


standard_other = st.sampled_from(["<c>", "<c/>", "<C>", "<row>", "<row/>", "</row>", "</c>", "<v>2</v>", "<r><t>x:c</t></r>",
                                  "<rPr/>", "<cols><col min='1' max='3'/></cols>", '<sheetData>', '<?xml version="1.0"?>',
                                  "<conditionalFormatting sqref='A1'>", "<mergeCell ref='A1:B2'/>"])
hostile = st.sampled_from([
    '<c s="1" r="B2">', '<c  r="A1">', '<c\tr="A1">', '<c r = "A1">', '<c r="5">', '<c r="ABCDE5">', '<c r="">',
    '<c r=" A1">', '<x:c r="ZZ99">', '<ns1:row r="300">', '<x:row>', '<x:c/>', '<row r="7" spans="1:3">',
    '<row spans="1:3" r="9">', "<ROW R='12'>", '<row r="x">', '<!-- <c r="ZZ9"> -->', '<![CDATA[<c r="Q1">]]>',
    '<c r="A', '<row r="', '<c', '<x14:conditionalFormatting>', '<c\x0br="A1">', '<row\nr="4">',
    '<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:c r="XFD1048576">', '<c r="A1"<c r="ZZ2">', "<c r='B7\">",
    '<c r="AB' + "9" * 15 + '">', "<r:c r='C3'/>", "::<:c r='D4'>", "<1:c r='E5'>", '<_:row r="6">',
])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(standard_cell(), standard_row(), standard_other, hostile), max_size=40))
def test_the_fast_read_gives_the_regex_numbers_or_leaves_the_chunk(fragments):
    part = "".join(fragments).encode("utf-8")
    fast = safety._standard_extent(part)
    assert fast is None or fast == safety._regex_extent(part), part


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(standard_cell(), standard_row(), standard_other), max_size=60))
def test_standard_chunks_are_read_fast_and_exactly(fragments):
    part = "".join(fragments).encode("utf-8")
    assert safety._standard_extent(part) == safety._regex_extent(part), part


def test_an_exported_workbook_is_read_fast(tmp_path, monkeypatch):
    """A workbook as openpyxl writes it (shared and inline strings, numbers, dates) never needs the regexes, and
    the bound is its extent."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(1, 3001):
        ws.append([f"资源{i}", i, i * 1.5, "2026-10-01", None, "是"])
    ws.cell(row=3500, column=30, value="远处")
    wb.save(tmp_path / "a.xlsx")
    slow = []
    monkeypatch.setattr(safety, "_regex_extent", lambda part: slow.append(part) or (0, 0, 0, 0))
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("xl/worksheets/"))
        assert safety._quick_extent(zf, info) == (3500, 30)
    assert slow == []


def test_leading_zeros_and_long_numbers():
    for part in (b'<row r="1"><c r="A0"/></row><row r="00">', b'<c r="B0009"/><c r="A12"/>',
                 b'<c r="A1234567891234"/><c r="B999999999"/>', b'<row r="0000000001"><row r="2">'):
        assert safety._standard_extent(part) == safety._regex_extent(part), part
