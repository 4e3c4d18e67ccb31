"""Checks in two lanes (issue 10): on a big month this process and one forked worker share the checks, so that
the exchange aggregates are built while the catalog rules run. The worker inherits the loaded tables at the fork
(nothing is pickled to it) and hands back each check's results; ``evaluate`` adds them up in rule order, as one
lane would have, so the findings are the same, in the same order.

The checks go in groups, one per view (a view is built once, in the lane that takes its group), the largest input
first; each lane takes the next group when it is free. A check's error is handed back as its outcome and raised
where one lane would have raised it (the first failing check in rule order). When the worker fails (it died, a
result would not pickle), this process runs the groups it did not run itself.

Forked only where that is safe and pays (``checker.forks``, ``SHARECHECK_WORKERS`` not 1, two CPUs, ``MIN_ROWS``
rows in the tables); otherwise every check runs here, in rule order."""
from __future__ import annotations

from typing import Callable

from .. import forks

MIN_ROWS = 200_000            # below this the checks take less than a fork and a hand-back


def worth_it(tables: dict) -> bool:
    return forks.second_lane() and sum(len(f) for f in tables.values() if f is not None) >= MIN_ROWS


Key = tuple[int, int]
_JOB = None                   # (groups, run_one, claim): set before the fork, read by the worker


def _claimed(claim) -> int:
    with claim.get_lock():
        g = claim.value
        claim.value += 1
    return g


def _run_group(group: list[Key], run_one: Callable, out: dict) -> None:
    """Each check of ``group`` into ``out``: ("ok", result) or ("error", exception)."""
    for key in group:
        try:
            out[key] = ("ok", run_one(*key))
        except Exception as exc:          # noqa: BLE001 - raised in rule order by the caller
            out[key] = ("error", exc)


def _take_groups(groups: list[list[Key]], run_one: Callable, claim) -> tuple[dict, list[int]]:
    """Run the groups this lane claims: {check: outcome}, the groups run."""
    out: dict = {}
    done: list[int] = []
    while True:
        g = _claimed(claim)
        if g >= len(groups):
            return out, done
        _run_group(groups[g], run_one, out)
        done.append(g)


def _worker():
    groups, run_one, claim = _JOB
    return _take_groups(groups, run_one, claim)


def run(groups: list[list[Key]], run_one: Callable) -> dict:
    """Every check of ``groups`` run by ``run_one(rule index, check index)`` in two lanes: their outcomes."""
    global _JOB
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    ctx = mp.get_context("fork")
    claim = ctx.Value("i", 0)
    _JOB = (groups, run_one, claim)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    try:
        fut = pool.submit(_worker)
        out, done = _take_groups(groups, run_one, claim)
        try:
            theirs, their_done = fut.result()
        except Exception:                 # noqa: BLE001 - the worker died or its result would not pickle
            theirs, their_done = {}, []
        out.update(theirs)
        for g in sorted(set(range(len(groups))) - set(done) - set(their_done)):
            _run_group(groups[g], run_one, out)
        return out
    finally:
        _JOB = None
        pool.shutdown(wait=True, cancel_futures=True)
