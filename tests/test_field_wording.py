"""Issue 12 item 4: errors raised below the command line name the field (基准日, 豁免文件…), never a flag; the CLI
adds its flag and its own advice, the portal shows the message as it is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.errors import FIELD_FLAGS, InputError, SharecheckError, UsageError, cli_text
from checker.model import Period
from checker.pipeline import parse_as_of, require_tables

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"--[a-z][a-z-]+")
# the syntax of --table itself (only the command line can pass such a string)
ALLOWED = ("--table「", "--table 的表名", "--table 对表", "--table {name}=")


def test_as_of_outside_the_period_names_the_field_and_the_cli_adds_the_flag():
    with pytest.raises(UsageError) as e:
        parse_as_of("2026-11-05", Period.parse("2026-10"))
    assert e.value.field == "基准日" and "请不填基准日" in str(e.value) and not FLAG.search(str(e.value))
    assert cli_text(e.value).endswith("（命令行选项 --as-of）")


def test_missing_table_advice_for_the_command_line_only():
    from checker.model import LoadResult
    lr = LoadResult(tables={}, inputs=[], defects=None)
    with pytest.raises(InputError) as e:
        require_tables(lr, ["上传的文件"])
    assert not FLAG.search(str(e.value)) and "请放入该表的导出文件" in str(e.value)
    assert "或用 --table departments=文件路径 指定" in cli_text(e.value)


def test_cli_text_adds_nothing_twice_and_knows_every_field():
    e = SharecheckError("豁免文件 x.csv 不存在", field="豁免文件")
    assert cli_text(e) == "豁免文件 x.csv 不存在（命令行选项 --waivers）"
    assert cli_text(SharecheckError("用 --waivers 给出", field="豁免文件")) == "用 --waivers 给出"
    assert set(FIELD_FLAGS.values()) >= {"--as-of", "--period", "--waivers", "--params", "--calendar", "--history",
                                         "--out", "--pack"}


def test_no_message_below_the_command_line_names_a_flag():
    bad = []
    for path in sorted((ROOT / "checker").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("checker/cli.py", "checker/errors.py") or rel.startswith("checker/portal/"):
            continue
        in_doc = False
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            s = line.strip()
            if s.count('"""') == 1:
                in_doc = not in_doc
                continue
            if in_doc or s.startswith("#") or '"""' in s or "cli_hint=" in s:
                continue
            code = s.split("  # ")[0]
            if FLAG.search(code) and re.search(r"[\u4e00-\u9fff]", code) and not any(a in code for a in ALLOWED):
                bad.append(f"{rel}:{no}: {s[:120]}")
    assert not bad, "\n".join(bad)
