"""issue 10, item 1: repetitive text columns of CSV and Parquet exports stay dictionary-encoded (a categorical of
str) from the read onwards. Every reading of such a column must equal the reading of the object column it stands
for: values, dtypes, category order, defects (file, row, wording)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import checker.load as L
from checker import schema, text
from checker.load import coerce, readers

# hostile cells: full-width digits and letters, NBSP and full-width spaces, placeholders, blanks, Excel-ish dates,
# zero-width characters, control characters, thousands separators, bracket forms
HOSTILE = ["１２３", "12", " 12 ", "1,234", "12.0", "12.5", "-", "/", "无", "暂无", "N/A", "－", "——", "", " ", "\u3000",
           "\u00a0", "\u200b", "是", "否", "Y", "n", "√", "×", "未知", "2026-10-08", "2026-10-08 09:00:00",
           "2026/10/8", "2026年10月8日", "20261008", "46303", "2026-13-01", "2026-10-08T09:00:00+00:00",
           "ＡＢＣ", "abc", "共享平台", "共享 平台", "广州市(测试)局", "广州市（测试）局", "R\x00001", "a\x1bb",
           "条件共享", "有条件共享", "不予共享", "无条件", "0"]   # (not 9999-12-31: it crashes parse_datetime, before and after)


def _object_version(monkeypatch):
    monkeypatch.setattr(readers, "CATEGORICAL_SHARE", -1.0)        # never categorical: the former reading


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        assert str(a[c].dtype) == str(b[c].dtype), c
        if isinstance(a[c].dtype, pd.CategoricalDtype):
            assert list(a[c].cat.categories) == list(b[c].cat.categories), c
        assert a[c].astype(object).tolist() == b[c].astype(object).tolist() or a[c].equals(b[c]), c
        if a[c].dtype == object:
            assert [type(v) for v in a[c]] == [type(v) for v in b[c]], c


def _exchanges(n: int, rng: np.random.Generator) -> pd.DataFrame:
    pick = lambda: [HOSTILE[i] for i in rng.integers(0, len(HOSTILE), n)]  # noqa: E731
    return pd.DataFrame({
        "交换流水号": [f"EX{i:07d}" for i in range(n)],
        "交换时间": pick(), "信息资源代码": pick(), "提供部门": pick(), "使用部门": pick(), "交换通道": pick(),
        "是否涉密": pick(), "申请编号": pick(), "用途": pick(), "记录数": pick(), "交换结果": pick()})


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_dictionary_columns_read_as_the_object_columns(tmp_path, monkeypatch, kind):
    df = _exchanges(6000, np.random.default_rng(1))
    df.loc[0, "信息资源代码"] = "必填"                  # a note row at the top: its value is a category of no kept row
    df.loc[5999, "交换流水号"] = "EX0000007"          # a repeated key
    p = tmp_path / f"交换日志_202610.{kind}"
    if kind == "csv":
        df.to_csv(p, index=False, encoding="gb18030")
    else:
        tbl = pa.Table.from_pandas(df, preserve_index=False)
        tbl = tbl.set_column(2, "信息资源代码", pc_dictionary(tbl.column(2)))   # a dictionary-typed column too
        pq.write_table(tbl, p)
    fast, fast_d, _ = L.read_table(p, None, "exchanges")
    assert isinstance(fast["提供部门"].dtype, pd.CategoricalDtype)
    _object_version(monkeypatch)
    slow, slow_d, _ = L.read_table(p, None, "exchanges")
    _same_frames(fast, slow)
    pd.testing.assert_frame_equal(fast_d, slow_d)
    assert len(fast_d)                                   # the hostile cells were reported


def pc_dictionary(col):
    import pyarrow.compute as pc
    return pc.dictionary_encode(col)


def test_raw_columns_are_categorical_only_when_repetitive(tmp_path):
    n = 5000
    df = pd.DataFrame({"a": [f"K{i}" for i in range(n)], "b": ["x", "y", None, ""] * (n // 4)})
    p = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
    raw, _rows, _d = readers.read_file(str(p), "t.parquet")[0].data(0, 2)
    assert raw[0].dtype == object and isinstance(raw[1].dtype, pd.CategoricalDtype)
    assert L.plain_objects(raw[1]).tolist() == ["x", "y", None, ""] * (n // 4)


cells = st.lists(st.sampled_from(HOSTILE + [None]) | st.text(max_size=4), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(cells, st.integers(0, 3))
def test_text_functions_on_a_categorical_equal_the_object_column(values, drop):
    obj = pd.Series(values, dtype=object)
    cat = pd.Series(pd.Categorical(obj.where(obj.notna(), None)))
    if not text.text_categorical(cat):                   # (a lone surrogate or so cannot be a category here)
        return
    cat, obj = cat.iloc[drop:], obj.iloc[drop:]          # rows dropped: categories of no row remain
    for fn in (text.nfkc_strip, text.norm_code, text.norm_key, text.norm_name):
        assert fn(cat).tolist() == fn(obj).tolist()
        if fn is not text.nfkc_strip:                   # as a categorical too (the event tables' codes)
            a, b = fn(cat, True), fn(obj, True)
            assert list(a.cat.categories) == list(b.cat.categories)
            assert a.cat.codes.tolist() == b.cat.codes.tolist()
    assert text.is_missing(cat).tolist() == text.is_missing(obj).tolist()
    assert text.has_control(cat).tolist() == text.has_control(obj).tolist()
    assert L._nonempty(cat).tolist() == L._nonempty(obj).tolist()


@settings(max_examples=120, deadline=None)
@given(cells)
def test_typed_readings_of_a_categorical_equal_the_object_column(values):
    obj = pd.Series(values, dtype=object)
    cat = pd.Series(pd.Categorical(obj))
    if not text.text_categorical(cat):
        return
    t = schema.TABLES["catalog"]
    for col in [c for c in t.columns if c.type in coerce._TYPED][:8] + [schema.TABLES["exchanges"].column("是否涉密")]:
        va, ba = coerce.coerce_column(cat, col)
        vb, bb = coerce.coerce_column(obj, col)
        assert str(va.dtype) == str(vb.dtype)
        assert va.astype(object).where(va.notna(), None).tolist() == vb.astype(object).where(vb.notna(), None).tolist()
        assert (ba is None) == (bb is None)
        if ba is not None:
            assert np.asarray(ba, dtype=bool).tolist() == np.asarray(bb, dtype=bool).tolist()


def test_calamine_cells_as_pandas_converts_them(tmp_path):
    """readers._calamine_cells is pandas' own conversion of calamine's cells (the parse skips its per-cell call)."""
    import datetime as dt
    from openpyxl import Workbook
    if not readers._PANDAS_CELLS:
        pytest.skip("pandas' own conversion is used")
    wb = Workbook()
    ws = wb.active
    ws.append(["文本", 1, 2.0, 2.5, True, False, dt.datetime(2026, 10, 8, 9, 30), dt.date(2026, 10, 8),
               dt.time(9, 30), dt.timedelta(hours=3), None, "", " ", "１２", -0.0, 1e20])
    ws.append([None] * 3 + ["x"])
    p = tmp_path / "cells.xlsx"
    wb.save(p)
    xf = pd.ExcelFile(p, engine="calamine")
    sheet = xf._reader.get_sheet_by_name(xf.sheet_names[0])
    ours = readers._calamine_cells(sheet.to_python(skip_empty_area=False))
    theirs = type(xf._reader).get_sheet_data(xf._reader, sheet)
    assert ours == theirs
    assert [[type(v) for v in r] for r in ours] == [[type(v) for v in r] for r in theirs]


def test_control_characters_and_line_breaks_judged_on_the_cells(tmp_path):
    """The CSV's control characters are looked for in the cells pyarrow read (their distinct values), the quoted line
    breaks counted only when some value holds one; a Parquet file likewise."""
    n = 6000
    df = pd.DataFrame({"交换流水号": [f"EX{i:07d}" for i in range(n)], "交换时间": "2026-10-08 09:00:00",
                       "信息资源代码": [f"R{i % 40:03d}" for i in range(n)], "提供部门": "甲局", "使用部门": "乙局",
                       "交换通道": "共享平台", "是否涉密": "否", "申请编号": "", "用途": "核验", "记录数": "1",
                       "交换结果": "成功"})
    df.loc[4321, "提供部门"] = "甲\x1b局"                    # a control character in a repetitive column
    df.loc[100, "用途"] = "核验\n第二行"                       # a quoted line break: later rows move down a line
    df.loc[0, "交换流水号"] = "EX\x00X"                        # and one in a column of distinct values
    for kind in ("csv", "parquet"):
        p = tmp_path / f"交换日志_202610.{kind}"
        df.to_csv(p, index=False) if kind == "csv" else pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
        frame, defects, _ = L.read_table(p, None, "exchanges")
        ctl = defects[defects["problem"].str.contains("控制字符")]
        assert sorted(ctl["column"]) == ["交换流水号", "提供部门"], kind
        shift = 1 if kind == "csv" else 0
        assert ctl.set_index("column")["row"].to_dict() == {"交换流水号": 2, "提供部门": 4321 + 2 + shift}, kind
        assert frame["提供部门"].astype(object).eq("甲局").all()
        assert frame["_row"].iloc[101] == 101 + 2 + shift and frame["_row"].iloc[100] == 102
