"""Derived views: columns computed ONCE per run from the loaded tables (documented in docs/rule-language.md).

A rule names the view it reads; the view's columns (canonical input columns + meta + derived) are known
statically (``view_columns``) so that rule files are validated at pack load time.
Everything here is vectorised: joins, group-bys and ``isin``; no per-row Python.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..model import META_COLUMNS, META_FILE, META_ROW
from .lang import is_missing

# Canonical columns of the ten tables (inputs.md) and their types, from the loader's schema (one source of truth).
# The engine only distinguishes date/datetime/bool/int from text (names, codes and 共享类型 are text here).
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    t.name: {c.name: c.type if c.type in ("date", "datetime", "bool", "int", "code") else "text" for c in t.columns}
    for t in schema.TABLE_LIST
}
# Booleans with a default of 否 (inputs.md): missing → False.
BOOL_DEFAULT_FALSE = {(t.name, c.name) for t in schema.TABLE_LIST for c in t.columns
                      if c.type == "bool" and c.default is False}

# view name -> (base table whose rows the view holds, derived columns, view arguments it accepts)
VIEWS: dict[str, tuple[str, list[str], tuple[str, ...]]] = {
    "departments": ("departments", ["有目录", "有已发布责任人"], ()),
    "catalog": ("catalog", ["基础资源", "共享资源", "提供部门职能类别", "依据级别", "依据充分", "依据引用",
                            "身份项缺失"], ()),
    "catalog_changes": ("catalog_changes", ["主管部门"], ()),
    "exchanges": ("exchanges", ["本期", "平台通道", "在目录", "目录共享类型", "交换成功", "审批有效", "审批问题"], ()),
    "exchange_resources": ("exchanges", ["在目录", "交换次数"], ()),
    "updates": ("updates", ["提供部门", "在目录", "基础资源", "共享资源", "特殊更新"], ()),
    "catalog_freshness": ("catalog", ["基础资源", "共享资源", "最近平台更新时间", "基准日期", "间隔天数"], ()),
    "quarter_windows": ("catalog", ["基础资源", "特殊更新", "季度", "窗口开始", "窗口结束", "窗口内更新次数"],
                        ("window_wd",)),
    "officers": ("officers", [], ()),
    "requests": ("requests", [], ()),
    "disputes": ("disputes", [], ()),
    "systems": ("systems", [], ()),
}
# exchange_resources holds only these base columns
_EXCHANGE_RESOURCE_BASE = ["信息资源代码", "提供部门"]


def view_columns(view: str) -> list[str]:
    base, extra, _ = VIEWS[view]
    cols = _EXCHANGE_RESOURCE_BASE if view == "exchange_resources" else list(TABLE_COLUMNS[base])
    return list(cols) + META_COLUMNS + extra


def base_table(view: str) -> str:
    return VIEWS[view][0]


def _by_code(s: pd.Series, per_category: np.ndarray, fill) -> np.ndarray:
    """Spread one value per category of the categorical ``s`` over its rows; ``fill`` where a row is missing."""
    codes = s.cat.codes.to_numpy()
    out = np.full(len(codes), fill, dtype=per_category.dtype)
    has = codes >= 0
    if len(per_category):
        out[has] = per_category[codes[has]]
    return out


def _map_values(s: pd.Series, mapping: pd.Series) -> pd.Series:
    """``s.map(mapping)``; a categorical stays categorical (the map runs on its few distinct values, and later
    comparisons run on codes instead of a million Python strings)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        mapped = pd.Series(s.cat.categories.astype(object)).map(mapping)
        new_codes, cats = pd.factorize(mapped.to_numpy(dtype=object), use_na_sentinel=True)
        out = _by_code(s, new_codes.astype(np.int64), -1)
        return pd.Series(pd.Categorical.from_codes(out, categories=pd.Index(cats, dtype=object)), index=s.index)
    return s.map(mapping).astype(object)


