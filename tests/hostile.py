"""Builders of hostile and careless inputs, and a way to run the real command in a bounded child process.

Used by tests/test_hostile_*.py and tests/test_fuzz*.py. Not a test module.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample" / "exports"
MEMORY_LIMIT = int(2.5 * 2**30)          # RLIMIT_AS of every child: "memory beyond about 2 GB" must fail
HANG_GUARD = 180

DEPT_HEADER = ["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"]
DEPTS = [["广州市公安局", "114401000075028265", "市级", None, "公安", "否"],
         ["广州市政务服务数据管理局", "11440100MB2C92136C", "市级", None, "政务服务数据管理", "是"]]


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24


def drop_file_permission_override() -> None:
    """Make this (root) process subject to file permissions, as an ordinary user is: drop CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding, permitted, effective and inheritable sets (exec would restore them
    from the bounding set otherwise). The tests run as root, who can read a chmod 000 file; an ordinary uid
    cannot run the interpreter (it lives under /root)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()          # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    data[0].effective &= keep
    data[0].permitted &= keep
    data[0].inheritable &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def limited(ordinary: bool = False):
    """preexec_fn for a child: address space capped at MEMORY_LIMIT; with ``ordinary``, file permissions apply
    to it (see ``drop_file_permission_override``)."""
    def pre():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if ordinary:
            drop_file_permission_override()
    return pre


def sharecheck(*args, cwd=None, ordinary: bool = False, env_extra: dict | None = None,
               timeout: int = HANG_GUARD) -> subprocess.CompletedProcess:
    """The real command (``python -m checker.cli``) in a child with the memory limit."""
    env = dict(os.environ, CI="1", PYTHONDONTWRITEBYTECODE="1")
    # the checker next to these tests, whatever the child's working folder
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("SHARECHECK_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "checker.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, env=env, preexec_fn=limited(ordinary))


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """Assert exit 2 with exactly one line ``错误：…`` on stderr (no traceback); return it."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("错误：") and "Traceback" not in proc.stderr
    return lines[0]


def dept_workbook(path: Path, rows=None, header=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门名录"
    ws.append(header or DEPT_HEADER)
    for r in rows if rows is not None else DEPTS:
        ws.append(r)
    wb.save(path)
    return path


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def xlsx_far_cell(path: Path, cell: str, *, quote: str = '"', move_to: str | None = None,
                  dimension: str | None = None, style_only: bool = False) -> Path:
    """A real 部门名录 workbook with one far cell appended to its sheet XML: ``cell`` like ``XFD1048576``
    (any case), attributes quoted with ``quote``; optionally the sheet part moved to ``move_to`` through the
    workbook rels, and the ``<dimension>`` rewritten."""
    base = dept_workbook(path.with_suffix(".base.xlsx"))
    m = zip_members(base)
    base.unlink()
    part = "xl/worksheets/sheet1.xml"
    xml = m[part].decode()
    row = re.search(r"\d+", cell).group()
    q = quote
    far = (f"<row r={q}{row}{q}><c r={q}{cell}{q} s={q}0{q}/></row>" if style_only
           else f"<row r={q}{row}{q}><c r={q}{cell}{q}><v>1</v></c></row>")
    xml = xml.replace("</sheetData>", far + "</sheetData>")
    if dimension is not None:
        xml = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', xml)
    if move_to:
        del m[part]
        part = move_to
        m["xl/_rels/workbook.xml.rels"] = m["xl/_rels/workbook.xml.rels"].replace(
            b"/xl/worksheets/sheet1.xml", b"/" + move_to.encode())
        m["[Content_Types].xml"] = m["[Content_Types].xml"].replace(b"/xl/worksheets/sheet1.xml",
                                                                    b"/" + move_to.encode())
    m[part] = xml.encode()
    return write_zip(path, m)


ODS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            '<office:body><office:spreadsheet>')
ODS_TAIL = '</office:spreadsheet></office:body></office:document-content>'
ODS_MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')


def ods_cell(text: str, repeat: int = 1) -> str:
    rep = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell office:value-type="string"{rep}><text:p>{text}</text:p></table:table-cell>'


def ods_row(cells: str, repeat: int = 1) -> str:
    rep = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{rep}>{cells}</table:table-row>"


def ods(path: Path, sheets: dict[str, str]) -> Path:
    """An .ods file whose sheets hold the given table bodies (rows as ``ods_row`` writes them)."""
    body = "".join(f'<table:table table:name="{name}">{rows}</table:table>' for name, rows in sheets.items())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", ODS_MANIFEST)
        z.writestr("content.xml", ODS_HEAD + body + ODS_TAIL)
    return path


def copy_sample(dest: Path) -> Path:
    """The sample month's exports (fixtures/sample/exports), copied."""
    shutil.copytree(SAMPLE, dest)
    return dest
