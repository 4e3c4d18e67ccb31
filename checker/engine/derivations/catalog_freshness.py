from __future__ import annotations


import pandas as pd

from . import derivation
from ._util import by_value, combined, map_dates


def latest_update(ctx) -> pd.Series:
    """The latest 平台更新时间 up to the end of as_of, per 信息资源代码, of the updates ``ctx`` holds."""
    return by_value(ctx.updates_until_as_of().groupby("信息资源代码", observed=True)["平台更新时间"].max())


def latest_of(parts: list[pd.Series]) -> pd.Series:
    """Several partitions' latest updates as one: the latest per 信息资源代码."""
    return combined(parts, "max")


@derivation("catalog_freshness", view="catalog_freshness", adds=["最近平台更新时间", "基准日期", "间隔天数"],
            builds="catalog", uses=["resource_kind", "collector"], tables=["updates"],
            over="updates", partial=latest_update, combine=latest_of)
def catalog_freshness(ctx, parts):
    """最近平台更新时间、基准日期、间隔天数：每个信息资源距最近一次上平台更新（没有则距发布日期）的天数。

    View of the catalog (with resource_kind). 最近平台更新时间: the latest 平台更新时间 up to the end of as_of;
    基准日期: its date, else the 发布日期; 间隔天数: days from 基准日期 to as_of."""
    cat = ctx.view_with("catalog", ("resource_kind",)).copy()
    last = latest_of(parts)
    cat["最近平台更新时间"] = map_dates(cat["信息资源代码"], last)
    cat["基准日期"] = cat["最近平台更新时间"].dt.normalize().fillna(cat["发布日期"].dt.normalize())
    cat["间隔天数"] = (ctx.as_of_ts - cat["基准日期"]).dt.days.astype("Int64")
    return cat
