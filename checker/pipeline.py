"""The run: load -> evaluate -> waivers -> history -> score -> render.

Everything that can be wrong with the user's inputs is found before anything is written: the period, as_of,
the pack and --params, the waivers file, the history file, the calendar, and every input file are checked
first; the output folder and the history record are only touched once the findings exist.

``as_of`` must lie inside the audit period (default: its last day). Before the period's start nothing of the
period could be known; after its end, deadline rules would pull the next period's events into this one (and
report them twice), so both are usage errors (exit 2).
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from .errors import CalendarError, InputError, UsageError
from .model import (FINDING_COLUMNS, META_COLUMNS, META_FILE, META_ROW, META_SHEET, SEVERITIES, SEVERITY_RANK,
                    STATUS_NEW, STATUS_WAIVED, TABLES, EvalResult, LoadResult, Period, Report)

# Progress stages, in order (the CLI shows them as one bar).
STAGES = ["读取输入", "检查规则", "豁免与历史", "评分", "写出报告"]

Progress = Callable[[str], None]


@dataclass
class RunOutcome:
    report: Report
    out_dir: Path | None
    files: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)     # things the auditor must know (stale later periods)

    @property
    def findings(self) -> pd.DataFrame:
        return self.report.result.findings

    def counted(self) -> pd.DataFrame:
        """Findings not waived (未豁免, any severity: what ``--fail-on`` and the summary count). The counted
        findings of the scorecard (计分问题) are ``score.counted_mask``."""
        f = self.findings
        return f[f["status"] != STATUS_WAIVED]

    def counts_by_severity(self) -> dict[str, int]:
        c = self.counted()["severity"].value_counts()
        return {s: int(c.get(s, 0)) for s in SEVERITIES}

    def waived_count(self) -> int:
        return int((self.findings["status"] == STATUS_WAIVED).sum())

    def fails(self, fail_on: str | None) -> bool:
        """A counted finding of severity ``fail_on`` or worse exists."""
        if not fail_on:
            return False
        limit = SEVERITY_RANK[fail_on]
        ranks = self.counted()["severity"].map(SEVERITY_RANK)
        return bool((ranks <= limit).any())

    def worst(self, n: int = 5) -> pd.DataFrame:
        sc = self.report.scorecard
        if sc is None or not len(sc) or "score" not in sc.columns:
            return pd.DataFrame(columns=["department", "score", "grade"])
        cols = [c for c in ("department", "score", "grade", "rank") if c in sc.columns]
        s = sc[cols].copy()
        s["_s"] = pd.to_numeric(s["score"], errors="coerce")
        return s.sort_values(["_s", "department"], kind="mergesort", na_position="last").head(n).drop(columns="_s")


# ---------------------------------------------------------------------------------------------------- helpers
def parse_as_of(text: str | date | None, period: Period) -> date:
    if text is None or text == "":
        return period.end
    if isinstance(text, datetime):
        d = text.date()
    elif isinstance(text, date):
        d = text
    else:
        t = str(text).strip()
        m = re.fullmatch(r"(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})", t) or \
            re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", t)
        try:
            d = date(int(m[1]), int(m[2]), int(m[3])) if m else None
        except ValueError:
            d = None
        if d is None:
            raise UsageError(f"基准日「{text}」格式不对：应为 YYYY-MM-DD（如 {period.end.isoformat()}）",
                             field="基准日")
    if d < period.start or d > period.end:
        raise UsageError(f"基准日 {d.isoformat()} 不在审计期间 {period.label}（{period.start.isoformat()} 至 "
                         f"{period.end.isoformat()}）内：请不填基准日（默认期末 {period.end.isoformat()}）"
                         "或给出期间内的日期", field="基准日")
    return d


def parse_table_override(spec: str) -> tuple[str, str, str | None]:
    """``NAME=PATH[:SHEET]`` -> (name, path, sheet). A path that exists as given wins over a ``:SHEET`` split."""
    if "=" not in spec:
        raise UsageError(f"--table「{spec}」格式不对：应为 表名=文件路径[:工作表]，如 exchanges=交换日志.csv")
    name, rest = spec.split("=", 1)
    name = name.strip()
    if name not in TABLES:
        from .model import TABLE_TITLES
        by_title = {v: k for k, v in TABLE_TITLES.items()}
        if name in by_title:
            name = by_title[name]
        else:
            raise UsageError(f"--table 的表名「{name}」不存在：可用 {', '.join(TABLES)}（或中文名 "
                             f"{'、'.join(TABLE_TITLES.values())}）")
    path, sheet = rest, None
    if not Path(rest).exists() and ":" in rest:
        p, s = rest.rsplit(":", 1)
        if p and not re.fullmatch(r"[A-Za-z]", p):     # not a bare Windows drive letter
            path, sheet = p, (s or None)
    if not path:
        raise UsageError(f"--table「{spec}」缺少文件路径")
    return name, path, sheet


def check_params_file(params: str | Path | None) -> None:
    """A --params file that does not exist is named as the parameter file it is (not as a rule pack file)."""
    if params and not Path(params).is_file():
        what = "是一个文件夹" if Path(params).is_dir() else "不存在"
        raise UsageError(f"参数文件 {params} {what}：请检查参数文件的路径（YAML 文件，如 本次参数.yaml）",
                         field="参数文件")


def default_out(period: Period) -> Path:
    return Path("审计结果") / period.label


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出位置 {out} 已存在且不是文件夹：请换一个输出文件夹", field="输出文件夹")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"输出位置 {out} 无法创建：{parent} 是一个文件，不是文件夹。请换一个输出文件夹",
                                 field="输出文件夹")
            break


# a file that can be neither linked nor removed (immutable, locked, in use) cannot be swapped out of --out
_LOCKED_ERRNOS = (errno.EPERM, errno.EACCES, errno.EBUSY, errno.ETXTBSY)

_OS_ERRORS = {errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限", errno.ENOSPC: "磁盘空间不足",
              errno.EROFS: "磁盘为只读", errno.EEXIST: "已有同名文件", errno.ENOTDIR: "路径中有同名文件，不是文件夹",
              errno.EISDIR: "是一个文件夹", errno.ENAMETOOLONG: "路径太长", errno.EBUSY: "文件正被占用"}


def _note(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(stage)


def _overrides_for_loader(overrides: Any) -> dict | None:
    """Accept a dict name -> (path, sheet) or a list of ``NAME=PATH[:SHEET]`` strings."""
    if not overrides:
        return None
    if isinstance(overrides, dict):
        return dict(overrides)
    out: dict[str, tuple[str, str | None]] = {}
    for spec in overrides:
        name, path, sheet = parse_table_override(spec) if isinstance(spec, str) else spec
        if name in out:
            raise UsageError(f"--table 对表「{name}」给了两次：每张表只能指定一个来源")
        out[name] = (path, sheet)
    return out


def load(inputs: Sequence[str | Path], overrides: Any = None, require: bool = True,
         deferred: dict | None = None) -> LoadResult:
    """Load inputs (used by ``run`` and ``sharecheck validate``; ``validate`` lists what it found before it
    names a missing required table: ``require=False``)."""
    from .load import load_inputs
    paths = [str(p) for p in inputs]
    if not paths and not overrides:
        raise UsageError("没有给出输入文件或文件夹", cli_hint="例如 sharecheck run 导出文件夹 --period 2026-10")
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"输入 {p} 不存在：请检查路径")
    over = _overrides_for_loader(overrides)
    for name, (path, _sheet) in (over or {}).items():
        if not Path(path).is_file():
            what = "是一个文件夹（应为一个文件）" if Path(path).is_dir() else "不存在"
            raise UsageError(f"--table {name}= 指定的文件 {path} {what}：请检查路径")
    if deferred is not None:                  # the dask engine: the event tables' parts are read on its workers
        return load_inputs(paths, over, require=require, deferred=deferred)
    return load_inputs(paths, over) if require else load_inputs(paths, over, require=False)


def require_tables(lr: LoadResult, inputs: Sequence[str | Path]) -> None:
    """Only departments and catalog are required (inputs.md); without them no run is possible."""
    from .model import TABLE_TITLES
    from .schema import REQUIRED_INPUTS
    missing = [t for t in REQUIRED_INPUTS if t not in lr.tables]
    for e in lr.inputs or []:                 # an unfilled template of a required table (issue 8, C1)
        if e.get("template_of") in missing:
            from .load import TEMPLATE_NOTE
            where = e["path"] + (f"「{e['sheet']}」" if e.get("sheet") else "")
            raise InputError(f"必需的输入表「{TABLE_TITLES[e['template_of']]}」（{e['template_of']}）{TEMPLATE_NOTE}"
                             "（未填写的模板）", file=where, hint="请在模板第 3 行起填写数据，或放入该表的导出文件")
    if missing:
        where = "、".join(str(p) for p in inputs) or "输入"
        names = "、".join(f"「{TABLE_TITLES[t]}」（{t}）" for t in missing)
        raise InputError(f"在 {where} 中找不到必需的输入表 {names}",
                         hint="请放入该表的导出文件（工作表名如「" + TABLE_TITLES[missing[0]] + "」）",
                         cli_hint="或用 --table " + missing[0] + "=文件路径 指定")


def _departments(lr: LoadResult) -> pd.DataFrame | None:
    return lr.tables.get("departments")


def _in_scope(lr: LoadResult, result) -> pd.DataFrame | None:
    """The departments scored: those of the pack's scope (all without one)."""
    d = _departments(lr)
    inside = (getattr(result, "out_of_scope", None) or {}).get("in_scope")
    if d is None or inside is None:
        return d
    return d[d["部门名称"].isin(inside)]


