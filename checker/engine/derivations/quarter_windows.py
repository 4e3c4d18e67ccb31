from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from . import derivation
from ._util import by_value, combined


def quarters_checked(ctx, window_wd: int) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Quarters whose window end (the window_wd-th working day) falls in the period and ≤ as_of."""
    p0, p1 = ctx.period.start, ctx.period.end
    out = []
    y, q = p0.year, (p0.month - 1) // 3 + 1
    while True:
        qs = date(y, 3 * q - 2, 1)
        if qs > p1:
            break
        before = pd.Timestamp(qs - timedelta(days=1))
        last = min(pd.Timestamp(p1), ctx.as_of_ts)
        # a window that ends after the period (or as_of) is not checked now: no later year's calendar needed
        if last >= before and int(ctx.calendar.wd(before, last)) >= int(window_wd):
            end = pd.Timestamp(ctx.calendar.add_wd(before, int(window_wd))).normalize()
            if pd.Timestamp(p0) <= end <= last:
                out.append((f"{y:04d}-Q{q}", pd.Timestamp(qs), end))
        y, q = (y, q + 1) if q < 4 else (y + 1, 1)
    return out


def window_counts(ctx, window_wd: int = 10) -> list[pd.Series]:
    """Per checked quarter (in order), the platform updates dated inside its window per 信息资源代码, of the updates
    ``ctx`` holds."""
    ups = ctx.updates_until_as_of()
    day = ups["平台更新时间"].dt.normalize()
    return [by_value(ups.loc[(day >= start) & (day <= end)].groupby("信息资源代码", observed=True).size())
            for _label, start, end in quarters_checked(ctx, window_wd)]


def counts_of(parts: list[list[pd.Series]]) -> list[pd.Series]:
    """Several partitions' window counts as one: per checked quarter, the sum per 信息资源代码."""
    return [combined([p[i] for p in parts], "sum") for i in range(len(parts[0]))]


@derivation("quarter_windows", view="quarter_windows", adds=["季度", "窗口开始", "窗口结束", "窗口内更新次数"],
            builds="catalog", uses=["resource_kind", "collector"], tables=["updates"], args={"window_wd": 10},
            over="updates", partial=window_counts, combine=counts_of)
def quarter_windows(ctx, parts, window_wd: int = 10):
    """季度、窗口开始、窗口结束、窗口内更新次数：经批准按季度更新的信息资源，在每季度初 window_wd 个工作日的窗口内的更新次数。

    View of the catalog rows with 特殊更新, one row per resource and quarter whose window ends in the period
    (and not after as_of); 窗口内更新次数 counts the platform updates dated inside the window."""
    cat = ctx.view_with("catalog", ("resource_kind",))
    cat = cat[cat["特殊更新"]]
    frames = []
    counts = counts_of(parts)
    for (label, start, end), n in zip(quarters_checked(ctx, window_wd), counts):   # at most two quarters a period
        f = cat.copy()
        f["季度"], f["窗口开始"], f["窗口结束"] = label, start, end
        f["窗口内更新次数"] = f["信息资源代码"].map(n).fillna(0).astype("Int64")
        frames.append(f)
    cols = ctx.columns("quarter_windows")
    if not frames:
        out = cat.iloc[0:0].copy()
        for c, v in (("季度", None), ("窗口开始", pd.NaT), ("窗口结束", pd.NaT), ("窗口内更新次数", 0)):
            out[c] = pd.Series(dtype=object if v is None else ("datetime64[ns]" if v is pd.NaT else "Int64"))
        frames = [out]
    out = pd.concat(frames, ignore_index=True)
    return out[cols]
