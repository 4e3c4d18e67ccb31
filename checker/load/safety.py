"""File safety checks, run BEFORE any parser sees a file.

Limits (quoted in the README):
- ``MAX_UNCOMPRESSED_BYTES`` = 200 MiB: total uncompressed size of the members of one .xlsx/.xlsm/.ods workbook;
- ``MAX_MEMBER_BYTES`` = 200 MiB: uncompressed size of any one member;
- ``MAX_MEMBERS`` = 10,000 members in one workbook zip;
- ``MAX_RATIO`` = 200: compression ratio (uncompressed / compressed) of a member larger than ``RATIO_MIN_BYTES`` (1 MiB);
- ``MAX_XML_PROLOG_BYTES`` = 1 MiB: the XML prolog of a member is scanned (streamed) for ``<!DOCTYPE`` / ``<!ENTITY``
  (any DTD is refused: entity bombs, external entities);
- ``MAX_ROWS`` = 5,000,000 rows per table (sheet, CSV or Parquet file);
- ``MAX_SHEET_CELLS`` = 30,000,000: rows × columns of a worksheet's used area (the reader allocates the whole
  rectangle: one stray cell at row 200,000 / column 3,000 would ask for 600 million cells). The extent is taken
  from the cell and row references of each worksheet XML, streamed;
- ``MAX_TEXT_FILE_BYTES`` = 2 GiB for a CSV file; ``MAX_XLS_BYTES`` = 200 MiB for an old .xls workbook.
"""
from __future__ import annotations

import codecs

import os
import re
import zipfile

from ..errors import InputError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_RATIO = 200
RATIO_MIN_BYTES = 1024 * 1024
MAX_XML_PROLOG_BYTES = 1024 * 1024
MAX_ROWS = 5_000_000
MAX_SHEET_CELLS = 30_000_000
MAX_TEXT_FILE_BYTES = 2 * 1024 ** 3
MAX_XLS_BYTES = 200 * 1024 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PARQUET_MAGIC = b"PAR1"

FIX_RESAVE = "请在 Excel 中打开后另存为 .xlsx（不加密）再上传"


