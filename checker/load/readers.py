"""Readers: every file becomes a list of ``RawSheet`` (a preview grid for header finding + a loader for the data).

- Excel/ODS (.xlsx .xlsm .xls .ods): ``pandas.read_excel(engine="calamine", header=None, dtype=object)``, sheet by
  sheet (names fetched first). The grid starts at A1, so grid row i is Excel row i + 1.
- CSV: encoding detected (UTF-8 with/without BOM, else GB18030); the header line is found on a preview of the first
  lines; the data are read by pyarrow as strings. A row with the wrong number of fields is reported (defect) and
  skipped. ``_row`` is the 1-based line number (records with quoted line breaks make later numbers approximate).
- Parquet: pyarrow; the column names are the header (row 1), records are rows 2….
"""
from __future__ import annotations

import codecs
import csv
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from . import safety

PREVIEW_ROWS = 40
EXCEL_EXTS = (".xlsx", ".xlsm", ".xls", ".ods")
DATA_EXTS = EXCEL_EXTS + (".csv", ".parquet")


@dataclass
class RawSheet:
    path: str                    # real path
    shown: str                   # path as shown to users (_file)
    sheet: str                   # sheet name ("" for CSV/Parquet)
    stem: str                    # file stem (for recognition by file name)
    n_sheets: int                # sheets in the workbook (1 for CSV/Parquet)
    preview: pd.DataFrame        # object grid, positional columns, first rows (all rows for Excel)
    preview_rows: np.ndarray     # row numbers of preview rows
    _load: Callable[[int, int], tuple[pd.DataFrame, np.ndarray, list[dict]]] = field(repr=False, default=None)

    def data(self, header_idx: int, ncols: int) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
        """(cells after the header row [positional columns], their row numbers, read defects)."""
        return self._load(header_idx, ncols)


def read_file(path: str, shown: str) -> list[RawSheet]:
    safety.check_file(path, shown)
    ext = os.path.splitext(path)[1].lower()
    stem = os.path.splitext(os.path.basename(path))[0]
    if ext == ".csv":
        return [_read_csv(path, shown, stem)]
    if ext == ".parquet":
        return [_read_parquet(path, shown, stem)]
    return _read_excel(path, shown, stem)


# ---- Excel ------------------------------------------------------------------------------------------------------

def _excel_error(exc: Exception, shown: str, sheet: str | None = None) -> InputError:
    text = str(exc).lower()
    if "password" in text or "encrypt" in text:
        return InputError("工作簿已加密（设置了打开密码）", file=shown, sheet=sheet, hint=safety.FIX_RESAVE)
    return InputError("工作簿无法读取（文件损坏或格式不受支持）", file=shown, sheet=sheet, hint=safety.FIX_RESAVE)


def _read_excel(path: str, shown: str, stem: str) -> list[RawSheet]:
    try:
        xf = pd.ExcelFile(path, engine="calamine")
        names = list(xf.sheet_names)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a user-facing "unreadable file"
        raise _excel_error(exc, shown) from exc
    out = []
    with xf:
        for name in names:
            try:
                grid = xf.parse(name, header=None, dtype=object)
            except Exception as exc:  # noqa: BLE001
                raise _excel_error(exc, shown, name) from exc
            if len(grid) > safety.MAX_ROWS:
                raise InputError(f"行数过多（{len(grid)} 行，上限 {safety.MAX_ROWS} 行）", file=shown, sheet=name,
                                 hint="请改用 CSV 或 Parquet 导出大表")
            grid.columns = range(grid.shape[1])
            grid.index = range(len(grid))
            rows = np.arange(1, len(grid) + 1, dtype=np.int64)

            def load(h, ncols, grid=grid, rows=rows):
                data = grid.iloc[h + 1:, :ncols].reset_index(drop=True)
                return data, rows[h + 1:], []

            out.append(RawSheet(path, shown, str(name), stem, len(names), grid, rows, load))
    return out


# ---- CSV --------------------------------------------------------------------------------------------------------
_SAMPLE_BYTES = 4 * 1024 * 1024


