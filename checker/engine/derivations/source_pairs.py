from __future__ import annotations

import numpy as np
import pandas as pd

from ...model import META_COLUMNS
from ...text import norm_name
from . import derivation


@derivation("source_pairs", view="source_pairs", adds=["细目类别数", "细目采集部门"], builds="catalog",
            base_columns=["信息类别细目", "采集部门", "采集部门职能类别", "提供部门"], uses=["resource_kind", "collector"],
            tables=["departments"])
def source_pairs(ctx):
    """每个（信息类别细目，采集部门）一行：基础信息资源由哪些部门采集，及同一细目的采集部门有几种职能类别。

    只看基础信息资源中采集部门在部门名录中、采集方式不是「共享获取」（空 = 自行采集）的行；采集部门按规范化名称；
    市级、区级同一职能类别算一类。细目类别数：该细目各采集部门职能类别的种数；细目采集部门：该细目的全部采集部门，
    用「、」连接。来源行为该（细目，采集部门）的第一行。View of its own (GD-08-1, packs.md §7 reading 12)."""
    cat = ctx.view_with("catalog", ("resource_kind", "collector"))
    keep = (cat["基础资源"] & cat["采集部门在名录"] & cat["信息类别细目"].notna()
            & ~(cat["采集方式"].astype(object) == "共享获取"))
    c = cat.loc[keep.to_numpy()].copy()
    c["采集部门"] = norm_name(c["采集部门"].astype(object))
    first = c.drop_duplicates(["信息类别细目", "采集部门"]).sort_values(["信息类别细目", "采集部门"], kind="stable")
    n_cat = c.groupby("信息类别细目")["采集部门职能类别"].nunique()
    names = first.groupby("信息类别细目", sort=True)["采集部门"].agg("、".join)
    out = pd.DataFrame({col: first[col].to_numpy() for col in ["信息类别细目", "采集部门", "采集部门职能类别", "提供部门"]
                        + META_COLUMNS})
    out["细目类别数"] = pd.array(out["信息类别细目"].map(n_cat).fillna(0).astype(np.int64), dtype="Int64")
    out["细目采集部门"] = out["信息类别细目"].map(names).astype(object)
    return out.reset_index(drop=True)
