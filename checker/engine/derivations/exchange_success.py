from __future__ import annotations

from ..lang import is_missing
from . import derivation


@derivation("exchange_success", view="exchanges", adds=["交换成功"])
def exchange_success(ctx, ex):
    """交换成功：交换结果为「成功」或为空。

    Exchanges view."""
    res = ex["交换结果"]
    ex["交换成功"] = (is_missing(res) | (res == "成功")).astype(bool)
