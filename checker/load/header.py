"""Header finding and alias mapping.

A header cell matches a column after ``text.norm_header`` (NFKC, whitespace/line breaks and ``*`` removed), also
with a trailing bracketed note removed (``发布日期（YYYY-MM-DD）``). The canonical name wins over an alias; the first
cell wins among equals. The header row is the row (of the first ``HEADER_SCAN_ROWS``) matching the most columns.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

from .. import schema
from ..text import norm_header

HEADER_SCAN_ROWS = 30
_NOTE_RE = re.compile(r"[(（\[【].*?[)）\]】]$")
_LEAD_NOTE_RE = re.compile(r"^[(（\[【][^)）\]】]*[)）\]】]")      # （必填）部门名称
_COLON_RE = re.compile(r"[:：]+$")                                   # 部门名称：


def _variants(cell) -> list[str]:
    h = norm_header(cell)
    if not h:
        return []
    out = [h]
    stripped = _COLON_RE.sub("", _NOTE_RE.sub("", _LEAD_NOTE_RE.sub("", h)))
    if stripped and stripped != h:
        out.append(stripped)
    return out


@dataclass
class HeaderMatch:
    table: str
    row: int                     # index in the grid
    mapping: dict[str, int]      # canonical column -> grid column position
    headers: list[str]           # the header row's cells (normalised, for messages)
    required_hit: int
    required_total: int
    hits: int
    # a column named by two or more header cells: canonical name -> every matching position (the one used first)
    duplicates: dict[str, list[int]] | None = None

    @property
    def coverage(self) -> float:
        return self.required_hit / self.required_total if self.required_total else 0.0


def match_row(cells: list, table: schema.Table, hidden: frozenset[int] = frozenset(),
              duplicates: dict[str, list[int]] | None = None) -> tuple[dict[str, int], int]:
    """(canonical -> position, number of columns matched) for one header row. Among several cells naming one
    column, a visible one wins over a hidden one (``hidden``: positions of hidden columns), then the first;
    ``duplicates`` (if given) receives every such column with all its positions, the one used first."""
    exact: dict[str, int] = {}
    alias: dict[str, int] = {}
    every: dict[tuple[str, bool], list[int]] = {}
    lookup_exact = {c.name: c.name for c in table.columns}
    lookup_alias: dict[str, str] = {}
    for c in table.columns:
        for a in c.aliases:
            lookup_alias.setdefault(norm_header(a), c.name)
    for pos, cell in enumerate(cells):
        for v in _variants(cell):
            if v in lookup_exact:
                every.setdefault((lookup_exact[v], True), []).append(pos)
                break
            if v in lookup_alias:
                every.setdefault((lookup_alias[v], False), []).append(pos)
                break
    for (name, is_exact), positions in every.items():
        ranked = sorted(positions, key=lambda p: (p in hidden, p))        # visible first, then sheet order
        (exact if is_exact else alias)[name] = ranked[0]
        if duplicates is not None and len(ranked) > 1 and (is_exact or (name, True) not in every):
            duplicates[name] = ranked
    mapping = dict(alias)
    used = set()
    mapping.update(exact)
    # an alias must not steal a cell that is another column's exact header
    exact_pos = set(exact.values())
    mapping = {k: v for k, v in mapping.items() if k in exact or v not in exact_pos}
    out = {}
    for k in table.column_names:                       # schema order, one cell per column
        if k in mapping and mapping[k] not in used:
            out[k] = mapping[k]
            used.add(mapping[k])
    return out, len(out)


def find_header(grid: pd.DataFrame, table: schema.Table, hidden: frozenset[int] = frozenset()) -> HeaderMatch:
    """The header row: the row (of the first ``HEADER_SCAN_ROWS``) matching the most required, then most columns.

    A two-row header (group headings merged over sub-headings in the next row, single headings merged down over
    both rows, so the lower row is empty under them) is read as one: the lower row's cell where it has one, else the
    upper row's. It is used only when it matches more (required, then any) columns than either row alone; the data
    then start under the lower row."""
    best = None
    n = min(len(grid), HEADER_SCAN_ROWS)
    req = table.required_columns

    def consider(idx, cells):
        nonlocal best
        dups: dict[str, list[int]] = {}
        mapping, hits = match_row(cells, table, hidden, dups)
        rhit = sum(1 for c in req if c in mapping)
        cand = HeaderMatch(table.name, idx, mapping, [norm_header(c) for c in cells], rhit, len(req), hits,
                           {k: v for k, v in dups.items() if k in mapping})
        if best is None or (rhit, hits) > (best.required_hit, best.hits):
            best = cand
        return rhit, hits

    single = [consider(i, grid.iloc[i].tolist()) for i in range(n)]
    for i in range(n - 1):
        if not single[i][0] or not single[i + 1][1]:
            continue                               # the upper row names required columns, the lower row columns
        upper, lower = grid.iloc[i].tolist(), grid.iloc[i + 1].tolist()
        combined = [lo if norm_header(lo) else up for up, lo in zip(upper, lower)]
        dups = {}
        mapping, hits = match_row(combined, table, hidden, dups)
        rhit = sum(1 for c in req if c in mapping)
        if (rhit, hits) > max(single[i], single[i + 1]) and (rhit, hits) > (best.required_hit, best.hits):
            best = HeaderMatch(table.name, i + 1, mapping, [norm_header(c) for c in combined], rhit, len(req), hits,
                               {k: v for k, v in dups.items() if k in mapping})
    if best is None:
        best = HeaderMatch(table.name, 0, {}, [], 0, len(req), 0)
    return best


def closest_header(missing: str, table: schema.Table, headers: list[str]) -> str | None:
    present = [h for h in headers if h]
    names = [missing] + [norm_header(a) for a in table.column(missing).aliases]
    best, score = None, 0.0
    for h in present:
        for n in names:
            r = difflib.SequenceMatcher(None, n, h).ratio()
            if r > score:
                best, score = h, r
    return best if score >= 0.3 else (present[0] if present else None)
