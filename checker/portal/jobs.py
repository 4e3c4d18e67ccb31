"""The run queue and the child processes.

Runs are huey tasks on SQLite storage (``DIR/queue.db``): a queued run survives a restart of the server. One
worker thread executes them, so runs that share the data folder's history DB run one at a time. Each pre-check
and each run executes in its own child process (``python -m checker.portal.child``) with a memory limit
(``RLIMIT_AS``) and a time limit; a crash, a hang or a hostile file ends that child, never the server.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from huey import SqliteHuey
from huey.consumer import Consumer

from . import store


@dataclass
class Limits:
    run_timeout_s: int = 3600
    precheck_timeout_s: int = 600
    memory_bytes: int = 8 * 1024 ** 3


_active: dict[int, subprocess.Popen] = {}
_lock = threading.Lock()


def _die_with_parent() -> None:
    """Linux: the child is killed when the server dies, even by SIGKILL (an orphaned run would go on writing
    the history DB beside the next run)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _preexec(memory: int):
    parent = os.getpid()

    def limit() -> None:
        os.setsid()                               # its own process group: the whole tree is killed on timeout
        _die_with_parent()
        if os.getppid() != parent:                # the server died before the line above
            os._exit(1)
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return limit


def run_child(data: store.DataDir, mode: str, run_id: int, timeout_s: int, memory: int) -> tuple[int, str | None]:
    """Run the child; returns (exit code, error message or None). Timeouts and signals become messages."""
    rd = data.run_dir(run_id)
    (rd / "portal").mkdir(parents=True, exist_ok=True)
    err_file = rd / "portal" / "error.json"
    if err_file.exists():
        err_file.unlink()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(rd / "portal" / f"{mode}.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "checker.portal.child", mode, str(data.root), str(run_id)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_preexec(memory), cwd=str(rd))
        with _lock:
            _active[run_id] = proc
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            limit = f"{timeout_s // 60} 分钟" if timeout_s >= 60 else f"{timeout_s} 秒"
            return -1, f"运行超时：超过 {limit}仍未完成，已停止。请拆分输入，或请管理员调大时间上限（--run-timeout-min）"
        finally:
            with _lock:
                _active.pop(run_id, None)
    if err_file.exists():
        return code, json.loads(err_file.read_text(encoding="utf-8")).get("error") or "运行失败"
    if code == 0:
        return 0, None
    if code < 0 and -code in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        return code, "运行被中止"
    if code < 0 and -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return code, "读取输入时程序异常退出（可能是文件已损坏或内存不足）：请检查上传的文件"
    return code, "运行失败（进程异常退出）：请检查上传的文件，或请管理员查看运行日志"


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def kill_all() -> list[int]:
    """Stop every running child (server shutdown); returns the run ids."""
    with _lock:
        items = list(_active.items())
    for _rid, proc in items:
        _kill(proc)
    return [rid for rid, _ in items]


class Queue:
    """The huey instance of one data folder, with its single task."""

    def __init__(self, data: store.DataDir, limits: Limits | None = None):
        self.data, self.limits = data, limits or Limits()
        self.huey = SqliteHuey("sharecheck", filename=str(data.queue), results=False, utc=True)
        self.stopping = threading.Event()
        self.task = self.huey.task(name="sharecheck.run")(self._execute)
        self.consumer: Consumer | None = None

    def enqueue(self, run_id: int) -> None:
        store.update_run(self.data, run_id, status="queued", stage=None, error=None)
        self.task(run_id)

    def _execute(self, run_id: int) -> None:
        data = self.data
        r = store.get_run(data, run_id)
        if r is None or r["status"] != "queued":
            return
        store.update_run(data, run_id, status="running", stage="读取输入", started_at=store.now_text(),
                         finished_at=None, error=None)
        code, error = run_child(data, "run", run_id, self.limits.run_timeout_s, self.limits.memory_bytes)
        if self.stopping.is_set() and error:
            store.update_run(data, run_id, status="interrupted", stage=None, finished_at=store.now_text(),
                             error="服务停止时本次运行尚未完成：请点击「重新运行」")
            return
        if error:
            store.update_run(data, run_id, status="failed", stage=None, error=error, finished_at=store.now_text())
            store.audit(data, "run_failed", "failed", login=r["created_by"], target=f"run:{run_id}", detail=error)
            return
        res = json.loads((data.run_dir(run_id) / "portal" / "result.json").read_text(encoding="utf-8"))
        pack = res.get("pack") or {}
        store.update_run(data, run_id, status="done", stage=None, counts=res.get("counts"),
                         pack=pack.get("pack") if isinstance(pack, dict) else str(pack),
                         pack_version=pack.get("version") if isinstance(pack, dict) else None,
                         finished_at=store.now_text())
        store.audit(data, "run_done", login=r["created_by"], target=f"run:{run_id}")

    def start_worker(self) -> None:
        """One worker thread, without huey's signal handlers (the web server owns SIGINT/SIGTERM)."""
        consumer = _QuietConsumer(self.huey, workers=1, worker_type="thread", periodic=False,
                                  initial_delay=0.2, max_delay=1.0, check_worker_health=False)
        consumer.start()
        self.consumer = consumer

    def stop_worker(self) -> list[int]:
        self.stopping.set()
        killed = kill_all()
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
            self.consumer = None
        return killed


class _QuietConsumer(Consumer):
    def _set_signal_handlers(self) -> None:   # the web server handles Ctrl-C and stops the consumer itself
        pass

    def __init__(self, *args, **kwargs):
        super().__init__(*args, shutdown_timeout=30, **kwargs)


def precheck(data: store.DataDir, run_id: int, limits: Limits) -> tuple[dict | None, str | None]:
    """Pre-check in a child process (called from a request thread); (result, error)."""
    code, error = run_child(data, "precheck", run_id, limits.precheck_timeout_s, limits.memory_bytes)
    if error:
        return None, error
    p = data.run_dir(run_id) / "portal" / "precheck.json"
    return json.loads(p.read_text(encoding="utf-8")), None


def results_of(data: store.DataDir, run_id: int) -> dict | None:
    p = data.run_dir(run_id) / "portal" / "result.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def prechecked(data: store.DataDir, run_id: int) -> dict | None:
    p = data.run_dir(run_id) / "portal" / "precheck.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def run_files(data: store.DataDir, run_id: int) -> dict[str, Path]:
    """The download whitelist: every file of the run's own output tree, plus the department zip. Built from the
    file system, never from a user-supplied path."""
    rd = data.run_dir(run_id)
    out = rd / "out"
    files: dict[str, Path] = {}
    if out.is_dir():
        for p in out.rglob("*"):
            if p.is_file() and not p.is_symlink():
                files[p.relative_to(out).as_posix()] = p
    for z in (rd / "portal").glob("部门报告_*.zip"):
        files[z.name] = z
    return dict(sorted(files.items()))


__all__ = ["Queue", "Limits", "precheck", "results_of", "run_files", "run_child", "kill_all"]
