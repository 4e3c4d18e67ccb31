"""`python -m bench.hostile`: what hostile inputs cost (issue 8, A), and what the input guards cost on normal data.

For each hostile file (built with the test builders in tests/hostile.py): exit status, wall time and peak RSS of
``sharecheck validate`` in a child capped at 2.5 GB (RLIMIT_AS). Then the guards' own cost: the mixed-encoding
line classification (MiB/s on a GB18030 log) and the control-character check (rows/s on a repetitive column).
Wall-clock figures on whatever machine runs it; nothing here is asserted by tests.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile import (DEPT_HEADER, MEMORY_LIMIT, limited, ods, ods_cell, ods_row,  # noqa: E402
                           xlsx_far_cell)


def child(path: Path) -> tuple[int, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "checker.cli", "validate", str(path)], capture_output=True,
                       cwd=ROOT, env=dict(os.environ, CI="1"), preexec_fn=limited())
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return p.returncode, dt, max(peak, before) / 1024


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    cases = {
        "far cell XFD1048576, single quotes": xlsx_far_cell(tmp / "q.xlsx", "XFD1048576", quote="'"),
        "far cell xfd1048576, lower case": xlsx_far_cell(tmp / "l.xlsx", "xfd1048576"),
        "far cell, sheet moved via rels": xlsx_far_cell(tmp / "m.xlsx", "XFD1048576", move_to="xl/sheet1.xml"),
        "far cell AAA200000 (140 M cells)": xlsx_far_cell(tmp / "a.xlsx", "AAA200000"),
        "ODS 9000 x 11000 repeats (1.4 KB)": ods(tmp / "r.ods", {"部门名录": ods_row("".join(
            ods_cell(h) for h in DEPT_HEADER)) + ods_row(ods_cell("1", repeat=11000), repeat=9000)}),
    }
    print(f"hostile files, `sharecheck validate`, RLIMIT_AS {MEMORY_LIMIT / 2**30:.1f} GiB (peak RSS is the "
          "running maximum over children):")
    for label, path in cases.items():
        code, dt, peak = child(path)
        print(f"  {label:<40} exit {code:>3}  {dt:6.2f} s  peak {peak:,.0f} MiB", flush=True)

    from checker.load import readers
    line = ("JH20261005002544,2026/10/5 13:02:55,101020065/000142,广州市人力资源和社会保障局,广州市生态环境局,"
            "点对点,否,,用于人口综合分析,4551,成功\r\n").encode("gb18030")
    big = tmp / "gb.csv"
    big.write_bytes(line * 400_000)
    mib = big.stat().st_size / 2**20
    t = time.perf_counter()
    readers._mixed_encoding(str(big), "gb.csv")
    dt = time.perf_counter() - t
    print(f"mixed-encoding classification of a GB18030 log: {mib:.0f} MiB in {dt:.2f} s ({mib / dt:.0f} MiB/s)")
    t = time.perf_counter()
    readers._bytes_have_controls(str(big), "gb18030")
    dt = time.perf_counter() - t
    print(f"control-byte scan of the same file: {dt:.2f} s ({mib / dt:.0f} MiB/s)")

    utf8 = tmp / "utf8.csv"
    utf8.write_bytes(line.decode("gb18030").encode("utf-8") * 400_000)
    mib = utf8.stat().st_size / 2**20
    t = time.perf_counter()
    readers._utf8_throughout(str(utf8))
    dt = time.perf_counter() - t
    print(f"UTF-8 check to the end of a UTF-8 log: {mib:.0f} MiB in {dt:.2f} s ({mib / dt:.0f} MiB/s)")

    from checker.text import has_control
    s = pd.Series(np.array(["广州市人力资源和社会保障局", "JH20261005002544", "用于人口综合分析"] * 1_000_000, dtype=object))
    t = time.perf_counter()
    has_control(s)
    dt = time.perf_counter() - t
    print(f"control-character check, repetitive text column: {len(s):,} rows in {dt:.2f} s "
          f"({len(s) / dt:,.0f} rows/s)")


if __name__ == "__main__":
    main()
