"""`make bench`: throughput figures on the scale fixture (fixtures/scale, generated on first use).

Prints, phase by phase:
- load: rows/s per table, and calamine vs openpyxl on the same workbook;
- the CSV read by pandas (pyarrow engine) alone, as the yardstick for the rules phase;
- the rules phase alone (all 31 rules) and the whole check (load + rules + score + every report file);
- three exchange rules run row by row through durable_rules (the per-row baseline), as a ratio;
- writing: the auditors' workbook and the per-department workbooks;
- peak memory (ru_maxrss) after each phase;
- issue 10: the whole run against the read-only time of the same inputs (pyarrow CSV/Parquet + calamine), stage
  by stage (wall and CPU, the pool's workers included), on the scale fixture and on a 1M-exchange stress month
  (fixtures/stress, derived from the scale fixture: GB18030 CSV, 3 % off the platform); cells/s of each writer
  tried (our sheet-XML path, openpyxl cells through our row writer and stock, XlsxWriter constant_memory when
  installed), side by side; the three
  exchange rules as pandera checks when pandera is installed.

Timings are wall-clock `time.perf_counter` on whatever machine runs it; nothing here is asserted by tests.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SCALE = ROOT / "fixtures" / "scale"
OUT = ROOT / "bench" / "out"
PERIOD = "2026-10"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, seconds: float, rows: int | None = None, extra: str = "") -> None:
    rate = f"{rows / seconds:>12,.0f} rows/s" if rows else " " * 19
    print(f"  {label:<44} {seconds:8.2f} s {rate}  {extra}  [peak {peak_mib():,.0f} MiB]", flush=True)


def ensure_scale() -> None:
    if (SCALE / "exports").is_dir() and any((SCALE / "exports").iterdir()):
        return
    print("生成大规模测试数据 fixtures/scale …", flush=True)
    from fixtures.generate import generate
    t = time.perf_counter()
    generate(str(SCALE), seed=0, period=PERIOD, scale=True)
    print(f"  generated in {time.perf_counter() - t:.1f} s")


def bench_load():
    from checker.load import load_inputs, read_table
    print("\n== load, file by file (checker.load.load_inputs on one file: read, header, coerce, defects) ==")
    exports = sorted((SCALE / "exports").iterdir())
    for path in exports:
        t = time.perf_counter()
        res = load_inputs([path], require=False)
        seconds = time.perf_counter() - t
        for table, frame in res.tables.items():
            line(f"{table} ({path.name}, {path.stat().st_size / 2**20:.1f} MiB)", seconds, len(frame))

    csv_dir = SCALE / "exports_csv"
    csv = next(iter(sorted(csv_dir.glob("*.csv"))), None) if csv_dir.is_dir() else None
    if csv is not None:
        t = time.perf_counter()
        frame, _d, _e = read_table(csv, None, "exchanges")
        line(f"exchanges as CSV ({csv.name})", time.perf_counter() - t, len(frame))
        t = time.perf_counter()
        raw = pd.read_csv(csv, engine="pyarrow", dtype=str, skiprows=_title_lines(csv))
        line("  yardstick: pandas.read_csv(engine=pyarrow)", time.perf_counter() - t, len(raw))
        del raw

    book = max((p for p in exports if p.suffix == ".xlsx"), key=lambda p: p.stat().st_size)
    print(f"\n== calamine vs openpyxl on {book.name} ({book.stat().st_size / 2**20:.1f} MiB) ==")
    times = {}
    for engine in ("calamine", "openpyxl"):
        t = time.perf_counter()
        sheets = pd.read_excel(book, sheet_name=None, header=None, dtype=object, engine=engine)
        times[engine] = time.perf_counter() - t
        line(engine, times[engine], sum(len(s) for s in sheets.values()))
    print(f"  calamine is {times['openpyxl'] / times['calamine']:.1f}× faster")

    print("\n== load_inputs on the whole scale folder ==")
    t = time.perf_counter()
    loaded = load_inputs([SCALE / "exports"])
    line("load_inputs (all tables, references, defects)", time.perf_counter() - t,
         sum(len(f) for f in loaded.tables.values()), f"{len(loaded.defects)} defects")
    return loaded


def _title_lines(csv: Path) -> int:
    with open(csv, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").splitlines()
    for i, text in enumerate(head):
        if "交换流水号" in text or "流水号" in text:
            return i
    return 0


def bench_rules(loaded):
    from checker.calendar import Calendar
    from checker.engine import evaluate, load_pack
    from checker.model import Period
    print("\n== rules phase (checker.engine.evaluate, 31 rules) ==")
    period = Period.parse(PERIOD)
    pack, cal = load_pack("gz165"), Calendar.load()
    n_ex = len(loaded.tables.get("exchanges", ()))
    t = time.perf_counter()
    result = evaluate(loaded.tables, pack, period, period.end, cal)
    rules_s = time.perf_counter() - t
    line(f"evaluate ({n_ex:,} exchanges)", rules_s, None, f"{len(result.findings):,} findings")

    sub = pack.subset(["GZ165-16-1", "GZ165-20-2", "GZ165-REQ-4"])
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        sub_result = evaluate(loaded.tables, sub, period, period.end, cal)
        runs.append(time.perf_counter() - t)
    vec_s = min(runs)
    line("evaluate, 3 exchange rules only (best of 3)", vec_s, n_ex, "16-1, 20-2, REQ-4")
    return sub_result, rules_s, vec_s, n_ex


def bench_durable(loaded, vec_s: float, n_ex: int, sample: int, vector_findings=None) -> None:
    """The same three exchange rules, one fact per exchange row through durable_rules."""
    from durable.lang import assert_fact, post
    from checker.model import Period
    print(f"\n== per-row baseline: durable_rules, {sample:,} exchange rows asserted one by one ==")
    period = Period.parse(PERIOD)
    allex = loaded.tables["exchanges"]
    ex = allex.sample(n=min(sample, len(allex)), random_state=0).sort_index()   # spread over the whole log
    cat = loaded.tables["catalog"].set_index("信息资源代码")["共享类型"]
    off = {"点对点", "前置机直连", "邮件", "介质拷贝"}
    on = {"共享平台", "专项共享通道"}
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end) + pd.Timedelta(days=1)
    vec_per_row = vec_s / max(n_ex, 1)
    keys = set(ex["交换流水号"].astype(str))
    vec = None
    if vector_findings is not None:
        vec = {(r, k) for r, k in zip(vector_findings["rule_id"], vector_findings["key"]) if k in keys}
    for mode, send in (("post (events)", post), ("assert_fact (facts, as checker/policy.py does)", assert_fact)):
        hits: list[tuple[str, str]] = []
        name = _ruleset(hits)
        t = time.perf_counter()
        for i, row in enumerate(ex.itertuples(index=False)):   # the per-row baseline, deliberately
            ts = getattr(row, "交换时间")
            fact = {
                "id": i, "kind": "ex", "key": str(getattr(row, "交换流水号")),
                "in_period": bool(pd.notna(ts) and start <= ts < end),
                "off_platform": getattr(row, "交换通道") in off, "on_platform": getattr(row, "交换通道") in on,
                "secret": bool(getattr(row, "是否涉密") is True),
                "ok": getattr(row, "交换结果") in (None, "成功") or pd.isna(getattr(row, "交换结果")),
                "share_type": str(cat.get(getattr(row, "信息资源代码"), "")),
            }
            send(name, fact)
        per_row = (time.perf_counter() - t) / max(len(ex), 1)
        line(f"durable_rules, {mode}", per_row * len(ex), len(ex), f"{len(hits):,} findings")
        if vec is not None:   # the two implementations must agree on the sampled rows
            print(f"    same findings as the vectorised engine on the sampled rows: "
                  f"{'yes' if vec == set(hits) else 'NO'} ({len(vec)} vs {len(hits)})")
        print(f"    per row: durable {per_row * 1e6:,.1f} µs vs vectorised {vec_per_row * 1e6:,.3f} µs "
              f"→ vectorised is {per_row / vec_per_row:,.0f}× faster "
              f"(durable extrapolated to {n_ex:,} rows: {per_row * n_ex / 60:,.1f} min)")


def _ruleset(hits: list) -> str:
    """A fresh durable ruleset with the three exchange rules; findings are appended to ``hits``."""
    from durable.lang import m, ruleset
    name = f"bench_rows_{time.time_ns()}"
    with ruleset(name):
        # one condition per rule, conjunction with `&` (several arguments to when_all would mean a join of facts)
        @when_all((m.kind == "ex") & (m.in_period == True) & (m.off_platform == True) & (m.secret == False))  # noqa: E712
        def r16_1(cx):
            hits.append(("GZ165-16-1", cx.m.key))

        @when_all((m.kind == "ex") & (m.in_period == True) & (m.on_platform == True) & (m.secret == True))  # noqa: E712
        def r20_2(cx):
            hits.append(("GZ165-20-2", cx.m.key))

        @when_all((m.kind == "ex") & (m.in_period == True) & (m.ok == True) & (m.share_type == "不予共享"))  # noqa: E712
        def r_req4(cx):
            hits.append(("GZ165-REQ-4", cx.m.key))

        @when_all(m.kind == "ex")          # catch-all, so every fact is handled
        def other(cx):
            pass
    return name


def when_all(*a):  # bound lazily so importing this module does not need durable_rules
    from durable.lang import when_all as _w
    return _w(*a)


def bench_whole() -> None:
    from checker import pipeline, render
    print("\n== whole check: sharecheck run on the scale folder (load + rules + score + all report files) ==")
    out = OUT / PERIOD
    shutil.rmtree(out, ignore_errors=True)
    stages: list[tuple[str, float]] = []
    t = time.perf_counter()
    outcome = pipeline.run([SCALE / "exports"], PERIOD, out=out,
                           progress=lambda stage: stages.append((stage, time.perf_counter())))
    total = time.perf_counter() - t
    line("pipeline.run", total)
    marks = stages + [("end", t + total)]
    for (stage, start), (_next, stop) in zip(marks, marks[1:]):
        line(f"  stage {stage}", stop - start)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"  wrote {sum(1 for f in out.rglob('*') if f.is_file())} files, {size / 2**20:.1f} MiB under {out}")

    print("\n== writers, one by one, on the same report ==")
    report = outcome.report
    n_find = len(report.result.findings)
    n_dept = len(report.scorecard)
    for fmt in render.writers():
        target = OUT / f"writer-{fmt}"
        shutil.rmtree(target, ignore_errors=True)
        t = time.perf_counter()
        files = render.write(report, target, [fmt])
        seconds = time.perf_counter() - t
        extra = f"{len(files)} files"
        if fmt == "dept_xlsx" and files:
            extra += f", {seconds / len(files) * 1000:.0f} ms per department workbook ({n_dept} departments, " \
                     f"{n_find:,} findings in all)"
        line(fmt, seconds, None, extra)


# ------------------------------------------------------------------------------------------------ issue 10
STRESS = ROOT / "fixtures" / "stress"


def cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the department workbook pool)."""
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def children_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def ensure_stress() -> None:
    if (STRESS / "exports").is_dir() and any((STRESS / "exports").glob("*.csv")):
        return
    from fixtures.scale import generate_stress
    print("生成 100 万条交换记录的压力月份 fixtures/stress …", flush=True)
    info = generate_stress(SCALE, STRESS)
    print(f"  {info['rows']:,} exchanges ({info['off_platform']:,} off the platform) in {info['seconds']} s")


