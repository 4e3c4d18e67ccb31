from __future__ import annotations

from . import derivation


@derivation("published_officer", view="departments", adds=["有已发布责任人"], tables=["officers"])
def published_officer(ctx, d):
    """有已发布责任人：责任人员表中有本部门一名「是否已发布」为是的责任人。

    Departments view."""
    off = ctx.tables["officers"]
    published = off.loc[off["是否已发布"].astype("boolean").fillna(False).astype(bool), "部门"].dropna().unique()
    d["有已发布责任人"] = d["部门名称"].isin(published).astype(bool)
