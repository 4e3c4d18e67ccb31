"""The Dask engine (issue 11). The event tables (exchanges, updates) are never whole in one process: each of their
parts, or row slice of a big Parquet part, is a partition that a Dask worker reads, coerces, checks against the
broadcast small tables and evaluates with the pandas engine's own checks and derivations (``evaluate_part``). The
client gets back per partition: its input defects, its share of every check (findings, checked units, pending,
skip counts), the partial summaries of the views that aggregate the table, a 128-bit hash of each row's key and
a few rows that the reports look up (a stub). As the partitions arrive, the client writes the hashes to disk in
buckets and folds the partial summaries in part order (``Derivation.combine``). It finds the duplicate keys from the
hashes a bucket at a time (within a part, then across parts, as the pandas loader does), has only the partitions
with duplicates redone without them (folding again from the summaries kept on disk), and adds everything up in
``evaluate(..., parts=...)``. Same code, same order: byte-identical outputs. Peak memory: one partition per worker;
on the client, what the reports hold (findings, defects), one summary per view and one bucket of key digests. See
docs/architecture.md, "Dask engine".
"""
from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from .errors import SharecheckError, UsageError

ENGINES = ("pandas", "dask")
DEFAULT_PARTITION_ROWS = 1_000_000
# worker processes of the LocalCluster (None: one per core); tests pin it
LOCAL_WORKERS: int | None = None


def _remote(fn: Callable, codelists: dict | None, *args):
    """Runs on a worker: the run's code lists in force, a user-facing error returned (not raised) so that it
    arrives whole (its class and fields) rather than as Dask's remote traceback."""
    from . import schema
    before = schema.use_codelists(codelists) if codelists else None
    try:
        return ("ok", fn(*args))
    except SharecheckError as exc:
        return ("error", type(exc), str(exc), dict(exc.__dict__))
    finally:
        if codelists:
            schema.restore_codelists(before)


def _rebuild(cls: type, text: str, fields: dict) -> SharecheckError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, text)
    exc.__dict__.update(fields)
    return exc


