from __future__ import annotations

from . import derivation


@derivation("update_collector", view="updates", adds=["归属采集部门"], tables=["catalog"], uses=["collector"])
def update_collector(ctx, up):
    """归属采集部门：数据更新记录所属信息资源的归属采集部门（见 collector；资源不在目录中则为空）。

    Updates view."""
    up["归属采集部门"] = up["信息资源代码"].map(ctx.catalog_code_attr("归属采集部门")).astype(object)
