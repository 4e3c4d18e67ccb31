"""Cross-table references: 部门名称 not in departments, 信息资源代码 not in catalog (vectorised ``isin``)."""
from __future__ import annotations

import pandas as pd

from .. import schema
from ..model import META_FILE, META_ROW, META_SHEET
from .coerce import defect_frame

PROBLEM_DEPT = "部门名录中无此部门"
PROBLEM_CATALOG = "信息资源目录中无此信息资源代码"


def reference_defects(tables: dict[str, pd.DataFrame], raw_values: dict[str, pd.DataFrame] | None = None
                      ) -> list[pd.DataFrame]:
    """Defects for every reference column (schema ``ref``) whose value is absent from the referenced table.

    Only tables that were given are checked against; empty values are not references (their emptiness is
    reported by coercion when it matters). 采集部门/核准部门 are a rule's business and carry no ``ref``."""
    out = []
    known = {}
    if "departments" in tables:
        known["dept"] = pd.Index(tables["departments"]["部门名称"].dropna().unique())
    if "catalog" in tables:
        known["catalog"] = pd.Index(tables["catalog"]["信息资源代码"].dropna().unique())
    for t in schema.TABLE_LIST:
        if t.name not in tables:
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
    return out
