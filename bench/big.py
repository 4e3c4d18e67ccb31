"""`make bench-big` (issue 11 item 6): a partitioned month of 10M and 50M exchange rows (31 daily Parquet parts,
fixtures/partitioned.py, generated on first use under bench/out/big/), checked by `sharecheck run` on each engine.

Prints per size and engine: wall time, exchange rows/s, peak memory of the whole process tree (PSS of the run and
every descendant — Dask's worker processes included —, sampled every 0.1 s from /proc), and the ratio to the time
Dask alone needs to read the same Parquet parts (`dask.dataframe.read_parquet(folder).map_partitions(len)
.compute()`; pyarrow's dataset scan when dask is not installed, said so). The run's findings are compared with the
fixture's expected findings.

Engines: `--engine dask` only when the CLI has the option (the dask helper's work); otherwise the pandas run is
made without the option. The pandas engine holds the month in one process, so it runs only where it fits: its
estimated peak (PANDAS_BYTES_PER_ROW per exchange row + PANDAS_BASE_MIB) must stay under MEM_SHARE of the
machine's available memory (and under --max-gb when given); otherwise the line says why it was skipped.
Where the CLI cannot read a folder of parts yet, the pandas run gets the parts merged into one Parquet file
(streamed, part by part), and says so. Timings are not asserted by any test.

    python -m bench.big                      # 10M and 50M
    python -m bench.big --rows 200000        # a quick proof that the script works
    python -m bench.big --rows 10000000 --cut 1000000 --engines dask
                                             # also: the first 1M rows on both engines, outputs compared byte for byte
    python -m bench.big --rows 10000000 --engines dask --scheduler tcp://127.0.0.1:8786
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "big"
PERIOD = "2026-10"
PARTS = 31
SIZES = [10_000_000, 50_000_000]
# The pandas engine's peak per exchange row and its fixed part (the other tables, the reports), measured on this
# project's partitioned month (see docs/decisions.md, "bigout"); the fit rule uses them with MEM_SHARE.
PANDAS_BYTES_PER_ROW = 1_200
PANDAS_BASE_MIB = 1_500
MEM_SHARE = 0.7
PAGE = os.sysconf("SC_PAGE_SIZE")


def available_mib() -> float:
    for ln in Path("/proc/meminfo").read_text().splitlines():
        if ln.startswith("MemAvailable:"):
            return int(ln.split()[1]) / 1024
    return float("inf")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _pss(pid: int) -> int:
    """The process's proportional set size in bytes (its shared pages split among their sharers: a forked writer
    does not count its parent's pages again), else its RSS."""
    try:
        for ln in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if ln.startswith("Pss:"):
                return int(ln.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_mib(root: int) -> float:
    """Memory of the process tree: the sum of every process's PSS (see ``_pss``)."""
    kids, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        total += _pss(pid)
        todo.extend(kids.get(pid, []))
    return total / 2**20


def measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int, str]:
    """Run ``cmd`` (niced); returns (seconds, peak MiB of its process tree, exit code, last stderr line)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["nice", "-n", "10", *cmd], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mib(p.pid))
            done.wait(0.1)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = p.communicate()
    done.set()
    th.join()
    lines = [x for x in (err or "").strip().splitlines() if x.strip()]
    return time.perf_counter() - t0, peak[0], p.returncode, (lines[-1] if lines else "")


def ensure_month(rows: int) -> Path:
    d = OUT / f"month_{rows}"
    load = d / "expected" / "load.json"
    if load.exists():
        info = json.loads(load.read_text("utf-8"))
        if info.get("exchanges") == rows and len(info.get("exchange_parts", {})) == PARTS:
            return d
    print(f"生成分片月份：{rows:,} 行交换日志，{PARTS} 个分片 → {d}", flush=True)
    t, peak, rc, last = measured([sys.executable, "-m", "fixtures.generate", "--scale", "--exchanges", str(rows),
                                  "--parts", str(PARTS), "--out", str(d)], cwd=ROOT)
    if rc:
        raise SystemExit(f"生成失败：{last}")
    print(f"  生成用时 {t:.1f} s，峰值内存 {peak:,.0f} MiB", flush=True)
    return d


def single_file_month(month: Path) -> Path:
    """The month with its exchange parts merged into one Parquet file (for a CLI without multi-part tables)."""
    import pyarrow.parquet as pq
    d = month / "exports_single"
    target = d / "交换日志.parquet"
    if target.exists():
        return d
    d.mkdir(exist_ok=True)
    for f in (month / "exports").iterdir():
        if f.is_file():
            shutil.copyfile(f, d / f.name)
    parts = sorted((month / "exports" / "交换日志").glob("*.parquet"))
    writer = None
    try:
        for part in parts:
            t = pq.read_table(part)
            writer = writer or pq.ParquetWriter(d / "交换日志.parquet.part", t.schema)
            writer.write_table(t)
    finally:
        if writer:
            writer.close()
    (d / "交换日志.parquet.part").replace(target)
    return d


def cli_has(option: str) -> bool:
    out = subprocess.run([sys.executable, "-m", "checker.cli", "run", "--help"], cwd=ROOT, capture_output=True,
                         text=True)
    return option in (out.stdout + out.stderr)


def sharecheck() -> list[str]:
    exe = Path(sys.executable).with_name("sharecheck")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "checker.cli"]


def read_floor(folder: Path) -> tuple[float, float, str]:
    code_dask = ("import dask.dataframe as dd, sys; "
                 "print(int(dd.read_parquet(sys.argv[1]).map_partitions(len).compute().sum()))")
    code_arrow = ("import pyarrow.dataset as ds, sys; "
                  "print(sum(b.num_rows for b in ds.dataset(sys.argv[1], format='parquet').to_batches()))")
    try:
        import dask.dataframe  # noqa: F401
        code, how = code_dask, "dask.dataframe.read_parquet"
    except ImportError:
        code, how = code_arrow, "pyarrow dataset（未安装 dask）"
    t, peak, rc, last = measured([sys.executable, "-c", code, str(folder)])
    if rc:
        raise SystemExit(f"读取基准失败：{last}")
    return t, peak, how


def findings_match(out: Path, month: Path) -> str:
    import pandas as pd
    key = ["rule_id", "severity", "department", "key"]
    try:
        got = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")[key]
        want = pd.read_csv(month / "expected" / "findings.csv", dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")[key]
    except (OSError, KeyError) as e:
        return f"无法比较（{e}）"
    got["key"] = got["key"].str.lstrip("'")
    g = got.sort_values(key).reset_index(drop=True)
    w = want.sort_values(key).reset_index(drop=True)
    return "与预期一致" if g.equals(w) else f"与预期不一致（{len(g)} 对 {len(w)} 个）"


def cut_month(month: Path, rows: int) -> Path:
    """The month's first ``rows`` exchange rows, in its parts (the later ones left out, the last one cut)."""
    import pyarrow.parquet as pq
    d = month / f"cut_{rows}"
    if (d / "done").exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    (d / "交换日志").mkdir(parents=True)
    for f in (month / "exports").iterdir():
        if f.is_file():
            shutil.copyfile(f, d / f.name)
    left = rows
    for part in sorted((month / "exports" / "交换日志").glob("*.parquet")):
        if left <= 0:
            break
        t = pq.read_table(part)
        pq.write_table(t.slice(0, min(left, t.num_rows)), d / "交换日志" / part.name, row_group_size=100_000)
        left -= t.num_rows
    (d / "done").write_text("")
    return d


