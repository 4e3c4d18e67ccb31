"""File safety checks, run BEFORE any parser sees a file.

Limits (quoted in the README):
- ``MAX_UNCOMPRESSED_BYTES`` = 200 MiB: total uncompressed size of the members of one .xlsx/.xlsm/.ods workbook;
- ``MAX_MEMBER_BYTES`` = 200 MiB: uncompressed size of any one member;
- ``MAX_MEMBERS`` = 10,000 members in one workbook zip;
- ``MAX_RATIO`` = 200: compression ratio (uncompressed / compressed) of a member larger than ``RATIO_MIN_BYTES`` (1 MiB);
- ``MAX_XML_PROLOG_BYTES`` = 1 MiB: the XML prolog of a member is scanned (streamed) for ``<!DOCTYPE`` / ``<!ENTITY``
  (any DTD is refused: entity bombs, external entities);
- ``MAX_ROWS`` = 5,000,000 rows per table (sheet, CSV or Parquet file);
- ``MAX_SHEET_CELLS`` = 5,000,000: rows × columns of a worksheet's used area, and ``MAX_WORKBOOK_CELLS`` =
  5,000,000 for all the sheets of one workbook together (they are held at once). The reader allocates the whole
  rectangle: one stray cell at row 200,000 / column 3,000 would ask for 600 million cells. A text cell costs about
  230 bytes while read (calamine's string, a Python str, two pointers): 9 million text cells exhausted 2.5 GB and
  hung the reader; 4.9 million text cells peaked at 1.6 GB, within the 2 GB a run may use. The extent is taken
  from every worksheet part the workbook's relationships name (and any under ``xl/worksheets/``): row and cell references in either quote style
  and either case, tags without a reference, and ``<dimension>`` (a quick bound; the filled cells decide). For
  .ods, the repeat counts of content.xml are summed (trailing empty rows and cells are not counted, as the reader
  does not expand them);
- ``MAX_TEXT_FILE_BYTES`` = 2 GiB for a CSV file; ``MAX_XLS_BYTES`` = 200 MiB for an old .xls workbook.
"""
from __future__ import annotations

import codecs

import os
import operator
import re
import zipfile

import numpy as np

from ..errors import InputError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_RATIO = 200
RATIO_MIN_BYTES = 1024 * 1024
MAX_XML_PROLOG_BYTES = 1024 * 1024
MAX_ROWS = 5_000_000
MAX_SHEET_CELLS = 5_000_000
MAX_WORKBOOK_CELLS = 5_000_000
MAX_TEXT_FILE_BYTES = 2 * 1024 ** 3
MAX_XLS_BYTES = 200 * 1024 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PARQUET_MAGIC = b"PAR1"

FIX_RESAVE = "请在 Excel 中打开后另存为 .xlsx（不加密）再上传"


def head_bytes(path: str, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _os_reason(exc: OSError) -> str:
    import errno
    return {errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限", errno.EBUSY: "文件正被占用",
            errno.EIO: "磁盘读取错误"}.get(exc.errno, exc.strerror or type(exc).__name__)


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
    try:
        head = head_bytes(path)
    except OSError as exc:               # no read permission (exit 3 「内部错误」 before), a file locked by Excel…
        raise InputError(f"无法读取文件（{_os_reason(exc)}）", file=shown,
                         hint="请确认当前用户有该文件的读取权限，且文件没有被其他程序锁定") from None
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
        names = _sheet_names(zf, infos)
        parts = _sheet_parts(zf, infos, shown)
        total = sum(_check_sheet_extent(zf, info, shown, names.get(info.filename.lower().lstrip("/")))
                    for info in parts)
        if total > MAX_WORKBOOK_CELLS:          # the quick bounds may overcount: count the filled cells exactly
            total = sum(_check_sheet_extent(zf, info, shown, precise=True) for info in parts)
        content = next((i for i in infos if i.filename.lower() == "content.xml" and i.file_size), None)
        if content is not None:
            total += _check_ods_extent(zf, content, shown)
        if total > MAX_WORKBOOK_CELLS:
            raise InputError(f"工作簿各工作表的使用区域合计过大（共 {total:,} 个单元格，上限 {MAX_WORKBOOK_CELLS:,}），"
                             "读取需要的内存过多", file=shown,
                             hint="请删除不需要的工作表或多余的空行空列后另存；大表请改用 CSV 或 Parquet 导出")


# Attribute values may be quoted either way (XML allows both) and cell references may be lower case: the readers
# accept all of these, so the guard does too.
_Q = rb"[\"']"
_REL_RE = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.I)
_REL_TYPE = re.compile(rb"\bType\s*=\s*" + _Q + rb"([^\"']*)" + _Q, re.I)
_REL_TARGET = re.compile(rb"\bTarget\s*=\s*" + _Q + rb"([^\"']*)" + _Q, re.I)
_BAD_MEMBER = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError)


