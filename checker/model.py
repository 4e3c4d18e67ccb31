"""The shared data model of the pipeline: load -> derive -> evaluate -> score -> render.

Every stage reads and writes these frames; the column lists below are the contract.
"""
from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from .errors import UsageError

# Meta columns every loaded table frame carries (besides its canonical columns).
META_FILE, META_SHEET, META_ROW = "_file", "_sheet", "_row"
META_COLUMNS = [META_FILE, META_SHEET, META_ROW]

# Input defects (输入问题): one row per bad cell / unknown reference / duplicate key.
DEFECT_COLUMNS = ["table", "file", "sheet", "row", "column", "value", "problem"]

# Findings (问题明细): one row per finding. ``row`` is the Excel row (Int64, NA when the finding is about
# a record that does not exist). ``input`` is the canonical table name the record comes from.
FINDING_COLUMNS = ["rule_id", "severity", "department", "counterpart", "input", "file", "sheet", "row",
                   "key", "message"]
# Added after evaluation by waivers/history: status in 新增 / 持续 / 已豁免, waiver id.
STATUS_NEW, STATUS_PERSISTING, STATUS_WAIVED, STATUS_RESOLVED = "新增", "持续", "已豁免", "已整改"

# Checked units: how many records each rule looked at, per department.
CHECKED_COLUMNS = ["rule_id", "department", "checked"]
# Pending items (待办): not late yet; ``due`` is the last day (or datetime) the action is on time.
PENDING_COLUMNS = ["rule_id", "department", "input", "file", "sheet", "row", "key", "due", "message"]
# Rules not checked (未检查): the missing inputs, Chinese reason.
NOT_CHECKED_COLUMNS = ["rule_id", "missing_inputs", "reason"]
# Rows a rule skipped (bad/missing values it needs, or out of the period): counted, with a reason.
SKIPPED_COLUMNS = ["rule_id", "input", "count", "reason"]

SEVERITIES = ["严重", "一般", "提示"]
SEVERITY_RANK = {"严重": 0, "一般": 1, "提示": 2}

TABLES = ["departments", "catalog", "items", "catalog_changes", "exchanges", "updates", "officers",
          "requests", "disputes", "systems", "procedures"]
TABLE_TITLES = {
    "departments": "部门名录", "catalog": "信息资源", "items": "信息项", "catalog_changes": "目录变更",
    "exchanges": "交换日志", "updates": "数据更新", "officers": "责任人员", "requests": "共享申请",
    "disputes": "数据异议", "systems": "信息系统", "procedures": "采集制度",
}


# Years an audit period may lie in (pandas timestamps end in 2262; the Regulation dates from 2019).
PERIOD_YEARS = (2000, 2199)


@dataclass(frozen=True)
class Period:
    """An audit period: a month ``YYYY-MM`` or a quarter ``YYYY-Qn``."""

    label: str
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> "Period":
        t = (text or "").strip().upper()
        y = re.match(r"(\d{4})-", t)
        if y and not PERIOD_YEARS[0] <= int(y[1]) <= PERIOD_YEARS[1]:
            # year 0000 crashed date(), 9999 overflowed pandas timestamps (they end in 2262)
            raise UsageError(f"审计期间「{text}」的年份超出范围：应在 {PERIOD_YEARS[0]}–{PERIOD_YEARS[1]} 年之间"
                             "（如 2026-10 或 2026-Q4）")
        m = re.fullmatch(r"(\d{4})-(\d{2})", t)
        if m:
            y, mo = int(m[1]), int(m[2])
            if 1 <= mo <= 12:
                return cls(f"{y:04d}-{mo:02d}", date(y, mo, 1), date(y, mo, _cal.monthrange(y, mo)[1]))
        m = re.fullmatch(r"(\d{4})-Q([1-4])", t)
        if m:
            y, q = int(m[1]), int(m[2])
            m0, m1 = 3 * q - 2, 3 * q
            return cls(f"{y:04d}-Q{q}", date(y, m0, 1), date(y, m1, _cal.monthrange(y, m1)[1]))
        raise UsageError(f"审计期间「{text}」格式不对：应为 YYYY-MM（如 2026-10）或 YYYY-Qn（如 2026-Q4）")


@dataclass
class LoadResult:
    """What ``checker.load.load_inputs`` returns."""

    tables: dict[str, pd.DataFrame]          # canonical table name -> frame (canonical columns + META)
    inputs: list[dict[str, Any]]             # one per table read: path, sheet, table, rows, sha256
    defects: pd.DataFrame                    # DEFECT_COLUMNS
    # (table, datetime column) -> rows per year, for the event tables the dask engine holds only stubs of
    year_counts: dict[tuple[str, str], pd.Series] | None = None


@dataclass
class EvalResult:
    """What ``checker.engine.evaluate`` returns."""

    findings: pd.DataFrame                   # FINDING_COLUMNS
    checked: pd.DataFrame                    # CHECKED_COLUMNS
    pending: pd.DataFrame                    # PENDING_COLUMNS
    not_checked: pd.DataFrame                # NOT_CHECKED_COLUMNS
    skipped: pd.DataFrame                    # SKIPPED_COLUMNS
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule_id -> parameters used
    out_of_scope: dict[str, Any] = field(default_factory=dict)      # a pack scope's counts (packs.md `scope`)


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


# The rule catalogue of a pack, one row per rule (for reports and `sharecheck rules`).
RULE_INFO_COLUMNS = ["rule_id", "article", "article_text", "title", "explanation", "severity", "dimension",
                     "inputs"]
# Waivers after matching: one row per waiver line of the file.
WAIVER_COLUMNS = ["waiver_id", "rule_id", "department", "key", "reason", "approver", "valid_until",
                  "expired", "covered", "file", "row"]
# History views (only with --history).
RESOLVED_COLUMNS = ["rule_id", "department", "key", "message", "since"]   # 已整改 since the previous period
TREND_COLUMNS = ["period", "department", "score", "grade"]


@dataclass
class Report:
    """Everything a writer needs. Writers never recompute anything from raw inputs."""

    period: Period
    as_of: date
    pack: dict[str, Any]                      # pack manifest: pack, version, title, dimensions, grades, policies
    params: dict[str, dict[str, Any]]         # rule_id -> parameter values used
    rules: pd.DataFrame                       # RULE_INFO_COLUMNS
    load: LoadResult
    result: EvalResult                        # findings carry extra columns `status` and `waiver_id`
    scorecard: pd.DataFrame                   # see docs/architecture.md "Scorecard"
    waivers: pd.DataFrame | None = None       # WAIVER_COLUMNS
    resolved: pd.DataFrame | None = None      # RESOLVED_COLUMNS (history only)
    trends: pd.DataFrame | None = None        # TREND_COLUMNS (history only)
    previous_period: str | None = None        # the period the statuses were compared with
