"""Running a pack over the loaded tables: ``evaluate(tables, pack, period, as_of, calendar) -> EvalResult``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..schema import DISPLAY_PREFIX
from ..errors import CalendarError
from ..model import (CHECKED_COLUMNS, FINDING_COLUMNS, META_FILE, META_ROW, META_SHEET,
                     NOT_CHECKED_COLUMNS, PENDING_COLUMNS, SKIPPED_COLUMNS, EvalResult, Period, empty_frame)
from . import parallel
from .derive import Views, view_builder
from .lang import Env, is_missing, to_bool
from .pack import Check, Pack, Rule, table_label


def _param(rule: Rule, v: Any) -> Any:
    return rule.params[v[1]] if isinstance(v, tuple) and v and v[0] == "param" else v


class _Acc:
    def __init__(self):
        self.findings: list[pd.DataFrame] = []
        self.pending: list[pd.DataFrame] = []
        self.checked: list[pd.DataFrame] = []
        self.skipped: list[dict] = []
        self.not_checked: list[dict] = []

    def add(self, other: "_Acc | None") -> None:
        """Another accumulator's results after this one's (a partition's share of a check)."""
        if other is not None:
            for name in ("findings", "pending", "checked", "skipped", "not_checked"):
                getattr(self, name).extend(getattr(other, name))

    def skip(self, rule_id: str, table: str, count: int, reason: str):
        if count:
            self.skipped.append({"rule_id": rule_id, "input": table, "count": int(count), "reason": reason})


def _dates(period: Period | str, as_of: date | None) -> tuple[Period, date]:
    if isinstance(period, str):
        period = Period.parse(period)
    if as_of is None:
        as_of = period.end
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    return period, as_of


def _needed(pack: Pack) -> set[str]:
    return {c for rule in pack.rules for check in rule.checks for c in check.columns}


@dataclass
class PartEval:
    """What one partition of an event table contributes to a run (the dask engine, issue 11): the accumulated
    results of every check over the table's own view, keyed (rule index, check index); the partial summaries of
    the views that aggregate the table, keyed as ``Views.key``; which ``requires_columns`` of the table hold a value;
    the rows a pack scope's ``exclude`` left out; and a missing-calendar error, keyed as ``pieces``, where a check
    stopped on it (the run raises the checks' errors joined, where the pandas engine's check raises)."""
    pieces: dict[tuple[int, int], "_Acc"]
    partials: dict[tuple, Any]
    present: dict[str, bool]
    excluded: int
    errors: dict[tuple[int, int], CalendarError]


def evaluate_part(tables: dict[str, pd.DataFrame], pack: Pack, period: Period | str, as_of: date | None,
                  calendar, defects: pd.DataFrame | None, table: str, given: set[str]) -> PartEval:
    """The row-local share of a run for one partition of the event table ``table`` (``tables`` holds the small
    tables and that partition; ``defects`` the partition's input defects; ``given`` every table of the run).
    Runs on a Dask worker; ``evaluate`` with ``parts`` adds the partitions up. The checks and derivations are the
    pandas engine's own."""
    period, as_of = _dates(period, as_of)
    tables, excluded = _exclude(tables, pack, period, as_of, calendar, only=table)
    views = Views(tables, pack.codelists, period, as_of, calendar, _needed(pack), pack.pack_data())
    unreadable = _unreadable_cells(defects)
    pieces: dict[tuple[int, int], _Acc] = {}
    partials: dict[tuple, Any] = {}
    errors: dict[tuple[int, int], CalendarError] = {}
    for ri, rule in enumerate(pack.rules):
        if errors or any(t not in given for t in rule.inputs):
            continue                             # not checked (the client says so), or the run fails
        for ci, check in enumerate(rule.checks):
            try:
                if check.view == table:
                    pieces[(ri, ci)] = acc = _Acc()
                    _run_check(rule, check, views, acc, unreadable)
                    continue
                builder = view_builder(check.view)
                if builder is not None and builder.over == table:
                    args = {k: _param(rule, v) for k, v in check.view_args.items()}
                    key = Views.key(check.view, args)
                    if key not in partials:
                        partials[key] = builder.partial(views, **args)
            except CalendarError as exc:
                errors[(ri, ci)] = exc
                break
    present = {col: _holds_value(views.tables[table], col) for col in _required_columns(pack, table)}
    return PartEval(pieces=pieces, partials=partials, present=present, excluded=excluded.get(table, 0),
                    errors=errors)


def _requires(rule: Rule) -> list[tuple[str, str]]:
    """A rule's ``requires_columns`` as (table, column)."""
    return [tuple(str(req).partition(".")[::2]) for req in rule.data.get("requires_columns") or []]


def _holds_value(frame: pd.DataFrame, col: str) -> bool:
    """The loader gives every canonical column: one with no value at all counts as absent."""
    return bool(not is_missing(frame[col].astype(object)).all())


def _required_columns(pack: Pack, table: str) -> list[str]:
    out = []
    for rule in pack.rules:
        for t, col in _requires(rule):
            if t == table and col not in out:
                out.append(col)
    return out


def evaluate(tables: dict[str, pd.DataFrame], pack: Pack, period: Period | str, as_of: date | None,
             calendar, defects: pd.DataFrame | None = None,
             parts: dict[str, list[PartEval]] | None = None) -> EvalResult:
    """``defects``: the loader's input defects (DEFECT_COLUMNS). An action date a deadline rule counts from that
    was present but unreadable is not "not yet done": the rule skips that record (inputs.md "What bad input gets").

    ``parts`` (the dask engine): event table -> its partitions' ``PartEval`` in part order; those tables' rows are
    not in ``tables`` (only their presence counts). Their checks' results are added up in (rule, check, partition)
    order, and the views that aggregate them combine the partitions' summaries: the same findings, checked units,
    pending items and skip counts as one pass over the whole table."""
    period, as_of = _dates(period, as_of)
    one_process = parts is not None           # the dask engine (its client runs threads): no forked lane
    parts = parts or {}
    tables = {n: (f.iloc[0:0] if n in parts and f is not None else f) for n, f in tables.items()}
    tables, excluded = _exclude(tables, pack, period, as_of, calendar, parts=parts)
    partials: dict[tuple, list] = {}
    for pes in parts.values():
        for pe in pes:
            for key, p in pe.partials.items():
                partials.setdefault(key, []).append(p)
    views = Views(tables, pack.codelists, period, as_of, calendar, _needed(pack), pack.pack_data(),
                  partials=partials, partitioned=tuple(parts))
    acc = _Acc()
    unreadable = _unreadable_cells(defects)
    unchecked: dict[int, dict] = {}           # rule index -> why it is not checked
    for ri, rule in enumerate(pack.rules):
        missing = [t for t in rule.inputs if t not in views.given]
        if missing:
            names = "、".join(table_label(t) for t in missing)
            unchecked[ri] = {"rule_id": rule.id, "missing_inputs": names,
                             "reason": f"未提供输入 {names}，本规则未检查"}
            continue
        absent = _absent_columns(rule, views, parts)
        if absent:
            names = "、".join(absent)
            unchecked[ri] = {"rule_id": rule.id, "missing_inputs": names,
                             "reason": f"输入中没有列 {names}（或该列全部为空），本规则未检查"}
    ready: dict = {}                          # (rule, check) -> its outcome, from the two lanes (parallel)
    if not one_process and parallel.worth_it(tables):
        todo = [(ri, ci) for ri, rule in enumerate(pack.rules) if ri not in unchecked
                for ci in range(len(rule.checks))]
        ready = parallel.run(_check_groups(todo, pack, views),
                             lambda ri, ci: _one_check(pack.rules[ri], pack.rules[ri].checks[ci], views, unreadable))
    for ri, rule in enumerate(pack.rules):
        if ri in unchecked:
            acc.not_checked.append(unchecked[ri])
            continue
        for ci, check in enumerate(rule.checks):
            errors = [pe.errors[(ri, ci)] for pes in parts.values() for pe in pes if (ri, ci) in pe.errors]
            if errors:
                calendar.raise_combined(errors)
            if check.view in parts:
                for pe in parts[check.view]:
                    acc.add(pe.pieces.get((ri, ci)))
            elif (ri, ci) in ready:
                kind, got = ready[(ri, ci)]
                if kind == "error":
                    raise got
                acc.add(got)
            else:
                _run_check(rule, check, views, acc, unreadable)
    result = _result(acc, pack)
    if pack.scope is not None:
        _keep_in_scope(result, views, pack, excluded)
    return result


def _one_check(rule: Rule, check: Check, views: Views, unreadable: dict) -> _Acc:
    acc = _Acc()
    _run_check(rule, check, views, acc, unreadable)
    return acc


def _check_groups(todo: list[tuple[int, int]], pack: Pack, views: Views) -> list[list[tuple[int, int]]]:
    """The checks by view (a view is built in the lane that runs its group), the group over the largest input
    first, then in rule order."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for ri, ci in todo:
        groups.setdefault(pack.rules[ri].checks[ci].view, []).append((ri, ci))

    def rows(key: tuple[int, int]) -> int:
        frame = views.tables.get(pack.rules[key[0]].checks[key[1]].input)
        return len(frame) if frame is not None else 0

    return sorted(groups.values(), key=lambda g: -max(rows(k) for k in g))


def _absent_columns(rule: Rule, views: Views, parts: dict[str, list[PartEval]] | None = None) -> list[str]:
    """The optional columns a rule needs (``requires_columns``) that the export does not hold: the loader gives
    every canonical column, so a column with no value at all counts as absent (in any partition, for a table
    evaluated by partition)."""
    out = []
    for table, col in _requires(rule):
        if parts and table in parts:
            absent = not any(pe.present.get(col) for pe in parts[table])
        else:
            absent = not _holds_value(views.tables[table], col)
        if absent:
            out.append(f"{table_label(table)}.{col}")
    return out


def _exclude(tables: dict[str, pd.DataFrame], pack: Pack, period, as_of, calendar, only: str | None = None,
             parts: dict[str, list[PartEval]] | None = None):
    """A pack scope's ``exclude``: records left out of every rule (e.g. 涉密 ones), counted per table (``only``:
    that table alone; a table in ``parts`` was excluded from on its partitions, and their counts add up)."""
    scope = pack.scope
    if scope is None or not scope.exclude:
        return tables, {}
    from .derive import conform
    out, counts = dict(tables), {}
    for table, cond in scope.exclude.items():
        if only is not None and table != only:
            continue
        if parts and table in parts:
            n = sum(pe.excluded for pe in parts[table])
            if n:
                counts[table] = n
            continue
        frame = tables.get(table)
        if frame is None or not len(frame):
            continue
        c = conform(table, frame)
        hit = to_bool(cond(Env(c, {}, pack.codelists, calendar, period, as_of, {})), c.index).to_numpy()
        if hit.any():
            out[table] = frame[~hit]
            counts[table] = int(hit.sum())
    return out, counts


def _keep_in_scope(result: EvalResult, views: Views, pack: Pack, excluded: dict[str, int]) -> None:
    """Findings, checked units and pending items only of the departments in the pack's scope; the rest counted."""
    scope = pack.scope
    oos: dict[str, Any] = {"departments_condition": scope.departments_text, "excluded": excluded,
                           "exclude_conditions": dict(scope.exclude_text)}
    if scope.departments is not None:
        d = views.tables["departments"]
        mask = to_bool(scope.departments(_env(d, Rule("scope", Path("."), {}, {}, []), views)), d.index)
        inside = pd.Index(d.loc[mask.to_numpy(), "部门名称"].dropna().unique())
        f_in = result.findings["department"].isin(inside).to_numpy(dtype=bool)
        c_in = result.checked["department"].isin(inside).to_numpy(dtype=bool)
        p_in = result.pending["department"].isin(inside).to_numpy(dtype=bool)
        oos.update({"departments_in_scope": int(len(inside)),
                    "departments_out_of_scope": int(d["部门名称"].dropna().nunique() - len(inside)),
                    "findings": int((~f_in).sum()), "checked_units": int(result.checked["checked"][~c_in].sum()),
                    "pending": int((~p_in).sum()), "in_scope": sorted(map(str, inside))})
        result.findings = result.findings[f_in].reset_index(drop=True)
        result.checked = result.checked[c_in].reset_index(drop=True)
        result.pending = result.pending[p_in].reset_index(drop=True)
    result.out_of_scope = oos


