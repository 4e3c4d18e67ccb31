"""When this process may fork its workers (the department workbooks, the loading lanes, the lanes of checks), and
how many CPUs they may share."""
from __future__ import annotations

import os
import threading


def other_threads() -> bool:
    """A thread besides this main thread that could hold a lock at the fork. durable_rules (score policies) keeps
    idle daemon Timer threads: those are tolerated, the workers never call into durable_rules."""
    if threading.current_thread() is not threading.main_thread():
        return True
    return any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate())


def can_fork() -> bool:
    """The fork start method exists (Linux) and no other thread could hold a lock at the fork."""
    import multiprocessing as mp
    return "fork" in mp.get_all_start_methods() and not other_threads()


def cpus() -> int:
    """The CPUs this run may use: ``SHARECHECK_WORKERS`` when set to a number (1: everything serial), else the CPUs
    this process may run on."""
    env = os.environ.get("SHARECHECK_WORKERS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def second_lane() -> bool:
    """A forked second lane may run beside this process: two CPUs, and a fork is safe (``can_fork``)."""
    return cpus() >= 2 and can_fork()
