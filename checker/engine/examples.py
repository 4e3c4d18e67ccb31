"""Turning a rule file's ``examples`` into input frames and running them through the real engine."""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from ..model import Period
from .derive import TABLE_COLUMNS

_TRUE = {"是", "Y", "y", "1", "true", "True", "√", True}
_FALSE = {"否", "N", "n", "0", "false", "False", "×", False}


def example_tables(example: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Frames with canonical columns (missing ones empty), coerced types and meta columns
    (_file = "<table>.xlsx", _sheet = the table name, _row = 2, 3, … as below a header row)."""
    out = {}
    for table, rows in (example.get("tables") or {}).items():
        rows = rows or []
        cols = TABLE_COLUMNS[table]
        data = {}
        for col, typ in cols.items():
            vals = [r.get(col) for r in rows]
            if typ in ("date", "datetime"):
                data[col] = pd.to_datetime(pd.Series([None if v is None else str(v) for v in vals], dtype=object))
            elif typ == "bool":
                data[col] = pd.Series([True if v in _TRUE else False if v in _FALSE else None for v in vals],
                                      dtype="boolean")
            elif typ == "int":
                data[col] = pd.Series(vals, dtype="Int64")
            else:
                data[col] = pd.Series([None if v is None else str(v) for v in vals], dtype=object)
        unknown = sorted({k for r in rows for k in r} - set(cols))
        if unknown:
            raise ValueError(f"example table {table}: unknown columns {unknown}")
        df = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
        df["_file"] = f"{table}.xlsx"
        df["_sheet"] = table
        df["_row"] = pd.Series(range(2, len(rows) + 2), dtype="Int64")
        out[table] = df
    return out


def example_period(example: dict[str, Any]) -> tuple[Period, date]:
    period = Period.parse(str(example.get("period", "2026-10")))
    as_of = example.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        as_of = date.fromisoformat(str(as_of))
    return period, as_of or period.end


def example_pack(pack, rule_id: str, example: dict[str, Any]):
    """The one-rule pack an example runs with: the rule's pack without its scope (an example shows the rule, not
    which departments a pack keeps), with the example's ``params:`` applied as a --params file would be."""
    import tempfile
    from pathlib import Path

    import yaml

    from .pack import load_pack
    params = example.get("params")
    if params:
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "params.yaml"
            f.write_text(yaml.safe_dump({rule_id: params}, allow_unicode=True), encoding="utf-8")
            pack = load_pack(pack.root, f)
    sub = pack.subset([rule_id])
    sub.scope = None
    return sub


def run_example(pack, rule_id: str, example: dict[str, Any], calendar):
    """Evaluate one example of a rule through the real engine."""
    from .evaluate import evaluate
    period, as_of = example_period(example)
    return evaluate(example_tables(example), example_pack(pack, rule_id, example), period, as_of, calendar)


def checked_units(result, rule_id: str) -> dict[str, int]:
    """Checked units per department of one rule (departments with none left out)."""
    c = result.checked[result.checked["rule_id"] == rule_id]
    return {str(d): int(n) for d, n in zip(c["department"], c["checked"]) if int(n)}