def _unreadable_cells(defects: pd.DataFrame | None) -> dict[tuple[str, str], pd.MultiIndex]:
    """(table, column) -> (file, sheet, row) of the cells the loader could not read (value present, not parsed)."""
    if defects is None or len(defects) == 0 or not {"table", "column", "value"} <= set(defects.columns):
        return {}
    d = defects[~is_missing(defects["value"].astype(object)).to_numpy()]
    out = {}
    for (table, column), g in d.groupby(["table", "column"], sort=True):
        out[(str(table), str(column))] = _cell_index(g["file"], g["sheet"], g["row"])
    return out


def _cell_index(file: pd.Series, sheet: pd.Series, row: pd.Series) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([file.astype(object).fillna("").astype(str).to_numpy(),
                                      sheet.astype(object).fillna("").astype(str).to_numpy(),
                                      pd.to_numeric(row, errors="coerce").fillna(-1).astype("int64").to_numpy()])


def _env(frame, rule, views, extra=None) -> Env:
    return Env(frame, rule.params, views.codelists, views.calendar, views.period, views.as_of, extra or {})


def _run_check(rule: Rule, check: Check, views: Views, acc: _Acc, unreadable: dict | None = None) -> None:
    args = {k: _param(rule, v) for k, v in check.view_args.items()}
    frame = views.get(check.view, args)
    if len(frame) == 0:
        return
    keep = pd.Series(True, index=frame.index)
    if check.scope is not None:
        keep = to_bool(check.scope(_env(frame, rule, views)), frame.index)
        # A deadline check's scope selects the kind of record (19-1: base resources; 19-2: the others): records of
        # another kind belong to another rule and are not "outside the period". Its out-of-window records are
        # counted by _deadline_scope among the records of its own kind only (rules.md: "update rows that the
        # scoping rule does not select ... the report counts them").
        if check.out_of_scope_reason and check.deadline is None:
            acc.skip(rule.id, check.input, int((~keep).sum()), check.out_of_scope_reason)
    if check.deadline is None and len(frame) >= _DENSE_MIN_ROWS and keep.mean() >= 0.5:
        _run_dense(rule, check, views, acc, frame, keep.to_numpy(dtype=bool))
        return
    # Deadline checks read every column of their (small) scoped records; the others carry only the deciding
    # columns through the filters, and fetch the rest for the findings alone (positions, not labels).
    wanted = check.columns if check.deadline is not None else check.decide_columns
    pos = np.flatnonzero(keep.to_numpy())
    sub = _take(frame, pos, wanted)
    extra: dict[str, Any] = {}
    if check.deadline is not None:
        sub, extra = _deadline_scope(rule, check, sub, views, acc, unreadable or {})
    for cond, reason in check.skips:
        if len(sub) == 0:
            break
        m = to_bool(cond(_env(sub, rule, views)), sub.index).to_numpy()
        acc.skip(rule.id, check.input, int(m.sum()), reason)
        sub, pos = sub[~m], pos[~m] if check.deadline is None else pos
    nodept = (is_missing(sub[check.department]) if len(sub)
              else pd.Series(False, index=sub.index, dtype=bool)).to_numpy()
    if nodept.any():
        acc.skip(rule.id, check.input, int(nodept.sum()), f"无法归属部门（{check.department}为空）")
        sub, pos = sub[~nodept], pos[~nodept] if check.deadline is None else pos
    if len(sub) == 0:
        return
    if check.deadline is not None:
        sub, hit, decided, pend = _deadline_decide(rule, check, sub, views)
        full = sub
    else:
        hit = to_bool(check.when(_env(sub, rule, views)), sub.index)
        decided = pd.Series(True, index=sub.index)
        pend = pd.Series(False, index=sub.index)
        full = None
    h = hit.to_numpy()
    rows = full[h] if full is not None else _take(frame, pos[h], check.columns)
    _record(rule, check, views, acc, sub.loc[decided.to_numpy(), check.department], rows)
    if pend.any():
        acc.pending.append(_rows(rule, check, sub[pend.to_numpy()], views, PENDING_COLUMNS))