class DaskEngine:
    """A client on an existing scheduler (``tcp://…``) or on a ``LocalCluster`` sized to the machine (one
    single-threaded worker process per core). Use as a context manager; ``scan`` runs the event tables."""

    connect_timeout = "15s"

    def __init__(self, scheduler: str | None = None, partition_rows: int | None = None,
                 codelists: dict | None = None):
        self.scheduler = scheduler
        self.partition_rows = int(partition_rows or DEFAULT_PARTITION_ROWS)
        self.codelists = codelists
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> "DaskEngine":
        try:
            from distributed import Client, LocalCluster
        except ImportError:                                   # pragma: no cover - an install without the extra
            raise UsageError("dask 引擎需要 dask 和 distributed：请重新安装 sharecheck") from None
        if self.scheduler:
            if not str(self.scheduler).startswith(("tcp://", "tls://")):
                raise UsageError(f"「{self.scheduler}」不是 Dask 调度器地址：应形如 tcp://主机:8786")
            try:
                self.client = Client(self.scheduler, timeout=self.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"无法连接 Dask 调度器 {self.scheduler}（{type(exc).__name__}）："
                                 "请检查地址和调度器是否在运行") from None
        else:
            n = LOCAL_WORKERS or max(1, os.cpu_count() or 1)
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=40)
            self.client = Client(self.cluster, set_as_default=False)
        return self

    def __exit__(self, *exc) -> None:
        for x in (self.client, self.cluster):
            if x is not None:
                try:
                    x.close()
                except Exception:  # noqa: BLE001 - closing a cluster that lost its workers
                    pass

    def _gather(self, futures: list) -> list:
        """The tasks' results in order (see ``_arrivals``)."""
        out: list = [None] * len(futures)
        for i, r in self._arrivals(futures):
            out[i] = r
        return out

    def _arrivals(self, futures: list):
        """(index, result) of each task as it finishes, its future released at once (so the worker forgets it); a
        worker's user-facing error raised as itself, a lost cluster as one line, the tasks not yet run cancelled."""
        from concurrent.futures import CancelledError
        from distributed import KilledWorker, as_completed
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f, r in as_completed(futures, with_results=True, loop=self.client.loop):
                i = index[f.key]
                futures[i] = None
                f.release()
                if isinstance(r, BaseException):    # as_completed hands a cancelled future's error over as its result
                    raise r
                if r[0] == "error":
                    raise _rebuild(r[1], r[2], r[3])
                yield i, r[1]
        except (KilledWorker, CancelledError):      # (a task whose inputs went with a killed worker is cancelled)
            raise UsageError("Dask 工作进程在处理输入时多次退出（KilledWorker），本次运行未完成，未写出任何报告："
                             "请检查工作进程的内存（可减小分片行数）后重新运行") from None
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"与 Dask 调度器的连接中断（{type(exc).__name__}），本次运行未完成，"
                             "未写出任何报告：请检查集群后重新运行") from None
        finally:
            left = [f for f in futures if f is not None]
            if left:
                self.client.cancel(left)

    def _submit(self, shared, table: str, tasks: list[tuple], drops: list | None = None) -> list:
        drops = drops or [None] * len(tasks)
        return [self.client.submit(_remote, _scan, self.codelists, task, table, shared, d, pure=False)
                for task, d in zip(tasks, drops)]

    def scan(self, lr, deferred: dict, pack, period, as_of, calendar):
        """The event tables ``deferred`` (``load_inputs(..., deferred=)``) on the workers. Returns the run's
        ``LoadResult`` (the event tables as stubs, their inputs and defects added) and, per event table, its
        partitions' ``PartEval`` in part order for ``evaluate(..., parts=)``."""
        from . import schema
        from .load import merge_part_entries, part_tasks, sort_defects, concat_parts, _concat
        from .model import LoadResult
        given = set(lr.tables) | set(deferred)
        shared_data = {"tables": dict(lr.tables), "pack": pack, "period": period, "as_of": as_of,
                       "calendar": calendar, "given": given}
        [shared] = self.client.scatter([shared_data], broadcast=True, hash=False)
        names = [n for n in schema.TABLES if n in deferred]
        tasks = {n: part_tasks(deferred[n], self.partition_rows) for n in names}
        futures = {n: self._submit(shared, n, tasks[n]) for n in names}   # every table's partitions at once
        tables, inputs, defects = dict(lr.tables), list(lr.inputs), [lr.defects]
        parts: dict[str, list] = {}
        counts: dict[tuple[str, str], pd.Series] = dict(lr.year_counts or {})
        with tempfile.TemporaryDirectory(prefix="sharecheck-dask-") as spill:
            for n in names:
                folder = os.path.join(spill, n)
                os.mkdir(folder)
                digests, fold = _Digests(folder), _Fold(folder)
                results: list = [None] * len(tasks[n])
                for i, r in self._arrivals(futures[n]):
                    digests.add(i, r)
                    fold.add(i, r)
                    results[i] = r
                drops, within = _duplicates(digests, tasks[n], schema.TABLES[n])
                redo = [i for i, d in enumerate(drops) if d is not None]
                if redo:                               # only the partitions holding a duplicate key, without it
                    again = self._gather(self._submit(shared, n, [tasks[n][i] for i in redo],
                                                      [drops[i] for i in redo]))
                    for i, r in zip(redo, again):
                        results[i] = r
                    fold.redo(dict(zip(redo, again)))
                # one entry per part (its slices' rows added up), less the duplicates within the part
                shown, used = merge_part_entries([{**r.entry, "rows": r.entry["rows"] - k}
                                                  for r, k in zip(results, within)])
                inputs += [e for e in shown if e is not None]
                mine = [r for r, u in zip(results, used) if u]
                defects += [r.defects for r in mine]
                if mine:
                    tables[n] = concat_parts([r.stub for r in mine])
                    parts[n] = [r.part for r in mine]
                    parts[n][0].partials = fold.result()   # the partials of them all, folded (the others hold none)
                    for r in mine:
                        for col, c in r.years.items():
                            counts[(n, col)] = counts[(n, col)].add(c, fill_value=0) if (n, col) in counts else c
                else:                                  # unfilled templates only: a table of no rows
                    tables[n] = results[0].stub
        tables = {n: tables[n] for n in schema.TABLES if n in tables}
        inputs.sort(key=lambda e: (e["path"], e["sheet"] or ""))
        return LoadResult(tables=tables, inputs=inputs, defects=sort_defects(_concat(defects)),
                          year_counts=counts), parts


# ----------------------------------------------------------------------------------------- on the workers
HASH_KEYS = ("sharecheck-key-1", "sharecheck-key-2")       # two 64-bit hashes: a 128-bit key digest


@dataclass
class Scanned:
    """What one partition of an event table returns to the client."""
    entry: dict                   # its input entry (rows before duplicate keys were dropped)
    h1: np.ndarray | None         # the key digest of each row with a full key (first pass only) …
    h2: np.ndarray | None
    pos: np.ndarray | None        # … its position in the partition (None: every row has a full key) …
    row: Any                      # … and its row number: an array, or (an int) the offset from the position
    defects: pd.DataFrame
    part: Any                     # PartEval
    stub: pd.DataFrame            # the rows the reports look up: those with a defect, the first dated in each year
    years: dict[str, pd.Series]   # per datetime column, rows per year