def _with_status(findings: pd.DataFrame) -> pd.DataFrame:
    f = findings.copy()
    for c in ("status", "waiver_id"):
        if c not in f.columns:
            f[c] = None
    f["status"] = f["status"].astype("object").where(f["status"].notna(), STATUS_NEW)
    return f


# ---------------------------------------------------------------------------------------------------- the run
def run(inputs: Sequence[str | Path], period: str | Period, as_of: str | date | None = None, pack: str = "gz165",
        params: str | Path | None = None, calendar: str | Path | None = None, waivers: str | Path | None = None,
        history: str | Path | None = None, out: str | Path | None = None, overrides: Any = None,
        formats: Iterable[str] | None = None, progress: Progress | None = None, write: bool = True,
        engine: str = "pandas", scheduler: str | None = None, partition_rows: int | None = None) -> RunOutcome:
    """One audit run. Raises ``SharecheckError`` (nothing written) on bad usage or input.

    ``engine``: ``pandas`` (one process) or ``dask`` (the event tables' parts read on Dask workers: a
    ``LocalCluster`` sized to the machine, or the scheduler at ``scheduler``; Parquet parts in slices of
    ``partition_rows`` rows). Both write the same bytes; the manifest records a non-default engine."""
    from .dask_engine import ENGINES
    if engine not in ENGINES:
        raise UsageError(f"未知的引擎「{engine}」：可用 {'、'.join(ENGINES)}")
    if engine != "dask" and (scheduler or partition_rows):
        raise UsageError("Dask 调度器地址和分片行数只用于 dask 引擎")
    if partition_rows is not None and int(partition_rows) < 1:
        raise UsageError(f"分片行数须为正整数（收到 {partition_rows}）")
    per = period if isinstance(period, Period) else Period.parse(period)
    day = parse_as_of(as_of, per)
    out_dir = Path(out) if out else default_out(per)
    if write:
        _check_out(out_dir)
    overrides = _overrides_for_loader(overrides)

    from . import engine as _engine
    from .calendar import Calendar
    from .history import History
    from .waivers import apply_waivers, read_waivers
    check_params_file(params)
    the_pack = _engine.load_pack(pack, str(params) if params else None)
    from .schema import restore_codelists, use_codelists
    rule_ids = list(the_pack.rule_info()["rule_id"])
    waiver_frame = read_waivers(waivers, rule_ids) if waivers else None
    if history:
        History.check(history)
    cal = Calendar.load(str(calendar) if calendar else None)

    _note(progress, STAGES[0])
    # the loader follows the run's pack's code lists (共享类型 aliases …), for this run only
    before = use_codelists(the_pack.codelists) if getattr(the_pack, "codelists", None) else None
    deferred: dict | None = {} if engine == "dask" else None
    try:
        lr = load(inputs, overrides, deferred=deferred)
    finally:
        if getattr(the_pack, "codelists", None):
            restore_codelists(before)
    require_tables(lr, inputs)

    try:
        parts = None
        if engine == "dask":                   # the event tables: read, checked and summarised on the workers
            from .dask_engine import DaskEngine
            with DaskEngine(scheduler, partition_rows, getattr(the_pack, "codelists", None)) as dk:
                lr, parts = dk.scan(lr, deferred, the_pack, per, day, cal)
        _note(progress, STAGES[1])
        result: EvalResult = _engine.evaluate(lr.tables, the_pack, per, day, cal, defects=lr.defects, parts=parts)
    except CalendarError as exc:
        years = list(getattr(exc, "years", ()))
        own = set(range(per.start.year, per.end.year + 1)) | {day.year}
        # no hint when the period itself lies in an uncovered year: then the calendar file is the fix
        hint = "" if own & set(years) else _calendar_hint(lr, years)
        if not hint:
            raise
        err = CalendarError(f"{exc}{hint}", field=exc.field, cli_hint=exc.cli_hint)
        err.years = exc.years
        raise err from None

    _note(progress, STAGES[2])
    findings, waiver_frame = apply_waivers(result.findings, waiver_frame, day)

    _note(progress, STAGES[3])
    from .score import score as _score
    scored_in = _with_status(findings)
    manifest = dict(the_pack.manifest)
    if engine != "pandas":                     # the one difference between the engines' outputs
        manifest["engine"] = engine
    if hasattr(the_pack, "param_labels"):      # the 说明 sheet names parameters as their rule files do
        manifest["param_labels"] = the_pack.param_labels()
    if getattr(the_pack, "chain", None):       # the pack chain, differences from the parent, scope counts
        manifest["chain"] = [{k: c.get(k) for k in ("pack", "version", "status")} for c in the_pack.chain]
        manifest["differences"] = list(the_pack.differences)
        manifest["out_of_scope"] = dict(getattr(result, "out_of_scope", None) or {})
    rules = the_pack.rule_info()
    scorecard = _score(scored_in, result.checked, result.not_checked, manifest, _in_scope(lr, result), rules=rules)

    params_used = result.params or the_pack.params_used()
    report = Report(period=per, as_of=day, pack=manifest, params=params_used, rules=rules, load=lr,
                    result=result, scorecard=scorecard, waivers=waiver_frame)

    _note(progress, STAGES[4])
    files: list[Path] = []
    notices: list[str] = []
    if history:
        try:
            files = _with_history(history, per, day, findings, result, scorecard, manifest, report, out_dir,
                                  formats, write, notices)
        except sqlite3.DatabaseError as exc:
            # read-only, disk full, truncated or damaged: say which (the transaction rolled back, --out unchanged)
            from .history import diagnose
            raise UsageError(diagnose(Path(history), exc)) from None
    else:
        report.result = _replace_findings(result, _with_status(findings))
        if write:
            files = _render(report, out_dir, formats)
    return RunOutcome(report=report, out_dir=out_dir if write else None, files=files, notices=notices)