def _map_dates(s: pd.Series, mapping: pd.Series) -> pd.Series:
    """``s.map(mapping)`` for a mapping to dates, as datetime64 (on the categories of a categorical)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return pd.to_datetime(s.map(mapping))
    cats = pd.to_datetime(pd.Series(s.cat.categories.astype(object)).map(mapping)).to_numpy(dtype="datetime64[ns]")
    out = _by_code(s, cats, np.datetime64("NaT"))
    return pd.Series(out.astype("datetime64[ns]"), index=s.index)


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values): the values numbered in sorted order (no missing values in ``s``); a categorical is numbered
    through its categories, without a million Python strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories.astype(object).to_numpy()
        order = np.argsort(cats.astype(str), kind="stable")
        rank = np.empty(len(cats), dtype=np.int64)
        rank[order] = np.arange(len(cats))
        return rank[s.cat.codes.to_numpy()], cats[order]
    return pd.factorize(s.astype(object).to_numpy(), sort=True)


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise a == b (missing equals nothing), also for two categoricals with different categories: the
    comparison runs on category codes over the union of both categories."""
    def codes(s: pd.Series, cats: pd.Index) -> np.ndarray:
        if isinstance(s.dtype, pd.CategoricalDtype):
            return _by_code(s, cats.get_indexer(pd.Index(s.cat.categories.astype(object))), -1)
        return cats.get_indexer(pd.Index(s.astype(object)))
    def values(s: pd.Series) -> pd.Index:
        return pd.Index(s.cat.categories.astype(object) if isinstance(s.dtype, pd.CategoricalDtype)
                        else s.dropna().astype(object).unique())
    cats = values(a).append(values(b)).unique()
    ca, cb = codes(a, cats), codes(b, cats)
    return (ca == cb) & (ca >= 0)


def _empty_table(name: str) -> pd.DataFrame:
    return conform(name, pd.DataFrame())


# Repetitive text columns of the big event tables are categoricals (the loader's schema.CATEGORICAL); frames
# built elsewhere (rule examples, tests) are converted here.
CATEGORICAL = schema.CATEGORICAL


