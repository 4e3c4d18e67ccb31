from __future__ import annotations

import numpy as np
import pandas as pd

from ...model import META_COLUMNS, META_FILE, META_ROW
from ..lang import is_missing
from . import derivation
from ._util import sorted_codes

_KEEP = ["信息资源代码", "提供部门", "交换时间", "在目录"] + META_COLUMNS


def _first_per_group(sel: pd.DataFrame, counts: np.ndarray | None) -> pd.DataFrame:
    """One row per (信息资源代码, 提供部门) of ``sel``, in the order of the sorted values: the first exchange of each
    (by 交换时间, then file, then row; integer sort keys only, so a million rows sort in C) and ``交换次数``, the
    group's rows (``counts`` None) or the sum of ``counts``."""
    code_no, code_vals = sorted_codes(sel["信息资源代码"])
    prov_no, prov_vals = sorted_codes(sel["提供部门"])
    group = code_no.astype(np.int64) * max(len(prov_vals), 1) + prov_no
    file_no, _ = pd.factorize(sel[META_FILE].astype(object).fillna("").to_numpy(), sort=True)
    when = sel["交换时间"].to_numpy(dtype="datetime64[ns]").astype(np.int64)   # NaT sorts first
    order = np.lexsort((sel[META_ROW].fillna(0).to_numpy(dtype="int64"), file_no, when, group))
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]) if len(order) else np.array([], int)
    first = order[starts]
    if counts is None:
        sizes = np.diff(np.r_[starts, len(order)])
    else:
        sizes = np.add.reduceat(counts[order], starts) if len(order) else np.array([], np.int64)
    out = pd.DataFrame({
        "信息资源代码": code_vals[code_no[first]], "提供部门": prov_vals[prov_no[first]],
        **{c: sel[c].to_numpy()[first] for c in META_COLUMNS + ["在目录", "交换时间"]},
    })
    out[META_ROW] = out[META_ROW].astype("Int64")
    out["交换次数"] = pd.array(sizes, dtype="Int64")
    return out.reset_index(drop=True)


def exchange_resources_partial(ctx) -> pd.DataFrame:
    """The groups of the exchanges ``ctx`` holds (one partition, or all): first exchange and count of each."""
    ex = ctx.view_with("exchanges", ("in_period", "exchange_catalog"))
    keep = ex["本期"] & ~is_missing(ex["信息资源代码"]) & ~is_missing(ex["提供部门"])
    pos = np.flatnonzero(keep.to_numpy())
    sel = pd.DataFrame({c: ex[c].iloc[pos] for c in _KEEP}, columns=_KEEP)
    return _first_per_group(sel, None)


def combine_groups(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The groups of several summaries as one summary: per group the first of the first exchanges, the sum of the
    counts."""
    if len(parts) == 1:
        return parts[0]
    sel = pd.concat(parts, ignore_index=True)
    return _first_per_group(sel, sel["交换次数"].to_numpy(dtype="int64"))


@derivation("exchange_resources", view="exchange_resources", adds=["在目录", "交换次数"], builds="exchanges", uses=["in_period", "exchange_catalog"],
            base_columns=["信息资源代码", "提供部门"], tables=["exchanges"],
            over="exchanges", partial=exchange_resources_partial, combine=combine_groups)
def exchange_resources(ctx, parts):
    """每个（信息资源代码，提供部门）一行：本期成功与否的全部交换中，该提供部门交换该资源的次数。

    View of its own (one row per resource and provider of the period's exchanges, the first exchange's file and
    row; 在目录 as in exchange_catalog, 交换次数 the number of exchanges). Two phases: each partition's groups
    (first exchange, count), then the groups of those (the first of the firsts, the sum of the counts)."""
    return combine_groups(parts).drop(columns=["交换时间"])
