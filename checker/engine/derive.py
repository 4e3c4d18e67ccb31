"""Views: a table plus the derived columns its derivations add, computed ONCE per run (docs/rule-language.md).

The derivations themselves live in :mod:`checker.engine.derivations`, one module each (the open registry). A view
is either an input table (``catalog``, ``exchanges``, …) with the column derivations registered for it, or a view
derivation's own frame (``exchange_resources``, ``catalog_freshness``, ``quarter_windows``). The columns of every
view are known statically (``view_columns``), so rule files are validated at pack load time.
Everything is vectorised: joins, group-bys and ``isin``; no per-row Python.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..model import META_COLUMNS, META_ROW
from .derivations import REGISTRY, Derivation

# Canonical columns of the ten tables (inputs.md) and their types, from the loader's schema (one source of truth).
# The engine only distinguishes date/datetime/bool/int from text (names, codes and 共享类型 are text here).
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    t.name: {c.name: c.type if c.type in ("date", "datetime", "bool", "int", "code") else "text" for c in t.columns}
    for t in schema.TABLE_LIST
}
# Booleans with a default of 否 (inputs.md): missing → False.
BOOL_DEFAULT_FALSE = {(t.name, c.name) for t in schema.TABLE_LIST for c in t.columns
                      if c.type == "bool" and c.default is False}


def _ordered(items: list[Derivation]) -> list[Derivation]:
    """Column derivations of one view in registry order, each after the derivations it ``needs``."""
    names = {d.name for d in items}
    done: list[Derivation] = []
    seen: set[str] = set()

    def visit(d: Derivation) -> None:
        if d.name in seen:
            return
        seen.add(d.name)
        for n in d.needs:
            if n in names:
                visit(REGISTRY[n])
        done.append(d)
    for d in items:
        visit(d)
    return done


def view_derivations(view: str) -> list[Derivation]:
    """The column derivations of a table view, in the order they run."""
    return _ordered([d for d in REGISTRY.values() if d.view == view and not d.is_view])


def view_builder(view: str) -> Derivation | None:
    """The view derivation that builds ``view`` (None for a table view)."""
    for d in REGISTRY.values():
        if d.is_view and d.view == view:
            return d
    return None


def views() -> list[str]:
    """Every view name: the tables, then the views derivations build."""
    return list(TABLE_COLUMNS) + [d.view for d in REGISTRY.values() if d.is_view]


def base_table(view: str) -> str:
    b = view_builder(view)
    return b.builds if b is not None else view


def view_args(view: str) -> dict[str, Any]:
    b = view_builder(view)
    return dict(b.args) if b is not None else {}


def column_source(view: str) -> dict[str, str]:
    """Derived column of ``view`` -> the derivation that adds it."""
    b = view_builder(view)
    out: dict[str, str] = {}
    if b is None:
        for d in view_derivations(view):
            out.update({c: d.name for c in d.adds})
        return out
    if b.base_columns is None:
        for u in b.uses:
            if REGISTRY[u].view == b.builds:
                out.update({c: u for c in REGISTRY[u].adds})
    out.update({c: b.name for c in b.adds})
    return out


def view_columns(view: str) -> list[str]:
    b = view_builder(view)
    if b is not None and b.base_columns is not None:
        base = list(b.base_columns)
    else:
        base = list(TABLE_COLUMNS[base_table(view)])
    derived = [c for c in column_source(view) if c not in base]
    return base + META_COLUMNS + derived


def _empty_table(name: str) -> pd.DataFrame:
    return conform(name, pd.DataFrame())


# Repetitive text columns of the big event tables are categoricals (the loader's schema.CATEGORICAL); frames
# built elsewhere (rule examples, tests) are converted here.
CATEGORICAL = schema.CATEGORICAL


def conform(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Ensure every canonical and meta column exists with a usable dtype (robust to optional columns)."""
    df = df.copy(deep=False)          # columns are replaced, never modified in place
    df.index = pd.RangeIndex(len(df))
    for col, typ in TABLE_COLUMNS[name].items():
        if col not in df.columns:
            df[col] = pd.Series(np.full(len(df), None, dtype=object), index=df.index)
        s = df[col]
        if typ in ("date", "datetime") and not pd.api.types.is_datetime64_any_dtype(s.dtype):
            df[col] = pd.to_datetime(s, errors="coerce")
        elif typ == "bool" and not pd.api.types.is_bool_dtype(s.dtype):
            df[col] = s.astype("boolean") if len(s) else pd.Series(dtype="boolean")
        elif typ == "int" and not pd.api.types.is_integer_dtype(s.dtype):
            df[col] = pd.to_numeric(s, errors="coerce").astype("Int64")
        if typ == "bool" and (name, col) in BOOL_DEFAULT_FALSE:
            df[col] = df[col].astype("boolean").fillna(False)
    for col in CATEGORICAL.get(name, ()):
        if df[col].dtype == object:
            df[col] = df[col].astype("category")
    for col in META_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series([""] * len(df) if col != META_ROW else [pd.NA] * len(df),
                                dtype=object if col != META_ROW else "Int64")
    if df[META_ROW].dtype != "Int64":
        df[META_ROW] = pd.to_numeric(df[META_ROW], errors="coerce").astype("Int64")
    return df


