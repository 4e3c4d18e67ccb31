from __future__ import annotations

import pandas as pd

from . import derivation


@derivation("in_period", view="exchanges", adds=["本期"])
def in_period(ctx, ex):
    """本期：交换日期在审计期间内且不晚于基准日。

    Exchanges view."""
    t = ex["交换时间"].dt.normalize()
    ex["本期"] = ((t >= pd.Timestamp(ctx.period.start)) & (t <= pd.Timestamp(ctx.period.end))
                  & (t <= ctx.as_of_ts)).fillna(False).astype(bool)
