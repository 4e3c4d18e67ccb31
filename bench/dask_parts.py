"""Dask engine bench (issue 11): a scale month with N exchange rows in K daily Parquet parts, run on one engine,
printing wall time, rows/s and the peak RSS of the whole process tree (sampled every 0.2 s).

    python -m bench.dask_parts --exchanges 1000000 --parts 31 --engine dask [--dir bench/out/parts-1M]

(``fixtures.generate --scale --parts`` of the bigout branch writes the same layout; this script stands alone.)
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def build(out: Path, n_ex: int, parts: int, period: str = "2026-10") -> None:
    from fixtures.generate import _period
    from fixtures.scale import build_scale, write_other_tables
    p0, p1 = _period(period)
    t = build_scale(0, p0, p1, n_ex=n_ex, n_up=max(1000, n_ex // 5))
    public = {k: v[[c for c in v.columns if not c.startswith("_")]] for k, v in t.items()}
    ex = out / "exports" / "交换日志"
    ex.mkdir(parents=True, exist_ok=True)
    e = public["exchanges"]
    for i, idx in enumerate(np.array_split(np.arange(len(e)), parts)):
        e.iloc[idx].to_parquet(ex / f"2026-10-{i + 1:02d}.parquet", index=False, row_group_size=100_000)
    write_other_tables(public, out / "exports", catalog_title="目录")
    (out / "built").write_text(str(n_ex))


def tree_rss(pid: int) -> int:
    import psutil
    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(cmd: list[str]) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.2)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    th.join()
    return time.perf_counter() - t0, peak[0], rc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exchanges", type=int, default=1_000_000)
    ap.add_argument("--parts", type=int, default=31)
    ap.add_argument("--engine", choices=["pandas", "dask"], default="dask")
    ap.add_argument("--partition-rows", type=int, default=None)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = Path(a.dir or f"bench/out/parts-{a.exchanges}")
    if not (d / "built").exists():
        t0 = time.perf_counter()
        build(d, a.exchanges, a.parts)
        print(f"built {a.exchanges} rows in {a.parts} parts: {time.perf_counter() - t0:.1f} s", flush=True)
    cmd = [sys.executable, "-m", "checker.cli", "run", str(d / "exports"), "--period", "2026-10", "-q",
           "--out", str(d / f"out-{a.engine}"), "--engine", a.engine]
    if a.partition_rows:
        cmd += ["--partition-rows", str(a.partition_rows)]
    secs, peak, rc = measure(cmd)
    print(f"engine={a.engine} rows={a.exchanges} parts={a.parts} rc={rc} time={secs:.1f}s "
          f"rows/s={a.exchanges / secs:,.0f} peak_tree_rss={peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
