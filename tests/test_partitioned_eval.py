"""Issue 11: the partition-wise evaluation (``evaluate_part`` per partition, ``evaluate(..., parts=)`` adding up)
equals one pass over the whole tables, for every pack, with no Dask involved: the aggregating views' partial
summaries combine to the whole view, checked units add up, findings concatenate in the same order."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.evaluate import evaluate_part
from checker.errors import CalendarError
from checker.load import load_inputs
from checker.model import Period

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "exports"


@pytest.fixture(scope="module")
def loaded():
    return load_inputs([str(SAMPLE)])


def _split(frame: pd.DataFrame, k: int) -> list[pd.DataFrame]:
    cuts = np.linspace(0, len(frame), k + 1).astype(int)
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(cuts[:-1], cuts[1:])]


def _by_parts(lr, pack, period, cal, ks: dict[str, int]):
    small = {n: f for n, f in lr.tables.items() if n not in ks}
    given = set(lr.tables)
    parts = {n: [evaluate_part({**small, n: piece}, pack, period, None, cal, lr.defects, n, given)
                 for piece in _split(lr.tables[n], k)] for n, k in ks.items()}
    # (the partitioned tables stand in as stubs, as on the dask engine: only their presence counts)
    return evaluate(lr.tables, pack, period, None, cal, defects=lr.defects, parts=parts)


@pytest.mark.parametrize("pack_name", ["gz165", "gd-trial", "hz-draft"])
def test_partitions_add_up_to_the_whole(loaded, pack_name):
    pack = load_pack(pack_name, None)
    cal = Calendar.load(None)
    whole = evaluate(loaded.tables, pack, "2026-10", None, cal, defects=loaded.defects)
    parted = _by_parts(loaded, pack, "2026-10", cal, {"exchanges": 4, "updates": 3})
    # (hz-draft's scope leaves the Guangzhou sample's departments out: its findings are counted out of scope)
    assert len(whole.findings) + (whole.out_of_scope or {}).get("findings", 0) > 20
    for name in ("findings", "checked", "pending", "not_checked", "skipped"):
        a, b = getattr(whole, name), getattr(parted, name)
        pd.testing.assert_frame_equal(a.astype(object), b.astype(object), check_dtype=False, obj=name)
    assert whole.out_of_scope == parted.out_of_scope


def test_many_small_partitions_still_add_up(loaded):
    """A fine cut: 25 partitions of ~40 exchanges (most resources' exchanges spread over many partitions)."""
    pack = load_pack("gz165", None)
    cal = Calendar.load(None)
    whole = evaluate(loaded.tables, pack, "2026-10", None, cal, defects=loaded.defects)
    parted = _by_parts(loaded, pack, "2026-10", cal, {"exchanges": 25})
    pd.testing.assert_frame_equal(whole.findings.astype(object), parted.findings.astype(object), check_dtype=False)
    pd.testing.assert_frame_equal(whole.checked, parted.checked, check_dtype=False)


def test_partitions_calendar_errors_join_as_the_whole_tables_error():
    cal = Calendar.load(None)
    errs = []
    for lo, hi in ((2031, 2031), (2029, 2030)):
        with pytest.raises(CalendarError) as e:
            cal._raise_span(lo, hi)
        errs.append(e.value)
    with pytest.raises(CalendarError) as whole:
        cal._raise_span(2029, 2031)
    with pytest.raises(CalendarError) as joined:
        cal.raise_combined(errs)
    assert str(joined.value) == str(whole.value) and joined.value.years == [2029, 2030, 2031]