class Views:
    """Lazily computed, cached views of one run; the context every derivation receives."""

    def __init__(self, tables: dict[str, pd.DataFrame], codelists: dict[str, Any], period, as_of: date,
                 calendar, needed: set[str] | None = None, pack_data: dict[str, Any] | None = None,
                 partials: dict[tuple, list] | None = None, partitioned: tuple[str, ...] = ()):
        self.raw = tables
        # (view, args) -> the partitions' summaries of a partial/combine view (the dask engine; derivations/__init__)
        self.partials = partials or {}
        self.partitioned = set(partitioned)      # event tables whose rows are not here but on the workers
        # view columns the rules of this run read (None: all). Costly derivations nobody reads are skipped,
        # so a subset of the pack does only its own work.
        self.needed = needed
        self.tables = {n: conform(n, tables[n]) if n in tables and tables[n] is not None else _empty_table(n)
                       for n in TABLE_COLUMNS}
        self.given = {n for n in TABLE_COLUMNS if n in tables and tables[n] is not None}
        self.codelists = codelists
        pack_data = pack_data or {}
        self.legal_table: Path | None = pack_data.get("legal_basis")
        self._derivation_params: dict[str, dict[str, Any]] = pack_data.get("derivations") or {}
        self.period = period
        self.as_of = as_of
        self.as_of_ts = pd.Timestamp(as_of)
        self.as_of_end = self.as_of_ts + pd.Timedelta(hours=23, minutes=59, seconds=59)
        self.calendar = calendar
        self._cache: dict[tuple, pd.DataFrame] = {}
        self.active = self._active(needed)

    @staticmethod
    def _active(needed: set[str] | None) -> set[str]:
        """The derivations this run computes: those adding a needed column, and what they need or use."""
        if needed is None:
            todo = set(REGISTRY)
        else:
            todo = {d.name for d in REGISTRY.values() if set(d.adds) & needed}
        out: set[str] = set()
        while todo:
            n = todo.pop()
            if n in out:
                continue
            out.add(n)
            todo |= set(REGISTRY[n].needs) | set(REGISTRY[n].uses)
        return out

    def columns(self, view: str) -> list[str]:
        return view_columns(view)

    def derivation_params(self, name: str) -> dict[str, Any]:
        """The pack's parameters of a derivation (pack.yaml ``derivations``), over the derivation's defaults."""
        return {**REGISTRY[name].params, **(self._derivation_params.get(name) or {})}

    @staticmethod
    def key(view: str, args: dict[str, Any] | None = None) -> tuple:
        return (view, tuple(sorted((args or {}).items())))

    def get(self, view: str, args: dict[str, Any] | None = None) -> pd.DataFrame:
        key = self.key(view, args)
        if key not in self._cache:
            builder = view_builder(view)
            if builder is not None and builder.partial is not None:
                # an aggregate of an event table: the partitions' summaries (dask engine), or one of the whole table
                parts = self.partials.get(key)
                if parts is None:
                    if builder.over in self.partitioned:
                        raise RuntimeError(f"no partial summaries of {view} {args} from the partitions")
                    parts = [builder.partial(self, **(args or {}))]
                self._cache[key] = builder.fn(self, parts, **(args or {}))
            elif builder is not None:
                self._cache[key] = builder.fn(self, **(args or {}))
            else:
                frame = self.tables[view].copy(deep=False)   # derivations add columns, never edit one
                for d in view_derivations(view):
                    if d.name in self.active:
                        d.fn(self, frame)
                self._cache[key] = frame
        return self._cache[key]

    def view_with(self, view: str, names: tuple[str, ...]) -> pd.DataFrame:
        """A table view that holds the columns of the derivations ``names`` (declared in ``uses``)."""
        missing = [n for n in names if n not in self.active]
        if missing:
            raise RuntimeError(f"derivations {missing} not active: declare them in `uses`")
        return self.get(view)

    # ------------------------------------------------------------------------------------- shared look-ups
    def dept_attr(self, col: str) -> pd.Series:
        d = self.tables["departments"].drop_duplicates("部门名称")
        return pd.Series(d[col].to_numpy(), index=d["部门名称"].to_numpy())

    def catalog_code_attr(self, col: str) -> pd.Series:
        c = self.get("catalog").dropna(subset=["信息资源代码"]).drop_duplicates("信息资源代码")
        return pd.Series(c[col].to_numpy(), index=c["信息资源代码"].to_numpy())

    def updates_until_as_of(self) -> pd.DataFrame:
        up = self.tables["updates"]
        t = up["平台更新时间"]
        return up.loc[t.notna() & (t <= self.as_of_end), ["信息资源代码", "平台更新时间"]]
