"""User-facing errors. Every message is one Chinese line naming the file/sheet/row/column and a fix.

The CLI catches ``SharecheckError`` (and only prints ``str(err)``); nobody sees a traceback.
"""
from __future__ import annotations


class SharecheckError(Exception):
    """Base class: an error an auditor can act on. ``str()`` is the whole message."""

    exit_code = 2


class InputError(SharecheckError):
    """A file is unreadable, not what it claims, or lacks a required column."""

    def __init__(self, message: str, *, file: str | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, hint: str | None = None):
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
        super().__init__(text)
        self.file, self.sheet, self.row, self.column = file, sheet, row, column


class CalendarError(SharecheckError):
    """A working-day computation needs a year no calendar covers (``years``: the uncovered years named)."""

    years: tuple[int, ...] | list[int] = ()


class PackError(SharecheckError):
    """A rule pack file or a --params file is invalid (names the file and the problem)."""


class UsageError(SharecheckError):
    """Bad command-line usage (period, options, waivers file, history lock...)."""
