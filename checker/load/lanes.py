"""Two lanes of loading (issue 10): the files of a month are shared between this process and a forked worker,
each reading, recognising and loading its own files, so that the catalog workbook's XML is parsed while the
exchange CSV is decoded. Everything the serial loader decides across files (competing sheets, parts, templates,
the order of errors) is still decided here, in file order, from what the lanes report.

A file's report (``Prepared``) holds its read error, or its sheets: each a ``RawSheet`` with its recognition and
the outcome of loading it as the table it was recognised as (``Ready``). A sheet prepared in the worker comes back
without its cells (a stub): where the loader needs more than its outcome (an unfilled template that fails another
way), it reads the file again (``checker.load._real``).

The worker is forked only when that is safe and pays: the fork start method exists; no thread but idle daemons
runs here (``forks.other_threads``: the portal's workers or a Dask client could hold a lock at the fork);
``SHARECHECK_WORKERS`` is not 1; two CPUs are available; the month is big enough (``MIN_BYTES``). Otherwise, and
whenever the worker fails (it died, a result would not pickle), the file is read here as before. The lanes
change no output."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import forks
from ..errors import InputError

MIN_BYTES = 4 << 20          # inputs smaller than this load faster than a worker forks and hands back
MAX_WORKERS = 3              # (a month has two or three big files; each worker holds what it loaded until handed back)
# what a byte costs to load, by kind: a deflated XML worksheet about 20 times a CSV byte (the stress month:
# 8.4 MB of catalog workbook, 6-7 s; 146 MB of GB18030 CSV, 7-8 s)
_WEIGHT = {".xlsx": 20, ".xlsm": 20, ".ods": 20, ".xls": 6}


@dataclass
class Ready:
    """A sheet's recognition (``table`` None: not recognised, ``why`` says so) and, when it was loaded as
    ``table``, the outcome: ``result`` (frame, defects, entry) with ``unfilled`` (header and template notes only),
    or ``error``."""
    table: str | None
    why: str
    result: tuple | None = None
    unfilled: bool = False
    error: InputError | None = None

    @property
    def loaded(self) -> bool:
        return self.result is not None or self.error is not None


@dataclass
class Prepared:
    """One file from a lane: its read error, or its sheets (``RawSheet``s with ``ready`` set)."""
    error: InputError | None = None
    sheets: list = field(default_factory=list)


def workers(files: list[tuple[str, str]]) -> int:
    """How many workers to fork for loading ``files`` (0: load them all here)."""
    if not forks.second_lane() or len(files) < 2 or sum(_size(real) for real, _s in files) < MIN_BYTES:
        return 0
    return min(forks.cpus() - 1, len(files) - 1, MAX_WORKERS)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _cost(path: str) -> int:
    return _size(path) * _WEIGHT.get(os.path.splitext(path)[1].lower(), 1)


def split(files: list[tuple[str, str]], n_workers: int) -> tuple[list[int], list[int]]:
    """The files' indexes for this process (in file order) and for the workers (costliest first: they take them in
    turn). The costliest first, each to the lane (this process or one of ``n_workers``) with the least cost so far,
    this process's lane first on a tie."""
    order = sorted(range(len(files)), key=lambda i: (-_cost(files[i][0]), i))
    load = [0] * (n_workers + 1)
    here, theirs = [], []
    for i in order:
        k = min(range(n_workers + 1), key=lambda j: (load[j], j))
        (here if k == 0 else theirs).append(i)
        load[k] += _cost(files[i][0])
    return sorted(here), theirs


class Lanes:
    """The files of a month prepared in two (or more) lanes. ``prepare`` (module-level, picklable) reads one file;
    ``take(i)`` is file ``i``'s report, in any order. Use as a context manager: the workers end with it."""

    def __init__(self, files: list[tuple[str, str]], prepare, n_workers: int):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        self._files, self._prepare = files, prepare
        self._here, theirs = split(files, n_workers)
        self._futures: dict[int, object] = {}
        self._pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context("fork"))
        try:
            for i in theirs:
                self._futures[i] = self._pool.submit(prepare, *files[i], True)
        except BaseException:
            self.close(cancel=True)
            raise
        self._done: dict[int, Prepared] = {}
        self.from_workers = 0                  # files whose report came from a worker

    def run_here(self) -> None:
        """This process's lane: its files, prepared while the workers prepare theirs."""
        for i in self._here:
            self._done[i] = self._prepare(*self._files[i], False)

    def take(self, i: int) -> Prepared:
        if i in self._done:
            return self._done.pop(i)
        fut = self._futures.pop(i, None)
        if fut is not None:
            try:
                got = fut.result()
                self.from_workers += 1
                return got
            except Exception:             # noqa: BLE001 - the worker died or a result failed to pickle:
                pass                      # the file is read here instead (any real error is raised again here)
        return self._prepare(*self._files[i], False)

    def close(self, cancel: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(cancel=exc[0] is not None)
        return False