def read_only(folder: Path) -> tuple[float, float, int]:
    """The floor: every input read once, nothing else (pyarrow CSV / Parquet, calamine for workbooks).
    Returns (wall s, CPU s, cells)."""
    import pyarrow.csv as pv
    import pyarrow.parquet as pq
    from python_calamine import CalamineWorkbook
    t, c, cells = time.perf_counter(), cpu_s(), 0
    for f in sorted(folder.iterdir()):
        if f.suffix == ".csv":
            head = f.read_bytes()[:65536]
            try:
                head.decode("utf-8")
                enc = "utf8"
            except UnicodeDecodeError:
                enc = "gb18030"
            tb = pv.read_csv(f, read_options=pv.ReadOptions(encoding=enc),       # (a title line: rows of
                             parse_options=pv.ParseOptions(invalid_row_handler=lambda row: "skip"))  # other widths skipped)
            cells += tb.num_rows * tb.num_columns
        elif f.suffix == ".parquet":
            tb = pq.read_table(f)
            cells += tb.num_rows * tb.num_columns
        elif f.suffix in (".xlsx", ".xls", ".ods"):
            wb = CalamineWorkbook.from_path(str(f))
            for name in wb.sheet_names:
                rows = wb.get_sheet_by_name(name).to_python()
                cells += sum(len(r) for r in rows)
    return time.perf_counter() - t, cpu_s() - c, cells


