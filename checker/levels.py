"""市级 / 区级 levels and their 主管部门 (the 是否主管部门 flag of 部门名录), written once for the engine and the loader.

A level's key is 「市级」, or 「区级/<所属区>」 for a district. A level with two 主管部门 takes the first one; the loader
reports the others as input defects.
"""
from __future__ import annotations

import pandas as pd


def level_key(level: pd.Series, district) -> pd.Series:
    """The key of each department's level: 市级 → 「市级」; 区级 → 「区级/<所属区>」 (empty district: 「区级/」)."""
    lv = level.astype(object)
    di = district if isinstance(district, pd.Series) else pd.Series(district, index=level.index)
    return lv.where(lv != "区级", "区级/" + di.astype(object).fillna("").astype(str)).astype(object)


def heads(d: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The rows flagged 是否主管部门 and their level keys."""
    flag = d["是否主管部门"].astype("boolean").fillna(False).astype(bool)
    rows = d[flag]
    district = rows["所属区"] if "所属区" in rows.columns else ""
    return rows, level_key(rows["层级"], district)


def head_of_level(d: pd.DataFrame) -> pd.Series:
    """Level key → the name of that level's (first) 主管部门."""
    rows, key = heads(d)
    out = pd.Series(rows["部门名称"].to_numpy(), index=key.to_numpy())
    return out[~out.index.duplicated(keep="first")]
