from __future__ import annotations

from . import derivation
from ._util import map_values


@derivation("exchange_catalog", view="exchanges", adds=["在目录", "目录共享类型"], tables=["catalog"])
def exchange_catalog(ctx, ex):
    """在目录、目录共享类型：交换的信息资源代码是否在信息资源目录中，及其在目录中的共享类型。

    Exchanges view. A code listed twice in the catalog takes its first row."""
    codes = ctx.tables["catalog"]["信息资源代码"].dropna().unique()
    ex["在目录"] = ex["信息资源代码"].isin(codes).astype(bool)
    ex["目录共享类型"] = map_values(ex["信息资源代码"], ctx.catalog_code_attr("共享类型"))
