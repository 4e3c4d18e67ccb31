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


def test_folded_partials_as_they_arrive_equal_all_of_them(loaded, tmp_path):
    """The dask engine folds the partials in part order as the partitions arrive (out of order, a few at a time)
    and, when a partition is read again without its duplicate keys, folds again from the spilled originals: the
    run is the one that gets every partition's partials at once."""
    from types import SimpleNamespace

    from checker.dask_engine import _Fold
    pack = load_pack("gz165", None)
    cal = Calendar.load(None)
    small = {n: f for n, f in loaded.tables.items() if n != "exchanges"}
    given = set(loaded.tables)
    pieces = _split(loaded.tables["exchanges"], 13)
    again = pieces[5].iloc[: len(pieces[5]) // 2].reset_index(drop=True)     # partition 5, read again smaller
    assert len(again) and any(len(p) for p in pieces)

    def part(frame):
        return evaluate_part({**small, "exchanges": frame}, pack, "2026-10", None, cal, loaded.defects,
                             "exchanges", given)

    def run(pes):
        return evaluate(loaded.tables, pack, "2026-10", None, cal, defects=loaded.defects, parts={"exchanges": pes})

    expected_parts = [part(p) for p in pieces[:5]] + [part(again)] + [part(p) for p in pieces[6:]]
    summaries = _all_at_once(expected_parts)
    expected = run(expected_parts)
    first = [part(p) for p in pieces]
    fold = _Fold(str(tmp_path), batch=5)
    for i in [1, 0, 2, 3, 5, 4, 6, 8, 7, 9, 10, 12, 11]:             # arrivals, out of order (one left over)
        fold.add(i, SimpleNamespace(entry={}, part=first[i]))
    assert all(not pe.partials for pe in first)                         # handed over to the fold
    redone = part(again)
    fold.redo({5: SimpleNamespace(entry={}, part=redone)})
    pes = first[:5] + [redone] + first[6:]
    pes[0].partials = fold.result()
    _same_summaries(pes[0].partials, summaries)
    got = run(pes)
    assert len(expected.findings) > 20
    for name in ("findings", "checked", "pending", "skipped"):
        pd.testing.assert_frame_equal(getattr(expected, name).astype(object), getattr(got, name).astype(object),
                                      check_dtype=False, obj=name)
    # and without a redo: the fold of the first reading is the first reading's run
    fold = _Fold(str(tmp_path / "b"), batch=4)
    (tmp_path / "b").mkdir()
    whole = [part(p) for p in pieces]
    plain_parts = [part(p) for p in pieces]
    summaries = _all_at_once(plain_parts)
    plain = run(plain_parts)
    for i in reversed(range(len(pieces))):
        fold.add(i, SimpleNamespace(entry={}, part=whole[i]))
    whole[0].partials = fold.result()
    _same_summaries(whole[0].partials, summaries)
    pd.testing.assert_frame_equal(plain.findings.astype(object), run(whole).findings.astype(object),
                                  check_dtype=False)


def _all_at_once(pes) -> dict:
    """Every view's summaries of all the partitions combined in one go (what the fold must equal)."""
    from checker.engine.derive import view_builder
    keys = dict.fromkeys(k for pe in pes for k in pe.partials)
    assert keys
    return {k: view_builder(k[0]).combine([pe.partials[k] for pe in pes if k in pe.partials]) for k in keys}


def _same_summaries(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        if isinstance(v, pd.DataFrame):
            pd.testing.assert_frame_equal(got[k].reset_index(drop=True), v.reset_index(drop=True), obj=str(k))
        else:
            for a, b in zip(got[k] if isinstance(v, list) else [got[k]], v if isinstance(v, list) else [v]):
                pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), obj=str(k))
