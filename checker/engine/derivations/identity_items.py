from __future__ import annotations

import numpy as np
import pandas as pd

from . import derivation


@derivation("identity_items", view="catalog", adds=["身份项缺失"], codelists=["身份项别名"], tables=["items"])
def identity_items(ctx, cat):
    """身份项缺失：信息资源的信息项缺少哪些身份要素（代码表「身份项别名」），以「、」连接；不缺则为空文字。

    Catalog view. An element is present when one of its accepted names (whitespace removed) is a 信息项名称 of
    the resource."""
    aliases: dict[str, list[str]] = ctx.codelists["身份项别名"]
    items = ctx.tables["items"][["信息资源代码", "信息项名称"]].dropna()
    names = items["信息项名称"].astype(str).str.replace(r"\s+", "", regex=True)
    out = pd.Series("", index=cat.index, dtype=object)
    for element, alias in aliases.items():      # a handful of elements, not rows
        codes = items.loc[names.isin(alias), "信息资源代码"].unique()
        lacks = ~cat["信息资源代码"].isin(codes)
        out = out + pd.Series(np.where(lacks.to_numpy(), element + "、", ""), index=cat.index, dtype=object)
    cat["身份项缺失"] = out.str.rstrip("、").astype(object)
