"""What bad input gets: one clear Chinese InputError line, no traceback, no hang, bounded memory."""
import io
import zipfile

import openpyxl
import pytest

from checker.errors import InputError
from checker.load import load_inputs, safety
from tests.test_load_common import CATALOG_HEADER, DEPT_HEADER, basic_workbook, catalog_row, dept_rows, write_xlsx


def _err(paths, **kw) -> str:
    with pytest.raises(InputError) as e:
        load_inputs(paths, **kw)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_missing_required_column_names_file_sheet_column_and_closest(tmp_path):
    header = [h if h != "发布日期" else "发布时间" for h in CATALOG_HEADER]
    basic_workbook(tmp_path / "a.xlsx", {"信息资源": [header, catalog_row()]})
    msg = _err([tmp_path / "a.xlsx"])
    assert "a.xlsx" in msg and "工作表「信息资源」" in msg and "列「发布日期」" in msg and "「发布时间」" in msg


def test_missing_cond_column_is_an_error_too(tmp_path):
    header = [h for h in CATALOG_HEADER if h != "共享范围"]
    rows = [[v for h, v in zip(CATALOG_HEADER, catalog_row()) if h != "共享范围"]]
    basic_workbook(tmp_path / "a.xlsx", {"信息资源": [header] + rows})
    assert "列「共享范围」" in _err([tmp_path / "a.xlsx"])


def test_required_input_absent(tmp_path):
    write_xlsx(tmp_path / "a.xlsx", {"部门名录": [DEPT_HEADER] + dept_rows()})
    assert "信息资源" in _err([tmp_path / "a.xlsx"])
    r = load_inputs([tmp_path / "a.xlsx"], require=False)
    assert set(r.tables) == {"departments"}


def test_empty_file(tmp_path):
    (tmp_path / "部门名录.xlsx").write_bytes(b"")
    assert "文件为空" in _err([tmp_path])


def test_truncated_zip(tmp_path):
    p = basic_workbook(tmp_path / "a.xlsx")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert "已损坏" in _err([p])


def test_html_saved_as_xlsx(tmp_path):
    (tmp_path / "a.xlsx").write_text("<html><body><table><tr><td>部门名称</td></tr></table></body></html>",
                                     encoding="utf-8")
    assert "HTML" in _err([tmp_path / "a.xlsx"])


def test_password_protected_ole2_with_xlsx_name(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(safety.OLE2_MAGIC + b"\x00" * 4088)
    assert "加密" in _err([tmp_path / "a.xlsx"])


def test_corrupt_xls(tmp_path):
    (tmp_path / "a.xls").write_bytes(safety.OLE2_MAGIC + b"\x01" * 5000)
    msg = _err([tmp_path / "a.xls"])
    assert "a.xls" in msg and "无法读取" in msg


def test_zip_bomb_refused_from_central_directory(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:       # ~210 MiB of zeros, compresses ~1000:1
            chunk = b"0" * (1 << 20)
            for _ in range(210):
                fh.write(chunk)
    assert p.stat().st_size < 2 * 1024 * 1024
    msg = _err([p])
    assert "压缩炸弹" in msg


def test_high_ratio_member_refused(tmp_path):
    p = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b" " * (20 << 20))
    assert "压缩比" in _err([p])


def test_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_MEMBERS", 5)
    p = tmp_path / "many.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        for i in range(6):
            z.writestr(f"x{i}.bin", b"x")
    assert "内部文件数" in _err([p])


def test_xml_entity_bomb_refused(tmp_path):
    p = basic_workbook(tmp_path / "a.xlsx")
    src = zipfile.ZipFile(p)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = (b'<?xml version="1.0"?>\n<!-- padding -->' + b" " * 40000 + b'\n<!DOCTYPE lolz ['
                        b'<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                        + data)
            z.writestr(info, data)
    src.close()
    p.write_bytes(out.getvalue())
    assert "XML" in _err([p])


def test_binary_csv(tmp_path):
    (tmp_path / "交换日志.csv").write_bytes(b"\x00\x01\x02\xff" * 100)
    basic_workbook(tmp_path / "base.xlsx")
    assert "二进制" in _err([tmp_path])


def test_unknown_path(tmp_path):
    assert "不存在" in _err([tmp_path / "nope.xlsx"])


def test_unsupported_override_table(tmp_path):
    basic_workbook(tmp_path / "a.xlsx")
    assert "未知的表名" in _err([tmp_path], overrides={"foo": (str(tmp_path / "a.xlsx"), None)})


def test_override_missing_sheet(tmp_path):
    basic_workbook(tmp_path / "a.xlsx")
    msg = _err([tmp_path], overrides={"departments": (str(tmp_path / "a.xlsx"), "没有")})
    assert "找不到工作表「没有」" in msg and "部门名录" in msg


def test_two_candidates_for_one_table(tmp_path):
    basic_workbook(tmp_path / "a.xlsx")
    write_xlsx(tmp_path / "b.xlsx", {"部门名录": [DEPT_HEADER] + dept_rows()})
    from checker.errors import cli_text
    with pytest.raises(InputError) as e:
        load_inputs([tmp_path])
    msg = str(e.value)
    assert "a.xlsx" in msg and "b.xlsx" in msg and "--table" not in msg      # the portal's words: no flag
    assert "或用 --table departments=" in cli_text(e.value)                   # the command line adds its advice
