"""issue 10, item 3: the workbooks are written in one pass, department workbooks in a pool, widths from a sample.

Every check reads the produced files back (openpyxl and calamine) or compares their bytes."""
from __future__ import annotations

import zipfile
from datetime import date

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from checker.render import write, xlsx, xlsxkit
from tests.demo_report import make_report


def _bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.xlsx"))}


def test_one_pass_save_never_saves_twice(tmp_path, monkeypatch):
    """The old path saved into memory with Workbook.save and re-zipped every member; now openpyxl writes straight
    into the deterministic archive."""
    def refuse(*a, **k):
        raise AssertionError("second pass: Workbook.save called")
    monkeypatch.setattr(openpyxl.Workbook, "save", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "read", refuse)
    p = write(make_report(120), tmp_path, ["xlsx"])[0]
    monkeypatch.undo()
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames[:4] == ["说明", "部门评分", "规则汇总", "问题明细"]
    assert wb.properties.created == wb.properties.modified
    assert wb.properties.created.date() == date(2026, 10, 31)
    assert wb["问题明细"].max_row == 121        # header + the 120 findings (fast body streamed in)
    with zipfile.ZipFile(p) as z:
        infos = z.infolist()
        assert {i.date_time for i in infos} == {(2026, 10, 31, 0, 0, 0)}
        assert {i.external_attr for i in infos} == {0o600 << 16}
        assert b"2026-10-31T00:00:00Z" in z.read("docProps/core.xml")
    cal = CalamineWorkbook.from_path(str(p))
    rows = cal.get_sheet_by_name("问题明细").to_python()
    assert rows[0][0] == "规则编号" and len(rows) == 121


def test_one_pass_save_is_byte_identical_across_runs(tmp_path):
    r = make_report(80)
    a = write(r, tmp_path / "a", ["xlsx"])[0].read_bytes()
    b = write(make_report(80), tmp_path / "b", ["xlsx"])[0].read_bytes()
    assert a == b


def test_failed_save_leaves_no_part_file(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(xlsxkit, "_body_chunks", boom)
    import gc
    import sys
    ignored = []                       # "Exception ignored in …" tracebacks the garbage collector would print
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    with pytest.raises(OSError):
        write(make_report(80), tmp_path, ["xlsx"])
    gc.collect()
    assert not list(tmp_path.rglob("*.part"))
    assert not ignored, [str(u.exc_value) for u in ignored]


def test_department_pool_is_used_and_byte_identical_to_serial(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "_other_threads", lambda: False)     # pytest-xdist runs its own threads
    r = make_report(150)
    monkeypatch.setenv("SHARECHECK_WORKERS", "1")
    assert xlsx.workers_for(50) == 1
    serial = write(r, tmp_path / "serial", ["dept_xlsx"])
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    assert xlsx.workers_for(50) == 2
    import concurrent.futures as cf
    used = []
    real = cf.ProcessPoolExecutor

    class Spy(real):
        def __init__(self, *a, **k):
            used.append(k.get("max_workers"))
            super().__init__(*a, **k)
    monkeypatch.setattr(cf, "ProcessPoolExecutor", Spy)
    pooled = write(r, tmp_path / "pool", ["dept_xlsx"])
    assert used == [2]
    assert [p.name for p in pooled] == [p.name for p in serial] and len(serial) > 2
    assert _bytes(tmp_path / "pool") == _bytes(tmp_path / "serial")
    for p in pooled:                               # every pooled workbook reads back with both readers
        wb = openpyxl.load_workbook(p, read_only=True)
        assert "问题明细" in wb.sheetnames
        wb.close()
        assert "问题明细" in CalamineWorkbook.from_path(str(p)).sheet_names


def test_worker_count_is_bounded(monkeypatch):
    import os
    monkeypatch.delenv("SHARECHECK_WORKERS", raising=False)
    monkeypatch.setattr(xlsx, "_other_threads", lambda: False)
    assert xlsx.workers_for(xlsx.MIN_PARALLEL_DEPARTMENTS - 1) == 1          # a few departments: serial
    assert xlsx.workers_for(1000) == min(len(os.sched_getaffinity(0)), xlsx.MAX_WORKERS)
    monkeypatch.setattr(xlsx, "_other_threads", lambda: True)             # other threads: never fork
    assert xlsx.workers_for(1000) == 1


def test_daemon_timers_do_not_stop_the_pool_but_other_threads_do():
    import threading
    stop = threading.Event()
    daemon = threading.Thread(target=stop.wait, daemon=True)     # like durable_rules' Timer threads
    daemon.start()
    try:
        before = xlsx._other_threads()
        worker = threading.Thread(target=stop.wait)              # a non-daemon thread
        worker.start()
        assert xlsx._other_threads() is True
        result = []
        t = threading.Thread(target=lambda: result.append(xlsx._other_threads()), daemon=True)
        t.start()
        t.join()
        assert result == [True]                                    # not the main thread: never fork
    finally:
        stop.set()
    daemon.join()
    worker.join()
    assert xlsx._other_threads() is before


def test_a_whole_run_uses_the_pool(tmp_path, monkeypatch):
    """pipeline.run (score policies start durable_rules' daemon timers) still writes department workbooks in the
    pool."""
    from pathlib import Path
    from checker import pipeline
    monkeypatch.setenv("SHARECHECK_WORKERS", "2")
    seen = []
    real = xlsx.workers_for
    monkeypatch.setattr(xlsx, "workers_for", lambda n: seen.append(real(n)) or seen[-1])
    sample = Path(__file__).resolve().parent.parent / "fixtures" / "sample" / "exports"
    pipeline.run([sample], "2026-10", out=tmp_path / "out", formats=["dept_xlsx"])
    import threading
    expect = 1 if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()) else 2
    assert seen == [expect]


def test_widths_convert_only_a_bounded_sample(monkeypatch):
    n = 50_000
    frame = pd.DataFrame({"n": pd.array(range(n), dtype="Int64"), "t": ["甲乙"] * n})
    seen = []
    real_map = pd.Series.map

    def spy(self, *a, **k):
        seen.append(len(self))
        return real_map(self, *a, **k)
    monkeypatch.setattr(pd.Series, "map", spy)
    cols = [xlsxkit.Col("n", "编号"), xlsxkit.Col("t", "部门")]
    widths = xlsxkit.widths_for(frame, cols)
    assert seen and max(seen) <= xlsxkit.WIDTH_SAMPLE
    monkeypatch.undo()
    # same widths as the head sample gives: 4-digit numbers (head) -> label width wins; 甲乙 = 4
    assert widths == xlsxkit.widths_for(frame.head(xlsxkit.WIDTH_SAMPLE), cols)
    assert widths == [9.0, 9.0]
