from __future__ import annotations

from . import derivation


@derivation("has_catalog", view="departments", adds=["有目录"], tables=["catalog"])
def has_catalog(ctx, d):
    """有目录：部门名称是信息资源目录中至少一个信息资源的提供部门。

    Departments view. True when the department's 部门名称 appears as a 提供部门 in the catalog."""
    providers = ctx.tables["catalog"]["提供部门"].dropna().unique()
    d["有目录"] = d["部门名称"].isin(providers).astype(bool)
