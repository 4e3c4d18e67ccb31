"""Coercion properties: every accepted date/datetime/bool spelling parses back to its value."""
import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from checker.load.coerce import BOOL_FALSE, BOOL_TRUE, parse_bool, parse_datetime, parse_int, parse_sharetype

EPOCH = dt.date(1899, 12, 30)


def _forms(d: dt.date) -> list:
    serial = (d - EPOCH).days
    return [d, dt.datetime(d.year, d.month, d.day), f"{d:%Y-%m-%d}", f"{d.year}/{d.month}/{d.day}",
            f"{d:%Y.%m.%d}", f"{d.year}年{d.month}月{d.day}日", f"{d:%Y%m%d}", str(serial), serial, float(serial),
            f"{serial}.0", f" {d:%Y-%m-%d}\u3000", f"{d:%Y-%m-%d}".translate(str.maketrans("0123456789-",
                                                                                            "０１２３４５６７８９－"))]


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_date_round_trip_every_form(d):
    forms = _forms(d)
    out, bad = parse_datetime(pd.Series(forms, dtype=object), date_only=True)
    assert not bad.any()
    assert (out == pd.Timestamp(d)).all(), out


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda x: x.replace(microsecond=0)))
def test_datetime_round_trip(x):
    forms = [x, f"{x:%Y-%m-%d %H:%M:%S}", f"{x.year}/{x.month}/{x.day} {x.hour}:{x:%M:%S}",
             f"{x:%Y%m%d} {x:%H:%M:%S}", f"{x:%Y-%m-%dT%H:%M:%S}",
             (x - dt.datetime(1899, 12, 30)).total_seconds() / 86400]
    out, bad = parse_datetime(pd.Series(forms, dtype=object))
    assert not bad.any()
    assert (out == pd.Timestamp(x)).all(), (out, x)
    minutes = parse_datetime(pd.Series([f"{x:%Y-%m-%d %H:%M}"]))[0].iloc[0]
    assert minutes == pd.Timestamp(x).floor("min")


def test_datetime_date_only_text_is_midnight_and_bad_values():
    out, bad = parse_datetime(pd.Series(["2026-10-08", "2026-10-08 25:00", "2026-13-01", "abc", "", None, "0",
                                         "123456", dt.time(10, 0), "2026-10"], dtype=object))
    assert out.iloc[0] == pd.Timestamp("2026-10-08")
    assert out.iloc[1:].isna().all()
    assert bad.tolist() == [False, True, True, True, False, False, True, True, True, True]


@given(st.sampled_from(BOOL_TRUE + BOOL_FALSE), st.sampled_from(["", " ", "\u3000"]), st.booleans())
def test_bool_spellings(word, pad, lower):
    w = word.lower() if lower else word
    out, bad = parse_bool(pd.Series([pad + w + pad]))
    assert not bad.iloc[0]
    assert out.iloc[0] == (word in BOOL_TRUE)


def test_bool_cells_and_unknown():
    out, bad = parse_bool(pd.Series([True, False, 1, 0, 1.0, "是", "否", "也许", None, ""], dtype=object))
    assert out.iloc[:7].tolist() == [True, False, True, False, True, True, False]
    assert out.iloc[7:].isna().all()
    assert bad.tolist() == [False] * 7 + [True, False, False]
    assert str(out.dtype) == "boolean"


def test_int_and_sharetype():
    out, bad = parse_int(pd.Series(["1,234", 12, 12.0, "１２", "1.5", "x", None], dtype=object))
    assert out.iloc[:4].tolist() == [1234, 12, 12, 12] and out.iloc[4:].isna().all()
    assert bad.tolist() == [False] * 4 + [True, True, False]
    st_ = parse_sharetype(pd.Series(["1", "01", 2, "有条件", " 不予共享 ", "３", "部分", None], dtype=object))
    assert st_.tolist() == ["无条件共享", "无条件共享", "有条件共享", "有条件共享", "不予共享", "不予共享", "部分",
                            None]


def test_coercion_is_vectorised_enough_on_a_large_frame():
    # behaviour at scale (not timing): 200k mixed rows parse identically to the small case
    n = 200_000
    s = pd.Series(np.tile(np.array(["2026-10-08 10:00:00", "20261008", "bad"], dtype=object), n // 3 + 1)[:n])
    out, bad = parse_datetime(s)
    assert bad.sum() == (s == "bad").sum()
    assert out[s == "20261008"].eq(pd.Timestamp("2026-10-08")).all()


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-10**9, 10**9), st.sampled_from([1.0, 2.5, -3.0, float("nan")])),
                max_size=100))
def test_parse_int_number_cells_same_as_text(cells):
    """Number cells (Parquet/Excel) take a fast path; the result equals reading the same values as text."""
    from checker.load.coerce import parse_int
    as_obj = pd.Series(cells, dtype=object)
    as_txt = pd.Series([None if c is None or c != c else (str(int(c)) if float(c).is_integer() else str(c))
                        for c in cells], dtype=object)
    (v1, b1), (v2, b2) = parse_int(as_obj), parse_int(as_txt)
    assert v1.tolist() == v2.tolist() and b1.tolist() == b2.tolist()


def test_parse_bool_real_booleans_with_gaps():
    from checker.load.coerce import parse_bool
    val, bad = parse_bool(pd.Series([True, None, False, True], dtype=object))
    assert val.tolist() == [True, pd.NA, False, True] and not bad.any()
