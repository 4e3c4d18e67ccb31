"""Vectorised helpers the derivations share (categorical-aware look-ups and comparisons)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def by_code(s: pd.Series, per_category: np.ndarray, fill) -> np.ndarray:
    """Spread one value per category of the categorical ``s`` over its rows; ``fill`` where a row is missing."""
    codes = s.cat.codes.to_numpy()
    out = np.full(len(codes), fill, dtype=per_category.dtype)
    has = codes >= 0
    if len(per_category):
        out[has] = per_category[codes[has]]
    return out


def map_values(s: pd.Series, mapping: pd.Series) -> pd.Series:
    """``s.map(mapping)``; a categorical stays categorical (the map runs on its few distinct values, and later
    comparisons run on codes instead of a million Python strings)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        mapped = pd.Series(s.cat.categories.astype(object)).map(mapping)
        new_codes, cats = pd.factorize(mapped.to_numpy(dtype=object), use_na_sentinel=True)
        out = by_code(s, new_codes.astype(np.int64), -1)
        return pd.Series(pd.Categorical.from_codes(out, categories=pd.Index(cats, dtype=object)), index=s.index)
    return s.map(mapping).astype(object)


def map_dates(s: pd.Series, mapping: pd.Series) -> pd.Series:
    """``s.map(mapping)`` for a mapping to dates, as datetime64[ns] (on the categories of a categorical)."""
    if len(mapping) == 0:                # pandas 3 casts an empty mapper to float64, which a datetime cannot be
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return pd.to_datetime(s.map(mapping)).astype("datetime64[ns]")
    cats = pd.to_datetime(pd.Series(s.cat.categories.astype(object)).map(mapping)).to_numpy(dtype="datetime64[ns]")
    out = by_code(s, cats, np.datetime64("NaT"))
    return pd.Series(out.astype("datetime64[ns]"), index=s.index)


def sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values): the values numbered in sorted order (no missing values in ``s``); a categorical is numbered
    through its categories, without a million Python strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories.astype(object).to_numpy()
        order = np.argsort(cats.astype(str), kind="stable")
        rank = np.empty(len(cats), dtype=np.int64)
        rank[order] = np.arange(len(cats))
        return rank[s.cat.codes.to_numpy()], cats[order]
    return pd.factorize(s.astype(object).to_numpy(), sort=True)


def same_values(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise a == b (missing equals nothing), also for two categoricals with different categories: the
    comparison runs on category codes over the union of both categories."""
    def codes(s: pd.Series, cats: pd.Index) -> np.ndarray:
        if isinstance(s.dtype, pd.CategoricalDtype):
            return by_code(s, cats.get_indexer(pd.Index(s.cat.categories.astype(object))), -1)
        return cats.get_indexer(pd.Index(s.astype(object)))
    def values(s: pd.Series) -> pd.Index:
        return pd.Index(s.cat.categories.astype(object) if isinstance(s.dtype, pd.CategoricalDtype)
                        else s.dropna().astype(object).unique())
    cats = values(a).append(values(b)).unique()
    ca, cb = codes(a, cats), codes(b, cats)
    return (ca == cb) & (ca >= 0)


def combined(parts: list[pd.Series], how: str) -> pd.Series:
    """Per-value summaries of the partitions (``by_value`` Series) as one: ``how`` ("max", "sum") per value."""
    return parts[0] if len(parts) == 1 else pd.concat(parts).groupby(level=0, sort=True).agg(how)


def by_value(s: pd.Series) -> pd.Series:
    """A group-by result indexed by plain values (a categorical group key's index as objects), so that the
    summaries of partitions with different categories concatenate and combine (derivations/__init__ ``partial``)."""
    if isinstance(s.index, pd.CategoricalIndex):
        s = s.set_axis(pd.Index(s.index.astype(object), name=s.index.name))
    return s