def bench_ratio(folder: Path, label: str, repeat: int = 1) -> None:
    """The whole `sharecheck run` against the read-only floor of the same inputs, stage by stage (medians)."""
    import statistics
    from checker import pipeline
    print(f"\n== issue 10: whole run vs read-only, {label} ({folder}) ==")
    floors, runs = [], []
    for k in range(repeat):
        floors.append(read_only(folder))
        out = OUT / f"ratio-{label}"
        shutil.rmtree(out, ignore_errors=True)
        marks: list[tuple[str, float, float]] = []
        t0, c0 = time.perf_counter(), cpu_s()
        outcome = pipeline.run([folder], PERIOD, out=out,
                               progress=lambda st: marks.append((st, time.perf_counter(), cpu_s())))
        marks.append(("end", time.perf_counter(), cpu_s()))
        stages = [(a[0], b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:])]
        runs.append((marks[-1][1] - t0, marks[-1][2] - c0, stages, len(outcome.report.result.findings)))
    fw = statistics.median(f[0] for f in floors)
    fc = statistics.median(f[1] for f in floors)
    ww = statistics.median(r[0] for r in runs)
    wc = statistics.median(r[1] for r in runs)
    print(f"  read-only floor: {fw:7.2f} s wall, {fc:7.2f} s CPU ({floors[0][2]:,} cells; median of {repeat})")
    print(f"  sharecheck run:  {ww:7.2f} s wall, {wc:7.2f} s CPU ({runs[0][3]:,} findings)"
          f"  → ratio {ww / fw:5.1f}× wall, {wc / fc:5.1f}× CPU")
    for i, (stage, _w, _c) in enumerate(runs[0][2]):
        sw = statistics.median(r[2][i][1] for r in runs)
        sc = statistics.median(r[2][i][2] for r in runs)
        print(f"    {stage:<12} {sw:7.2f} s wall ({sw / fw:5.2f}× floor)  {sc:7.2f} s CPU ({sc / fc:5.2f}× floor)")
    print(f"  peak memory: this process {peak_mib():,.0f} MiB, largest pool worker {children_peak_mib():,.0f} MiB")


