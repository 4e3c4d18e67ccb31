from __future__ import annotations

import pandas as pd

from ...text import is_missing, norm_name
from . import derivation


@derivation("collector", view="catalog", adds=["归属采集部门", "采集部门在名录", "采集部门职能类别"],
            tables=["departments"])
def collector(ctx, cat):
    """归属采集部门、采集部门在名录、采集部门职能类别：按采集部门归属问题时的部门（采集部门不在部门名录中则为提供部门）。

    采集部门与部门名录的部门名称按规范化名称比较（NFKC、去首尾及中间空白、括号统一）；空值、占位符或不在部门名录中的
    采集部门不采用，归属提供部门。采集部门职能类别：采集部门在部门名录中的职能类别。Catalog view; used by a pack's
    override ``department: 采集部门`` (packs.md §3.4, §7 reading 2)."""
    d = ctx.tables["departments"]
    known = pd.Index(norm_name(d["部门名称"]).dropna().unique())
    name = norm_name(cat["采集部门"].astype(object))
    ok = (name.isin(known) & ~is_missing(cat["采集部门"].astype(object))).fillna(False).astype(bool)
    cat["采集部门在名录"] = ok
    cat["归属采集部门"] = name.where(ok, cat["提供部门"].astype(object)).astype(object)
    cat["采集部门职能类别"] = name.where(ok).map(ctx.dept_attr("职能类别")).astype(object)
