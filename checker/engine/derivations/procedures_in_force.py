from __future__ import annotations

import pandas as pd

from . import derivation


@derivation("procedures_in_force", view="departments", adds=["在用制度类别"], tables=["procedures"],
            codelists=["制度类别"])
def procedures_in_force(ctx, d):
    """在用制度类别：部门在基准日现行有效的采集制度所属的类别（代码表「制度类别」中的值，用「、」连接，按代码表顺序）。

    现行有效：印发日期不晚于基准日（或未填），且废止日期为空或晚于基准日（基准日当天废止的不算）。制度类别可填多个，
    用、，, 分隔。Departments view (the procedures table, packs.md §6.1, §7 reading 11)."""
    pr = ctx.tables["procedures"]
    day = ctx.as_of_ts
    issued = pr["印发日期"]
    repealed = pr["废止日期"]
    live = (issued.isna() | (issued <= day)) & (repealed.isna() | (repealed > day))
    kinds = list(ctx.codelists["制度类别"])
    p = pr.loc[live.to_numpy(), ["部门", "制度类别"]].dropna()
    parts = p.assign(类别=p["制度类别"].astype(str).str.split(r"[、,，]")).explode("类别")
    parts["类别"] = parts["类别"].str.strip()
    have = parts[parts["类别"].isin(kinds)].drop_duplicates(["部门", "类别"])
    rank = {k: i for i, k in enumerate(kinds)}
    have = have.assign(_r=have["类别"].map(rank)).sort_values(["部门", "_r"])
    joined = have.groupby("部门", sort=True)["类别"].agg("、".join)
    d["在用制度类别"] = d["部门名称"].map(joined).astype(object).fillna("")
