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

    @property
    def findings(self) -> pd.DataFrame:
        return self.report.result.findings

    def counted(self) -> pd.DataFrame:
        """Findings that count (not waived)."""
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
            raise UsageError(f"基准日「{text}」格式不对：应为 YYYY-MM-DD（如 {period.end.isoformat()}）")
    if d < period.start or d > period.end:
        raise UsageError(f"基准日 {d.isoformat()} 不在审计期间 {period.label}（{period.start.isoformat()} 至 "
                         f"{period.end.isoformat()}）内：请省略 --as-of（默认期末 {period.end.isoformat()}）"
                         "或给出期间内的日期")
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
        raise UsageError(f"参数文件 {params} {what}：请检查 --params 后面的路径（YAML 文件，如 本次参数.yaml）")


def default_out(period: Period) -> Path:
    return Path("审计结果") / period.label


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出位置 {out} 已存在且不是文件夹：请用 --out 换一个文件夹")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"输出位置 {out} 无法创建：{parent} 是一个文件，不是文件夹。请用 --out 换一个文件夹")
            break


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


def load(inputs: Sequence[str | Path], overrides: Any = None) -> LoadResult:
    """Load inputs (used by ``run`` and ``sharecheck validate``)."""
    from .load import load_inputs
    paths = [str(p) for p in inputs]
    if not paths and not overrides:
        raise UsageError("没有给出输入文件或文件夹：例如 sharecheck run 导出文件夹 --period 2026-10")
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"输入 {p} 不存在：请检查路径")
    over = _overrides_for_loader(overrides)
    for name, (path, _sheet) in (over or {}).items():
        if not Path(path).is_file():
            what = "是一个文件夹（应为一个文件）" if Path(path).is_dir() else "不存在"
            raise UsageError(f"--table {name}= 指定的文件 {path} {what}：请检查路径")
    return load_inputs(paths, over)


def require_tables(lr: LoadResult, inputs: Sequence[str | Path]) -> None:
    """Only departments and catalog are required (inputs.md); without them no run is possible."""
    from .model import TABLE_TITLES
    from .schema import REQUIRED_INPUTS
    missing = [t for t in REQUIRED_INPUTS if t not in lr.tables]
    if missing:
        where = "、".join(str(p) for p in inputs) or "输入"
        names = "、".join(f"「{TABLE_TITLES[t]}」（{t}）" for t in missing)
        raise InputError(f"在 {where} 中找不到必需的输入表 {names}",
                         hint="请放入该表的导出文件（工作表名如「" + TABLE_TITLES[missing[0]]
                              + "」），或用 --table " + missing[0] + "=文件路径 指定")


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
        formats: Iterable[str] | None = None, progress: Progress | None = None, write: bool = True) -> RunOutcome:
    """One audit run. Raises ``SharecheckError`` (nothing written) on bad usage or input."""
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
    try:
        lr = load(inputs, overrides)
    finally:
        if getattr(the_pack, "codelists", None):
            restore_codelists(before)
    require_tables(lr, inputs)

    _note(progress, STAGES[1])
    try:
        result: EvalResult = _engine.evaluate(lr.tables, the_pack, per, day, cal, defects=lr.defects)
    except CalendarError as exc:
        years = list(getattr(exc, "years", ()))
        own = set(range(per.start.year, per.end.year + 1)) | {day.year}
        # no hint when the period itself lies in an uncovered year: then the calendar file is the fix
        hint = "" if own & set(years) else _calendar_hint(lr, years)
        if not hint:
            raise
        err = CalendarError(f"{exc}{hint}")
        err.years = exc.years
        raise err from None

    _note(progress, STAGES[2])
    findings, waiver_frame = apply_waivers(result.findings, waiver_frame, day)

    _note(progress, STAGES[3])
    from .score import score as _score
    scored_in = _with_status(findings)
    manifest = dict(the_pack.manifest)
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
    if history:
        try:
            files = _with_history(history, per, day, findings, result, scorecard, manifest, report, out_dir,
                                  formats, write)
        except sqlite3.DatabaseError as exc:
            # a damaged history file (bad page, a column missing): a one-line error, the transaction rolled back
            raise UsageError(f"历史库 {history} 读写出错（{exc}）：文件可能已损坏，请从备份恢复或换一个文件名"
                             ) from None
    else:
        report.result = _replace_findings(result, _with_status(findings))
        if write:
            files = _render(report, out_dir, formats)
    return RunOutcome(report=report, out_dir=out_dir if write else None, files=files)


