from __future__ import annotations

from ..lang import is_missing
from . import derivation


@derivation("resource_kind", view="catalog", adds=["基础资源", "共享资源", "特殊更新"], codelists=["共享类型_共享"])
def resource_kind(ctx, cat):
    """基础资源、共享资源、特殊更新：信息资源的种类。

    基础资源 = 资源分类为「基础信息资源」或填了基础信息类别；共享资源 = 共享类型在代码表「共享类型_共享」中；
    特殊更新 = 填了特殊更新批准文号（经主管部门批准按季度更新）。Catalog view; also carried by the views
    catalog_freshness and quarter_windows and looked up by update_resource."""
    cat["基础资源"] = ((cat["资源分类"] == "基础信息资源") | ~is_missing(cat["基础信息类别"])).astype(bool)
    cat["共享资源"] = cat["共享类型"].isin(list(ctx.codelists["共享类型_共享"])).astype(bool)
    cat["特殊更新"] = (~is_missing(cat["特殊更新批准文号"])).astype(bool)
