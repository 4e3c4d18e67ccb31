"""Issue 10: loading in two lanes (``checker.load.lanes``: a forked worker reads some files while this process
reads the others) gives exactly what loading in one lane gives: tables, dtypes, defects, input entries, errors."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import checker.load as loader
from checker import forks
from checker.errors import InputError
from checker.load import lanes, load_inputs
from checker.templates import write_templates

from .test_multipart import SAMPLE, split_sample


@pytest.fixture
def two_lanes(monkeypatch):
    """Lanes on for every month (pytest-xdist runs threads of its own; the sample month is small); returns the
    number of files each load got from its worker."""
    monkeypatch.setattr(lanes, "MIN_BYTES", 0)
    monkeypatch.setattr(forks, "other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    counts: list[int] = []
    exit_ = lanes.Lanes.__exit__

    def recording_exit(self, *exc):
        counts.append(self.from_workers)
        return exit_(self, *exc)

    monkeypatch.setattr(lanes.Lanes, "__exit__", recording_exit)
    return counts


def serially(fn, *args, **kw):
    """``fn(*args, **kw)`` with ``SHARECHECK_WORKERS=1`` (one lane everywhere)."""
    old = os.environ.get("SHARECHECK_WORKERS")
    os.environ["SHARECHECK_WORKERS"] = "1"
    try:
        return fn(*args, **kw)
    finally:
        os.environ["SHARECHECK_WORKERS"] = old if old is not None else ""


def one_lane(*args, **kw):
    return serially(load_inputs, *args, **kw)


def assert_same(a, b) -> None:
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        x, y = a.tables[name], b.tables[name]
        assert [str(t) for t in x.dtypes] == [str(t) for t in y.dtypes], name
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    pd.testing.assert_frame_equal(a.defects, b.defects, check_exact=True)
    assert a.inputs == b.inputs


def careless_month(dst: Path) -> Path:
    """The sample month as auditors hand it in on a bad day: the exchange log in three parts (one with its columns
    reversed) plus an identical copy of a part, an unfilled template beside the real disputes export, a file
    that is no table, and a spreadsheet of notes."""
    split_sample(dst)
    shutil.copy(dst / "交换日志" / "2026-10-01.csv", dst / "交换日志" / "2026-10-01 (1).csv")
    write_templates(dst / "模板", ["disputes"])
    (dst / "说明.csv").write_text("说明,内容\n本月,按时报送\n", encoding="utf-8")
    return dst


def test_sample_month_in_two_lanes_is_the_one_lane_month(two_lanes):
    assert_same(load_inputs([str(SAMPLE)]), one_lane([str(SAMPLE)]))
    assert two_lanes and two_lanes[0] >= 1                # (the worker really read some files)


def test_careless_month_in_two_lanes(tmp_path, two_lanes):
    m = careless_month(tmp_path / "m")
    got = load_inputs([str(m)])
    assert_same(got, one_lane([str(m)]))
    assert two_lanes[0] >= 1
    notes = [e["note"] for e in got.inputs if e["table"] is None]
    assert any("只计一次" in n for n in notes) and any("按未提供处理" in n for n in notes)


def test_table_override_in_two_lanes(tmp_path, two_lanes):
    m = careless_month(tmp_path / "m")
    over = {"disputes": (str(m / "数据异议.csv"), None)}
    assert_same(load_inputs([str(m)], over), one_lane([str(m)], over))


def _error(fn, *args) -> str:
    with pytest.raises(InputError) as e:
        fn(*args)
    return str(e.value)


def test_errors_in_two_lanes_are_the_one_lane_errors(tmp_path, two_lanes):
    # a workbook that cannot be read, and a part without a required column: the first in file order is said
    m = careless_month(tmp_path / "m")
    df = pd.read_csv(m / "交换日志" / "2026-10-02.csv", dtype=str, keep_default_na=False)
    df.drop(columns=["时间"]).to_csv(m / "交换日志" / "2026-10-02.csv", index=False)
    part = _error(load_inputs, [str(m)])
    assert part == _error(one_lane, [str(m)]) and "2026-10-02.csv" in part and "交换时间" in part
    (m / "业务信息系统.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    broken = _error(load_inputs, [str(m)])
    assert broken == _error(one_lane, [str(m)]) and "业务信息系统.xlsx" in broken


def _dies_in_worker(real, shown, stub, **kw):
    if stub:                                  # (only the worker is asked for stubs)
        os._exit(3)
    return _prepare(real, shown, stub, **kw)


_prepare = loader._prepare_file


def test_a_worker_that_dies_leaves_the_files_to_this_process(tmp_path, two_lanes, monkeypatch):
    m = careless_month(tmp_path / "m")
    monkeypatch.setattr(loader, "_prepare_file", _dies_in_worker)
    assert_same(load_inputs([str(m)]), one_lane([str(m)]))
    assert two_lanes == [0]


def test_lanes_split_by_cost(tmp_path):
    sizes = {"a.csv": 100, "b.xlsx": 10, "c.csv": 60, "d.csv": 50}
    files = []
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
        files.append((str(tmp_path / name), name))
    here, theirs = lanes.split(files, 1)
    # costs: b 200, a 100, c 60, d 50 -> b here; a, c, d to the worker (100, 160, 210 against 200)
    assert [files[i][1] for i in here] == ["b.xlsx"] and [files[i][1] for i in theirs] == ["a.csv", "c.csv", "d.csv"]
    here, theirs = lanes.split(files, 2)            # b here; a, c to the two workers, d to the one with c (60)
    assert [files[i][1] for i in here] == ["b.xlsx"] and [files[i][1] for i in theirs] == ["a.csv", "c.csv", "d.csv"]


def test_no_worker_where_forking_is_unsafe_or_does_not_pay(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_bytes(b"x" * (lanes.MIN_BYTES + 1))
    (tmp_path / "b.csv").write_bytes(b"x")
    files = [(str(tmp_path / "a.csv"), "a.csv"), (str(tmp_path / "b.csv"), "b.csv")]
    monkeypatch.setattr(forks, "other_threads", lambda: False)
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    assert lanes.workers(files) == 1
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    assert lanes.workers(files) == 0
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    assert lanes.workers(files[:1]) == 0                        # one file: nothing to share
    monkeypatch.setattr(forks, "other_threads", lambda: True)   # the portal's worker threads, a Dask client
    assert lanes.workers(files) == 0
    monkeypatch.setattr(forks, "other_threads", lambda: False)
    monkeypatch.setattr(lanes, "MIN_BYTES", 1 << 40)
    assert lanes.workers(files) == 0
