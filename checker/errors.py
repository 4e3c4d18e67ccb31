"""User-facing errors. Every message is one Chinese line naming the file/sheet/row/column and a fix.

The CLI catches ``SharecheckError`` (and only prints ``str(err)``); nobody sees a traceback.
"""
from __future__ import annotations


# The fields an auditor fills in, by the names that messages below the command line use. The CLI adds its flag
# to such a message (``field``); the portal shows the field name as its form labels it.
FIELD_FLAGS = {"基准日": "--as-of", "审计期间": "--period", "豁免文件": "--waivers", "参数文件": "--params",
               "工作日历文件": "--calendar", "历史库": "--history", "输出文件夹": "--out", "规则包": "--pack",
               "表来源": "--table"}


class SharecheckError(Exception):
    """Base class: an error an auditor can act on. ``str()`` is the whole message, in words that hold for the
    command line and the portal alike: it names fields (基准日, 豁免文件…), never a flag.

    ``field``: the field (a key of ``FIELD_FLAGS``) the message is about; ``cli_hint``: advice only the command line
    can follow (e.g. ``--table``), which the CLI adds and the portal leaves out."""

    exit_code = 2

    def __init__(self, *args, field: str | None = None, cli_hint: str | None = None):
        super().__init__(*args)
        self.field, self.cli_hint = field, cli_hint


def cli_text(err: SharecheckError) -> str:
    """The message as the command line words it: the flag of its field, and the command-line-only advice."""
    text = " ".join(str(err).split())
    hint = getattr(err, "cli_hint", None)
    if hint:
        text = f"{text.rstrip('。')}；{hint}"
    flag = FIELD_FLAGS.get(getattr(err, "field", None) or "")
    if flag and flag not in text:
        text = f"{text}（命令行选项 {flag}）"
    return text


class InputError(SharecheckError):
    """A file is unreadable, not what it claims, or lacks a required column."""

    def __init__(self, message: str, *, file: str | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, hint: str | None = None,
                 field: str | None = None, cli_hint: str | None = None):
        parts = []
        if file:
            parts.append(f"文件 {file}")
        if sheet:
            parts.append(f"工作表「{sheet}」")
        if row is not None:
            parts.append(f"第 {row} 行")
        if column:
            parts.append(f"列「{column}」")
        where = "，".join(parts)
        text = f"{where}：{message}" if where else message
        if hint:
            text = f"{text}。{hint}"
        super().__init__(text, field=field, cli_hint=cli_hint)
        self.file, self.sheet, self.row, self.column = file, sheet, row, column


class CalendarError(SharecheckError):
    """A working-day computation needs a year no calendar covers (``years``: the uncovered years named)."""

    years: tuple[int, ...] | list[int] = ()


class PackError(SharecheckError):
    """A rule pack file or a --params file is invalid (names the file and the problem)."""


class UsageError(SharecheckError):
    """Bad command-line usage (period, options, waivers file, history lock...)."""