def _scan(task: tuple, table_name: str, shared: dict, drops: tuple | None = None) -> Scanned:
    """One partition: read and coerce (the loader's code), drop the duplicate keys the client found (``drops``:
    positions and where each kept row is), reference defects, then the partition's share of the run."""
    from . import schema
    from .engine.evaluate import evaluate_part
    from .load import _concat, _load_part
    from .load.coerce import duplicate_defects
    from .load.references import reference_defects
    from .model import META_ROW
    path, shown, sheet, rows = task
    if not os.path.exists(path):              # a cluster whose workers do not share the client's files
        import socket
        from .errors import InputError
        raise InputError(f"Dask 工作进程（主机 {socket.gethostname()}）找不到该文件 {path}", file=shown,
                         hint="集群的每个工作进程都须能按同一路径读取输入文件（例如共享存储挂载在同一位置）")
    t = schema.TABLES[table_name]
    frame, d, entry = _load_part(path, shown, sheet, table_name, rows, dedup=False)
    n = len(frame)
    h1 = h2 = pos = row = None
    found = [d]
    if drops is None:
        key = frame[list(t.key)]
        has = np.flatnonzero(key.notna().all(axis=1).to_numpy())
        k = key.iloc[has]
        h1, h2 = (pd.util.hash_pandas_object(k, index=False, hash_key=h).to_numpy() for h in HASH_KEYS)
        row = frame[META_ROW].iloc[has].to_numpy(dtype="int64") - has   # mostly one offset: 16 bytes a row
        row = int(row[0]) if len(row) and (row == row[0]).all() else row.astype(np.int32) + has.astype(np.int32)
        pos = None if len(has) == n else has.astype(np.int32)
    else:
        at, where = drops
        mask = np.zeros(n, dtype=bool)
        mask[at] = True
        found.append(duplicate_defects(frame, t, mask, where))
        frame = frame.loc[~mask].reset_index(drop=True)
    tables = {**shared["tables"], table_name: frame}
    found += reference_defects(tables, only=table_name)
    defects = _concat(found)
    part = evaluate_part(tables, shared["pack"], shared["period"], shared["as_of"], shared["calendar"], defects,
                         table_name, shared["given"])
    keep = np.zeros(len(frame), dtype=bool)
    if len(defects):
        keep |= frame[META_ROW].isin(pd.to_numeric(defects["row"], errors="coerce").dropna()).to_numpy()
    years = {}
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col].dtype):
            y = frame[col].dt.year
            years[col] = y.value_counts().sort_index()
            keep[y.dropna().drop_duplicates().index.to_numpy()] = True
    return Scanned(entry=entry, h1=h1, h2=h2, pos=pos, row=row, defects=defects, part=part,
                   stub=frame.loc[keep].reset_index(drop=True), years=years)


# ----------------------------------------------------------------------------------------- on the client
_DIGEST = np.dtype([("h1", "<u8"), ("h2", "<u8"), ("task", "<i4"), ("pos", "<i4"), ("row", "<i8")])
BUCKET_BITS = 6                      # 64 bucket files: the client holds one bucket's digests at a time


class _Digests:
    """An event table's key digests, written to disk as the partitions arrive, into ``2**BUCKET_BITS`` files by
    the top bits of the first hash. All rows of one key fall in one bucket, so the duplicates are found a bucket at
    a time: the client holds one bucket's digests (about 1/64 of the month's 32 bytes a row), not the month's."""

    def __init__(self, folder: str):
        self.paths = [os.path.join(folder, f"keys-{b:02d}.bin") for b in range(1 << BUCKET_BITS)]
        self.files = [open(p, "wb") for p in self.paths]

    def add(self, i: int, r: "Scanned") -> None:
        """Partition ``i``'s digests to the buckets (then dropped from ``r``)."""
        h1, h2, pos, row = r.h1, r.h2, r.pos, r.row
        r.h1 = r.h2 = r.pos = r.row = None
        if h1 is None or not len(h1):
            return
        rec = np.empty(len(h1), _DIGEST)
        rec["h1"], rec["h2"], rec["task"] = h1, h2, i
        rec["pos"] = np.arange(len(h1)) if pos is None else pos
        rec["row"] = rec["pos"] + row if isinstance(row, int) else row
        bucket = (h1 >> np.uint64(64 - BUCKET_BITS)).astype(np.intp)
        order = np.argsort(bucket, kind="stable")
        edges = np.searchsorted(bucket[order], np.arange(len(self.files) + 1))
        rec = rec[order]
        for b, f in enumerate(self.files):
            if edges[b] < edges[b + 1]:
                f.write(rec[edges[b]:edges[b + 1]].tobytes())

    def candidates(self) -> np.ndarray:
        """The digests whose first hash repeats (in any partition), in (task, position) order."""
        for f in self.files:
            f.close()
        found = []
        for p in self.paths:
            rec = np.fromfile(p, dtype=_DIGEST)
            os.remove(p)
            s = np.sort(rec["h1"])
            again = np.unique(s[1:][s[1:] == s[:-1]])
            if len(again):
                found.append(rec[np.isin(rec["h1"], again)])
        c = np.concatenate(found) if found else np.empty(0, _DIGEST)
        return c[np.lexsort((c["pos"], c["task"]))]


