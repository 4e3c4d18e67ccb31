"""Bulk (pyarrow) paths of the coercion (issue 10 item 1) give exactly what the general path gives: a long column
is coerced once in bulk and once in short pieces (below the bulk threshold, so the general path), and the values
and unreadable masks must agree cell by cell."""
from __future__ import annotations

import numpy as np
import pandas as pd

import checker  # noqa: F401
from checker.load import coerce
from checker.text import nfkc_strip, norm_code

N = 20_000


def _mixed(values: list, clean: np.ndarray, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    col = clean.astype(object).copy()
    idx = rng.choice(len(col), len(col) // 10, replace=False)
    col[idx] = np.asarray(values, dtype=object)[rng.integers(0, len(values), len(idx))]
    return pd.Series(col, dtype=object)


def _in_pieces(fn, s: pd.Series, **kw):
    parts = [fn(s.iloc[i:i + 1000].reset_index(drop=True), **kw) for i in range(0, len(s), 1000)]
    if isinstance(parts[0], tuple):
        return tuple(pd.concat([p[k] for p in parts], ignore_index=True) for k in range(len(parts[0])))
    return pd.concat(parts, ignore_index=True)


def test_parse_int_in_bulk_equals_the_general_path():
    rng = np.random.default_rng(1)
    clean = rng.integers(0, 10 ** 6, N).astype(str)
    odd = ["1,234", "１２", "1.5", "x", None, "/", " 7 ", "0012", "-3", "+4", "999999999999999", "1e3", "", "12.0",
           "9999999999999999999"]
    s = _mixed(odd, clean)
    v_bulk, b_bulk = coerce.parse_int(s)
    v_gen, b_gen = _in_pieces(coerce.parse_int, s)
    assert coerce._digits_in_bulk(s) is not None           # the bulk path was taken
    assert str(v_bulk.dtype) == "Int64" and v_bulk.equals(v_gen) and b_bulk.equals(b_gen)
    assert v_bulk[s.eq("0012")].eq(12).all() and b_bulk[s.eq("x")].all() and not b_bulk[s.eq("/")].any()


def test_parse_datetime_in_bulk_equals_the_general_path():
    rng = np.random.default_rng(2)
    ts = (pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(0, 31 * 86400, N), unit="s"))
    clean = np.asarray(ts.strftime("%Y-%m-%d %H:%M:%S"), dtype=object)
    odd = ["2026-02-30", "2026-10-08", "2026/10/08", "2026年10月8日", "20261008", "/", "无", " 2026-10-08 ", "x",
           None, "2026-10-08T09:00:00+00:00", "2026-13-01 00:00:00", "１２", "2026-10-08 25:00:00", "45000"]
    s = _mixed(odd, clean)
    assert coerce._iso_in_bulk(s) is not None
    for date_only in (False, True):
        v_bulk, b_bulk = coerce.parse_datetime(s, date_only=date_only)
        v_gen, b_gen = _in_pieces(coerce.parse_datetime, s, date_only=date_only)
        assert v_bulk.dtype == "datetime64[ns]" and v_bulk.equals(v_gen) and b_bulk.equals(b_gen)
    v, bad = coerce.parse_datetime(s)
    assert bad[s.eq("2026-02-30")].all() and not bad[s.eq("/")].any() and v[s.eq("2026-10-08")].notna().all()
    # a column with number or date cells (Excel) keeps the general path
    assert coerce._iso_in_bulk(pd.Series(list(clean[:5000]) + [45000], dtype=object)) is None


def test_high_cardinality_text_skips_the_factorisation_with_the_same_result():
    codes = pd.Series([f"ex{n:08d} " if n % 97 else f"ＥＸ {n}" for n in range(N)], dtype=object)
    for fn in (norm_code, nfkc_strip):
        assert fn(codes).equals(_in_pieces(fn, codes))
    assert norm_code(codes).iloc[1] == "EX00000001" and nfkc_strip(codes).iloc[97] == "EX 97"