def detect_encoding(path: str) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``: strict UTF-8 decoding of the first 4 MiB decides."""
    head = safety.head_bytes(path, _SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _read_csv(path: str, shown: str, stem: str) -> RawSheet:
    enc = detect_encoding(path)
    if enc == "utf-16":
        raise InputError("CSV 为 UTF-16（Unicode 文本）编码，暂不支持", file=shown,
                         hint="请另存为「CSV UTF-8（逗号分隔）」")
    head = safety.head_bytes(path, 256 * 1024)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise InputError("CSV 编码无法识别（既不是 UTF-8 也不是 GB18030）", file=shown,
                         hint="请另存为 UTF-8 编码的 CSV") from exc
    lines = text.splitlines()[:PREVIEW_ROWS]
    try:
        delim = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        delim = ","
    preview_rows = list(csv.reader(lines, delimiter=delim))
    width = max((len(r) for r in preview_rows), default=0)
    preview = pd.DataFrame([r + [None] * (width - len(r)) for r in preview_rows], dtype=object)
    preview = preview.where(preview.ne(""), None) if width else preview
    prows = np.arange(1, len(preview) + 1, dtype=np.int64)

    def load(h, ncols):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        names = [f"c{i}" for i in range(ncols)]
        invalid: list[str] = []

        def handler(row):
            invalid.append(row.text)
            return "skip"

        try:
            tbl = pcsv.read_csv(
                path,
                read_options=pcsv.ReadOptions(encoding=enc if enc != "utf-8-sig" else "utf-8", skip_rows=h + 1,
                                              column_names=names, block_size=1 << 24),
                parse_options=pcsv.ParseOptions(delimiter=delim, invalid_row_handler=handler,
                                                ignore_empty_lines=False, newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                    strings_can_be_null=True, null_values=[""]))
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            raise InputError(f"CSV 无法解析（{str(exc).splitlines()[0][:80]}）", file=shown,
                             hint="请确认是逗号分隔、UTF-8 或 GB18030 编码的 CSV") from exc
        if tbl.num_rows > safety.MAX_ROWS:
            raise InputError(f"行数过多（{tbl.num_rows} 行，上限 {safety.MAX_ROWS} 行）", file=shown,
                             hint="请按月拆分")
        df = tbl.to_pandas()
        df.columns = range(ncols)
        first = h + 2                                   # line number of the first data line
        defects = []
        if invalid:
            bad_lines = _locate_lines(path, enc, h + 1, invalid)
            total = len(df) + len(invalid)
            all_lines = np.arange(first, first + total, dtype=np.int64)
            keep = ~np.isin(all_lines, bad_lines)
            rows = all_lines[keep][:len(df)]
            for line, txt in zip(bad_lines, invalid):
                defects.append({"row": int(line), "column": "", "value": txt[:200],
                                "problem": f"字段个数与表头不符（表头 {ncols} 列），该行已跳过"})
        else:
            rows = np.arange(first, first + len(df), dtype=np.int64)
        df = df.astype(object)
        return df, rows, defects

    return RawSheet(path, shown, "", stem, 1, preview, prows, load)


def _locate_lines(path: str, enc: str, skip: int, texts: list[str]) -> list[int]:
    """Line numbers of the invalid rows (rare: only read again when there are some)."""
    want = list(texts)
    found = []
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        for no, line in enumerate(fh, start=1):
            if no <= skip or not want:
                continue
            if line.rstrip("\r\n") == want[0]:
                found.append(no)
                want.pop(0)
    found += [0] * len(want)
    return found


# ---- Parquet ----------------------------------------------------------------------------------------------------

def _read_parquet(path: str, shown: str, stem: str) -> RawSheet:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        n = pf.metadata.num_rows
    except Exception as exc:  # noqa: BLE001
        raise InputError("Parquet 文件无法读取（已损坏）", file=shown, hint="请重新导出") from exc
    if n > safety.MAX_ROWS:
        raise InputError(f"行数过多（{n} 行，上限 {safety.MAX_ROWS} 行）", file=shown, hint="请按月拆分")
    preview = pd.DataFrame([names], dtype=object)

    def load(h, ncols):
        try:
            df = pf.read().to_pandas()
        except Exception as exc:  # noqa: BLE001
            raise InputError("Parquet 文件无法读取（已损坏）", file=shown, hint="请重新导出") from exc
        df = df.iloc[:, :ncols]
        df.columns = range(df.shape[1])
        for c in df.columns:
            if not (pd.api.types.is_datetime64_any_dtype(df[c]) or df[c].dtype == object):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        return df, np.arange(2, len(df) + 2, dtype=np.int64), []

    return RawSheet(path, shown, "", stem, 1, preview, np.array([1], dtype=np.int64), load)


def scan_paths(paths) -> list[tuple[str, str]]:
    """(real path, shown path) of every data file; folders recursively, sorted; lock and hidden files skipped."""
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in files:
                    if f.startswith((".", "~$")) or os.path.splitext(f)[1].lower() not in DATA_EXTS:
                        continue
                    full = os.path.join(root, f)
                    found.append((full, os.path.relpath(full, p).replace(os.sep, "/")))
            out.extend(sorted(found, key=lambda t: t[1]))
        elif os.path.exists(p):
            out.append((p, p))
        else:
            raise InputError("文件或文件夹不存在", file=p, hint="请检查路径")
    return out


# ---- small side files (waivers, user calendar) -------------------------------------------------------------------

def read_grid(path: str, shown: str, sheets: tuple[str, ...] = (), first_sheet: bool = False,
              what: str = "文件") -> tuple[pd.DataFrame, str]:
    """The whole object grid (positional columns, ``None`` for empty cells) and sheet name of a small side file.

    Goes through the same safety checks and encoding detection as the exports. The sheet is the first of
    ``sheets`` present, else the only sheet, else (with ``first_sheet``) the first one.
    """
    safety.check_file(path, shown)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        enc = detect_encoding(path)
        try:
            if enc == "utf-16":
                raise UnicodeDecodeError(enc, b"", 0, 1, "utf-16")
            with open(path, encoding=enc, errors="strict", newline="") as fh:
                rows = list(csv.reader(fh))
        except UnicodeDecodeError:
            raise InputError(f"{what}的编码无法识别", file=shown,
                             hint="请另存为 UTF-8 或 GB18030 编码的 CSV") from None
        width = max((len(r) for r in rows), default=0)
        grid = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
        return (grid.where(grid.ne(""), None) if width else grid), ""
    if ext in EXCEL_EXTS:
        found = _read_excel(path, shown, os.path.splitext(os.path.basename(path))[0])
        by_name = {r.sheet: r for r in found}
        pick = next((by_name[s] for s in sheets if s in by_name), None)
        if pick is None and (len(found) == 1 or first_sheet) and found:
            pick = found[0]
        if pick is None:
            names = "、".join(by_name) or "无"
            raise InputError(f"找不到工作表「{sheets[0] if sheets else ''}」（现有：{names}）", file=shown,
                             hint=f"请把{what}放在名为「{sheets[0] if sheets else ''}」的工作表")
        return pick.preview, pick.sheet
    raise InputError(f"{what}格式「{ext or '无扩展名'}」不支持", file=shown, hint="请使用 .xlsx 或 .csv")
