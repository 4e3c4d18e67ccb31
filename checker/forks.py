"""When this process may fork its workers (the department workbooks, the loading lanes)."""
from __future__ import annotations

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
