from __future__ import annotations

from ...levels import head_of_level, level_key
from . import derivation


@derivation("level_head", view="catalog_changes", adds=["主管部门"], tables=["departments"])
def level_head(ctx, ch):
    """主管部门：变更部门所在层级（市级，或区级的所属区）的政务信息共享主管部门（部门名录「是否主管部门」）。

    Catalog changes view. A level with two 主管部门 takes the first (the loader reports the second)."""
    d = ctx.tables["departments"]
    level = ch["部门"].map(ctx.dept_attr("层级"))
    district = ch["部门"].map(ctx.dept_attr("所属区"))
    ch["主管部门"] = level_key(level, district).map(head_of_level(d)).astype(object)
