"""The Dask engine (issue 11): the event tables' parts (and row slices of big Parquet parts) are read, mapped to
canonical columns and coerced on Dask workers by the loader's own code; the client concatenates them, finds the
duplicate keys across parts and evaluates as the pandas engine does. Same code, same frames: byte-identical
outputs. See docs/architecture.md, "Dask engine".
"""
from __future__ import annotations

import os
from typing import Any, Callable

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
    single-threaded worker process per core). Use as a context manager; ``mapper`` is the loader's part mapper."""

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

    @property
    def mapper(self) -> Callable:
        engine = self

        def mapper(fn: Callable, *iterables) -> list:
            from distributed import KilledWorker
            args = [list(it) for it in iterables]
            n = len(args[0]) if args else 0
            futures = engine.client.map(_remote, [fn] * n, [engine.codelists] * n, *args, pure=False)
            try:
                results = engine.client.gather(futures)
            except KilledWorker:
                raise UsageError("Dask 工作进程在读取输入时多次退出（KilledWorker），本次运行未完成，未写出任何报告："
                                 "请检查工作进程的内存（可减小分片行数）后重新运行") from None
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"与 Dask 调度器的连接中断（{type(exc).__name__}），本次运行未完成，"
                                 "未写出任何报告：请检查集群后重新运行") from None
            out = []
            for r in results:
                if r[0] == "error":
                    raise _rebuild(r[1], r[2], r[3])
                out.append(r[1])
            return out

        mapper.partition_rows = engine.partition_rows
        return mapper