# How often a run renders again when another run recorded into the same history while it was rendering; after
# that it renders while holding the write lock (as before issue 8 B4), so that it always finishes.
HISTORY_RETRIES = 2


def _history_view(h, per, findings, result, scorecard):
    """Everything the reports take from the history: statuses, resolved, previous period, trends."""
    cmp = h.compare(per, findings, not_checked=_not_checked_rules(result))
    return cmp, h.trends(per, current=scorecard)


def _same_view(a, b) -> bool:
    (ca, ta), (cb, tb) = a, b
    cols = ["status", "since"]
    return (ca.previous_period == cb.previous_period
            and ca.findings[cols].reset_index(drop=True).equals(cb.findings[cols].reset_index(drop=True))
            and ca.resolved.reset_index(drop=True).equals(cb.resolved.reset_index(drop=True))
            and ta.reset_index(drop=True).equals(tb.reset_index(drop=True)))


def _with_history(history, per, day, findings, result, scorecard, manifest, report, out_dir, formats,
                  write, notices: list[str] | None = None) -> list[Path]:
    """Compare with the history and render WITHOUT the write lock; then, holding it only for the short step,
    check that nobody recorded in between (else render again), record, swap the reports into --out and commit.
    The record commits only with the reports, and the reports are put back if the record cannot commit."""
    from .history import History
    files: list[Path] = []
    with History.open(history) as h:
        prev = h.previous_period(per)
        prev_pack = h.pack_of(prev) if prev else None
    if prev_pack and manifest.get("pack") and prev_pack != manifest.get("pack"):
        # rule IDs, waivers and scores are per pack: a comparison across packs would call everything new
        raise UsageError(f"历史库 {history} 中上一期 {prev} 是用规则包「{prev_pack}」检查的，本次用的是"
                         f"「{manifest.get('pack')}」：不同规则包的结果不能逐期比较。请为每个规则包使用单独的历史库，"
                         f"或用规则包「{prev_pack}」检查本期", field="历史库")

    def show(view):
        cmp, trends = view
        report.result = _replace_findings(result, _with_status(cmp.findings))
        report.resolved, report.previous_period = cmp.resolved, cmp.previous_period
        report.trends = trends

    with History.open(history) as h:
        for attempt in range(HISTORY_RETRIES + 1):
            last = attempt == HISTORY_RETRIES
            staged = None
            if not last:
                with h.snapshot():
                    view = _history_view(h, per, findings, result, scorecard)
                show(view)
                staged = _stage(report, out_dir, formats) if write else None
            try:
                try:
                    with h.transaction():
                        now = _history_view(h, per, findings, result, scorecard)
                        if last:                         # the others kept recording: render under the lock
                            view = now
                            show(view)
                            staged = _stage(report, out_dir, formats) if write else None
                        elif not _same_view(view, now):
                            raise _HistoryMoved
                        cmp = view[0]
                        h.record(per, day, cmp.findings, scorecard, manifest.get("pack"), manifest.get("version"))
                        later, changed = h.restatus_later(per)
                        if later and notices is not None:
                            notices.append(_later_notice(history, per, later, changed))
                        files = staged.swap() if staged is not None else []
                except BaseException:
                    if staged is not None:
                        staged.unswap()             # the record did not commit: --out as it was
                    raise
                if staged is not None:
                    staged.finish()
                return files
            except _HistoryMoved:
                continue
            finally:
                if staged is not None:
                    staged.discard()
    return files


