"""Working-day calendar: the official PRC calendar (``chinesecalendar``, 2004–2026) plus a user calendar file.

``wd(a, b)`` is the number of working days d with a < d <= b (calendar dates; the day of the event is not
counted, as in Chinese statutory time limits). Everything is vectorised over pandas Series through one numpy
array of cumulative working-day counts indexed by day number; building that index loops once over ~8k days.

A date in a year that neither the bundled calendar nor the user file covers raises ``CalendarError`` naming the
year — never a weekends-only guess.

User calendar file (``--calendar FILE``): CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or a workbook
(.xlsx/.xlsm/.xls/.ods, first sheet, or the sheet named ``日历``/``工作日历`` when present) with the columns
``日期`` and ``类型`` (optional ``名称``). A year is covered by the file when the file has at least one row in that
year. In a covered year weekends are off unless listed as working days and weekdays are on unless listed as
days off; a row overrides the bundled calendar for its date.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import unicodedata
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .errors import CalendarError, InputError

__all__ = ["Calendar", "DAY_OFF_TYPES", "WORKDAY_TYPES"]

# Values of the 类型 column. Anything else is an input error (e.g. a bare "调休" is ambiguous).
DAY_OFF_TYPES = ("节假日", "休息日", "假日", "法定节假日", "放假", "休息", "休假")
WORKDAY_TYPES = ("调休上班", "工作日", "上班", "补班", "调休工作日")

_COLUMN_ALIASES = {
    "日期": ("日期", "date", "日子"),
    "类型": ("类型", "type", "日期类型", "安排", "类别"),
    "名称": ("名称", "name", "节日", "节日名称", "说明", "备注"),
}
_EPOCH = np.datetime64("1970-01-01", "D")


@lru_cache(maxsize=1)
def _bundled() -> tuple[int, int, dict[int, bool]]:
    """(first year, last year, {day number: is working day}) of the chinesecalendar tables."""
    from chinese_calendar import constants  # the package's own holiday / 调休 tables

    years = sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})
    overrides: dict[int, bool] = {}
    for d in constants.holidays:
        overrides[(d - _dt.date(1970, 1, 1)).days] = False
    for d in constants.workdays:
        overrides[(d - _dt.date(1970, 1, 1)).days] = True
    return years[0], years[-1], overrides


def _year_start(y: int) -> int:
    return (_dt.date(y, 1, 1) - _dt.date(1970, 1, 1)).days


def _norm_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v)))


def _year_ranges(years: list[int]) -> str:
    """「2003」, 「2027、2029」, 「1900–2003」: consecutive years as one range, at most five items."""
    items: list[str] = []
    ys = sorted(set(int(y) for y in years))
    i = 0
    while i < len(ys):
        j = i
        while j + 1 < len(ys) and ys[j + 1] == ys[j] + 1:
            j += 1
        items.append(str(ys[i]) if j == i else f"{ys[i]}{'、' if j == i + 1 else '–'}{ys[j]}")
        i = j + 1
    return "、".join(items[:5]) + ("等" if len(items) > 5 else "")


class Calendar:
    """A working-day calendar over a contiguous range of years, some of which may be uncovered."""

    def __init__(self, workdays: dict[int, bool], bundled_years: tuple[int, int] | None,
                 user_years: list[int], user_file: str | None = None):
        # workdays: day number -> working flag for every date whose status differs from Mon–Fri-on rule.
        self._bundled_years = bundled_years
        self._user_years = sorted(set(user_years))
        self._user_file = user_file
        years = set(self._user_years)
        if bundled_years:
            years |= set(range(bundled_years[0], bundled_years[1] + 1))
        self._years = sorted(years)
        y0, y1 = self._years[0], self._years[-1]
        self._y0, self._y1 = y0, y1
        self._origin = _year_start(y0)
        end = _year_start(y1 + 1)                     # exclusive
        n = end - self._origin
        days = np.arange(self._origin, end, dtype=np.int64)
        # 1970-01-01 was a Thursday: weekday (Mon=0) = (day + 3) % 7
        work = ((days + 3) % 7) < 5
        if workdays:
            keys = np.fromiter(workdays.keys(), dtype=np.int64, count=len(workdays))
            vals = np.fromiter(workdays.values(), dtype=bool, count=len(workdays))
            inside = (keys >= self._origin) & (keys < end)
            work[keys[inside] - self._origin] = vals[inside]
        # per-year coverage, and uncovered years' days are never working days
        year_cov = np.zeros(y1 - y0 + 1, dtype=bool)
        year_cov[np.asarray(self._years) - y0] = True
        self._year_cov = year_cov
        self._year_uncov_cum = np.concatenate([[0], np.cumsum(~year_cov)])  # U[k] = uncovered among first k
        day_years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        work &= year_cov[day_years - y0]
        self._work = work
        self._cum = np.cumsum(work, dtype=np.int64)    # C[i] = working days with index <= i
        self._n = n

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, user_file: str | os.PathLike | None = None) -> "Calendar":
        """The bundled PRC calendar plus, optionally, a user calendar file (CSV or workbook)."""
        b0, b1, overrides = _bundled()
        workdays = dict(overrides)
        user_years: list[int] = []
        shown = None
        if user_file is not None:
            shown = str(user_file)
            user = _read_user_file(shown)
            user_years = sorted(set(int(y) for y in user["year"]))
            for day, flag in zip(user["day"].tolist(), user["work"].tolist()):
                workdays[int(day)] = bool(flag)
        return cls(workdays, (b0, b1), user_years, shown)

    # ------------------------------------------------------------------ info
    def covered_years(self) -> list[int]:
        """Every year a working-day computation may touch, sorted."""
        return list(self._years)

    def __repr__(self) -> str:
        return f"Calendar(years={self._years[0]}–{self._years[-1]}, user_file={self._user_file!r})"

    # ------------------------------------------------------------------ conversion
    @staticmethod
    def _to_days(x: Any) -> tuple[np.ndarray, np.ndarray, pd.Index | None, bool]:
        """(day numbers int64, NA mask, index or None, is_scalar)."""
        if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple)):
            s = x if isinstance(x, pd.Series) else pd.Series(x)
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_localize(None)
            if not pd.api.types.is_datetime64_dtype(s.dtype):
                s = pd.to_datetime(s, errors="coerce")
            vals = s.to_numpy(dtype="datetime64[ns]")
            na = np.isnat(vals)
            # floor-divide the nanoseconds ourselves: numpy's ns -> D cast overflows (and wraps to 2262) for
            # instants in the first day of the ns range (1677-09-21/22)
            ns = vals.view(np.int64).copy()
            ns[na] = 0
            days = ns // 86_400_000_000_000
            return days, na, s.index, False
        if x is None or x is pd.NaT or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return np.zeros(1, np.int64), np.ones(1, bool), None, True
        if isinstance(x, np.datetime64) and np.isnat(x):
            return np.zeros(1, np.int64), np.ones(1, bool), None, True
        if isinstance(x, _dt.date) and not isinstance(x, _dt.datetime):
            return np.array([(x - _dt.date(1970, 1, 1)).days], np.int64), np.zeros(1, bool), None, True
        ts = pd.Timestamp(x)
        if ts is pd.NaT:
            return np.zeros(1, np.int64), np.ones(1, bool), None, True
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        d = np.datetime64(ts.to_datetime64(), "D").astype(np.int64)
        return np.array([d], np.int64), np.zeros(1, bool), None, True

    def _check(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Raise CalendarError unless every year from year(lo) to year(hi) is covered (per pair)."""
        if lo.size == 0:
            return
        # fast path: the whole span of the input lies in covered years
        y_min = int(np.datetime64(int(lo.min()), "D").astype("datetime64[Y]").astype(np.int64)) + 1970
        y_max = int(np.datetime64(int(hi.max()), "D").astype("datetime64[Y]").astype(np.int64)) + 1970
        if y_min >= self._y0 and y_max <= self._y1:
            u = self._year_uncov_cum
            if u[y_max - self._y0 + 1] - u[y_min - self._y0] == 0:
                return
        ylo = lo.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        yhi = hi.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        mn, mx = int(ylo.min()), int(yhi.max())
        if mn >= self._y0 and mx <= self._y1:
            u = self._year_uncov_cum
            bad = (u[yhi - self._y0 + 1] - u[ylo - self._y0]) > 0
            if not bad.any():
                return
            mn, mx = int(ylo[bad].min()), int(yhi[bad].max())
        self._raise_span(mn, mx)

    def _raise_span(self, mn: int, mx: int) -> None:
        """The uncovered years touched by the offending range of years [mn, mx]."""
        cov = set(self._years)
        if mx - mn > 200:   # an absurd span (bad data): name its ends only
            missing = [y for y in (mn, mx) if y not in cov]
        else:
            missing = [y for y in range(mn, mx + 1) if y not in cov]
        self._raise_missing(missing, (mn, mx))

    def raise_combined(self, errors: list[CalendarError]) -> None:
        """One check's errors on the partitions of a table (the dask engine) as the one error the check raises on
        the whole table: the offending ranges of years joined (``span``), else the missing years' union."""
        spans = [getattr(e, "span", None) for e in errors]
        if all(spans):
            self._raise_span(min(a for a, _b in spans), max(b for _a, b in spans))
        self._raise_missing(sorted({int(y) for e in errors for y in getattr(e, "years", ())}))

    def _raise_missing(self, missing: list[int], span: tuple[int, int] | None = None) -> None:
        shown = _year_ranges(missing)
        if self._bundled_years:
            b0, b1 = self._bundled_years
            have = f"内置日历只覆盖 {b0}–{b1} 年"
        else:
            have = "没有内置日历"
        if self._user_file:
            uy = "、".join(str(y) for y in self._user_years)
            have += f"，日历文件 {self._user_file} 覆盖 {uy} 年"
        err = CalendarError(
            f"缺少 {shown} 年的工作日历（节假日与调休安排）：{have}，"
            f"请提供该年的工作日历文件（列：日期、类型，类型为 节假日/休息日 或 调休上班/工作日）", field="工作日历文件")
        err.years = list(missing)       # lets the pipeline name an input cell dated in such a year
        err.span = span                 # lets the dask engine join its partitions' errors (raise_combined)
        raise err

    @staticmethod
    def _wrap_int(vals: np.ndarray, na: np.ndarray, index, scalar: bool):
        if scalar:
            return pd.NA if na[0] else int(vals[0])
        arr = pd.array(vals, dtype="Int64")
        arr[na] = pd.NA
        return pd.Series(arr, index=index)

    # ------------------------------------------------------------------ API
    def wd(self, a: Any, b: Any):
        """Working days d with a < d <= b (negative when b < a); Int64 Series (<NA> where either is NaT),
        or an int / pd.NA for two scalars."""
        da, na_a, ia, sa = self._to_days(a)
        db, na_b, ib, sb = self._to_days(b)
        if not sa and not sb and len(da) != len(db):
            raise ValueError(f"wd(): lengths differ ({len(da)} vs {len(db)})")
        index = ia if ia is not None else ib
        na = na_a | na_b
        da, db = np.broadcast_arrays(da, db)
        ok = ~np.broadcast_to(na, da.shape)
        lo = np.minimum(da, db)[ok]
        hi = np.maximum(da, db)[ok]
        self._check(lo, hi)
        out = np.zeros(da.shape, np.int64)
        if ok.any():
            out[ok] = self._cum[db[ok] - self._origin] - self._cum[da[ok] - self._origin]
        return self._wrap_int(out, np.broadcast_to(na, da.shape), index, sa and sb)

    def add_wd(self, d: Any, n: Any):
        """The n-th working day after d (d itself not counted); n >= 0, n = 0 gives d's date.

        Series in -> datetime64[ns] Series at midnight (NaT where d is NaT or n is NA); a ``datetime.date``
        gives a ``datetime.date``, any other scalar a ``pd.Timestamp``."""
        dd, na_d, idx, sd = self._to_days(d)
        if isinstance(n, (pd.Series, pd.Index, np.ndarray, list, tuple)):
            ns = pd.Series(n) if not isinstance(n, pd.Series) else n
            ns = pd.to_numeric(ns, errors="coerce").astype("Float64")
            na_n = ns.isna().to_numpy()
            nv = ns.fillna(0).to_numpy(dtype=np.float64).astype(np.int64)
            sn = False
            if idx is None:
                idx = ns.index
        else:
            if n is None or n is pd.NA or (isinstance(n, float) and np.isnan(n)):
                na_n, nv = np.ones(1, bool), np.zeros(1, np.int64)
            else:
                na_n, nv = np.zeros(1, bool), np.array([int(n)], np.int64)
            sn = True
        if not sd and not sn and len(dd) != len(nv):
            raise ValueError(f"add_wd(): lengths differ ({len(dd)} vs {len(nv)})")
        dd, nv = np.broadcast_arrays(dd, nv)
        na = np.broadcast_to(na_d, dd.shape) | np.broadcast_to(na_n, dd.shape)
        ok = ~na
        if (nv[ok] < 0).any():
            raise ValueError("add_wd(): n must be >= 0")
        out = dd.copy()
        if ok.any():
            self._check(dd[ok], dd[ok])
            pos = dd[ok] - self._origin
            target = self._cum[pos] + nv[ok]
            j = np.searchsorted(self._cum, target, side="left")
            res = np.where(nv[ok] == 0, pos, j)
            if (res >= self._n).any():
                # runs past the last covered year
                self._raise_missing([self._y1 + 1])
            res_days = res + self._origin
            self._check(dd[ok], res_days)
            out[ok] = res_days
        if sd and sn:
            if na[0]:
                return pd.NaT
            day = (_EPOCH + int(out[0])).astype(_dt.date)
            if isinstance(d, _dt.date) and not isinstance(d, _dt.datetime):
                return day
            return pd.Timestamp(day)
        vals = (out.astype("datetime64[D]")).astype("datetime64[ns]")
        vals[na] = np.datetime64("NaT")
        return pd.Series(vals, index=idx)

    def is_workday(self, d: Any):
        """bool for a scalar; nullable boolean Series (<NA> where NaT) for a Series."""
        dd, na, idx, sd = self._to_days(d)
        ok = ~na
        self._check(dd[ok], dd[ok])
        out = np.zeros(dd.shape, bool)
        out[ok] = self._work[dd[ok] - self._origin]
        if sd:
            return pd.NA if na[0] else bool(out[0])
        arr = pd.array(out, dtype="boolean")
        arr[na] = pd.NA
        return pd.Series(arr, index=idx)


