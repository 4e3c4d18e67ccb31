"""Report writers, registered by name; ``write`` runs them in a fixed order.

    from checker.render import write
    paths = write(report, out_dir)                 # every writer
    paths = write(report, out_dir, ["xlsx", "csv"])

Each writer is ``fn(report, out_dir: Path) -> list[Path]`` and never recomputes anything from raw inputs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from ..errors import UsageError
from ..model import Report

Writer = Callable[[Report, Path], "list[Path]"]
_WRITERS: dict[str, Writer] = {}
# The fixed order of ``write`` (writers registered later run after these, in registration order).
ORDER = ["xlsx", "dept_xlsx", "html", "csv", "json"]


def register(name: str) -> Callable[[Writer], Writer]:
    def deco(fn: Writer) -> Writer:
        _WRITERS[name] = fn
        return fn
    return deco


def writers() -> list[str]:
    known = [n for n in ORDER if n in _WRITERS]
    return known + [n for n in _WRITERS if n not in ORDER]


def write(report: Report, out_dir, formats: Iterable[str] | None = None) -> list[Path]:
    """Write the report files under ``out_dir``; returns the paths written, in writer order."""
    names = writers()
    if formats is not None:
        wanted = list(dict.fromkeys(formats))
        unknown = [n for n in wanted if n not in _WRITERS]
        if unknown:
            raise UsageError(f"未知的输出格式：{'、'.join(unknown)}；可选：{'、'.join(names)}")
        names = [n for n in names if n in wanted]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # issue 10: the department workbooks start first (forked workers, when the pool pays) and are written while
    # this process writes the other reports; each file's bytes are the same as in a serial run
    pending = None
    if "dept_xlsx" in names and len(names) > 1 and _WRITERS["dept_xlsx"] is _dept_xlsx:
        from .xlsx import start_department_workbooks
        pending = start_department_workbooks(report, out)
    done: dict[str, list[Path]] = {}
    try:
        for n in names:
            if n == "dept_xlsx" and pending is not None:
                continue
            done[n] = list(_WRITERS[n](report, out))
        if pending is not None:
            done["dept_xlsx"] = pending.result()
            pending = None
    finally:
        if pending is not None:
            pending.cancel()
    return [p for n in names for p in done[n]]


@register("xlsx")
def _xlsx(report: Report, out: Path) -> list[Path]:
    from .xlsx import write_audit_workbook
    return [write_audit_workbook(report, out)]


@register("dept_xlsx")
def _dept_xlsx(report: Report, out: Path) -> list[Path]:
    from .xlsx import write_department_workbooks
    return write_department_workbooks(report, out)


@register("html")
def _html(report: Report, out: Path) -> list[Path]:
    from .html import write_html
    return [write_html(report, out)]


@register("csv")
def _csv(report: Report, out: Path) -> list[Path]:
    from .tabular import write_findings_csv, write_findings_parquet, write_overflow_csvs, write_scorecard_csv
    return [write_findings_csv(report, out), write_findings_parquet(report, out), write_scorecard_csv(report, out),
            *write_overflow_csvs(report, out)]


@register("json")
def _json(report: Report, out: Path) -> list[Path]:
    from .tabular import write_manifest
    return [write_manifest(report, out)]