def same_outputs(a: Path, b: Path) -> str:
    """Whether two runs wrote the same bytes (the manifest's ``engine`` apart)."""
    fa = {str(p.relative_to(a)): p for p in sorted(a.rglob("*")) if p.is_file()}
    fb = {str(p.relative_to(b)): p for p in sorted(b.rglob("*")) if p.is_file()}
    if sorted(fa) != sorted(fb):
        return f"文件不同：{sorted(set(fa) ^ set(fb))[:5]}"
    for name in fa:
        if name == "manifest.json":
            ma, mb = json.loads(fa[name].read_text("utf-8")), json.loads(fb[name].read_text("utf-8"))
            ma.pop("engine", None), mb.pop("engine", None)
            if ma != mb:
                return "manifest.json 不同"
        elif fa[name].read_bytes() != fb[name].read_bytes():
            return f"{name} 不同"
    return f"两个引擎的 {len(fa)} 个输出文件逐字节相同（manifest 的 engine 除外）"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.big", description="千万级分片月份的检查用时与内存")
    ap.add_argument("--rows", type=int, action="append", help=f"交换日志行数（可重复；默认 {SIZES}）")
    ap.add_argument("--engines", default="pandas,dask", help="逗号分隔：pandas,dask")
    ap.add_argument("--max-gb", type=float, help="pandas 引擎的内存上限（GB），超过估算则跳过")
    ap.add_argument("--partition-rows", type=int, help="传给 --engine dask 的 --partition-rows")
    ap.add_argument("--scheduler", help="传给 --engine dask 的 --scheduler（已有的 Dask 调度器）")
    ap.add_argument("--cut", type=int, help="另取前 N 行交换日志，两个引擎各跑一次并逐字节比较输出")
    a = ap.parse_args(argv)
    has_engine = cli_has("--engine")
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    print(f"可用内存 {available_mib():,.0f} MiB；CLI {'有' if has_engine else '没有'} --engine 选项", flush=True)
    for rows in a.rows or SIZES:
        month = ensure_month(rows)
        folder = month / "exports" / "交换日志"
        ft, fpeak, how = read_floor(folder)
        print(f"\n== {rows:,} 行，{PARTS} 个 Parquet 分片", flush=True)
        print(f"  只读基准（{how}）：{ft:8.2f} s  {rows / ft:>12,.0f} rows/s  峰值 {fpeak:,.0f} MiB", flush=True)
        for engine in engines:
            label = f"  {engine:<7}"
            if engine == "dask" and not has_engine:
                print(f"{label} 跳过：CLI 还没有 --engine 选项（dask 分支未合入）", flush=True)
                continue
            est = rows * PANDAS_BYTES_PER_ROW / 2**20 + PANDAS_BASE_MIB
            budget = min(available_mib() * MEM_SHARE, (a.max_gb or float("inf")) * 1024)
            if engine == "pandas" and est > budget:
                print(f"{label} 跳过：估算峰值 {est:,.0f} MiB 超过可用内存的 {MEM_SHARE:.0%}（{budget:,.0f} MiB）",
                      flush=True)
                continue
            inputs, note = month / "exports", ""
            if not has_engine:
                inputs, note = single_file_month(month), "（分片已合并为一个文件：CLI 尚不能读取分片文件夹）"
            out = month / f"out_{engine}"
            cmd = [*sharecheck(), "run", str(inputs), "--period", PERIOD, "--out", str(out)]
            if has_engine:
                cmd += ["--engine", engine]
                if engine == "dask" and a.partition_rows:
                    cmd += ["--partition-rows", str(a.partition_rows)]
                if engine == "dask" and a.scheduler:
                    cmd += ["--scheduler", a.scheduler]
            t, peak, rc, last = measured(cmd, cwd=ROOT)
            if rc not in (0, 1):
                print(f"{label} 失败（退出码 {rc}）：{last}", flush=True)
                continue
            print(f"{label} {t:8.2f} s  {rows / t:>12,.0f} rows/s  峰值 {peak:,.0f} MiB  "
                  f"为只读的 {t / ft:.1f} 倍  {findings_match(out, month)}{note}", flush=True)
        if a.cut and has_engine:
            cut = cut_month(month, a.cut)
            print(f"\n== 前 {a.cut:,} 行（{cut}）", flush=True)
            for engine in ("pandas", "dask"):
                cmd = [*sharecheck(), "run", str(cut), "--period", PERIOD, "--out", str(cut / f"out_{engine}"),
                       "--engine", engine]
                if engine == "dask" and a.scheduler:
                    cmd += ["--scheduler", a.scheduler]
                t, peak, rc, last = measured(cmd, cwd=ROOT)
                print(f"  {engine:<7} {t:8.2f} s  {a.cut / t:>12,.0f} rows/s  峰值 {peak:,.0f} MiB"
                      + (f"  失败（退出码 {rc}）：{last}" if rc not in (0, 1) else ""), flush=True)
            print("  " + same_outputs(cut / "out_pandas", cut / "out_dask"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