def head_bytes(path: str, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _looks_html(head: bytes) -> bool:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return h.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table", b"<head", b"<meta", b"mime-version"))


def check_file(path: str, shown: str) -> str:
    """Check a file's container before parsing; return its kind: ``zip``, ``xls``, ``csv``, ``parquet``.

    Raises ``InputError`` (one Chinese line) for empty, mislabelled, encrypted or hostile files."""
    ext = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):                  # a folder named 豁免.xlsx, say: not a crash (IsADirectoryError)
        raise InputError("这是一个文件夹，不是文件", file=shown, hint="请给出文件的路径")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"无法读取文件（{exc.strerror or exc}）", file=shown, hint="请确认路径正确且有读取权限")
    if size == 0:
        raise InputError("文件为空（0 字节）", file=shown, hint="请重新导出该文件")
    head = head_bytes(path)
    if ext in (".xlsx", ".xlsm", ".ods"):
        if head.startswith(OLE2_MAGIC):
            # an OLE2 container: a password-protected workbook (EncryptedPackage stream), or an old .xls renamed
            if ext == ".ods" or size > MAX_XLS_BYTES or _ole2_encrypted(path):
                raise InputError("文件已加密（设置了打开密码）或不是 .xlsx 格式", file=shown, hint=FIX_RESAVE)
            return "xls"
        if _looks_html(head):
            raise InputError("文件扩展名是 Excel，但内容是网页（HTML）或 XML 文本，不是真正的 Excel 工作簿",
                             file=shown, hint=FIX_RESAVE)
        if not head.startswith(ZIP_MAGIC):
            raise InputError("不是有效的 Excel/ODS 工作簿（文件头不是 zip 格式，可能已损坏）", file=shown, hint=FIX_RESAVE)
        check_zip(path, shown)
        return "zip"
    if ext == ".xls":
        if head.startswith(ZIP_MAGIC):
            check_zip(path, shown)
            return "zip"
        if _looks_html(head):
            raise InputError("文件扩展名是 .xls，但内容是网页（HTML）文本，不是真正的 Excel 工作簿", file=shown,
                             hint=FIX_RESAVE)
        if not head.startswith(OLE2_MAGIC):
            raise InputError("不是有效的 .xls 工作簿（文件头不对，可能已损坏）", file=shown, hint=FIX_RESAVE)
        if size > MAX_XLS_BYTES:
            raise InputError(f"文件过大（{size // 2**20} MiB，上限 {MAX_XLS_BYTES // 2**20} MiB）", file=shown,
                             hint="请改用 CSV 或 Parquet 导出大表")
        return "xls"
    if ext == ".parquet":
        if not head.startswith(PARQUET_MAGIC):
            raise InputError("不是有效的 Parquet 文件（文件头不对）", file=shown, hint="请重新导出")
        return "parquet"
    if ext == ".csv":
        if size > MAX_TEXT_FILE_BYTES:
            raise InputError(f"CSV 文件过大（上限 {MAX_TEXT_FILE_BYTES // 2**30} GiB）", file=shown,
                             hint="请按月拆分或改用 Parquet")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "csv"            # Excel's "Unicode text": the reader names the encoding and the fix
        # a binary file is full of NUL bytes; a text export may carry a stray one in a cell (database dumps)
        if head.startswith((ZIP_MAGIC, OLE2_MAGIC, PARQUET_MAGIC)) or head.count(b"\x00") * 100 > len(head):
            raise InputError("文件扩展名是 .csv，但内容是二进制数据，不是文本表格", file=shown,
                             hint="请导出为 UTF-8 或 GB18030 编码的 CSV")
        return "csv"
    raise InputError(f"不支持的文件类型「{ext or '无扩展名'}」", file=shown,
                     hint="支持 .xlsx .xlsm .xls .ods .csv .parquet")


_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))


def _ole2_encrypted(path: str) -> bool:
    """True when an OLE2 file holds the streams of an encrypted OOXML workbook (their names are UTF-16 in the
    directory). Streamed in 1 MiB chunks; the caller bounds the size."""
    keep = max(len(x) for x in _ENCRYPTED_STREAMS)
    tail = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                return False
            buf = tail + chunk
            if any(x in buf for x in _ENCRYPTED_STREAMS):
                return True
            tail = buf[-keep:]


