from __future__ import annotations

import numpy as np
import pandas as pd

from ...model import META_COLUMNS, META_FILE, META_ROW
from ..lang import is_missing
from . import derivation
from ._util import sorted_codes


@derivation("exchange_resources", view="exchange_resources", adds=["在目录", "交换次数"], builds="exchanges", uses=["in_period", "exchange_catalog"],
            base_columns=["信息资源代码", "提供部门"], tables=["exchanges"])
def exchange_resources(ctx):
    """每个（信息资源代码，提供部门）一行：本期成功与否的全部交换中，该提供部门交换该资源的次数。

    View of its own (one row per resource and provider of the period's exchanges, the first exchange's file and
    row; 在目录 as in exchange_catalog, 交换次数 the number of exchanges)."""
    ex = ctx.view_with("exchanges", ("in_period", "exchange_catalog"))
    keep = ex["本期"] & ~is_missing(ex["信息资源代码"]) & ~is_missing(ex["提供部门"])
    pos = np.flatnonzero(keep.to_numpy())
    cols = ["信息资源代码", "提供部门", "交换时间", "在目录"] + META_COLUMNS
    sel = pd.DataFrame({c: ex[c].iloc[pos] for c in cols}, columns=cols)
    # one group per (code, provider), numbered in the order of the sorted values; the first exchange of each:
    # by 交换时间, then file, then row (integer sort keys only: a million rows sort in C)
    code_no, code_vals = sorted_codes(sel["信息资源代码"])
    prov_no, prov_vals = sorted_codes(sel["提供部门"])
    group = code_no.astype(np.int64) * max(len(prov_vals), 1) + prov_no
    file_no, _ = pd.factorize(sel[META_FILE].astype(object).fillna("").to_numpy(), sort=True)
    when = sel["交换时间"].to_numpy(dtype="datetime64[ns]").astype(np.int64)   # NaT sorts first
    order = np.lexsort((sel[META_ROW].fillna(0).to_numpy(dtype="int64"), file_no, when, group))
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]) if len(order) else np.array([], int)
    first = order[starts]
    sizes = np.diff(np.r_[starts, len(order)])
    out = pd.DataFrame({
        "信息资源代码": code_vals[code_no[first]], "提供部门": prov_vals[prov_no[first]],
        **{c: sel[c].to_numpy()[first] for c in META_COLUMNS + ["在目录"]},
    })
    out[META_ROW] = out[META_ROW].astype("Int64")
    out["交换次数"] = pd.array(sizes, dtype="Int64")
    return out.reset_index(drop=True)
