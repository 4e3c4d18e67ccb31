"""issue 10, item 1: emptiness of long text columns is judged in bulk through pyarrow, exactly as before."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

import checker.load as L


def _reference(s: pd.Series) -> pd.Series:       # the per-value definition (the slow path)
    filled = s.notna()
    return filled & s.ne("") & ~s.str.isspace().eq(True)


def test_space_class_is_exactly_python_isspace():
    r = re.compile(L.SPACE_CLASS)
    for i in range(0x110000):
        if 0xD800 <= i < 0xE000:
            continue
        c = chr(i)
        assert (r.fullmatch(c) is not None) == c.isspace(), hex(i)


def test_bulk_nonempty_matches_the_per_value_definition():
    cells = ["部门", "", " ", "\u3000", "\u3000\u3000 \t", "\n", "\x1c", "\u200b", " a ", None, float("nan"), pd.NA,
             "\u00a0", "\u2028x", "0", "-"]
    s = pd.Series(cells * 400, dtype=object)                 # long enough for the bulk path
    fast = L._nonempty_arrow(s)
    assert fast is not None                                 # the bulk path really ran
    assert fast.tolist() == _reference(s).tolist()
    assert L._nonempty(s).tolist() == _reference(s).tolist()
    # a pattern check: the full-width blank and the zero-width space are judged as Python does
    assert fast.iloc[:4].tolist() == [True, False, False, False] and bool(fast.iloc[7]) is True


def test_mixed_and_odd_columns_fall_back_to_the_slow_path():
    mixed = pd.Series([1, "a", None, " ", 2.5, pd.Timestamp("2026-10-01")] * 1000, dtype=object)
    assert L._nonempty_arrow(mixed) is None
    assert L._nonempty(mixed).tolist() == [True, True, False, False, True, True] * 1000
    bad = pd.Series(["\ud800", " "] * 3000, dtype=object)   # a lone surrogate cannot become Arrow text
    assert L._nonempty_arrow(bad) is None
    assert L._nonempty(bad).tolist() == [True, False] * 3000
    empty = pd.Series([None] * 5000, dtype=object)
    assert not L._nonempty(empty).any()


def test_blank_rows_of_a_long_csv_are_still_dropped(tmp_path):
    n = 5000
    rows = ["交换流水号,交换时间,信息资源代码,提供部门,使用部门,交换通道,是否涉密,申请编号,用途,记录数,交换结果"]
    for i in range(n):
        rows.append(f"EX{i:07d},2026-10-08 09:00:00,R{i % 50:04d},甲局,乙局,共享平台,否,SQ{i:05d},核验,10,成功")
        if i % 1000 == 0:
            rows.append("\u3000,  , ,,,,,,,,")                # a blank line of full-width and plain spaces
    p = tmp_path / "交换日志_202610.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    res = L.load_inputs([p], require=False)
    assert len(res.tables["exchanges"]) == n
    assert np.all(res.tables["exchanges"]["交换流水号"].notna())