def _sheet_parts(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], shown: str) -> list[zipfile.ZipInfo]:
    """Every worksheet part: those under ``xl/worksheets/`` and every part a ``.rels`` file names as a worksheet
    (a sheet can be moved anywhere in the zip through the workbook's relationships). Member names are matched
    without regard to case."""
    import posixpath
    from urllib.parse import unquote

    by_name = {i.filename.lower().lstrip("/"): i for i in infos if not i.is_dir()}
    chosen: dict[str, zipfile.ZipInfo] = {}
    for name, info in by_name.items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml") and info.file_size:
            chosen[name] = info
    for name, info in by_name.items():
        if not name.endswith(".rels") or not info.file_size or info.file_size > 8 * MAX_XML_PROLOG_BYTES:
            continue
        try:
            data = zf.read(info)
        except _BAD_MEMBER as exc:
            raise InputError("工作簿已损坏或已加密（内部文件无法解压）", file=shown, hint=FIX_RESAVE) from exc
        # ``dir/_rels/part.xml.rels`` describes ``dir/part.xml``: relative targets start in ``dir``
        base = posixpath.dirname(posixpath.dirname(name))
        for rel in _REL_RE.findall(data):
            kind, target = _REL_TYPE.search(rel), _REL_TARGET.search(rel)
            if not kind or not target or not kind.group(1).lower().endswith(b"/worksheet"):
                continue
            path = unquote(target.group(1).decode("utf-8", "replace")).replace("\\", "/")
            full = path.lstrip("/") if path.startswith("/") else posixpath.join(base, path)
            full = posixpath.normpath(full).lower()
            if full in by_name and by_name[full].file_size:
                chosen[full] = by_name[full]
    return [chosen[k] for k in sorted(chosen)]


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>", re.I)
_SHEET_NAME = re.compile(rb"\bname\s*=\s*" + _Q + rb"([^\"']*)" + _Q)
_SHEET_RID = re.compile(rb"\b(?:\w+:)?id\s*=\s*" + _Q + rb"([^\"']*)" + _Q)
_REL_ID = re.compile(rb"\bId\s*=\s*" + _Q + rb"([^\"']*)" + _Q)