def conform(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Ensure every canonical and meta column exists with a usable dtype (robust to optional columns)."""
    df = df.copy(deep=False)          # columns are replaced, never modified in place
    df.index = pd.RangeIndex(len(df))
    for col, typ in TABLE_COLUMNS[name].items():
        if col not in df.columns:
            df[col] = pd.Series(np.full(len(df), None, dtype=object), index=df.index)
        s = df[col]
        if typ in ("date", "datetime") and not pd.api.types.is_datetime64_any_dtype(s.dtype):
            df[col] = pd.to_datetime(s, errors="coerce")
        elif typ == "bool" and not pd.api.types.is_bool_dtype(s.dtype):
            df[col] = s.astype("boolean") if len(s) else pd.Series(dtype="boolean")
        elif typ == "int" and not pd.api.types.is_integer_dtype(s.dtype):
            df[col] = pd.to_numeric(s, errors="coerce").astype("Int64")
        if typ == "bool" and (name, col) in BOOL_DEFAULT_FALSE:
            df[col] = df[col].astype("boolean").fillna(False)
    for col in CATEGORICAL.get(name, ()):
        if df[col].dtype == object:
            df[col] = df[col].astype("category")
    for col in META_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series([""] * len(df) if col != META_ROW else [pd.NA] * len(df),
                                dtype=object if col != META_ROW else "Int64")
    if df[META_ROW].dtype != "Int64":
        df[META_ROW] = pd.to_numeric(df[META_ROW], errors="coerce").astype("Int64")
    return df


class Views:
    """Lazily computed, cached views of one run."""

    def __init__(self, tables: dict[str, pd.DataFrame], codelists: dict[str, Any], period, as_of: date,
                 calendar, needed: set[str] | None = None):
        self.raw = tables
        # view columns the rules of this run read (None: all). Costly derived columns nobody reads are skipped,
        # so a subset of the pack does only its own work.
        self.needed = needed
        self.tables = {n: conform(n, tables[n]) if n in tables and tables[n] is not None else _empty_table(n)
                       for n in TABLE_COLUMNS}
        self.given = {n for n in TABLE_COLUMNS if n in tables and tables[n] is not None}
        self.codelists = codelists
        self.period = period
        self.as_of = as_of
        self.as_of_ts = pd.Timestamp(as_of)
        self.as_of_end = self.as_of_ts + pd.Timedelta(hours=23, minutes=59, seconds=59)
        self.calendar = calendar
        self._cache: dict[tuple, pd.DataFrame] = {}

    def _wants(self, *columns: str) -> bool:
        return self.needed is None or any(c in self.needed for c in columns)

    def get(self, view: str, args: dict[str, Any] | None = None) -> pd.DataFrame:
        key = (view, tuple(sorted((args or {}).items())))
        if key not in self._cache:
            self._cache[key] = getattr(self, "_v_" + view)(**(args or {}))
        return self._cache[key]

    # ------------------------------------------------------------------------------------- shared pieces
    def _shared_types(self) -> list[str]:
        return list(self.codelists["共享类型_共享"])

    def _catalog_base(self) -> pd.DataFrame:
        key = ("_catalog_base",)
        if key in self._cache:
            return self._cache[key]
        cat = self.tables["catalog"].copy()
        cat["基础资源"] = ((cat["资源分类"] == "基础信息资源") | ~is_missing(cat["基础信息类别"])).astype(bool)
        cat["共享资源"] = cat["共享类型"].isin(self._shared_types()).astype(bool)
        cat["特殊更新"] = (~is_missing(cat["特殊更新批准文号"])).astype(bool)
        self._cache[key] = cat
        return cat

    def _dept_attr(self, col: str) -> pd.Series:
        d = self.tables["departments"].drop_duplicates("部门名称")
        return pd.Series(d[col].to_numpy(), index=d["部门名称"].to_numpy())

    def _catalog_code_attr(self, col: str) -> pd.Series:
        c = self._catalog_base().dropna(subset=["信息资源代码"]).drop_duplicates("信息资源代码")
        return pd.Series(c[col].to_numpy(), index=c["信息资源代码"].to_numpy())

    # ------------------------------------------------------------------------------------- views
    def _v_departments(self) -> pd.DataFrame:
        d = self.tables["departments"].copy()
        providers = self.tables["catalog"]["提供部门"].dropna().unique()
        d["有目录"] = d["部门名称"].isin(providers).astype(bool)
        off = self.tables["officers"]
        published = off.loc[off["是否已发布"].astype("boolean").fillna(False).astype(bool), "部门"].dropna().unique()
        d["有已发布责任人"] = d["部门名称"].isin(published).astype(bool)
        return d

    def _v_catalog(self) -> pd.DataFrame:
        cat = self._catalog_base().copy()
        cat["提供部门职能类别"] = cat["提供部门"].map(self._dept_attr("职能类别")).astype(object)
        # legal basis (GZ165-10-5): classified only where a basis is present
        cat["依据级别"] = pd.Series([None] * len(cat), dtype=object)
        cat["依据充分"] = pd.Series(False, index=cat.index, dtype=bool)
        cat["依据引用"] = pd.Series([None] * len(cat), dtype=object)
        has = ~is_missing(cat["共享依据"])
        if has.any() and self._wants("依据级别", "依据充分", "依据引用"):
            from ..legal import classify_basis
            texts = cat.loc[has, "共享依据"]
            res = classify_basis(texts)
            res.index = texts.index
            cat.loc[has, "依据级别"] = res["level"].astype(object)
            cat.loc[has, "依据充分"] = res["sufficient"].astype("boolean").fillna(False).astype(bool)
            cat.loc[has, "依据引用"] = res["citations"].astype(object)
        if self._wants("身份项缺失"):
            cat["身份项缺失"] = self._identity_missing(cat)
        return cat

    def _identity_missing(self, cat: pd.DataFrame) -> pd.Series:
        """Which of the identity elements (codelist 身份项别名) the resource's 信息项 lack, "、"-joined."""
        aliases: dict[str, list[str]] = self.codelists["身份项别名"]
        items = self.tables["items"][["信息资源代码", "信息项名称"]].dropna()
        names = items["信息项名称"].astype(str).str.replace(r"\s+", "", regex=True)
        out = pd.Series("", index=cat.index, dtype=object)
        for element, alias in aliases.items():      # a handful of elements, not rows
            codes = items.loc[names.isin(alias), "信息资源代码"].unique()
            lacks = ~cat["信息资源代码"].isin(codes)
            out = out + pd.Series(np.where(lacks.to_numpy(), element + "、", ""), index=cat.index, dtype=object)
        return out.str.rstrip("、").astype(object)

    def _v_catalog_changes(self) -> pd.DataFrame:
        ch = self.tables["catalog_changes"].copy()
        d = self.tables["departments"]
        heads = d[d["是否主管部门"].astype("boolean").fillna(False).astype(bool)]
        level = ch["部门"].map(self._dept_attr("层级"))
        district = ch["部门"].map(self._dept_attr("所属区"))
        # key of a level: 市级 → "市级"; 区级 → "区级/<所属区>"
        def level_key(lv: pd.Series, di: pd.Series) -> pd.Series:
            lv = lv.astype(object)
            return lv.where(lv != "区级", "区级/" + di.astype(object).fillna("").astype(str)).astype(object)
        hk = level_key(heads["层级"], heads["所属区"])
        head_of = pd.Series(heads["部门名称"].to_numpy(), index=hk.to_numpy())
        head_of = head_of[~head_of.index.duplicated(keep="first")]
        ch["主管部门"] = level_key(level, district).map(head_of).astype(object)
        return ch

    def _v_exchanges(self) -> pd.DataFrame:
        ex = self.tables["exchanges"].copy(deep=False)
        t = ex["交换时间"].dt.normalize()
        ex["本期"] = ((t >= pd.Timestamp(self.period.start)) & (t <= pd.Timestamp(self.period.end))
                      & (t <= self.as_of_ts)).fillna(False).astype(bool)
        ex["平台通道"] = ex["交换通道"].isin(list(self.codelists["交换通道_平台"])).astype(bool)
        codes = self.tables["catalog"]["信息资源代码"].dropna().unique()
        ex["在目录"] = ex["信息资源代码"].isin(codes).astype(bool)
        ex["目录共享类型"] = _map_values(ex["信息资源代码"], self._catalog_code_attr("共享类型"))
        res = ex["交换结果"]
        ex["交换成功"] = (is_missing(res) | (res == "成功")).astype(bool)
        if self._wants("审批有效", "审批问题"):
            self._approval(ex)
        return ex

    def _approval(self, ex: pd.DataFrame) -> None:
        """REQ-3: is the exchange's 申请编号 an approved request of this user for this resource, answered in time?"""
        rq = self.tables["requests"].dropna(subset=["申请编号"]).drop_duplicates("申请编号").set_index("申请编号")
        no = ex["申请编号"]                     # categorical in a loaded exchange log: look-ups run on its few values
        empty = is_missing(no)
        known = no.isin(rq.index) & ~empty
        r_user = _map_values(no, rq["申请部门"])
        r_code = _map_values(no, rq["信息资源代码"])
        r_res = _map_values(no, rq["答复结果"])
        r_date = _map_dates(no, pd.to_datetime(rq["答复日期"]))
        day = ex["交换时间"].dt.normalize()
        ok_res = r_res.isin(list(self.codelists["答复结果_批准"]))
        ok_date = (r_date.notna() & (r_date <= day)).fillna(False)
        ok_user = pd.Series(_same(r_user, ex["使用部门"]), index=ex.index)
        ok_code = pd.Series(_same(r_code, ex["信息资源代码"]), index=ex.index)
        ex["审批有效"] = (known & ok_res & ok_user & ok_code & ok_date).astype(bool)
        # the reason text only where it can matter (a 有条件共享 resource without a valid approval)
        need = ~ex["审批有效"] & (ex["目录共享类型"] == "有条件共享")
        no, empty, known, r_user, r_code, r_res, r_date = (
            x[need].astype(object) if isinstance(x.dtype, pd.CategoricalDtype) else x[need]
            for x in (no, empty, known, r_user, r_code, r_res, r_date))
        ok_res, ok_date, ok_user, ok_code = (x[need] for x in (ok_res, ok_date, ok_user, ok_code))
        noa = no.astype(object).fillna("").astype(str)
        prob = pd.Series("", index=no.index, dtype=object)
        def add(mask, text):
            nonlocal prob
            prob = prob.where(~(mask & (prob == "")), text)
        add(empty, "未填写申请编号")
        add(~known, "申请编号「" + noa + "」在共享申请中不存在")
        add(~ok_user, "申请「" + noa + "」的申请部门为「" + r_user.fillna("（空）").astype(str) + "」，不是使用部门")
        add(~ok_code, "申请「" + noa + "」申请的信息资源为「" + r_code.fillna("（空）").astype(str) + "」，不是本资源")
        add(~ok_res, "申请「" + noa + "」的答复结果为「" + r_res.fillna("（空）").astype(str) + "」，未获同意")
        # the reason that applies (issue 8 E7): a known reply date is later than the exchange; none means no reply
        ex_day = day[need].dt.strftime("%Y-%m-%d").fillna("（空）").astype(str)
        add(~ok_date & r_date.notna(), "申请「" + noa + "」的答复日期为 " + r_date.dt.strftime("%Y-%m-%d").fillna("")
            .astype(str) + "，晚于交换日期 " + ex_day)
        add(~ok_date & r_date.isna(), "申请「" + noa + "」没有答复日期（尚未答复）")
        ex["审批问题"] = pd.Series(np.full(len(ex), None, dtype=object), index=ex.index)
        ex.loc[need, "审批问题"] = prob

    def _v_exchange_resources(self) -> pd.DataFrame:
        ex = self.get("exchanges")
        keep = ex["本期"] & ~is_missing(ex["信息资源代码"]) & ~is_missing(ex["提供部门"])
        pos = np.flatnonzero(keep.to_numpy())
        cols = ["信息资源代码", "提供部门", "交换时间", "在目录"] + META_COLUMNS
        sel = pd.DataFrame({c: ex[c].iloc[pos] for c in cols}, columns=cols)
        # one group per (code, provider), numbered in the order of the sorted values; the first exchange of each:
        # by 交换时间, then file, then row (integer sort keys only: a million rows sort in C)
        code_no, code_vals = _sorted_codes(sel["信息资源代码"])
        prov_no, prov_vals = _sorted_codes(sel["提供部门"])
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

    def _v_updates(self) -> pd.DataFrame:
        up = self.tables["updates"].copy()
        code = up["信息资源代码"]
        codes = self.tables["catalog"]["信息资源代码"].dropna().unique()
        up["在目录"] = code.isin(codes).astype(bool)
        up["提供部门"] = code.map(self._catalog_code_attr("提供部门")).astype(object)
        for col in ("基础资源", "共享资源", "特殊更新"):
            up[col] = code.map(self._catalog_code_attr(col)).astype("boolean").fillna(False).astype(bool)
        return up

    def _updates_until_as_of(self) -> pd.DataFrame:
        up = self.tables["updates"]
        t = up["平台更新时间"]
        return up.loc[t.notna() & (t <= self.as_of_end), ["信息资源代码", "平台更新时间"]]

    def _v_catalog_freshness(self) -> pd.DataFrame:
        cat = self._catalog_base().copy()
        last = self._updates_until_as_of().groupby("信息资源代码", observed=True)["平台更新时间"].max()
        cat["最近平台更新时间"] = pd.to_datetime(cat["信息资源代码"].map(last))
        cat["基准日期"] = cat["最近平台更新时间"].dt.normalize().fillna(cat["发布日期"].dt.normalize())
        cat["间隔天数"] = (self.as_of_ts - cat["基准日期"]).dt.days.astype("Int64")
        return cat

    def quarters_checked(self, window_wd: int) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
        """Quarters whose window end (the window_wd-th working day) falls in the period and ≤ as_of."""
        p0, p1 = self.period.start, self.period.end
        out = []
        y, q = p0.year, (p0.month - 1) // 3 + 1
        while True:
            qs = date(y, 3 * q - 2, 1)
            if qs > p1:
                break
            before = pd.Timestamp(qs - timedelta(days=1))
            last = min(pd.Timestamp(p1), self.as_of_ts)
            # a window that ends after the period (or as_of) is not checked now: no later year's calendar needed
            if last >= before and int(self.calendar.wd(before, last)) >= int(window_wd):
                end = pd.Timestamp(self.calendar.add_wd(before, int(window_wd))).normalize()
                if pd.Timestamp(p0) <= end <= last:
                    out.append((f"{y:04d}-Q{q}", pd.Timestamp(qs), end))
            y, q = (y, q + 1) if q < 4 else (y + 1, 1)
        return out

    def _v_quarter_windows(self, window_wd: int = 10) -> pd.DataFrame:
        cat = self._catalog_base()
        cat = cat[cat["特殊更新"]]
        ups = self._updates_until_as_of()
        frames = []
        for label, start, end in self.quarters_checked(window_wd):   # at most two quarters per period
            day = ups["平台更新时间"].dt.normalize()
            n = ups.loc[(day >= start) & (day <= end)].groupby("信息资源代码", observed=True).size()
            f = cat.copy()
            f["季度"], f["窗口开始"], f["窗口结束"] = label, start, end
            f["窗口内更新次数"] = f["信息资源代码"].map(n).fillna(0).astype("Int64")
            frames.append(f)
        cols = view_columns("quarter_windows")
        if not frames:
            out = cat.iloc[0:0].copy()
            for c, v in (("季度", None), ("窗口开始", pd.NaT), ("窗口结束", pd.NaT), ("窗口内更新次数", 0)):
                out[c] = pd.Series(dtype=object if v is None else ("datetime64[ns]" if v is pd.NaT else "Int64"))
            frames = [out]
        out = pd.concat(frames, ignore_index=True)
        return out[cols]

    def _v_officers(self):
        return self.tables["officers"]

    def _v_requests(self):
        return self.tables["requests"]

    def _v_disputes(self):
        return self.tables["disputes"]

    def _v_systems(self):
        return self.tables["systems"]
