"""Issue 10: a GB18030 CSV is split into records by pyarrow from its bytes, and each distinct value is decoded
once (``readers._gb18030_cells``). It must read exactly what pyarrow's transcoding read gives: the same cells,
row numbers, defects and errors, on hostile values too."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.errors import InputError
from checker.load import readers

HEADER = ["交换流水号", "交换时间", "信息资源代码", "提供部门", "使用部门", "用途"]
ALPHABET = "广州市天河区人民政府办事处用于一网通办𠀀𪚥€é·—“”，。、ＡＢ１２ abcXYZ0123456789,\"'\n\t;|\\\x07\x1f"
cell = st.text(ALPHABET, max_size=12)


def _write(path, rows, delimiter=","):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("gb18030"))


def _read(path, raw: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not raw:
            m.setattr(readers, "_GB18030_SAFE_DELIMITERS", ())
        calls = []
        real = readers._gb18030_cells
        def spy(tbl):
            got = real(tbl)
            calls.append(got[0] is not None)            # (True: the byte reading was kept)
            return got
        m.setattr(readers, "_gb18030_cells", spy)
        sheet = readers.read_file(str(path), path.name)[0]
        try:
            df, rows, defects = sheet.data(0, len(HEADER))
        except InputError as exc:
            return ("error", str(exc)), calls
        return (df, rows.tolist(), defects, bool(sheet.controls)), calls


def _same(path, monkeypatch) -> bool:
    """Both readings alike; True when the byte reading was taken."""
    fast, calls = _read(path, True, monkeypatch)
    slow, _ = _read(path, False, monkeypatch)
    if isinstance(fast[0], str) or isinstance(slow[0], str):
        assert fast == slow
        return any(calls)
    pd.testing.assert_frame_equal(fast[0], slow[0], check_exact=True)
    assert [str(t) for t in fast[0].dtypes] == [str(t) for t in slow[0].dtypes]
    assert fast[1:] == slow[1:]
    return any(calls)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cell, min_size=6, max_size=6), min_size=1, max_size=30), st.sampled_from([",", "\t", ";", "|"]))
def test_byte_reading_equals_transcoding(tmp_path_factory, monkeypatch, rows, delimiter):
    path = tmp_path_factory.mktemp("gb") / "交换日志.csv"
    _write(path, [["JH1"] + r[1:] for r in rows], delimiter)
    _same(path, monkeypatch)


def test_a_long_repetitive_month_is_read_from_bytes(tmp_path, monkeypatch):
    rows = [[f"JH{i:07d}", f"2026-10-{i % 28 + 1:02d} 08:00:00", f"3008{i % 50:02d}/0136{i % 7}",
             "广州市天河区人民政府五山街道办事处", "广州市残疾人联合会" if i % 3 else "广州市𠀀局",
             "用于“一网通办”材料免提交，含逗号" if i % 5 else ""] for i in range(20000)]
    _write(tmp_path / "交换日志.csv", rows)
    assert _same(tmp_path / "交换日志.csv", monkeypatch)
    df = _read(tmp_path / "交换日志.csv", True, monkeypatch)[0][0]
    assert isinstance(df[3].dtype, pd.CategoricalDtype) and df.iloc[0, 4] == "广州市𠀀局" and df.iloc[1, 4] == "广州市残疾人联合会"


def test_undecodable_bytes_are_worded_as_before(tmp_path, monkeypatch):
    good = "交换流水号,交换时间,信息资源代码,提供部门,使用部门,用途\r\n" + "JH1,2026-10-01,1,广州市,广州市,用于\r\n" * 12000
    data = good.encode("gb18030") + b"JH2,2026-10-02,2,\x81,\xfe\xff,x\r\n"        # (beyond the 256 KiB read first)
    (tmp_path / "a.csv").write_bytes(data)
    fast, calls = _read(tmp_path / "a.csv", True, monkeypatch)
    assert calls == [False] and isinstance(fast[0], str) and "CSV 无法解析" in fast[1]
    assert not _same(tmp_path / "a.csv", monkeypatch)             # (the transcoding read said it)


def test_a_short_row_and_a_total_row_go_the_record_way(tmp_path, monkeypatch):
    rows = [["JH1", "2026-10-01", "1", "广州市", "广州市", "用于"], ["JH2", "2026-10-02"], ["合计", "2"]]
    _write(tmp_path / "a.csv", rows)
    _same(tmp_path / "a.csv", monkeypatch)
