"""Issue 10: an Excel sheet's grid is built in bulk from calamine's cells (``readers._calamine_grid``). It must be
the grid pandas' ``read_excel(header=None, dtype=object)`` gives: the same cells, of the same types."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from checker.load import readers

pytestmark = pytest.mark.skipif(not readers._PANDAS_CELLS, reason="pandas 2 parses every sheet itself")

value = st.one_of(
    st.none(), st.booleans(), st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 2.5, -0.0, 1e20]),
    st.sampled_from(["", " ", "NA", "N/A", "null", "None", "nan", "NaN", "#N/A", "<NA>", "na", "NULL ", "0", "1",
                     "TRUE", "\ufeff部门", "\ufeff", "广州市", "2026-10-08", "是"]),
    st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 12, 31)).map(lambda d: d.replace(microsecond=0)),
    st.sampled_from([dt.time(9, 30), dt.timedelta(hours=3)]),
)


def _both(path):
    xf = pd.ExcelFile(path, engine="calamine")
    name = xf.sheet_names[0]
    theirs = pd.read_excel(xf, sheet_name=name, header=None, dtype=object)
    ours = readers._parse_grid(xf, name)
    return ours, theirs


def _same(ours, theirs):
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert [[type(v) for v in r] for r in ours.itertuples(index=False)] == \
        [[type(v) for v in r] for r in theirs.itertuples(index=False)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(value, min_size=1, max_size=6), min_size=1, max_size=12))
def test_grid_is_pandas_grid(tmp_path_factory, rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    path = tmp_path_factory.mktemp("grid") / "a.xlsx"
    wb.save(path)
    _same(*_both(path))


def test_bulk_grid_is_taken(tmp_path, monkeypatch):
    wb = Workbook()
    ws = wb.active
    ws.append(["部门", "是否", "数"])
    for i in range(300):
        ws.append([f"广州市{i % 7}局", [1, True, 0, False][i % 4], i * 1.5 if i % 9 else "NA"])
    wb.save(tmp_path / "a.xlsx")
    calls = []
    real = readers._calamine_grid
    monkeypatch.setattr(readers, "_calamine_grid", lambda rows: calls.append(1) or real(rows))
    ours, theirs = _both(tmp_path / "a.xlsx")
    _same(ours, theirs)
    assert calls and readers._calamine_grid is not real
    assert type(ours.iat[1, 1]) is int and type(ours.iat[2, 1]) is bool and type(ours.iat[2, 2]) is float
    assert np.isnan(ours.iat[10, 2]) and ours.iat[9, 2] == 12