def check_zip(path: str, shown: str) -> None:
    """Central-directory limits and an XML prolog scan for DTDs. Never decompresses more than the prolog caps."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError("工作簿已损坏（zip 结构不完整，可能下载或拷贝不完整）", file=shown, hint=FIX_RESAVE) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"工作簿内部文件数异常（{len(infos)} 个，上限 {MAX_MEMBERS}），疑似恶意文件", file=shown,
                             hint=FIX_RESAVE)
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise InputError("工作簿已加密", file=shown, hint=FIX_RESAVE)
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES or total > MAX_UNCOMPRESSED_BYTES:
                raise InputError(f"工作簿解压后过大（上限 {MAX_UNCOMPRESSED_BYTES // 2**20} MiB），疑似压缩炸弹",
                                 file=shown, hint="大表请改用 CSV 或 Parquet 导出")
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise InputError(f"工作簿压缩比异常（超过 {MAX_RATIO}:1），疑似压缩炸弹", file=shown, hint=FIX_RESAVE)
        for info in infos:
            name = info.filename.lower()
            if name.endswith((".xml", ".rels", ".vml")) and info.file_size:
                _scan_xml_prolog(zf, info, shown)
        for info in infos:
            name = info.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml") and info.file_size:
                _check_sheet_extent(zf, info, shown)


_ROW_REF = re.compile(rb"<row r=\"(\d{1,9})\"")                     # as Excel and openpyxl write it
_ANY_ROW_REF = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br=\"(\d{1,9})\"")   # any attribute order / prefix
_WIDE_CELL_REF = re.compile(rb"\sr=\"([A-Z]{2,3})(\d{1,9})\"")       # cells beyond column Z (few in real exports)
_NARROW_CELL_REF = re.compile(rb"\sr=\"[A-Z](\d{1,9})\"")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


_VALUE_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,3})(\d{1,9})\"[^>]*?(?<!/)>")


def _sheet_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, precise: bool) -> tuple[int, int]:
    """(max row, max column) of a worksheet XML, streamed. Quick: from row references and the cells beyond column
    Z. Precise: from the cells that hold something (a style-only ``<c r="X9" s="1"/>`` is ignored by the reader)."""
    max_row = max_col = 0
    tail = b""
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            if precise:
                for m in _VALUE_CELL_REF.finditer(buf):
                    max_col = max(max_col, _col_number(m.group(1)))
                    max_row = max(max_row, int(m.group(2)))
            else:
                rows = _ROW_REF.findall(buf)
                if not rows and b"row" in buf:
                    rows = _ANY_ROW_REF.findall(buf)
                if rows:
                    max_row = max(max_row, max(int(x) for x in rows))
                for m in _WIDE_CELL_REF.finditer(buf):
                    max_col = max(max_col, _col_number(m.group(1)))
                    max_row = max(max_row, int(m.group(2)))
                if max_col < 26 and _NARROW_CELL_REF.search(buf):
                    max_col = max(max_col, 26)      # a one-letter column: at most Z
            tail = buf[-256:]
    return max_row, max_col


def _check_sheet_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> None:
    """Refuse a worksheet whose used rectangle (max row × max column of its filled cells) exceeds
    ``MAX_SHEET_CELLS``. A quick pass bounds it from above; only a suspicious sheet is scanned cell by cell."""
    try:
        max_row, max_col = _sheet_extent(zf, info, precise=False)
        if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
            max_row, max_col = _sheet_extent(zf, info, precise=True)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise InputError("工作簿已损坏或已加密（内部文件无法解压）", file=shown, hint=FIX_RESAVE) from exc
    if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
        raise InputError(f"工作表的使用区域过大（到第 {max_row} 行、第 {max_col} 列），读取需要的内存过多，"
                         f"疑似恶意文件或表格远处有零星内容", file=shown,
                         hint="请删除多余的空行空列（或远处的单元格）后另存；大表请改用 CSV 或 Parquet 导出")


def _scan_xml_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> None:
    """Stream the member until its root element starts; refuse any DTD (``<!DOCTYPE`` / ``<!ENTITY``)."""
    seen = b""
    try:
        with zf.open(info) as fh:
            while len(seen) < MAX_XML_PROLOG_BYTES:
                chunk = fh.read(16384)
                if not chunk:
                    break
                seen += chunk
                flat = seen.replace(b"\x00", b"").upper()
                if b"<!DOCTYPE" in flat or b"<!ENTITY" in flat:
                    raise InputError("工作簿内含 XML 实体/DTD 声明，疑似 XML 炸弹或恶意文件，已拒绝读取", file=shown,
                                     hint=FIX_RESAVE)
                if _root_started(flat):
                    return
            else:
                raise InputError("工作簿内 XML 文件头异常（过长），疑似恶意文件", file=shown, hint=FIX_RESAVE)
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise InputError("工作簿已损坏或已加密（内部文件无法解压）", file=shown, hint=FIX_RESAVE) from exc


def _root_started(flat: bytes) -> bool:
    """True once a start tag ``<X`` (X a letter) appears, i.e. the prolog is over."""
    i = flat.find(b"<")
    while i != -1 and i + 1 < len(flat):
        c = flat[i + 1:i + 2]
        if c.isalpha():
            return True
        i = flat.find(b"<", i + 1)
    return False
