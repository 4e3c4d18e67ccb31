"""Issue 10: the checks in two lanes (``checker.engine.parallel``: a forked worker runs some groups of checks while
this process runs the others) give exactly what one lane gives: every result frame, in the same order, and the
same error where a check fails."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from checker import forks
from checker.calendar import Calendar
from checker.engine import evaluate, load_pack, parallel
from checker.errors import CalendarError
from checker.load import load_inputs

from .test_load_lanes import serially

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "exports"
PACK = load_pack("gz165")
CAL = Calendar.load()


@pytest.fixture(scope="module")
def sample():
    return load_inputs([str(SAMPLE)])


@pytest.fixture
def two_lanes(monkeypatch):
    """Lanes on for the small sample month (pytest-xdist runs threads of its own); records the outcomes that came
    from each lane."""
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(forks, "other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    seen = {}
    real = parallel._take_groups

    def take(groups, run_one, claim):
        out, done = real(groups, run_one, claim)
        seen.setdefault(os.getpid(), []).extend(done)
        return out, done

    monkeypatch.setattr(parallel, "_take_groups", take)
    return seen


def one_lane(*args, **kw):
    return serially(evaluate, *args, **kw)


def assert_same(a, b):
    for k in vars(b):
        x, y = getattr(a, k), getattr(b, k)
        if isinstance(y, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            assert x == y, k


def test_two_lanes_find_what_one_lane_finds(sample, two_lanes):
    got = evaluate(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects)
    assert_same(got, one_lane(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects))
    assert len(got.findings) > 0
    # this process and the worker each ran some groups (the worker's are recorded in its own process)
    assert list(two_lanes) == [os.getpid()] and 0 < len(two_lanes[os.getpid()])
    groups = len({c.view for r in PACK.rules for c in r.checks})
    assert len(two_lanes[os.getpid()]) < groups


def test_a_check_error_is_raised_as_one_lane_raises_it(sample, two_lanes):
    # an as-of date in an uncovered year: a deadline rule needs 2027's working days
    with pytest.raises(CalendarError) as one:
        one_lane(sample.tables, PACK, "2026-12", date(2027, 3, 1), CAL, defects=sample.defects)
    with pytest.raises(CalendarError) as two:
        evaluate(sample.tables, PACK, "2026-12", date(2027, 3, 1), CAL, defects=sample.defects)
    assert str(two.value) == str(one.value) and "2027" in str(two.value)


def _dies():
    os._exit(3)


def test_a_worker_that_dies_leaves_its_groups_to_this_process(sample, two_lanes, monkeypatch):
    monkeypatch.setattr(parallel, "_worker", _dies)
    got = evaluate(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects)
    assert_same(got, one_lane(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects))


def test_no_worker_where_forking_is_unsafe_or_does_not_pay(monkeypatch, sample):
    monkeypatch.setattr(forks, "other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    assert parallel.worth_it(sample.tables)
    monkeypatch.setattr(parallel, "MIN_ROWS", 10 ** 9)
    assert not parallel.worth_it(sample.tables)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    assert not parallel.worth_it(sample.tables)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    monkeypatch.setattr(forks, "other_threads", lambda: True)
    assert not parallel.worth_it(sample.tables)


def test_the_dask_engine_evaluates_in_one_process(sample, two_lanes):
    """The dask engine passes its partitions (a dict, empty when no event table is given): its client runs
    threads, so no lane is forked."""
    got = evaluate(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects, parts={})
    assert two_lanes == {}
    assert_same(got, one_lane(sample.tables, PACK, "2026-10", None, CAL, defects=sample.defects))