def _sheet_names(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[str, str]:
    """Worksheet part (lower case) -> sheet name, from xl/workbook.xml and its rels: for naming the sheet in a
    refusal. Best effort (empty when anything is odd)."""
    import html
    import posixpath
    by_name = {i.filename.lower().lstrip("/"): i for i in infos}
    try:
        wb, rels = by_name.get("xl/workbook.xml"), by_name.get("xl/_rels/workbook.xml.rels")
        if wb is None or rels is None or wb.file_size > 8 * MAX_XML_PROLOG_BYTES or \
                rels.file_size > 8 * MAX_XML_PROLOG_BYTES:
            return {}
        targets = {}
        for rel in _REL_RE.findall(zf.read(rels)):
            rid, target = _REL_ID.search(rel), _REL_TARGET.search(rel)
            if rid and target:
                path = target.group(1).decode("utf-8", "replace")
                full = path.lstrip("/") if path.startswith("/") else posixpath.join("xl", path)
                targets[rid.group(1)] = posixpath.normpath(full).lower()
        out = {}
        for tag in _SHEET_TAG.findall(zf.read(wb)):
            name, rid = _SHEET_NAME.search(tag), _SHEET_RID.search(tag)
            if name and rid and rid.group(1) in targets:
                out[targets[rid.group(1)]] = html.unescape(name.group(1).decode("utf-8", "replace"))
        return out
    except _BAD_MEMBER:
        return {}


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s[^>]*?\bref\s*=\s*" + _Q + rb"([^\"']*)" + _Q, re.I)
_A1 = re.compile(rb"([A-Za-z]{1,4})(\d{1,9})")
# the precise pass: every row and cell tag, in order
_TAG = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*?)(/?)>", re.I)
_R_ATTR = re.compile(rb"\br\s*=\s*" + _Q + rb"\s*([A-Za-z]{0,4})(\d{0,9})", re.I)


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _whole_tags(fh, limit: int = MAX_XML_PROLOG_BYTES):
    """Chunks of an XML member that end after a ``>`` (a tag is never cut in two)."""
    tail = b""
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            if tail:
                yield tail
            return
        buf = tail + chunk
        cut = buf.rfind(b">") + 1
        if cut == 0 and len(buf) <= limit:
            tail = buf
            continue
        cut = cut or len(buf)
        yield buf[:cut]
        tail = buf[cut:]


# the quick pass: one scan per tag kind; a tag without a (readable) reference matches the second branch, with
# empty groups
_ROW_ANY = re.compile(rb"<(?:\w+:)?row(?:\s[^>]*?\br\s*=\s*" + _Q + rb"\s*(\d{1,9})|[\s>/])", re.I)
_CELL_ANY = re.compile(rb"<(?:\w+:)?c(?:\s[^>]*?\br\s*=\s*" + _Q + rb"\s*([A-Za-z]{1,4})(\d{1,9})|[\s>/])",
                       re.I)
_NO_REF = (b"", b"")
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData[\s>/]", re.I)


def _regex_extent(part: bytes) -> tuple[int, int, int, int]:
    """(largest row reference, largest column reference, row tags without one, cell tags without one) of a
    chunk of whole tags: one C-level regex scan per tag kind, the maxima through map/filter/set."""
    max_row = max_col = free_rows = free_cells = 0
    rows = _ROW_ANY.findall(part)
    if rows:
        free_rows = rows.count(b"")
        if free_rows < len(rows):
            max_row = max(map(int, filter(None, rows)))
    cells = _CELL_ANY.findall(part)
    if cells:
        free_cells = cells.count(_NO_REF)
        if free_cells < len(cells):
            for letters in {x.upper() for x in set(map(operator.itemgetter(0), cells)) if x}:
                max_col = max(max_col, _col_number(letters))
            max_row = max(max_row, max(map(int, filter(None, map(operator.itemgetter(1), cells)))))
    return max_row, max_col, free_rows, free_cells


# the standard form, read with numpy (issue 10: about 3x faster than the regex scans on the 100 MB of the stress
# month's catalog sheets, 0.3 s against 0.9 s a sheet): every row and cell tag is unprefixed and either has no attribute or has r first,
# written r="A1" / R='a1' (no spaces, 1-4 letters, digits). A chunk with any other row or cell tag is left to
# the regexes, which then give the same four numbers (tests/test_load_safety_fast.py)
_WORD = np.zeros(256, dtype=bool)
_WORD[np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", np.uint8)] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[np.frombuffer(b" \t\n\r\x0b\x0c", np.uint8)] = True          # bytes regex \s
_ENDS = np.zeros(256, dtype=bool)
_ENDS[np.frombuffer(b">/", np.uint8)] = True
_ALPHA = np.zeros(256, dtype=bool)
_ALPHA[np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[np.frombuffer(b"0123456789", np.uint8)] = True
_WINDOW = 24                                 # bytes looked at before each ":" (a prefix), and the chunk's padding


def _leading(mask: np.ndarray) -> np.ndarray:
    """Per row: how many leading True."""
    return np.where(mask.all(axis=1), mask.shape[1], mask.argmin(axis=1))


def _max_number(digits: np.ndarray) -> int | None:
    """The largest of the numbers that open the rows of ``digits`` (bytes; at most 9 digits each, as the regexes
    read them), or None when a row opens with no digit."""
    n = _leading(_DIGIT[digits])
    if not len(n) or (n < 1).any():
        return None if len(n) else 0
    if (digits[:, 0] == 48).any():                   # a leading zero: more digits need not be more
        width = digits.shape[1]
        keep = np.arange(width)[None, :] < n[:, None]
        vals = ((digits.astype(np.int64) - 48) * keep
                * (10 ** np.arange(width - 1, -1, -1, dtype=np.int64))[None, :]).sum(axis=1) // 10 ** (width - n)
        return int(vals.max())
    top = int(n.max())
    vals = (digits[n == top, :top].astype(np.int64) - 48) @ (10 ** np.arange(top - 1, -1, -1, dtype=np.int64))
    return int(vals.max())


def _standard_extent(part: bytes) -> tuple[int, int, int, int] | None:
    """``_regex_extent`` of a chunk in the standard form, or None when some row or cell tag is in another form."""
    k = _WINDOW
    arr = np.frombuffer(part, dtype=np.uint8)
    pad = np.concatenate([np.zeros(k, np.uint8), arr, np.zeros(k, np.uint8)])      # (offsets: + k)
    colons = np.flatnonzero(arr == 58) + k
    if len(colons):                                   # a prefixed tag (<x:c …>): a name run right after "<"
        before = pad[colons[:, None] - np.arange(1, k)[None, :]]                  # the bytes before, nearest first
        run = _leading(_WORD[before])
        if ((run >= k - 1) | ((run >= 1) & (pad[colons - run - 1] == 60))).any():
            return None
    lt = np.flatnonzero(arr == 60) + k
    first = pad[lt + 1] | 0x20                        # (letters in lower case; only compared with letters)
    lt = lt[(first == 99) | (first == 114)]           # <c…, <r…
    w = pad[lt[:, None] + np.arange(1, 1 + 21)[None, :]]            # the bytes after each "<"
    low = w[:, :4] | 0x20
    cell = (low[:, 0] == 99) & (_SPACE[w[:, 1]] | _ENDS[w[:, 1]])
    row = (low[:, 0] == 114) & (low[:, 1] == 111) & (low[:, 2] == 119) & (_SPACE[w[:, 3]] | _ENDS[w[:, 3]])
    max_row = max_col = 0
    c, r = w[cell, 1:], w[row, 3:]                     # from the byte after the name
    free_cells, free_rows = int(_ENDS[c[:, 0]].sum()), int(_ENDS[r[:, 0]].sum())
    c, r = c[~_ENDS[c[:, 0]]], r[~_ENDS[r[:, 0]]]
    for t in (c, r):                                   # ' r="' (4 bytes) opens every such tag
        if len(t) and not ((t[:, 0] == 32) & ((t[:, 1] | 0x20) == 114) & (t[:, 2] == 61)
                           & ((t[:, 3] == 34) | (t[:, 3] == 39))).all():
            return None
    if len(c):                                         # then 1-4 letters and digits
        letters = _leading(_ALPHA[c[:, 4:9]])
        if ((letters < 1) | (letters > 4)).any():
            return None
        for n in np.unique(letters).tolist():          # (nearly always one length: A-Z)
            top = _max_number(c[letters == n, 4 + n:4 + n + 9])
            if top is None:
                return None
            max_row = max(max_row, top)
        n = int(letters.max())
        up = (c[letters == n, 4:4 + n].astype(np.int64) & 0xDF) - 64
        max_col = int((up @ (26 ** np.arange(n - 1, -1, -1, dtype=np.int64))).max())
    if len(r):                                         # then digits
        top = _max_number(r[:, 4:13])
        if top is None:
            return None
        max_row = max(max_row, top)
    return max_row, max_col, free_rows, free_cells


def _quick_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """An upper bound of (rows, columns) of a worksheet, streamed: the largest row and cell references (either
    quote, either case), plus one per row or cell tag without a reference (it takes the next position), and the
    ``<dimension>`` the writer declared. Each chunk is read in the standard form with numpy where it is in that
    form, else with regexes (issue 10)."""
    max_row = max_col = free_rows = free_cells = 0
    head = True
    with zf.open(info) as fh:
        for part in _whole_tags(fh):
            got = _standard_extent(part)
            mr, mc, fr, fc = got if got is not None else _regex_extent(part)
            max_row, max_col = max(max_row, mr), max(max_col, mc)
            free_rows, free_cells = free_rows + fr, free_cells + fc
            if head:                      # <dimension> comes before <sheetData> (a late one only ever
                for ref in _DIMENSION.findall(part):    # raised the bound; the precise pass ignores it)
                    for letters, digits in _A1.findall(ref):
                        max_col, max_row = max(max_col, _col_number(letters)), max(max_row, int(digits))
                head = _SHEET_DATA.search(part) is None
    return max_row + free_rows, max_col + free_cells


def _precise_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """(max row, max column) of the cells that hold something, walking the row and cell tags in order as the
    reader does: a tag without ``r`` takes the next row / column. A style-only ``<c r="X9" s="1"/>`` holds
    nothing (the reader skips it)."""
    max_row = max_col = row = col = 0
    with zf.open(info) as fh:
        for part in _whole_tags(fh):
            for m in _TAG.finditer(part):
                ref = _R_ATTR.search(m.group(2))
                if m.group(1).lower() == b"row":
                    row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                    col = 0
                    continue
                if ref and ref.group(1):
                    col = _col_number(ref.group(1))
                    if ref.group(2):
                        row = int(ref.group(2))
                else:
                    col += 1
                if not m.group(3):
                    max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max_col


def _refuse_extent(max_row: int, max_col: int, shown: str, sheet: str | None = None) -> None:
    raise InputError(f"工作表的使用区域过大（到第 {max_row} 行、第 {max_col} 列，上限共 {MAX_SHEET_CELLS:,} 个单元格），"
                     "读取需要的内存过多，疑似恶意文件或表格远处有零星内容", file=shown, sheet=sheet,
                     hint="请删除多余的空行空列（或远处的单元格）后另存；大表请改用 CSV 或 Parquet 导出")


def _check_sheet_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str, sheet: str | None = None,
                        precise: bool = False) -> int:
    """Refuse a worksheet whose used rectangle (max row × max column of its filled cells) exceeds
    ``MAX_SHEET_CELLS``; return the area (an upper bound unless ``precise``). A quick pass bounds it from above;
    only a suspicious sheet is walked tag by tag."""
    try:
        max_row, max_col = (0, 0) if precise else _quick_extent(zf, info)
        if precise or max_row * max(max_col, 1) > MAX_SHEET_CELLS:
            max_row, max_col = _precise_extent(zf, info)
    except _BAD_MEMBER as exc:
        raise InputError("工作簿已损坏或已加密（内部文件无法解压）", file=shown, hint=FIX_RESAVE) from exc
    if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
        _refuse_extent(max_row, max_col, shown, sheet)
    return max_row * max_col


# ODS (content.xml): a row or cell repeated n times stands for n rows / cells. The reader expands them, except
# trailing empty ones (LibreOffice ends every sheet with ~1 million repeated empty rows of 1,024 empty cells).
_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>")
_ODS_ROWS_REP = re.compile(rb"\bnumber-rows-repeated\s*=\s*" + _Q + rb"\s*(\d{1,12})")
_ODS_COLS_REP = re.compile(rb"\bnumber-columns-repeated\s*=\s*" + _Q + rb"\s*(\d{1,12})")
_ODS_NAME = re.compile(rb"\btable:name\s*=\s*" + _Q + rb"([^\"']*)" + _Q)
_ODS_VALUE = re.compile(rb"\boffice:value-type\s*=")


def _check_ods_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> int:
    """Refuse an ODS sheet whose expanded area (rows × columns up to its last filled cell, repeat counts
    summed) exceeds ``MAX_SHEET_CELLS``. Streamed over the tags of content.xml; no cell is expanded."""
    sheet = ""
    rows = width = 0             # rows up to the last filled one; widest filled extent
    pending_rows = 0             # empty rows since the last filled one (count only if a filled row follows)
    row_rep = col = row_filled_to = 0
    in_cell_rep = 0
    cell_has = False
    in_row = False
    total = 0

    def close_sheet():
        nonlocal total
        if rows * max(width, 1) > MAX_SHEET_CELLS:
            _refuse_extent(rows, width, shown, sheet or None)
        total += rows * width

    try:
        with zf.open(info) as fh:
            for part in _whole_tags(fh):
                for m in _ODS_TAG.finditer(part):
                    closing, kind, attrs, empty = m.group(1), m.group(2), m.group(3), m.group(4)
                    if kind == b"table":
                        if closing:
                            close_sheet()
                        else:
                            name = _ODS_NAME.search(attrs)
                            sheet = name.group(1).decode("utf-8", "replace") if name else ""
                            rows = width = pending_rows = 0
                        continue
                    if kind == b"table-row":
                        if not closing:
                            rep = _ODS_ROWS_REP.search(attrs)
                            row_rep = int(rep.group(1)) if rep else 1
                            col = row_filled_to = 0
                            in_row = True
                            if empty:
                                pending_rows += row_rep
                                in_row = False
                        elif in_row:
                            in_row = False
                            if row_filled_to:
                                rows += pending_rows + row_rep
                                pending_rows = 0
                                width = max(width, row_filled_to)
                                if rows * width > MAX_SHEET_CELLS:
                                    _refuse_extent(rows, width, shown, sheet or None)
                            else:
                                pending_rows += row_rep
                        continue
                    # a cell
                    if closing:
                        if cell_has:
                            row_filled_to = col
                        continue
                    rep = _ODS_COLS_REP.search(attrs)
                    in_cell_rep = int(rep.group(1)) if rep else 1
                    col += in_cell_rep
                    cell_has = bool(_ODS_VALUE.search(attrs)) or not empty
                    if empty and cell_has:
                        row_filled_to = col
    except _BAD_MEMBER as exc:
        raise InputError("工作簿已损坏或已加密（内部文件无法解压）", file=shown, hint=FIX_RESAVE) from exc
    return total


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