class _HistoryMoved(Exception):
    """Another run recorded into the history while this one rendered: the statuses shown may be wrong."""


def _later_notice(history, per: Period, later: list[str], changed: int) -> str:
    names = "、".join(later)
    what = (f"已按本期记录重新计算了这些期间的新增/持续状态（{changed} 个问题的状态改变）" if changed
            else "这些期间记录中的新增/持续状态不受影响")
    return (f"历史库 {history} 中已有比 {per.label} 更晚的期间 {names}：{what}；但这些期间已写出的报告中的"
            f"新增、持续、已整改是对比旧的上期得出的，已过时，请重跑 {names} 以更新报告")


_DEADLINE_TABLES = ("catalog_changes", "officers", "requests", "disputes", "updates")


def _table_order(name: str) -> tuple[int, str]:
    names = list(TABLES)
    return (names.index(name), name) if name in names else (len(names), name)


def _calendar_hint(lr: LoadResult, years: Iterable[int]) -> str:
    """For a missing-calendar error, name the first input cell dated in such a year (the deadline tables first,
    then the others in the order of ``TABLES``; columns in frame order, then by row): a stray date like 2003 in
    the data is far more often a typo than a reason to write a calendar file. Empty when no cell is in those
    years."""
    wanted = sorted({int(y) for y in years})
    if not wanted:
        return ""
    # the tables whose dates feed working-day deadlines first: the cell most likely to be the one in question
    first = [t for t in _DEADLINE_TABLES if t in lr.tables]
    for name in first + [t for t in sorted(lr.tables, key=_table_order) if t not in first]:
        frame = lr.tables[name]
        for col in frame.columns:
            if col in META_COLUMNS or not pd.api.types.is_datetime64_any_dtype(frame[col].dtype):
                continue
            hit = frame[col].dt.year.isin(wanted).to_numpy(dtype=bool)
            if not hit.any():
                continue
            i = int(hit.argmax())
            row = frame.iloc[i]
            parts = [f"文件 {row[META_FILE]}"] if META_FILE in frame.columns and row[META_FILE] else []
            if META_SHEET in frame.columns and row[META_SHEET]:
                parts.append(f"工作表「{row[META_SHEET]}」")
            if META_ROW in frame.columns and not pd.isna(row[META_ROW]):
                parts.append(f"第 {int(row[META_ROW])} 行")
            parts.append(f"列「{col}」")
            value = pd.Timestamp(row[col])
            shown = value.strftime("%Y-%m-%d") if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M:%S")
            seen = (lr.year_counts or {}).get((name, col))     # the dask engine: the stub is not the table
            more = int(hit.sum() if seen is None else seen[seen.index.isin(wanted)].sum()) - 1
            extra = f"（该列另有 {more} 行）" if more else ""
            return (f"。输入中日期在该年的单元格例如：{'，'.join(parts)}，值 {shown}{extra}；"
                    "如果是日期填错，请改正输入文件后重跑")
    return ""