class _Fold:
    """The partial summaries (``PartEval.partials``) of an event table's partitions, combined in part order as
    they arrive (``Derivation.combine``), so that the client holds one summary per view, not one per partition.
    Each partition's own summaries go to disk too: a partition read again without its duplicate keys replaces
    them, and the fold is then done again from the files (``redo``)."""

    def __init__(self, folder: str, batch: int = 8):
        self.folder, self.batch = folder, batch
        self.acc: dict[tuple, Any] = {}
        self.waiting: dict[int, dict] = {}     # arrived ahead of the next partition in part order
        self.ready: list[dict] = []            # the next ones in part order, combined a batch at a time
        self.next = 0

    def _file(self, i: int) -> str:
        return os.path.join(self.folder, f"partials-{i:06d}.pickle")

    @staticmethod
    def _take(r: "Scanned") -> dict:
        """A result's partials, handed over to the fold (an unfilled template's: none, it has no rows)."""
        partials, r.part.partials = r.part.partials, {}
        return {} if r.entry.get("template_of") else partials

    def add(self, i: int, r: "Scanned") -> None:
        partials = self._take(r)
        with open(self._file(i), "wb") as f:
            pickle.dump(partials, f, protocol=5)
        self.waiting[i] = partials
        while self.next in self.waiting:
            self.ready.append(self.waiting.pop(self.next))
            self.next += 1
        if len(self.ready) >= self.batch:
            self._combine()

    def _combine(self) -> None:
        from .engine.derive import view_builder
        run, self.ready = [self.acc, *self.ready], []
        for key in dict.fromkeys(k for p in run for k in p):
            got = [p[key] for p in run if key in p]
            self.acc[key] = got[0] if len(got) == 1 else view_builder(key[0]).combine(got)

    def redo(self, again: dict[int, "Scanned"]) -> None:
        """The fold again, from the files, with the partitions ``again`` (index -> its new result) replaced."""
        self.acc, self.ready = {}, []
        for i in range(self.next):
            if i in again:
                self.ready.append(self._take(again[i]))
            else:
                with open(self._file(i), "rb") as f:
                    self.ready.append(pickle.load(f))
            if len(self.ready) >= self.batch:
                self._combine()

    def result(self) -> dict[tuple, Any]:
        if self.ready:
            self._combine()
        return self.acc


def _duplicates(digests: _Digests, tasks: list[tuple], t) -> tuple[list, list[int]]:
    """The duplicate keys of an event table from its partitions' key digests, as the pandas loader finds them:
    within each part first (the first row kept), then across parts in part order. Returns per partition None or
    (positions, where the kept row is) to drop, and per partition the rows dropped within its part. (An unfilled
    template among the parts has no rows, hence no digests.)"""
    from .load.coerce import repeated_keys
    drops: list = [None] * len(tasks)
    within = [0] * len(tasks)
    cand = digests.candidates()
    if not t.key or not len(cand):
        return drops, within
    c = pd.DataFrame({k: cand[k].astype(np.int64) if k in ("task", "pos") else cand[k] for k in _DIGEST.names})
    part_no: dict[tuple, int] = {}                           # per task (not per row): its part's number
    task_part = np.array([part_no.setdefault((task[0], task[2]), len(part_no)) for task in tasks])
    c["part"] = task_part[c["task"].to_numpy()]
    c["file"] = np.array([task[1] for task in tasks], dtype=object)[c["task"].to_numpy()]
    again, where = repeated_keys(c, ["part", "h1", "h2"], "row", "file")          # within a part
    inside = c.loc[again].assign(where=where)
    for i, k in inside.groupby("task").size().items():
        within[int(i)] = int(k)
    rest = c.loc[~again]
    again, where = repeated_keys(rest, ["h1", "h2"], "row", "file")               # then across parts
    gone = pd.concat([inside, rest.loc[again].assign(where=where)]).sort_values(["task", "pos"], kind="mergesort")
    for i, g in gone.groupby("task", sort=True):
        drops[int(i)] = (g["pos"].to_numpy(), g["where"].to_numpy(dtype=object))
    return drops, within
