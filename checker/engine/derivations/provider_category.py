from __future__ import annotations

from . import derivation


@derivation("provider_category", view="catalog", adds=["提供部门职能类别"], tables=["departments"])
def provider_category(ctx, cat):
    """提供部门职能类别：提供部门在部门名录中的职能类别（不在部门名录中则为空）。

    Catalog view."""
    cat["提供部门职能类别"] = cat["提供部门"].map(ctx.dept_attr("职能类别")).astype(object)