def _with_history(history, per, day, findings, result, scorecard, manifest, report, out_dir, formats,
                  write) -> list[Path]:
    """Compare with and record into the history (one transaction), then render; the record commits only when
    the reports were written."""
    from .history import History
    files: list[Path] = []
    with History.open(history) as h, h.transaction():
        prev = h.previous_period(per)
        prev_pack = h.pack_of(prev) if prev else None
        if prev_pack and manifest.get("pack") and prev_pack != manifest.get("pack"):
            # rule IDs, waivers and scores are per pack: a comparison across packs would call everything new
            raise UsageError(f"历史库 {history} 中上一期 {prev} 是用规则包「{prev_pack}」检查的，本次用的是"
                             f"「{manifest.get('pack')}」：不同规则包的结果不能逐期比较。请为每个规则包使用单独的历史库"
                             f"（--history 另一个文件），或用 --pack {prev_pack} 检查本期")
        cmp = h.compare(per, findings, not_checked=_not_checked_rules(result))
        h.record(per, day, cmp.findings, scorecard, manifest.get("pack"), manifest.get("version"))
        report.result = _replace_findings(result, _with_status(cmp.findings))
        report.resolved, report.previous_period = cmp.resolved, cmp.previous_period
        report.trends = h.trends(per)
        if write:
            files = _render(report, out_dir, formats)
    return files


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
            more = int(hit.sum()) - 1
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
    """Write the reports into a staging folder beside ``out_dir``, then move them into place.

    A failure or Ctrl-C while writing leaves no half-written workbook and no new folder behind. Department
    workbooks of this period left in ``out_dir`` by an earlier run of the same period (a department that is
    gone) are removed, so re-running a period replaces its reports. An OS error (no permission, disk full, a
    file open in Excel) is a one-line error, exit 2.
    """
    from .render import write
    out_dir = Path(out_dir)
    created = _first_missing(out_dir)
    stage: Path | None = None
    done = False
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".sharecheck-", dir=out_dir.parent))
        written = write(report, stage, list(formats) if formats else None)
        if not isinstance(written, (list, tuple)):
            written = sorted(p for p in stage.rglob("*") if p.is_file())
        rel = [Path(w).resolve().relative_to(stage.resolve()) for w in written]
        out_dir.mkdir(parents=True, exist_ok=True)
        for r in rel:
            (out_dir / r).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / r, out_dir / r)
        _remove_stale(out_dir, rel, report.period.label)
        done = True
        return [out_dir / r for r in rel]
    except OSError as exc:
        what = _OS_ERRORS.get(exc.errno, exc.strerror or type(exc).__name__)
        where = exc.filename or out_dir
        raise UsageError(f"无法写入输出文件夹 {out_dir}（{where}：{what}）：请检查文件夹权限和磁盘空间，"
                         "并关闭正在 Excel 中打开的报告后重试") from None
    finally:
        if not done and created is not None:      # failed or interrupted: leave no new folder behind
            shutil.rmtree(created, ignore_errors=True)
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def _first_missing(path: Path) -> Path | None:
    """The topmost folder of ``path`` that does not exist yet (None when ``path`` exists)."""
    top = None
    for p in [path, *path.parents]:
        if p.exists():
            break
        top = p
    return top


def _remove_stale(out_dir: Path, written: list[Path], period_label: str) -> None:
    """In every sub-folder this run wrote (部门报告/), remove ``*_<period>.xlsx`` files it did not write."""
    by_folder: dict[Path, set[str]] = {}
    for r in written:
        if r.parent != Path("."):
            by_folder.setdefault(r.parent, set()).add(r.name)
    for folder, names in by_folder.items():
        for f in (out_dir / folder).glob(f"*_{period_label}.xlsx"):
            if f.is_file() and f.name not in names:
                f.unlink()