def bench_writers(report, rows: int = 200_000) -> None:
    """Cells per second of each writer tried, on the same frame (the findings, as text), side by side."""
    from checker.render import common as cm, xlsx as X, xlsxkit
    from python_calamine import CalamineWorkbook
    f = X._findings_for_sheet(cm.findings_frame(report)).head(rows)
    cols = [c for c in X.FINDING_COLS if c.key in f.columns]
    frame = f[[c.key for c in cols]].astype(object).where(f[[c.key for c in cols]].notna(), None)
    frame = frame.apply(lambda s: s.map(lambda v: v if v is None or isinstance(v, str) else str(v)))
    cells = len(frame) * len(cols)
    print(f"\n== writers side by side: {len(frame):,} rows × {len(cols)} columns = {cells:,} text cells ==")
    OUT.mkdir(parents=True, exist_ok=True)

    def ours(fast: bool, mem: bool = True) -> Path:
        old = xlsxkit.FAST_BODY, xlsxkit.MEM_SHEETS
        xlsxkit.FAST_BODY, xlsxkit.MEM_SHEETS = fast, mem and xlsxkit.MEM_SHEETS
        try:
            wb = xlsxkit.new_workbook(report.as_of)
            xlsxkit.write_table(wb, "问题明细", frame, cols)
            name = "xml" if fast else "cells" if mem else "stock"
            return xlsxkit.save_deterministic(wb, OUT / f"writer-{name}.xlsx", report.as_of)
        finally:
            xlsxkit.FAST_BODY, xlsxkit.MEM_SHEETS = old

    def xlsxwriter_cm() -> Path:
        import datetime as _dt
        import xlsxwriter
        path = OUT / "writer-xlsxwriter.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False})
        wb.set_properties({"created": _dt.datetime(report.as_of.year, report.as_of.month, report.as_of.day)})
        ws = wb.add_worksheet("问题明细")
        ws.write_row(0, 0, [c.label for c in cols])
        for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
            ws.write_row(i, 0, row)
        wb.close()
        return path

    tries = [("sheet XML (xlsxkit fast body)", lambda: ours(True)),
             ("openpyxl cells, xlsxkit row writer", lambda: ours(False)),    # _MemWriter: _plain_xml, _cell_xml
             ("openpyxl write-only cells (stock)", lambda: ours(False, mem=False))]
    try:
        import xlsxwriter  # noqa: F401
        tries.append(("XlsxWriter constant_memory", xlsxwriter_cm))
    except ImportError:
        print("  (XlsxWriter not installed: pip install xlsxwriter to compare)")
    for name, fn in tries:
        t = time.perf_counter()
        c = cpu_s()
        path = fn()
        w, cs = time.perf_counter() - t, cpu_s() - c
        back = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("问题明细").to_python()
        ok = len(back) == len(frame) + 1
        print(f"  {name:<36} {w:7.2f} s wall {cs:7.2f} s CPU  {cells / cs:>12,.0f} cells/s (CPU)  "
              f"{path.stat().st_size / 2**20:6.1f} MiB  read back: {'ok' if ok else 'ROW COUNT DIFFERS'}")


