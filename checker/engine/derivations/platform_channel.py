from __future__ import annotations

from . import derivation


@derivation("platform_channel", view="exchanges", adds=["平台通道"], codelists=["交换通道_平台"])
def platform_channel(ctx, ex):
    """平台通道：交换通道在代码表「交换通道_平台」中（经共享平台交换）。

    Exchanges view."""
    ex["平台通道"] = ex["交换通道"].isin(list(ctx.codelists["交换通道_平台"])).astype(bool)
