"""Blank, formatted Excel templates of the ten exports of inputs.md (``sharecheck template``).

One workbook per table, file ``<表名>.xlsx`` holding one sheet named as inputs.md says. Row 1 is the header
(canonical column names; required columns — req yes / cond. — end in ``*`` and are red, which the loader
ignores when matching headers); row 2 is a notes row describing each column (its first cell starts with
``NOTES_MARK``; the loader skips a note row under the header). Data rows start at row 3. Coded columns
carry a drop-down list (data validation), bool columns 是/否, date columns a date format, code and text
columns the text format (so 18-digit codes and leading zeros survive). Column definitions come from
``checker.schema``.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import schema
from .errors import UsageError

NOTES_MARK = "填写说明："
DATA_ROWS = 2000                       # rows formatted and validated below the notes row
FIXED_TIME = datetime(2026, 1, 1)      # document properties: fixed, so templates are byte-stable
BOOL_LIST = ("是", "否")

_TYPE_NOTES = {
    schema.DATE: "日期，如 2026-10-08",
    schema.DATETIME: "日期时间，如 2026-10-08 10:30:00",
    schema.INT: "整数",
    schema.BOOL: "是/否",
}
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_NOTE_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def code_list(col: "schema.Column") -> tuple[str, ...] | None:
    """The drop-down values of a column, or None."""
    if col.type == schema.BOOL:
        return BOOL_LIST
    if col.type == schema.SHARETYPE:
        return tuple(schema.SHARE_TYPES)
    if col.codelist and col.codelist in schema.CODE_LISTS:
        return tuple(schema.CODE_LISTS[col.codelist])
    if col.name in schema.RULE_CODE_LISTS:
        return tuple(schema.RULE_CODE_LISTS[col.name])
    return None


def column_note(col: "schema.Column") -> str:
    parts = []
    if col.req == "yes":
        parts.append("必填")
    elif col.req == "cond.":
        parts.append("条件必填（列必须有）")
    else:
        parts.append("选填")
    note = col.note or _TYPE_NOTES.get(col.type, "")
    if note:
        parts.append(note)
    if col.type in _TYPE_NOTES and _TYPE_NOTES[col.type] not in note:
        parts.append(_TYPE_NOTES[col.type])
    return "；".join(parts)


def _display_width(text: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def build_workbook(table: "schema.Table") -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = table.title
    cols = list(table.columns)
    for j, col in enumerate(cols, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j, value=f"{col.name}*" if col.required else col.name)
        head.font = Font(bold=True, color="C00000" if col.required else "000000")
        head.fill = _HEADER_FILL
        head.alignment = Alignment(horizontal="center", vertical="center")
        head.border = _BORDER
        note_text = column_note(col)
        if j == 1:
            note_text = NOTES_MARK + note_text
        note = ws.cell(row=2, column=j, value=note_text)
        note.font = Font(italic=True, color="595959", size=9)
        note.fill = _NOTE_FILL
        note.alignment = Alignment(wrap_text=True, vertical="top")
        note.border = _BORDER
        if col.aliases:
            head.comment = Comment(f"也可用的列名：{'、'.join(col.aliases)}", "sharecheck")
        width = max(_display_width(col.name) + 4, 14, min(40, _display_width(note_text) // 2 + 2))
        ws.column_dimensions[letter].width = width
        rng = f"{letter}3:{letter}{DATA_ROWS + 2}"
        if col.type == schema.DATE:
            fmt = "yyyy-mm-dd"
        elif col.type == schema.DATETIME:
            fmt = "yyyy-mm-dd hh:mm:ss"
        elif col.type == schema.INT:
            fmt = "0"
        else:
            fmt = "@"
        ws.column_dimensions[letter].number_format = fmt
        values = code_list(col)
        if values:
            formula = '"' + ",".join(values) + '"'
            if len(formula) <= 255:
                dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
                dv.error = f"请从下拉列表选择：{'、'.join(values)}"
                dv.errorTitle = col.name
                dv.errorStyle = "warning"          # a warning, so an auditor can still paste raw exports
                dv.prompt = f"{col.name}：{'、'.join(values)}"
                dv.add(rng)
                ws.add_data_validation(dv)
    ws.row_dimensions[2].height = 45
    ws.freeze_panes = "A3"
    ws.sheet_properties.tabColor = "1F4E79"
    wb.properties.creator = "sharecheck"
    wb.properties.title = f"{table.title} 导入模板"
    wb.properties.description = table.description
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "sharecheck"
    return wb


def _normalised_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes with fixed member timestamps and document dates, so the same template is
    byte-identical every time."""
    import io
    import re
    import zipfile
    raw = io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</)", rb"\g<1>" + stamp + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


def write_templates(out_dir: str | Path, tables: Iterable[str] | None = None, force: bool = False) -> list[Path]:
    """Write one template workbook per table (all ten by default). Returns the files written.

    A file of the same name that differs from the blank template (a filled-in template, a real export) is
    never overwritten unless ``force``: the command stops before writing anything and names the files.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"模板输出位置 {out} 已存在且不是文件夹：请换一个输出文件夹", field="输出文件夹")
    names = list(tables) if tables else [t.name for t in schema.TABLE_LIST]
    unknown = [n for n in names if n not in schema.TABLES]
    if unknown:
        raise UsageError(f"没有这张表：{'、'.join(unknown)}")
    blobs = [(out / f"{schema.TABLES[n].title}.xlsx", _normalised_bytes(build_workbook(schema.TABLES[n])))
             for n in names]
    if not force:
        taken = [p for p, data in blobs if p.exists() and (not p.is_file() or p.read_bytes() != data)]
        if taken:
            raise UsageError(f"{out} 中已有 {'、'.join(p.name for p in taken)}，且与空白模板不同（可能已填写数据）："
                             "请换一个输出文件夹", field="输出文件夹", cli_hint="确定要用空白模板覆盖时加 --force")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"无法创建模板文件夹 {out}（{exc.strerror or exc}）：请换一个文件夹") from None
    files = []
    for path, data in blobs:
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"无法写入模板 {path}（{exc.strerror or exc}）：文件是否正被 Excel 打开？") from None
        files.append(path)
    return files
