"""Which table a sheet holds: by sheet name, by file stem (CSV/Parquet and one-sheet workbooks), else by header."""
from __future__ import annotations

import pandas as pd

from .. import schema
from ..text import norm_header
from . import header

MIN_HEADER_COVERAGE = 0.6      # share of a table's required columns the header must match to be recognised by it


# The note on a sheet that fits no table. The command line adds how to force one (``--table``).
UNRECOGNISED = "未识别为任何输入表（工作表名和表头都不匹配），已忽略"

def _by_name(name: str, contains: bool) -> str | None:
    n = norm_header(name).lower()
    if not n:
        return None
    for t in schema.TABLE_LIST:
        if any(n == norm_header(s).lower() for s in t.sheets):
            return t.name
    if contains:      # e.g. 交换日志_2026-10.csv, 部门名录（2026年10月）.xlsx: longest accepted name contained
        best, blen = None, 0
        for t in schema.TABLE_LIST:
            for s in t.sheets:
                s2 = norm_header(s).lower()
                if len(s2) >= 2 and s2 in n and len(s2) > blen and (s2.isascii() is False or len(s2) >= 5):
                    best, blen = t.name, len(s2)
        return best
    return None


def score_sheet(sheet, t: schema.Table) -> float:
    m = header.find_header(sheet.preview, t)
    return m.coverage + m.hits / 1000


def _by_header(sheet) -> tuple[str | None, tuple]:
    best, best_score = None, (0.0, 0)
    for t in schema.TABLE_LIST:
        m = header.find_header(sheet.preview, t)
        score = (m.coverage, m.hits)
        if m.coverage >= MIN_HEADER_COVERAGE and (best is None or score > best_score):
            best, best_score = t.name, score
    return best, best_score


def blank(preview) -> bool:
    """No cell holds anything but whitespace."""
    if preview is None or preview.empty:
        return True
    head = preview.iloc[:64].to_numpy(dtype=object)               # (a real sheet: decided by its first rows)
    if any(str(v).strip() for v in head[pd.notna(head)][:64]):
        return False
    vals = preview.to_numpy(dtype=object)[preview.notna().to_numpy()]
    if not len(vals):
        return True
    if any(str(v).strip() for v in vals[:64]):          # a real sheet: decided by its first cells
        return False
    return not pd.Series(vals, dtype=object).astype(str).str.strip().ne("").any()


def recognize(sheet) -> tuple[str | None, str]:
    """(table name or None, Chinese note when not recognised)."""
    if blank(sheet.preview):
        # an empty sheet (or 0-byte CSV) named like an optional table holds no table at all: the table counts as
        # not provided (its rules are listed as 未检查), instead of stopping the run for a missing header. Named
        # like a required table it stays that table, and loading it says the file is empty.
        named = _by_name(sheet.sheet, contains=False) if sheet.sheet else None
        if named is None and (not sheet.sheet or sheet.n_sheets == 1):
            named = _by_name(sheet.stem, contains=True)
        if named in schema.REQUIRED_INPUTS:
            return named, ""
        return None, "空工作表，已忽略（按未提供处理）"
    if sheet.sheet:
        name = _by_name(sheet.sheet, contains=False)
        if name:
            return name, ""
    if not sheet.sheet or sheet.n_sheets == 1:
        name = _by_name(sheet.stem, contains=True)
        if name:
            # a file name is a weaker hint than a sheet name (部门共享责任人.csv contains 部门): when the header
            # lacks required columns of the named table but fully matches another table, the header decides
            if header.find_header(sheet.preview, schema.TABLES[name]).coverage < 1.0:
                other, score = _by_header(sheet)
                if other is not None and other != name and score[0] >= 1.0:
                    return other, ""
            return name, ""
    best, _ = _by_header(sheet)
    if best:
        return best, ""
    return None, UNRECOGNISED