def _take(frame: pd.DataFrame, pos: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``frame.iloc[pos, columns]`` taking only the named columns (iloc takes the rows of every column first), and
    the input's own spelling of them where the loader kept one (messages quote it; issue 8 C4)."""
    cols = list(columns) + [DISPLAY_PREFIX + c for c in columns if DISPLAY_PREFIX + c in frame.columns]
    return pd.DataFrame({c: frame[c].iloc[pos] for c in cols}, columns=cols)


# A check whose scope keeps most of a big view (the exchange rules over a month of exchanges) decides on the whole
# view and masks, instead of first copying the scoped rows: conditions are element-wise, so both give the same rows.
_DENSE_MIN_ROWS = 100_000


def _run_dense(rule: Rule, check: Check, views: Views, acc: _Acc, frame: pd.DataFrame, keep: np.ndarray) -> None:
    env = _env(frame, rule, views)
    for cond, reason in check.skips:
        m = to_bool(cond(env), frame.index).to_numpy() & keep
        acc.skip(rule.id, check.input, int(m.sum()), reason)
        keep = keep & ~m
    dept = frame[check.department]
    nodept = is_missing(dept).to_numpy() & keep
    if nodept.any():
        acc.skip(rule.id, check.input, int(nodept.sum()), f"无法归属部门（{check.department}为空）")
        keep = keep & ~nodept
    if not keep.any():
        return
    hit = to_bool(check.when(env), frame.index).to_numpy() & keep
    _record(rule, check, views, acc, dept[keep], _take(frame, np.flatnonzero(hit), check.columns))


def _record(rule: Rule, check: Check, views: Views, acc: _Acc, decided_dept: pd.Series,
            finding_rows: pd.DataFrame) -> None:
    """Checked units per department (the departments of the decided records) and the findings of one check."""
    counts = decided_dept.value_counts(sort=False)
    counts = counts[counts > 0]          # a categorical column also lists its unused values
    if len(counts):
        acc.checked.append(pd.DataFrame({"rule_id": rule.id, "department": counts.index.astype(object),
                                         "checked": counts.to_numpy().astype("int64")}))
    if len(finding_rows):
        acc.findings.append(_rows(rule, check, finding_rows, views, FINDING_COLUMNS))


def _deadline_scope(rule: Rule, check: Check, sub: pd.DataFrame, views: Views, acc: _Acc, unreadable: dict):
    """rules.md "Which records a deadline rule looks at": action in the period, or open with event ≤ as_of."""
    d = check.deadline
    bad = unreadable.get((check.input, d.action))
    if bad is not None and len(sub):
        m = _cell_index(sub[META_FILE], sub[META_SHEET], sub[META_ROW]).isin(bad) & sub[d.action].isna().to_numpy()
        if m.any():
            acc.skip(rule.id, check.input, int(m.sum()), f"{d.action}无法识别（见输入问题）")
            sub = sub[~m]
    ev, ac = sub[d.event], sub[d.action]
    as_of = views.as_of_ts
    if views.as_of < views.period.end:          # an action after as_of cannot be known yet
        ac = ac.where(ac.dt.normalize() <= as_of)
    acd = ac.dt.normalize()
    done = ac.notna()
    in_p = done & (acd >= pd.Timestamp(views.period.start)) & (acd <= pd.Timestamp(views.period.end))
    open_ = ~done & ev.notna() & (ev.dt.normalize() <= as_of)
    no_event = ev.isna() & (in_p | ~done)
    acc.skip(rule.id, check.input, int(no_event.sum()), f"{d.event}为空或无法识别")
    scoped = (in_p | open_) & ev.notna()
    if check.out_of_scope_reason:
        acc.skip(rule.id, check.input, int((~scoped & ~no_event).sum()), check.out_of_scope_reason)
    sub = sub[scoped].copy()
    sub["__action"] = ac[scoped]
    return sub, {}


def _due_wd(views: Views, ev: pd.Series, n: int) -> np.ndarray:
    """The last on-time day of open items, add_wd(event, n). Late-or-pending needs only the days up to as_of; a
    due day in a later year that no calendar covers (a December run) is left empty instead of stopping the run."""
    try:
        return pd.to_datetime(views.calendar.add_wd(ev, n)).to_numpy()
    except CalendarError:
        year_end = pd.Series(pd.Timestamp(views.as_of.year, 12, 31), index=ev.index)
        fits = (views.calendar.wd(ev, year_end) >= n).fillna(False).to_numpy(dtype=bool)
        out = pd.Series(pd.NaT, index=ev.index, dtype="datetime64[ns]")
        if fits.any():
            out[fits] = pd.to_datetime(views.calendar.add_wd(ev[fits], n)).to_numpy()
        return out.to_numpy()


def _deadline_decide(rule: Rule, check: Check, sub: pd.DataFrame, views: Views):
    d = check.deadline
    n = _param(rule, d.limit)
    ev, ac = sub[d.event], sub["__action"]
    done = ac.notna()
    if d.unit == "wd":
        end = pd.Series(views.as_of_ts, index=sub.index)
        lag = views.calendar.wd(ev, ac.where(done, end)).astype("Int64")
        late = (lag > n).fillna(False).astype(bool)
        due = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
        openp = ~done & ~late
        if openp.any():
            due.loc[openp] = _due_wd(views, ev[openp], int(n))
    else:
        end = ac.where(done, views.as_of_end)
        lag = (end - ev).dt.total_seconds() / 3600.0
        late = (lag > n).fillna(False).astype(bool)
        due = ev + pd.Timedelta(hours=float(n))
    sub = sub.copy()
    sub["已完成"] = done.astype(bool)
    sub["滞后"] = lag
    sub["滞后时长"] = _lag_text(lag, d.unit)
    sub["期限"] = n
    sub["到期"] = due
    sub["核查日"] = views.as_of_ts
    decided = done | late
    pend = ~done & ~late
    return sub, late, decided, pend


def _lag_text(lag: pd.Series, unit: str) -> pd.Series:
    """The lag for messages: "N 个工作日", or for hours exact to the second ("24 小时 0 分 1 秒"), so that a lag
    just over the limit never reads as the limit itself."""
    if unit == "wd":
        return lag.astype("Int64").astype("string").fillna("").astype(object) + " 个工作日"
    secs = (lag * 3600.0).round().astype("Int64")
    h, m, s = secs // 3600, secs % 3600 // 60, secs % 60
    text = h.astype("string") + " 小时"
    text = text.where((m == 0) & (s == 0), text + " " + m.astype("string") + " 分")
    text = text.where(s == 0, text + " " + s.astype("string") + " 秒")
    # a long lag also in days (issue 8 E6: 「847 小时 59 分 59 秒」 reads better with 「约 35 天」)
    days = ((secs + 43200) // 86400).astype("Int64")
    long = (secs > LAG_DAYS_AFTER_HOURS * 3600).fillna(False)
    text = text.where(~long, text + "（约 " + days.astype("string") + " 天）")
    return text.fillna("").astype(object)


# Hour lags longer than this also give the lag in days (rounded half up).
LAG_DAYS_AFTER_HOURS = 72


def _rows(rule: Rule, check: Check, sub: pd.DataFrame, views: Views, columns: list[str]) -> pd.DataFrame:
    env = _env(sub, rule, views)
    idx = sub.index
    out = pd.DataFrame(index=idx)
    out["rule_id"] = rule.id
    out["department"] = sub[check.department].astype(object)
    out["input"] = check.input
    if check.row:
        out["file"] = sub[META_FILE].astype(object)
        out["sheet"] = sub[META_SHEET].astype(object)
        out["row"] = pd.to_numeric(sub[check.row], errors="coerce").astype("Int64")
    else:   # `row: ~`: the finding is about a record that is missing from `input` (outputs.md: row empty)
        out["file"] = pd.Series(None, index=idx, dtype=object)
        out["sheet"] = pd.Series(None, index=idx, dtype=object)
        out["row"] = pd.Series(pd.NA, index=idx, dtype="Int64")
    out["key"] = check.key(env).astype(object)
    if columns is FINDING_COLUMNS:
        sev = pd.Series(rule.severity, index=idx, dtype=object)
        for cond, s in reversed(check.severity_cases):     # the first matching case wins
            sev = sev.where(~to_bool(cond(env), idx), s)
        out["severity"] = sev
        out["counterpart"] = (sub[check.counterpart].astype(object) if check.counterpart
                              else pd.Series(np.full(len(sub), None, dtype=object), index=idx))
        msg = pd.Series(np.full(len(sub), None, dtype=object), index=idx)
        for cond, tmpl in reversed(check.messages):
            m = pd.Series(True, index=idx) if cond is None else to_bool(cond(env), idx)
            msg = msg.where(~m, tmpl(env))
        out["message"] = msg
    else:
        out["due"] = sub["到期"]
        tmpl = check.pending_message
        out["message"] = tmpl(env) if tmpl else ("期限至 " + sub["到期"].dt.strftime("%Y-%m-%d %H:%M:%S"
                                                  if check.deadline.unit == "hours" else "%Y-%m-%d") + "，尚未到期")
        no_due = sub["到期"].isna()
        if no_due.any():      # see _due_wd: the due day lies in a year without a working-day calendar
            out.loc[no_due, "message"] = (
                f"截至核查日 {views.as_of:%Y-%m-%d} 尚未超过 {sub['期限'].iloc[0]} 个工作日的期限；到期日在 "
                f"{views.as_of.year + 1} 年或以后，缺少该年的工作日历，未能算出（可提供该年的工作日历文件）")
    return out[columns].reset_index(drop=True)


def _result(acc: _Acc, pack: Pack) -> EvalResult:
    findings = (pd.concat(acc.findings, ignore_index=True) if acc.findings else empty_frame(FINDING_COLUMNS))
    findings["row"] = findings["row"].astype("Int64")
    findings = findings.sort_values(["rule_id", "department", "key", "file", "row"], kind="mergesort",
                                    na_position="last").reset_index(drop=True)[FINDING_COLUMNS]
    pending = (pd.concat(acc.pending, ignore_index=True) if acc.pending else empty_frame(PENDING_COLUMNS))
    pending["row"] = pending["row"].astype("Int64")
    pending = pending.sort_values(["rule_id", "department", "key", "file", "row"], kind="mergesort",
                                  na_position="last").reset_index(drop=True)[PENDING_COLUMNS]
    if acc.checked:
        checked = pd.concat(acc.checked, ignore_index=True).groupby(["rule_id", "department"], sort=True,
                                                                     as_index=False)["checked"].sum()
        checked["checked"] = checked["checked"].astype("int64")
    else:
        checked = empty_frame(CHECKED_COLUMNS)
    checked = checked[CHECKED_COLUMNS]
    if acc.skipped:
        skipped = pd.DataFrame(acc.skipped).groupby(["rule_id", "input", "reason"], sort=True,
                                                    as_index=False)["count"].sum()[SKIPPED_COLUMNS]
    else:
        skipped = empty_frame(SKIPPED_COLUMNS)
    not_checked = pd.DataFrame(acc.not_checked, columns=NOT_CHECKED_COLUMNS) if acc.not_checked \
        else empty_frame(NOT_CHECKED_COLUMNS)
    return EvalResult(findings=findings, checked=checked, pending=pending, not_checked=not_checked,
                      skipped=skipped, params=pack.params_used())
