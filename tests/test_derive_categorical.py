"""The derive helpers that work on category codes give what the plain object operations give."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from checker.engine.derivations._util import map_dates as _map_dates, map_values as _map_values, same_values as _same, sorted_codes as _sorted_codes

VALS = st.lists(st.one_of(st.none(), st.sampled_from(["甲", "乙", "丙", "SQ-1", "SQ-2", "b", "a"])), max_size=60)


def _cat(values):
    return pd.Series(values, dtype=object).astype("category")


@settings(max_examples=80, deadline=None)
@given(VALS, VALS)
def test_same_matches_object_equality(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    want = [x is not None and x == y for x, y in zip(a, b)]
    for left in (pd.Series(a, dtype=object), _cat(a)):
        for right in (pd.Series(b, dtype=object), _cat(b)):
            assert _same(left, right).tolist() == want


@settings(max_examples=80, deadline=None)
@given(VALS)
def test_map_values_and_dates_on_categories(a):
    mapping = pd.Series({"SQ-1": "市公安局", "SQ-2": "市民政局", "甲": "市公安局"})
    dates = pd.Series({"SQ-1": pd.Timestamp("2026-10-09"), "乙": pd.NaT})
    plain = pd.Series(a, dtype=object)
    assert _map_values(_cat(a), mapping).astype(object).where(lambda s: s.notna(), None).tolist() == \
        plain.map(mapping).astype(object).where(lambda s: s.notna(), None).tolist()
    got = _map_dates(_cat(a), dates)
    want = pd.to_datetime(plain.map(dates))
    assert got.isna().tolist() == want.isna().tolist()
    assert (got[got.notna()] == want[want.notna()]).all()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["乙", "甲", "b", "a", "SQ-10", "SQ-2"]), max_size=60))
def test_sorted_codes_same_numbering(a):
    c1, v1 = _sorted_codes(_cat(a))
    c2, v2 = _sorted_codes(pd.Series(a, dtype=object))
    assert [v1[i] for i in c1] == [v2[i] for i in c2] == a
    # numbering follows the sorted values in both
    assert list(np.argsort([v1[i] for i in c1], kind="stable")) == list(np.argsort(c1, kind="stable"))