def _not_checked_rules(result: EvalResult) -> list[str]:
    nc = result.not_checked
    return [] if nc is None or not len(nc) else sorted(set(nc["rule_id"].astype(str)))


def _replace_findings(result: EvalResult, findings: pd.DataFrame) -> EvalResult:
    extra = [c for c in findings.columns if c not in FINDING_COLUMNS]
    return EvalResult(findings=findings[FINDING_COLUMNS + extra].reset_index(drop=True), checked=result.checked,
                      pending=result.pending, not_checked=result.not_checked, skipped=result.skipped,
                      params=result.params, out_of_scope=getattr(result, "out_of_scope", None) or {})


def _render(report: Report, out_dir: Path, formats: Iterable[str] | None) -> list[Path]:
    """Write the reports into a staging folder beside ``out_dir`` and swap them in all at once (``_Staged``).

    A failure or Ctrl-C while writing or committing leaves ``out_dir`` exactly as it was and no new folder
    behind. An OS error (no permission, disk full, a file open in Excel) is a one-line error naming ``--out``,
    exit 2.
    """
    staged = _stage(report, out_dir, formats)
    try:
        files = staged.swap()
        staged.finish()
        return files
    finally:
        staged.discard()


# ------------------------------------------------------------------------------------------- committing --out
# Staging folders beside --out are named .sharecheck-<host>-<pid>-<random>: a later run can tell a folder left by
# a killed run (its process gone) from one of a run still writing.
STAGE_PREFIX = ".sharecheck-"
STALE_FOREIGN_SECONDS = 24 * 3600     # a staging folder of another machine (a shared drive) is removed after a day
DEPT_FOLDER = "部门报告"
MANIFEST = "manifest.json"