# ---------------------------------------------------------------------- user file
def _read_user_file(path: str) -> pd.DataFrame:
    """Rows of a user calendar file as a frame: day (day number), year, work (bool)."""
    if not os.path.isfile(path):
        raise InputError("日历文件不存在或不是文件", file=path, hint="请检查工作日历文件的路径", field="工作日历文件")
    from .load.readers import read_grid
    raw, sheet = read_grid(path, path, sheets=("日历", "工作日历", "节假日"), first_sheet=True, what="日历文件")
    first_row = 1

    # drop fully empty rows, find the header (first non-empty row)
    cells = raw.map(_norm_text) if len(raw) else raw
    nonempty = cells.ne("").any(axis=1) if len(raw) else pd.Series(dtype=bool)
    if not nonempty.any():
        raise InputError("日历文件是空的", file=path, sheet=sheet or None,
                         hint="至少需要表头行（日期、类型）和一行日期")
    # the header: the first row naming a 日期 column (a title row above it is allowed), else the first non-empty row
    date_names = set(_COLUMN_ALIASES["日期"])
    named = cells.apply(lambda r: any(str(x).lower() in date_names for x in r), axis=1).to_numpy(dtype=bool)
    h = int(np.flatnonzero(named)[0]) if named.any() else int(np.flatnonzero(nonempty.to_numpy())[0])
    header = cells.iloc[h].tolist()
    cols: dict[str, int] = {}
    for canon, aliases in _COLUMN_ALIASES.items():
        for i, name in enumerate(header):
            if name.lower() in aliases:
                cols[canon] = i
                break
    for need in ("日期", "类型"):
        if need not in cols:
            present = "、".join(x for x in header if x) or "（空）"
            raise InputError(f"缺少列「{need}」（表头为：{present}）", file=path, sheet=sheet or None,
                             row=h + first_row, hint="日历文件需要列：日期、类型（可选 名称）")
    body = raw.iloc[h + 1:]
    body_cells = cells.iloc[h + 1:]
    keep = body_cells.ne("").any(axis=1)
    body, body_cells = body[keep], body_cells[keep]
    excel_rows = (body.index.to_numpy() + first_row)
    if len(body) == 0:
        raise InputError("日历文件没有任何日期行", file=path, sheet=sheet or None,
                         hint="每行写一个日期及其类型（节假日/休息日 或 调休上班/工作日）")

    # dates: real date cells, serial numbers, or text like 2027-01-01, 2027/1/1, 2027年1月1日, 20270101 — read as
    # the loader reads a date column of an export
    from .load.coerce import parse_datetime
    dates, _ = parse_datetime(body.iloc[:, cols["日期"]].reset_index(drop=True), date_only=True)
    dates.index = body.index
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"日期「{body_cells.iloc[i, cols['日期']]}」无法识别", file=path, sheet=sheet or None,
                         row=int(excel_rows[i]), column="日期", hint="请写成 2027-01-01 这样的日期")

    types = body_cells.iloc[:, cols["类型"]]
    work = pd.Series(pd.NA, index=types.index, dtype="boolean")
    work[types.isin(DAY_OFF_TYPES)] = False
    work[types.isin(WORKDAY_TYPES)] = True
    badt = work.isna().to_numpy()
    if badt.any():
        i = int(np.flatnonzero(badt)[0])
        raise InputError(f"类型「{types.iloc[i]}」无法识别", file=path, sheet=sheet or None,
                         row=int(excel_rows[i]), column="类型",
                         hint="类型应为 节假日/休息日/假日（放假）或 调休上班/工作日/上班（上班）")

    day = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    out = pd.DataFrame({"day": day, "work": work.to_numpy(dtype=bool), "row": excel_rows})
    out["year"] = dates.dt.year.to_numpy()
    # the same date twice with different types is a contradiction
    conflict = out.groupby("day")["work"].transform("nunique") > 1
    if conflict.any():
        r = out[conflict].sort_values("row").iloc[0]
        d = (_EPOCH + int(r["day"])).astype(_dt.date)
        raise InputError(f"日期 {d.isoformat()} 出现多次且类型矛盾", file=path, sheet=sheet or None,
                         row=int(r["row"]), column="类型", hint="每个日期只保留一行")
    return out.drop_duplicates("day").sort_values("day", kind="stable").reset_index(drop=True)
