"""pandas 3 (issue 10 item 2): the loaders' frames keep text as object/None, copy-on-write's read-only arrays are
not written to, an empty date mapping maps to NaT; and the quick worksheet-extent bound (issue 10 item 1) is the
same as before its speed-up."""
from __future__ import annotations

import re
import subprocess
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

import checker  # noqa: F401  (sets the text dtype option)
from checker.codes import uscc_valid
from checker.engine.derivations._util import map_dates
from checker.load import read_table, safety
from checker.load.readers import read_file

ROOT = Path(__file__).resolve().parent.parent


def test_text_of_a_new_frame_is_object():
    assert pd.DataFrame({"a": ["x", None]})["a"].dtype == object
    assert pd.DataFrame({"a": ["x", None]})["a"].iloc[1] is None


def _cells(frame: pd.DataFrame) -> list:
    return [frame[c].tolist() for c in frame.columns]


def test_csv_and_parquet_hand_text_over_as_object_with_none(tmp_path):
    csv = tmp_path / "交换日志.csv"
    csv.write_text("交换流水号,提供部门,备注\nA1,甲,\nA2,,说明\n", encoding="utf-8")
    (sheet,) = read_file(str(csv), csv.name)
    data, rows, _ = sheet.data(0, 3)
    assert list(rows) == [2, 3]
    assert all(data[c].dtype == object for c in data.columns)
    assert _cells(data) == [["A1", "A2"], ["甲", None], [None, "说明"]]

    pqf = tmp_path / "交换日志.parquet"
    pq.write_table(pa.table({"交换流水号": ["A1", "A2"], "提供部门": ["甲", None], "次数": [1, None]}), pqf)
    (sheet,) = read_file(str(pqf), pqf.name)
    data, _, _ = sheet.data(0, 3)
    assert data[0].tolist() == ["A1", "A2"] and data[1].tolist() == ["甲", None]
    assert data[1].dtype == object and data[2].tolist() == [1, None]


def test_a_csv_exchange_with_an_empty_department_is_still_the_same_defect(tmp_path):
    csv = tmp_path / "交换日志_202610.csv"
    csv.write_text("交换流水号,交换时间,信息资源代码,提供部门,使用部门,交换通道,交换结果,记录数\n"
                   "EX1,2026-10-08 09:00:00,101001001/000012,广州市公安局,,共享平台,成功,3\n", encoding="utf-8")
    frame, defects, _ = read_table(csv, None, "exchanges")
    assert frame["使用部门"].isna().all() and frame["交换时间"].dtype == "datetime64[ns]"
    assert defects[["row", "column", "problem"]].values.tolist() == [[2, "使用部门", "使用部门为空"]]


def test_code_checks_on_read_only_arrays():
    codes = pd.Series(["91440101MA59XXXX0X", None, "abc"], dtype=object)
    arr = codes.to_numpy()
    assert not uscc_valid(codes).any() and len(arr) == 3          # no "output array is read-only"


def test_empty_date_mapping_maps_to_nat():
    out = map_dates(pd.Series(["a", "b"], dtype="category"), pd.Series([], dtype="datetime64[ns]"))
    assert out.dtype == "datetime64[ns]" and out.isna().all()
    out = map_dates(pd.Series(["a", "b"], dtype=object),
                    pd.Series(pd.to_datetime(["2026-10-01"]), index=["a"]))
    assert out.dtype == "datetime64[ns]" and out.iloc[0] == pd.Timestamp("2026-10-01") and pd.isna(out.iloc[1])


def _old_quick_extent():
    """The quick bound as it was before issue 10 (from git), to compare with."""
    src = subprocess.run(["git", "show", "f0da94f:checker/load/safety.py"], capture_output=True, text=True,
                         cwd=ROOT).stdout
    if not src:
        return None
    mod = types.ModuleType("checker.load._old_safety")
    mod.__package__ = "checker.load"
    exec(compile(src, "old_safety", "exec"), mod.__dict__)
    return mod._quick_extent


def _sheet_xml(tmp_path, body: str, dimension: str | None = "A1:C3") -> zipfile.ZipFile:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    xml = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
           f'spreadsheetml/2006/main">{dim}<sheetData>{body}</sheetData></worksheet>')
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
    return zipfile.ZipFile(path)


def test_quick_extent_bounds(tmp_path):
    cases = [
        ('<row r="1"><c r="A1"><v>1</v></c><c r="C1"><v>2</v></c></row><row r="7"><c r="B7"/></row>', "A1:C7", (7, 3)),
        ('<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>', None, (2, 3)),
        ("<x:row r='2'><x:c r='ab20'><x:v>1</x:v></x:c></x:row><ROW R=\"5\"></ROW>", "A1:B2", (20, 28)),
        ('<row r="3"><c r="A3"/><c s="1"/><c r="ZZ9"/></row><row/>', "A1:AAA4000", (4001, 703)),
    ]
    old = _old_quick_extent()
    for body, dim, want in cases:
        zf = _sheet_xml(tmp_path, body, dim)
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        got = safety._quick_extent(zf, info)
        assert got[0] >= want[0] and got[1] >= want[1], (body, got)
        if old is not None:
            assert got == old(zf, info), body


def test_quick_extent_of_a_written_workbook_matches_its_cells(tmp_path):
    wb = Workbook()
    ws = wb.active
    for r in range(1, 301):
        ws.append([f"名称{r}", r, None, "x" if r % 7 == 0 else None])
    ws["H1000"] = "far"
    path = tmp_path / "b.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if re.search(r"worksheets/sheet\d+\.xml$", i.filename))
        quick = safety._quick_extent(zf, info)
        assert quick == (1000, 8) == safety._precise_extent(zf, info)
        old = _old_quick_extent()
        if old is not None:
            assert old(zf, info) == quick
    assert np.prod(quick) < safety.MAX_SHEET_CELLS


def test_repeated_csv_texts_share_one_string(tmp_path):
    """The CSV's text is spread from an Arrow dictionary: a repeated department name is one Python string (pandas
    2's to_pandas did the same; pandas 3's astype(object) made one per cell, 0.9 GB more on a 1M-row month)."""
    csv = tmp_path / "交换日志.csv"
    csv.write_text("交换流水号,提供部门\n" + "".join(f"A{i},广州市公安局\n" for i in range(50)), encoding="utf-8")
    (sheet,) = read_file(str(csv), csv.name)
    data, _, _ = sheet.data(0, 2)
    dept = data[1].tolist()
    assert dept == ["广州市公安局"] * 50 and all(v is dept[0] for v in dept)
    assert len({id(v) for v in data[0]}) == 50
