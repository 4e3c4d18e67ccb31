"""Cross-table references: 部门名称 not in departments, 信息资源代码 not in catalog (vectorised ``isin``)."""
from __future__ import annotations

import pandas as pd

from .. import schema
from ..levels import head_of_level
from ..levels import heads as level_heads
from ..model import META_FILE, META_ROW, META_SHEET
from .coerce import defect_frame

PROBLEM_DEPT = "部门名录中无此部门"
PROBLEM_CATALOG = "信息资源目录中无此信息资源代码"


def reference_defects(tables: dict[str, pd.DataFrame], raw_values: dict[str, pd.DataFrame] | None = None,
                      only: str | None = None) -> list[pd.DataFrame]:
    """Defects for every reference column (schema ``ref``) whose value is absent from the referenced table.

    Only tables that were given are checked against; empty values are not references (their emptiness is
    reported by coercion when it matters). 采集部门/核准部门 are a rule's business and carry no ``ref``.
    ``only``: the references of that table alone (one partition of an event table, on a Dask worker)."""
    out = []
    known = {}
    if "departments" in tables:
        known["dept"] = pd.Index(tables["departments"]["部门名称"].dropna().unique())
    if "catalog" in tables:
        known["catalog"] = pd.Index(tables["catalog"]["信息资源代码"].dropna().unique())
    for t in schema.TABLE_LIST:
        if t.name not in tables or (only is not None and t.name != only):
            continue
        frame = tables[t.name]
        for col in t.columns:
            if col.ref not in known:
                continue
            v = frame[col.name]
            bad = v.notna() & ~v.isin(known[col.ref])
            if bad.any():
                d = frame.loc[bad]
                out.append(defect_frame(t.name, d[META_FILE], d[META_SHEET], d[META_ROW], col.name, d[col.name],
                                        PROBLEM_DEPT if col.ref == "dept" else PROBLEM_CATALOG))
    if "departments" in tables and only is None:
        out += _second_heads(tables["departments"])
    return out


def _second_heads(d: pd.DataFrame) -> list[pd.DataFrame]:
    """A second 主管部门 for one level (市级, or 区级 of one 所属区): GZ165-08-3 attributes that level's findings to
    the first one only (docs/decisions.md), so the others' flag is an input defect the auditors should see."""
    if not {"是否主管部门", "层级", "部门名称"} <= set(d.columns) or not len(d):
        return []
    heads, key = level_heads(d)
    if len(heads) < 2:
        return []
    dup = key.duplicated(keep="first") & key.notna()
    if not dup.any():
        return []
    first = head_of_level(d)
    shown = key[dup].str.replace("/", "", regex=False)
    problem = ("同一层级（" + shown + "）已有主管部门「" + key[dup].map(first).astype(str)
               + "」，本行的主管部门标记不被采用（主管部门的问题归该层级第一个主管部门）")
    rows = heads[dup]
    return [defect_frame("departments", rows[META_FILE], rows[META_SHEET], rows[META_ROW], "是否主管部门",
                         rows["是否主管部门"].map(lambda v: "是" if v else v), problem.to_numpy(dtype=object))]