def _host_tag() -> str:
    import socket
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname() or "host")[:40] or "host"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_stages(parent: Path, now: float | None = None) -> list[Path]:
    """Remove the staging folders of killed runs in ``parent`` (B3): only real folders (never a link) named
    ``.sharecheck-…``, owned by this user, whose run is gone: on this machine its process no longer exists; of
    another machine (or of an older version, without a process number) when older than a day. Returns the
    folders removed; never raises."""
    import stat
    import time
    removed: list[Path] = []
    now = time.time() if now is None else now
    host = _host_tag()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        if not e.name.startswith(STAGE_PREFIX):
            continue
        try:
            st = os.lstat(e.path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            continue
        parts = e.name[len(STAGE_PREFIX):].rsplit("-", 2)
        ours = len(parts) == 3 and parts[0] == host and parts[1].isdigit()
        if ours:
            gone = not _pid_alive(int(parts[1]))
        else:
            gone = now - st.st_mtime > STALE_FOREIGN_SECONDS
        if gone:
            shutil.rmtree(e.path, ignore_errors=True)
            if not os.path.lexists(e.path):
                removed.append(Path(e.path))
    return removed


class _Staged:
    """The reports of one run rendered into ``<stage>/new`` beside ``--out``, committed in one step.

    ``swap()`` builds the complete new folder (the reports just written, plus every file already in ``--out``
    that this run neither rewrites nor retires, hard-linked or copied), checks every target first, then
    exchanges it with ``--out`` in one rename (``renameat2(RENAME_EXCHANGE)`` where the system has it, else two
    renames undone on failure). ``unswap()`` puts the old folder back (the history commit failed);
    ``finish()`` drops it; ``discard()`` removes whatever is left of the staging folder.
    """

    def __init__(self, out_dir: Path, stage: Path, rel: list[Path], created: Path | None, period: str):
        self.out_dir, self.stage, self.rel, self.created, self.period = out_dir, stage, rel, created, period
        self.new = stage / "new"
        self.old: Path | None = None        # the previous --out, inside the stage, after the swap
        self.swapped = False
        self.in_place = False               # swapped file by file (--out holds the current folder)
        self.moves: list[tuple[Path, Path | None]] = []

    # -- errors name --out, never the hidden staging path (B6)
    def _public(self, name: Any) -> str:
        if not name:
            return str(self.out_dir)
        try:
            rel = Path(os.path.abspath(name)).relative_to(os.path.abspath(self.new))
            return str(self.out_dir / rel)
        except ValueError:
            pass
        try:
            Path(os.path.abspath(name)).relative_to(os.path.abspath(self.stage))
            return str(self.out_dir)
        except ValueError:
            return str(name)

    def os_error(self, exc: OSError) -> UsageError:
        what = _OS_ERRORS.get(exc.errno, exc.strerror or type(exc).__name__)
        return UsageError(f"无法写入输出文件夹 {self.out_dir}（{self._public(exc.filename)}：{what}）："
                          "请检查文件夹权限和磁盘空间，并关闭正在 Excel 中打开的报告后重试；"
                          "输出文件夹未作任何改动")

    def _retired(self, written: set[str]) -> set[str]:
        """Department workbooks the previous run listed in its manifest and this run no longer writes (B2):
        only those are removed; files the previous manifest does not list (the auditors' own) stay."""
        if not any(r.startswith(DEPT_FOLDER + "/") for r in written):
            return set()
        try:
            import json
            prev = json.loads((self.out_dir / MANIFEST).read_text(encoding="utf-8"))
            listed = prev.get("outputs") if isinstance(prev, dict) else None
        except (OSError, ValueError):
            return set()
        if not isinstance(listed, list):
            return set()
        out = set()
        for r in listed:
            if not isinstance(r, str) or r in written:
                continue
            pr = Path(r)
            if pr.is_absolute() or ".." in pr.parts or len(pr.parts) != 2 or pr.parts[0] != DEPT_FOLDER:
                continue
            out.add(pr.as_posix())
        return out

    def _check_targets(self) -> None:
        """Every target is checked before anything moves: no link anywhere on the way (a link would lead the
        run out of --out), no folder where a report file goes, no file where a folder goes."""
        import stat
        out = self.out_dir
        for r in self.rel:
            p = out
            for i, part in enumerate(r.parts):
                p = p / part
                try:
                    st = os.lstat(p)
                except FileNotFoundError:
                    break
                last = i == len(r.parts) - 1
                if stat.S_ISLNK(st.st_mode):
                    raise UsageError(f"无法写入输出文件夹 {out}：{p} 是一个链接（指向 {os.readlink(p)}），"
                                     "sharecheck 不会写到输出文件夹之外。请删除该链接或换一个输出文件夹；"
                                     "输出文件夹未作任何改动")
                if last and not stat.S_ISREG(st.st_mode):
                    raise UsageError(f"无法写入输出文件夹 {out}：{p} 已存在且不是文件（报告文件应写在这里）。"
                                     "请移走或改名后重试；输出文件夹未作任何改动")
                if not last and not stat.S_ISDIR(st.st_mode):
                    raise UsageError(f"无法写入输出文件夹 {out}：{p} 是一个文件，不是文件夹。请移走或改名后重试；"
                                     "输出文件夹未作任何改动")
                if last:
                    self._probe(p)

    def _probe(self, p: Path) -> None:
        """A file that can be neither linked nor removed (immutable, locked) cannot be replaced: refused before
        anything moves. Probed with a hard link into the stage, which changes nothing in --out."""
        probe = self.stage / "probe"
        try:
            os.link(p, probe, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in _LOCKED_ERRNOS:
                raise UsageError(f"无法写入输出文件夹 {self.out_dir}：{p} 无法替换（文件被锁定、正在使用或设为"
                                 "不可更改）。请关闭正在 Excel 中打开的报告、解除锁定后重试；输出文件夹未作任何改动"
                                 ) from None
            return                              # no hard links here (another file system): nothing to learn
        os.unlink(probe)

    def _carry_over(self, written: set[str]) -> None:
        """Link (or copy) into the new folder every entry of --out this run does not replace or retire."""
        import stat
        retired = self._retired(written)
        top = os.fspath(self.out_dir)
        for root, dirs, files in os.walk(top, followlinks=False):
            rel_root = os.path.relpath(root, top)
            dest_root = self.new if rel_root == "." else self.new / rel_root
            dest_root.mkdir(parents=True, exist_ok=True)
            for name in list(dirs):
                src = os.path.join(root, name)
                if os.path.islink(src):           # a link is carried as a link, never followed
                    dirs.remove(name)
                    files.append(name)
            for name in files:
                rel = name if rel_root == "." else f"{Path(rel_root).as_posix()}/{name}"
                if rel in written or rel in retired:
                    continue
                src, dst = os.path.join(root, name), dest_root / name
                st = os.lstat(src)
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                    continue
                try:
                    os.link(src, dst, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno in _LOCKED_ERRNOS:
                        # kept by copying, its original could never be removed from the old folder
                        raise UsageError(f"无法写入输出文件夹 {self.out_dir}：其中的 {src} 被锁定或设为不可更改，"
                                         "无法随输出文件夹一起替换。请解除锁定或移走该文件后重试；"
                                         "输出文件夹未作任何改动") from None
                    if exc.errno not in (errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                        raise
                    shutil.copy2(src, dst, follow_symlinks=False)
            shutil.copystat(root, dest_root, follow_symlinks=False)

    def _exchange(self) -> None:
        """--out <-> the new folder, in one step where the system allows it."""
        if not os.path.lexists(self.out_dir):
            os.rename(self.new, self.out_dir)
            self.old, self.swapped = None, True
            return
        if _rename_exchange(self.new, self.out_dir):
            self.old, self.swapped = self.new, True   # `new` now holds the previous --out
            return
        old = self.stage / "old"
        os.rename(self.out_dir, old)
        try:
            os.rename(self.new, self.out_dir)
        except BaseException:
            os.rename(old, self.out_dir)
            raise
        self.old, self.swapped = old, True

    def _holds_cwd(self) -> bool:
        try:
            cwd, out = Path.cwd().resolve(), self.out_dir.resolve()
        except OSError:
            return False
        return cwd == out or out in cwd.parents

    def _swap_in_place(self, written: set[str]) -> None:
        """--out holds this process's current folder (``sharecheck run . --out .``): the folder cannot be exchanged
        (the shell would be left in the old one; Windows refuses), so each file is swapped on its own: the old
        one moved aside into the stage, the new one moved in; on any failure every move is undone."""
        self.in_place = True
        self.moves: list[tuple[Path, Path | None]] = []     # (target, its old file aside or None)
        aside = self.stage / "old"
        try:
            for r in sorted(written | self._retired(written)):
                target, backup = self.out_dir / r, aside / r
                had = os.path.lexists(target)
                if had:
                    backup.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(target, backup)
                self.moves.append((target, backup if had else None))
                if r in written:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(self.new / r, target)
        except BaseException:
            self._undo_in_place()
            raise

    def _undo_in_place(self) -> None:
        for target, backup in reversed(self.moves):
            if os.path.lexists(target):              # the new file (or nothing yet)
                try:
                    os.unlink(target)
                except OSError:
                    pass
            if backup is not None:
                os.rename(backup, target)
        self.moves = []

    def swap(self) -> list[Path]:
        try:
            self._check_targets()
            written = {r.as_posix() for r in self.rel}
            if self.out_dir.exists() and self._holds_cwd():
                self._swap_in_place(written)
            else:
                if self.out_dir.exists():
                    self._carry_over(written)
                self._exchange()
        except OSError as exc:
            raise self.os_error(exc) from None
        self.swapped = True
        return [self.out_dir / r for r in self.rel]

    def unswap(self) -> None:
        """Undo a swap (the history record could not be committed): --out as it was before."""
        if not self.swapped:
            return
        if self.in_place:
            try:
                self._undo_in_place()
            finally:
                self.swapped = False
            return
        try:
            if self.old is None:
                shutil.rmtree(self.out_dir, ignore_errors=True)
            else:
                back = self.stage / "undo"
                if _rename_exchange(self.old, self.out_dir):
                    os.rename(self.old, back)
                else:
                    os.rename(self.out_dir, back)
                    os.rename(self.old, self.out_dir)
                self.old = None
        finally:
            self.swapped = False

    def finish(self) -> None:
        self.created = None                    # the new folder stays: it is the result
        self.swapped = False

    def discard(self) -> None:
        if self.created is not None and not self.swapped:       # failed or interrupted: no new folder left
            shutil.rmtree(self.created, ignore_errors=True)
        shutil.rmtree(self.stage, ignore_errors=True)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE). False when the system lacks it."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def department_display(report: Report) -> dict[str, str]:
    """Normalised 部门名称 -> the spelling of 部门名录, where the two differ (issue 8 C4)."""
    from .schema import DISPLAY_PREFIX
    deps = report.load.tables.get("departments") if report.load is not None else None
    twin = DISPLAY_PREFIX + "部门名称"
    if deps is None or twin not in deps.columns:
        return {}
    own = deps[deps[twin].notna()]
    return dict(zip(own["部门名称"].astype(object), own[twin].astype(object)))


def display_names(report: Report) -> Report:
    """The report as its readers see it: departments named as 部门名录 writes them (issue 8 C4). Matching, keys,
    history and waivers use the normalised name. Every department column the writers read (findings, scorecard,
    checked units, history, and each loaded table's department columns) goes through the same one-to-one map, so
    the writers' own joins are unchanged. Names not in 部门名录 stay as they are."""
    import dataclasses
    from . import schema
    names = department_display(report)
    if not names:
        return report

    def shown(v: pd.Series) -> pd.Series:
        if isinstance(v.dtype, pd.CategoricalDtype):      # the event tables: rename the few categories
            return v.cat.rename_categories([names.get(c, c) for c in v.cat.categories])
        v = v.astype(object)
        return v.map(names).where(v.isin(names.keys()), v)

    def mapped(frame, cols):
        if frame is None or not len(frame):
            return frame
        return frame.assign(**{c: shown(frame[c]) for c in cols if c in frame.columns})

    dept_cols = {t.name: [c.name for c in t.columns if c.ref == "dept" or (t.name == "departments"
                                                                         and c.name == "部门名称")]
                 for t in schema.TABLES.values()}
    tables = {name: mapped(frame, dept_cols.get(name, [])) for name, frame in report.load.tables.items()}
    r = report.result
    result = dataclasses.replace(r, findings=mapped(r.findings, ["department", "counterpart"]),
                                 pending=mapped(r.pending, ["department"]), checked=mapped(r.checked, ["department"]))
    return dataclasses.replace(
        report, load=dataclasses.replace(report.load, tables=tables), result=result,
        scorecard=mapped(report.scorecard, ["department"]), trends=mapped(report.trends, ["department"]),
        resolved=mapped(report.resolved, ["department"]))


def _stage(report: Report, out_dir: Path, formats: Iterable[str] | None) -> _Staged:
    """Render every report into a new staging folder beside ``out_dir`` (nothing in ``out_dir`` changes)."""
    from .render import write
    report = display_names(report)
    out_dir = Path(out_dir)
    if out_dir.is_symlink():              # --out itself may be a link the auditor made: commit where it points
        out_dir = Path(os.path.realpath(out_dir))
    created = _first_missing(out_dir)
    stage: Path | None = None
    staged: _Staged | None = None
    try:
        parent = Path(os.path.abspath(out_dir)).parent   # beside --out, also for `--out .`
        parent.mkdir(parents=True, exist_ok=True)
        clean_stale_stages(parent)
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{_host_tag()}-{os.getpid()}-", dir=parent))
        new = stage / "new"
        new.mkdir()
        written = write(report, new, list(formats) if formats else None)
        if not isinstance(written, (list, tuple)):
            written = sorted(p for p in new.rglob("*") if p.is_file())
        rel = [Path(w).resolve().relative_to(new.resolve()) for w in written]
        _list_outputs(new, rel)
        staged = _Staged(out_dir, stage, rel, created, report.period.label)
        return staged
    except OSError as exc:
        what = _OS_ERRORS.get(exc.errno, exc.strerror or type(exc).__name__)
        where = out_dir
        if exc.filename and stage is not None:
            try:
                where = out_dir / Path(os.path.abspath(exc.filename)).relative_to(os.path.abspath(stage / "new"))
            except ValueError:
                where = out_dir
        elif exc.filename:
            where = exc.filename
        raise UsageError(f"无法写入输出文件夹 {out_dir}（{where}：{what}）：请检查文件夹权限和磁盘空间，"
                         "并关闭正在 Excel 中打开的报告后重试") from None
    finally:
        if staged is None:
            if created is not None:           # failed or interrupted: leave no new folder behind
                shutil.rmtree(created, ignore_errors=True)
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)


def _list_outputs(new: Path, rel: list[Path]) -> None:
    """Record in manifest.json (when written) the files of this run, so that a later run removes only what
    this one wrote (B2). Same JSON layout as the writer (sorted keys, indent 2)."""
    import json
    m = new / MANIFEST
    if Path(MANIFEST) not in rel or not m.is_file():
        return
    data = json.loads(m.read_text(encoding="utf-8"))
    data["outputs"] = sorted(r.as_posix() for r in rel)
    m.write_bytes((json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8"))


def _first_missing(path: Path) -> Path | None:
    """The topmost folder of ``path`` that does not exist yet (None when ``path`` exists)."""
    top = None
    for p in [path, *path.parents]:
        if p.exists():
            break
        top = p
    return top
