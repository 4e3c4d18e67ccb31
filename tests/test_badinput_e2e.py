"""Bad input end to end (inputs.md "What bad input gets"): the REAL command in a subprocess.

Every case: exit 2, one Chinese line ``错误：…`` on stderr naming the file (and sheet/column where there is
one), no traceback, nothing written under --out (and no history file created), no hang (a subprocess timeout is
the hang guard, not a timing assertion).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD = 120   # seconds; a hang fails the test instead of blocking the suite


def sharecheck(*args, cwd=None):
    env = dict(os.environ, CI="1")
    env.pop("SHARECHECK_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "checker.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG_GUARD, cwd=cwd or ROOT, env=env)


DEPT_HEADER = ["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"]
DEPTS = [["广州市公安局", "114401000075028265", "市级", None, "公安", "否"],
         ["广州市政务服务数据管理局", "11440100MB2C92136C", "市级", None, "政务服务数据管理", "是"]]
CAT_HEADER = ["信息资源代码", "信息资源名称", "提供部门", "资源分类", "基础信息类别", "信息类别细目", "共享类型", "共享条件",
              "共享依据", "共享方式", "共享范围", "更新周期", "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密",
              "标识类型", "特殊更新批准文号", "发布日期"]
CAT = [["101001001/000012", "户籍人口信息", "广州市公安局", "基础信息资源", "自然人", "户籍登记信息", "无条件共享", None,
        None, "平台接口", "全市政务部门", "实时", "身份核验", "广州市公安局", "广州市公安局", "是", "否", "公民身份号码",
        None, "2026-01-05"]]


def workbook(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


@pytest.fixture()
def case(tmp_path):
    """A folder with a good 部门名录 workbook; the test adds the bad catalog file."""
    inp = tmp_path / "exports"
    inp.mkdir()
    workbook(inp / "部门名录.xlsx", {"部门名录": (DEPT_HEADER, DEPTS)})
    return tmp_path, inp


def assert_rejected(tmp_path, inp, bad_name, *, sheet=None, column=None):
    out = tmp_path / "out"
    db = tmp_path / "h.db"
    r = sharecheck("run", inp, "--period", "2026-10", "--out", out, "--history", db)
    text = r.stdout + r.stderr
    assert r.returncode == 2, text
    assert "Traceback" not in text
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("错误：") and bad_name in lines[0], lines[0]
    if sheet:
        assert sheet in lines[0], lines[0]
    if column:
        assert column in lines[0], lines[0]
    assert not out.exists() and not db.exists()
    return lines[0]


def test_missing_required_column(case):
    tmp_path, inp = case
    header = [h for h in CAT_HEADER if h != "共享类型"]
    rows = [[v for h, v in zip(CAT_HEADER, CAT[0]) if h != "共享类型"]]
    workbook(inp / "目录导出.xlsx", {"信息资源": (header, rows)})
    assert_rejected(tmp_path, inp, "目录导出.xlsx", sheet="信息资源", column="共享类型")


def test_corrupt_zip(case):
    tmp_path, inp = case
    good = io.BytesIO()
    workbook(good, {"信息资源": (CAT_HEADER, CAT)})
    data = good.getvalue()
    (inp / "信息资源.xlsx").write_bytes(data[: len(data) // 2])          # truncated download
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


def test_garbage_with_zip_magic(case):
    tmp_path, inp = case
    (inp / "信息资源.xlsx").write_bytes(b"PK\x03\x04" + os.urandom(4000))
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


def test_password_protected_ole2_named_xlsx(case):
    tmp_path, inp = case
    # An encrypted OOXML file is an OLE2 compound file (EncryptionInfo + EncryptedPackage streams).
    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16 + bytes.fromhex("3E000300FEFF0900")
    (inp / "信息资源.xlsx").write_bytes(header + b"\0" * (4096 - len(header)) + "EncryptedPackage".encode("utf-16-le"))
    msg = assert_rejected(tmp_path, inp, "信息资源.xlsx")
    assert "密码" in msg or "加密" in msg or "xls" in msg.lower()


def test_html_saved_as_xlsx(case):
    tmp_path, inp = case
    html = "<html><head><meta charset='utf-8'></head><body><table><tr><td>信息资源代码</td></tr></table></body></html>"
    (inp / "信息资源.xlsx").write_text(html, encoding="utf-8")
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


def _xlsx_with(members: dict[str, bytes]) -> bytes:
    """A real workbook whose members are replaced/added."""
    good = io.BytesIO()
    workbook(good, {"信息资源": (CAT_HEADER, CAT)})
    src = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename not in members:
                z.writestr(info.filename, src.read(info.filename))
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_zip_bomb(case):
    tmp_path, inp = case
    good = io.BytesIO()
    workbook(good, {"信息资源": (CAT_HEADER, CAT)})
    src = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    path = inp / "信息资源.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, src.read(info.filename))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:   # 1 GiB of zeros, ~4 MB on disk
            chunk = b"\0" * (1 << 22)
            for _ in range(256):
                f.write(chunk)
    assert path.stat().st_size < 10 << 20
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


BILLION_LAUGHS = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n')


def test_xml_entity_bomb_in_sheet(case):
    tmp_path, inp = case
    sheet = BILLION_LAUGHS + (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                              b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
                              b'</sheetData></worksheet>')
    (inp / "信息资源.xlsx").write_bytes(_xlsx_with({"xl/worksheets/sheet1.xml": sheet}))
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


def test_xml_entity_bomb_in_workbook_xml(case):
    tmp_path, inp = case
    wb = BILLION_LAUGHS + (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                           b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                           b'<sheets><sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>')
    (inp / "信息资源.xlsx").write_bytes(_xlsx_with({"xl/workbook.xml": wb}))
    assert_rejected(tmp_path, inp, "信息资源.xlsx")


@pytest.mark.parametrize("name", ["信息资源.xlsx", "信息资源.csv"])
def test_empty_file(case, name):
    tmp_path, inp = case
    (inp / name).write_bytes(b"")
    assert_rejected(tmp_path, inp, name)


def test_required_table_absent(case):
    tmp_path, inp = case
    out = tmp_path / "out"
    r = sharecheck("run", inp, "--period", "2026-10", "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("错误：") and ("信息资源" in r.stderr or "catalog" in r.stderr)
    assert not out.exists()


def test_validate_exit_2_on_unreadable(case):
    tmp_path, inp = case
    (inp / "信息资源.xlsx").write_bytes(b"<html></html>")
    r = sharecheck("validate", inp)
    assert r.returncode == 2 and r.stderr.startswith("错误：") and "信息资源.xlsx" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
