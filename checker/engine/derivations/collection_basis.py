from __future__ import annotations

import pandas as pd

from ..lang import is_missing
from . import derivation


@derivation("collection_basis", view="catalog", adds=["采集依据层级", "采集依据引用"], classifier=True)
def collection_basis(ctx, cat):
    """采集依据层级、采集依据引用：采集依据（要求本部门自行采集的法律、法规、规章）中引用文件的效力层级。

    与 legal_basis 相同的法律依据分类表；只对填了采集依据的信息资源分类（可选列 catalog.采集依据）。
    Catalog view."""
    cat["采集依据层级"] = pd.Series([None] * len(cat), dtype=object)
    cat["采集依据引用"] = pd.Series([None] * len(cat), dtype=object)
    has = ~is_missing(cat["采集依据"])
    if has.any():
        from ...legal import classify_basis
        texts = cat.loc[has, "采集依据"]
        res = classify_basis(texts, ctx.legal_table)
        res.index = texts.index
        cat.loc[has, "采集依据层级"] = res["grades"].astype(object)
        cat.loc[has, "采集依据引用"] = res["citations"].astype(object)
