from __future__ import annotations

from . import derivation


@derivation("update_resource", view="updates", adds=["提供部门", "在目录", "基础资源", "共享资源", "特殊更新"],
            tables=["catalog"], uses=["resource_kind"])
def update_resource(ctx, up):
    """提供部门、在目录、基础资源、共享资源、特殊更新：数据更新记录所属信息资源在目录中的属性。

    Updates view. The resource's 提供部门 and its kind (as in resource_kind) from its first catalog row; a code
    not in the catalog has no 提供部门 and is none of the kinds."""
    code = up["信息资源代码"]
    codes = ctx.tables["catalog"]["信息资源代码"].dropna().unique()
    up["在目录"] = code.isin(codes).astype(bool)
    up["提供部门"] = code.map(ctx.catalog_code_attr("提供部门")).astype(object)
    for col in ("基础资源", "共享资源", "特殊更新"):
        up[col] = code.map(ctx.catalog_code_attr(col)).astype("boolean").fillna(False).astype(bool)