def bench_pandera(loaded, vec_s: float) -> None:
    """The three exchange rules as pandera checks on the same frames (peer baseline), when pandera is installed."""
    try:
        import pandera.pandas as pa
    except ImportError:
        try:
            import pandera as pa
        except ImportError:
            print("\n== pandera peer baseline: pandera not installed (pip install pandera), skipped ==")
            return
    from checker.model import Period
    period = Period.parse(PERIOD)
    ex = loaded.tables["exchanges"]
    cat = loaded.tables["catalog"].set_index("信息资源代码")["共享类型"]
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end) + pd.Timedelta(days=1)
    off, on = ["点对点", "前置机直连", "邮件", "介质拷贝"], ["共享平台", "专项共享通道"]

    def in_period(df):
        return df["交换时间"].ge(start) & df["交换时间"].lt(end)
    secret = ex["是否涉密"].astype("boolean").fillna(False).astype(bool)
    frame = ex.assign(_secret=secret, _share=ex["信息资源代码"].map(cat).astype(object))
    schema = pa.DataFrameSchema(checks=[
        pa.Check(lambda df: ~(in_period(df) & df["交换通道"].isin(off) & ~df["_secret"]), name="GZ165-16-1"),
        pa.Check(lambda df: ~(in_period(df) & df["交换通道"].isin(on) & df["_secret"]), name="GZ165-20-2"),
        pa.Check(lambda df: ~(in_period(df) & (df["交换结果"].isna() | df["交换结果"].eq("成功"))
                              & df["_share"].eq("不予共享")), name="GZ165-REQ-4"),
    ])
    t = time.perf_counter()
    try:
        schema.validate(frame, lazy=True)
        n_fail = 0
    except pa.errors.SchemaErrors as exc:
        n_fail = len(exc.failure_cases)
    s = time.perf_counter() - t
    print(f"\n== pandera peer baseline: the three exchange rules as DataFrameSchema checks ({len(ex):,} rows) ==")
    line("pandera validate(lazy=True)", s, len(ex), f"{n_fail:,} failure cases; engine {vec_s:.2f} s → "
         f"pandera/engine {s / max(vec_s, 1e-9):.1f}×")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="sharecheck benchmarks")
    ap.add_argument("--durable-rows", type=int, default=20000)
    ap.add_argument("--skip-whole", action="store_true")
    ap.add_argument("--skip-stress", action="store_true", help="no 1M-exchange stress month")
    ap.add_argument("--repeat", type=int, default=3, help="runs per ratio (the median is printed)")
    ap.add_argument("--only-ratio", action="store_true", help="only the issue-10 ratios and writers")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    ensure_scale()
    if not a.only_ratio:
        loaded = bench_load()
        sub_result, _rules_s, vec_s, n_ex = bench_rules(loaded)
        bench_durable(loaded, vec_s, n_ex, a.durable_rows, sub_result.findings)
        bench_pandera(loaded, vec_s)
        del loaded
        if not a.skip_whole:
            bench_whole()
    bench_ratio(SCALE / "exports", "scale", a.repeat)
    if not a.skip_stress:
        ensure_stress()
        bench_ratio(STRESS / "exports", "stress-1M", a.repeat)
    from checker import pipeline
    bench_writers(pipeline.run([SCALE / "exports"], PERIOD, write=False).report)
    print(f"\npeak memory of this process: {peak_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
