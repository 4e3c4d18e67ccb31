"""Portal timings: upload-to-finished time for the sample month and the server's memory at rest and during a run.

    python -m bench.portal [--runs 3]

Starts a real ``sharecheck serve`` on 127.0.0.1 in a temporary data folder, submits the sample exports through
``POST /api/runs`` and polls ``GET /api/runs/{id}``. Memory is the resident set (VmRSS) of the server process
and, separately, of the whole process tree (server + the run's child process), sampled every 50 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tests.portal_helpers import start_server


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int(Path(p, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(p.name))
    return out


def _tree_rss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _rss_kb(p)
        todo += _children(p)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s = start_server(Path(tmp))
        try:
            pid = s.proc.pid
            time.sleep(1.0)
            rest = _rss_kb(pid)
            peak_server, peak_tree, stop = [0], [0], threading.Event()

            def sample():
                while not stop.is_set():
                    peak_server[0] = max(peak_server[0], _rss_kb(pid))
                    peak_tree[0] = max(peak_tree[0], _tree_rss_kb(pid))
                    time.sleep(0.05)
            t = threading.Thread(target=sample, daemon=True)
            t.start()
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rid = s.submit()
                j = s.wait(rid)
                times.append(time.perf_counter() - t0)
                assert j["status"] == "done", j
            stop.set()
            t.join()
            after = _rss_kb(pid)
        finally:
            s.stop()
    print("portal (sample month, POST /api/runs → status done, real server on 127.0.0.1)")
    print(f"  upload → finished: median {statistics.median(times):.2f} s  (runs: "
          + ", ".join(f"{x:.2f}" for x in times) + ")")
    print(f"  server RSS at rest: {rest / 1024:.0f} MiB; peak during runs: {peak_server[0] / 1024:.0f} MiB; "
          f"after runs: {after / 1024:.0f} MiB")
    print(f"  process tree (server + run child) peak RSS: {peak_tree[0] / 1024:.0f} MiB; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
