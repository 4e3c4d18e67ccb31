"""An auditor's month, end to end, following README.md and driving the real command.

``sharecheck template`` -> fill the templates as a department would (notes row kept, drop-down values) ->
``validate`` -> ``run`` -> waivers (.xlsx and .csv: department-wide, record-level, expired, covering nothing,
a typo'd rule ID) -> the next month with ``--history`` (new, persisting, waived, resolved, since, trends) ->
every option and error an auditor meets. Most steps go through click's CliRunner (the real ``main``: error
lines, exit codes); the interrupt, lock, concurrency and a few plain runs are subprocesses of the installed
``.venv/bin/sharecheck`` (falling back to ``python -m checker.cli``).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import click
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from checker import cli as cli_mod
from checker.codes import uscc_check_char

ROOT = Path(__file__).resolve().parents[1]
EXE = ROOT / ".venv" / "bin" / "sharecheck"
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "checker.cli"]

GA, MZ, SJ, JY = "广州市公安局", "广州市民政局", "广州市政务服务数据管理局", "广州市教育局"


# ---------------------------------------------------------------------------------------------------- helpers
@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args):
    """The real ``main`` (error lines, exit codes) under CliRunner."""
    sys.exit(cli_mod.main(list(args)))


def sc(*args):
    """Run ``sharecheck ARGS`` in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(_entry, [str(a) for a in args], catch_exceptions=False)


def sc_proc(*args, cwd=None, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SHARECHECK_DEBUG")}
    return subprocess.run(COMMAND + [str(a) for a in args], capture_output=True, text=True, timeout=180,
                          cwd=cwd or ROOT, env=env, **kw)


def one_error_line(stderr: str) -> str:
    lines = [x for x in stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("错误：") and "Traceback" not in stderr, stderr
    return lines[0]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): md5(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def statuses(out: Path) -> dict[tuple[str, str, str], str]:
    f = findings(out)
    return {(r.rule_id, r.department, r.key): r.status for r in f.itertuples(index=False)}


def sheet_rows(path: Path, sheet: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    return list(wb[sheet].iter_rows(values_only=True))


def table_after(rows: list[tuple], first_header: str) -> list[dict]:
    """The rows under the header row whose first cell is ``first_header`` (until a blank first cell)."""
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    head = [h for h in rows[start] if h is not None]
    out = []
    for r in rows[start + 1:]:
        if r[0] is None:
            break
        out.append(dict(zip(head, r)))
    return out


def uscc(n: int) -> str:
    base = f"11440100{n:09d}"
    return base + uscc_check_char(base)


# ---------------------------------------------------------------------------------------------------- the data
def month_data(month: str) -> dict[str, list[list]]:
    """A small month of exports. October: 10-3, 10-5 (民政), 16-1 (公安), 16-2 and 20-1 (教育局).
    November: 10-3 fixed, 16-1 gone, 10-5 persists, 16-2/20-1 persist (waived), new 20-1 (公安) and 17-1 (教育局)."""
    nov = month == "2026-11"
    y, m = 2026, (11 if nov else 10)
    pub = datetime(2026, 1, 5)

    def res(code, name, dept, cls, cat, item, stype, cond, basis, way, scope, cycle, use, reviewed, ident=None):
        return [code, name, dept, cls, cat, item, stype, cond, basis, way, scope, cycle, use, dept, dept,
                reviewed, "否", ident, None, pub, None]
    catalog = [
        res("101001001/000001", "户籍人口信息", GA, "基础信息资源", "自然人", "户籍登记信息", "无条件共享", None, None,
            "平台接口", "全市政务部门", "实时", "政务服务", "是", "公民身份号码"),
        res("302001001/000002", "低保救助对象信息", MZ, "部门信息资源", None, None, "有条件共享",
            "仅限救助核查" if nov else None, "《社会救助暂行办法》", "平台库表", "全市政务部门", "不定期", "救助核查", "是"),
        res("302001001/000003", "殡葬服务内部台账", MZ, "部门信息资源", None, None, "不予共享", None,
            "《广州市殡葬管理规定》", "平台文件", None, "不定期", None, "是"),
        res("303001001/000004", "学籍信息", JY, "部门信息资源", None, None, "无条件共享", None, None,
            "点对点", "全市政务部门", "不定期", "入学审核", "是"),
        res("303001001/000005", "教师资格信息", JY, "部门信息资源", None, None, "无条件共享", None, None,
            "平台接口", "全市政务部门", "不定期", "资格核验", "否"),
        res("304001001/000006", "政务服务事项信息", SJ, "部门信息资源", None, None, "无条件共享", None, None,
            "平台接口", "全市政务部门", "不定期", "政务服务", "是"),
    ]
    if nov:
        catalog.append(res("101001001/000007", "出入境证件信息", GA, "部门信息资源", None, None, "无条件共享", None,
                           None, "平台接口", "全市政务部门", "不定期", "政务服务", "否"))
    exchanges = [
        ["EX0001", datetime(y, m, 9, 10, 0), "101001001/000001", GA, MZ, "共享平台", "否", None, "救助核查", 10, "成功"],
        ["EX0002", datetime(y, m, 12, 15, 30), "304001001/000006", SJ, JY, "共享平台", "否", None, "政务服务", 5, "成功"]]
    if not nov:
        exchanges.append(["EX0003", datetime(y, m, 20, 9, 0), "101001001/000001", GA, JY, "点对点", "否", None,
                          "入学审核", 3, "成功"])
    return {
        "部门名录": [[GA, uscc(1), "市级", None, "公安", "否"], [MZ, uscc(2), "市级", None, "民政", "否"],
                 [SJ, uscc(3), "市级", None, "政务服务数据管理", "是"], [JY, uscc(4), "市级", None, "教育", "否"]],
        "信息资源": catalog,
        "交换日志": exchanges,
        "责任人员": [[GA, "王一", "科长", "020-1", "是", None, None], [MZ, "李二", "科长", "020-2", "是", None, None],
                 [SJ, "张三", "处长", "020-3", "是", None, None],
                 [JY, "赵四", "科员", "020-4", "否" if nov else "是", None, None]],
    }


def fill(templates: Path, out: Path, tables: dict[str, list[list]]) -> None:
    """Type rows into the templates from row 3 on, keeping the header and the notes row."""
    out.mkdir(parents=True, exist_ok=True)
    for title, rows in tables.items():
        wb = openpyxl.load_workbook(templates / f"{title}.xlsx")
        ws = wb.active
        for i, row in enumerate(rows, start=3):
            for j, v in enumerate(row, start=1):
                ws.cell(row=i, column=j, value=v)
        wb.save(out / f"{title}.xlsx")


WAIVER_HEADER = ["规则编号", "部门", "记录", "理由", "批准人", "有效期至"]
WAIVERS = [["GZ165-16-2", JY, None, "专网改造期间临时点对点，已报批", "张三", datetime(2026, 12, 31)],   # dept-wide
           ["GZ165-20-1", JY, "303001001/000005", "保密审查补办中", "李四", "2026-12-31"],            # one record
           ["GZ165-10-3", MZ, None, "目录调整中", "李四", "2026-10-15"],                              # expired
           ["GZ165-17-1", GA, None, "人员调整中", "王五", "2026/12/31"]]                              # covers nothing


def write_waivers(path: Path, rows: list[list]) -> Path:
    if path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "豁免"
        ws.append(WAIVER_HEADER)
        for r in rows:
            ws.append(r)
        wb.save(path)
    else:
        def text(v):
            return "" if v is None else (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else str(v))
        lines = [",".join(WAIVER_HEADER)] + [",".join(text(v) for v in r) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The auditor's scratch folder: templates, two months of exports, waiver files."""
    d = tmp_path_factory.mktemp("auditor")
    r = sc("template", "--out", d / "模板")
    assert r.exit_code == 0, r.output
    assert "已生成 11 个模板" in r.stdout     # ten tables + 采集制度 (packs.md §6.1)
    for month in ("2026-10", "2026-11"):
        fill(d / "模板", d / "导出" / month, month_data(month))
    write_waivers(d / "豁免.xlsx", WAIVERS)
    write_waivers(d / "豁免.csv", WAIVERS)
    return d


@pytest.fixture(scope="module")
def history_run(ws, tmp_path_factory):
    """October then November with the same waivers and one history file (README §5)."""
    d = tmp_path_factory.mktemp("history")
    db = d / "审计历史.db"
    r10 = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--waivers", ws / "豁免.xlsx", "--history", db,
             "--out", d / "2026-10")
    assert r10.exit_code == 0, r10.output
    r11 = sc("run", ws / "导出/2026-11", "--period", "2026-11", "--waivers", ws / "豁免.xlsx", "--history", db,
             "--out", d / "2026-11")
    assert r11.exit_code == 0, r11.output
    return d, db, r10, r11


# ---------------------------------------------------------------------------------------------------- 1. template
def test_templates_keep_header_notes_and_dropdowns(ws):
    wb = openpyxl.load_workbook(ws / "模板" / "信息资源.xlsx")
    sheet = wb["信息资源"]
    assert sheet["A1"].value == "信息资源代码*" and sheet["A2"].value.startswith("填写说明：")
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert "无条件共享" in lists["G3"] and "平台接口" in lists["J3"]
    # the filled copy still carries the notes row, and the data starts at row 3
    filled = openpyxl.load_workbook(ws / "导出/2026-10/信息资源.xlsx")["信息资源"]
    assert filled["A2"].value.startswith("填写说明：") and filled["A3"].value == "101001001/000001"


def test_template_never_overwrites_filled_files(ws, tmp_path):
    filled = tmp_path / "导出"
    shutil.copytree(ws / "导出/2026-10", filled)
    before = digest(filled)
    r = sc("template", "--out", filled)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "部门名录.xlsx" in line and "信息资源.xlsx" in line and "--force" in line
    assert digest(filled) == before                      # nothing overwritten, no other template added
    r = sc("template", "--out", ws / "模板")              # the blank templates again: identical, fine
    assert r.exit_code == 0
    r = sc("template", "--out", filled, "--force")
    assert r.exit_code == 0 and len(list(filled.iterdir())) == 11
    assert md5(filled / "部门名录.xlsx") == md5(ws / "模板" / "部门名录.xlsx")


def test_blank_templates_are_not_provided_and_say_so(ws, tmp_path):
    # issue 8, C1: a table whose only rows are the template's notes row is not provided; without the two
    # required tables there is no run (exit 2, one line naming the unfilled template, nothing written)
    r = sc("run", ws / "模板", "--period", "2026-10", "--out", tmp_path / "o")
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "未填写的模板" in line and ("部门名录.xlsx" in line or "信息资源.xlsx" in line)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------------- 2. validate
def test_validate_reads_the_filled_templates(ws):
    r = sc("validate", ws / "导出/2026-10")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "输入问题：0 条。" in out
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.split()[:1] and
            line.split()[0] in ("部门名录", "信息资源", "交换日志", "责任人员")}
    assert rows["departments"][-1] == "4" and rows["catalog"][-1] == "6"          # the notes row is not data
    assert rows["exchanges"][-1] == "3" and rows["officers"][-1] == "4"
    assert "未提供的表（需要它们的规则将列为「未检查」）" in out and "数据更新（updates）" in out


def test_validate_as_a_subprocess(ws):
    r = sc_proc("validate", ws / "导出/2026-11")
    assert r.returncode == 0, r.stderr
    assert "识别到的表：" in r.stdout and "输入问题：0 条。" in r.stdout and r.stderr == ""


# ---------------------------------------------------------------------------------------------------- 3. run
def test_first_run_findings_rows_and_summary(ws, tmp_path):
    out = tmp_path / "out"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out)
    assert r.exit_code == 0, r.output
    f = findings(out)
    got = sorted(zip(f["rule_id"], f["department"], f["key"], f["input"], f["row"], f["status"]))
    assert got == [
        ("GZ165-10-3", MZ, "302001001/000002", "catalog", "4", "新增"),
        ("GZ165-10-5", MZ, "302001001/000003", "catalog", "5", "新增"),
        ("GZ165-16-1", GA, "EX0003", "exchanges", "5", "新增"),
        ("GZ165-16-2", JY, "303001001/000004", "catalog", "6", "新增"),
        ("GZ165-20-1", JY, "303001001/000005", "catalog", "7", "新增"),
    ]
    assert list(f.columns) == ["rule_id", "severity", "department", "input", "sheet", "row", "key", "message",
                               "status"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["findings.csv", "findings.parquet", "manifest.json", "report.html", "scorecard.csv", "审计报告_2026-10.xlsx",
         "部门报告"])
    assert sorted(p.name for p in (out / "部门报告").iterdir()) == sorted(f"{d}_2026-10.xlsx" for d in (GA, MZ, SJ, JY))
    s = r.stdout
    assert s.startswith("审计期间 2026-10（基准日 2026-10-31），部门 4 个。\n")
    assert "问题（未豁免）：严重 2，一般 3，提示 0；已豁免 0。" in s
    assert "未检查的规则 13 条（缺少输入，详见报告「未检查」）。" in s
    assert "得分最低的部门：" in s and f"报告已写入：{out}" in s
    # 16-1 caps the grade of 公安 at 合格 whatever its score
    line = next(x for x in s.splitlines() if x.strip().startswith(GA))
    assert line.split()[-1] == "合格"


def test_identical_inputs_give_identical_outputs(ws, tmp_path):
    for name in ("a", "b"):
        r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / name, "-q")
        assert r.exit_code == 0 and r.stdout == ""
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


# ---------------------------------------------------------------------------------------------------- 4. waivers
def test_waivers_xlsx_and_csv_mark_and_list(ws, tmp_path):
    outs = {}
    for name in ("豁免.xlsx", "豁免.csv"):
        out = tmp_path / name
        r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--waivers", ws / name, "--out", out)
        assert r.exit_code == 0, r.output
        assert "问题（未豁免）：严重 1，一般 2，提示 0；已豁免 2。" in r.stdout
        outs[name] = out
    st = statuses(outs["豁免.xlsx"])
    assert st[("GZ165-16-2", JY, "303001001/000004")] == "已豁免"     # department-wide
    assert st[("GZ165-20-1", JY, "303001001/000005")] == "已豁免"     # record-level
    assert st[("GZ165-10-3", MZ, "302001001/000002")] == "新增"       # its waiver expired on 2026-10-15
    assert findings(outs["豁免.xlsx"]).equals(findings(outs["豁免.csv"]))
    rows = table_after(sheet_rows(outs["豁免.xlsx"] / "审计报告_2026-10.xlsx", "豁免"), "豁免编号")
    by_id = {r["豁免编号"]: r for r in rows}
    assert [by_id[w]["覆盖问题数"] for w in ("W001", "W002", "W003", "W004")] == [1, 1, 0, 0]
    assert by_id["W003"]["是否过期"] == "已过期" and "过期" in by_id["W003"]["提示"]
    assert by_id["W004"]["是否过期"] == "有效" and by_id["W004"]["提示"] == "未覆盖任何问题"
    assert by_id["W001"]["提示"] in (None, "")
    # a waived finding is not scored: 教育局's only scored findings were the two waived ones
    card = pd.read_csv(outs["豁免.xlsx"] / "scorecard.csv", encoding="utf-8-sig", dtype=str)
    assert card.set_index("department").loc[JY, "score"] == "100.0"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_typo_rule_id_in_waivers_names_the_row(ws, tmp_path, suffix):
    w = write_waivers(tmp_path / f"豁免{suffix}", WAIVERS + [["GZ165-10-33", MZ, None, "笔误", "王五", "2026-12-31"]])
    db = tmp_path / "h.db"
    shutil.copy(ws / "模板" / "部门名录.xlsx", tmp_path / "not-touched")      # something in the folder
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--waivers", w, "--history", db,
           "--out", tmp_path / "out")
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert f"文件 {w}" in line and "第 6 行" in line and "列「规则编号」" in line and "GZ165-10-33" in line
    assert "GZ165-10-3" in line.split("GZ165-10-33", 1)[1]          # the near rule ID is suggested
    assert ("工作表「豁免」" in line) == (suffix == ".xlsx")
    assert not (tmp_path / "out").exists() and not db.exists()


@pytest.mark.parametrize("row, fragment", [
    (["GZ165-16-2", JY, None, "无", "张三", "2026-12-31"], "列「理由」：缺少豁免理由"),
    (["GZ165-16-2", JY, None, "临时", None, "2026-12-31"], "列「批准人」：缺少批准人"),
    (["GZ165-16-2", JY, None, "临时", "张三", "2026-13-31"], "列「有效期至」：日期无法识别"),
    (["GZ165-16-2", None, None, "临时", "张三", "2026-12-31"], "列「部门」：必填项为空"),
])
def test_other_waiver_mistakes_name_row_and_column(ws, tmp_path, row, fragment):
    w = write_waivers(tmp_path / "豁免.csv", [WAIVERS[0], row])
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--waivers", w, "--out", tmp_path / "out")
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "第 3 行" in line and fragment in line
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------- 5. history
def test_next_month_statuses_since_and_resolved(history_run):
    d, db, r10, r11 = history_run
    assert "与 " not in r10.stdout                       # nothing to compare the first month with
    assert "与 2026-10 相比：新增 2，持续 1，已整改 2。" in r11.stdout
    st = statuses(d / "2026-11")
    assert st == {
        ("GZ165-10-5", MZ, "302001001/000003"): "持续",
        ("GZ165-16-2", JY, "303001001/000004"): "已豁免",
        ("GZ165-17-1", JY, JY): "新增",
        ("GZ165-20-1", GA, "101001001/000007"): "新增",
        ("GZ165-20-1", JY, "303001001/000005"): "已豁免",
    }
    rows = sheet_rows(d / "2026-11" / "审计报告_2026-11.xlsx", "整改跟踪")
    assert rows[0][0] == "整改跟踪：本期 2026-11，对比上期 2026-10"
    track = table_after(rows, "整改状态")
    got = sorted((t["整改状态"], t["规则编号"], t["部门"], t["记录标识"], t["首次发现期间"]) for t in track)
    assert got == sorted([
        ("新增", "GZ165-20-1", GA, "101001001/000007", "2026-11"),
        ("新增", "GZ165-17-1", JY, JY, "2026-11"),
        ("持续", "GZ165-10-5", MZ, "302001001/000003", "2026-10"),
        ("已整改", "GZ165-16-1", GA, "EX0003", "2026-10"),
        ("已整改", "GZ165-10-3", MZ, "302001001/000002", "2026-10"),
    ])


def test_trend_table_chart_and_html(history_run):
    d, db, _r10, r11 = history_run
    wb = openpyxl.load_workbook(d / "2026-11" / "审计报告_2026-11.xlsx")
    assert wb.sheetnames[-1] == "整改跟踪"
    sheet = wb["整改跟踪"]
    assert any(type(c).__name__ == "LineChart" for c in sheet._charts)
    rows = list(sheet.iter_rows(values_only=True))
    trend = {r["部门"]: r for r in table_after(rows, "部门")}
    assert set(trend) == {GA, MZ, SJ, JY}
    assert trend[JY]["2026-10"] == 100 and trend[JY]["2026-11"] < 100       # waived in Oct, 17-1 in Nov
    card = pd.read_csv(d / "2026-11" / "scorecard.csv", encoding="utf-8-sig", dtype=str).set_index("department")
    assert float(card.loc[JY, "score"]) == trend[JY]["2026-11"]
    html = (d / "2026-11" / "report.html").read_text(encoding="utf-8")
    assert "趋势" in html and "2026-10" in html


def test_since_follows_the_unbroken_run_and_rerun_replaces(ws, history_run, tmp_path):
    _d, db0, _r10, _r11 = history_run
    db = tmp_path / "h.db"
    shutil.copy(db0, db)
    # December: November's exports again (the catalog did not change): 10-5 still open since October
    r = sc("run", ws / "导出/2026-11", "--period", "2026-12", "--history", db, "--out", tmp_path / "12")
    assert r.exit_code == 0, r.output
    track = table_after(sheet_rows(tmp_path / "12" / "审计报告_2026-12.xlsx", "整改跟踪"), "整改状态")
    since = {(t["规则编号"], t["部门"]): (t["整改状态"], t["首次发现期间"]) for t in track}
    assert since[("GZ165-10-5", MZ)] == ("持续", "2026-10")
    assert since[("GZ165-20-1", GA)] == ("持续", "2026-11")
    # waivers dropped this month: findings waived before count as found, so they persist
    assert since[("GZ165-16-2", JY)] == ("持续", "2026-10")
    # re-running November replaces its record (same number of rows, new statuses), nothing is added
    with sqlite3.connect(db) as c:
        before = c.execute("SELECT count(*) FROM findings WHERE period='2026-11'").fetchone()[0]
    r = sc("run", ws / "导出/2026-11", "--period", "2026-11", "--history", db, "--out", tmp_path / "11b", "-q")
    assert r.exit_code == 0, r.output
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT period FROM periods ORDER BY start").fetchall() == [
            ("2026-10",), ("2026-11",), ("2026-12",)]
        rows = c.execute("SELECT rule_id, department, status FROM findings WHERE period='2026-11' "
                         "ORDER BY rule_id, department").fetchall()
    assert len(rows) == before == 5
    assert ("GZ165-16-2", JY, "持续") in rows and not any(s == "已豁免" for *_x, s in rows)


def test_quarters_are_compared_with_quarters_only(ws, history_run, tmp_path):
    _d, db0, _r10, _r11 = history_run
    db = tmp_path / "h.db"
    shutil.copy(db0, db)
    r = sc("run", ws / "导出/2026-11", "--period", "2026-Q4", "--history", db, "--out", tmp_path / "q4")
    assert r.exit_code == 0, r.output
    assert "与 " not in r.stdout                        # no earlier quarter recorded
    assert set(statuses(tmp_path / "q4").values()) == {"新增"}
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT kind FROM periods WHERE period='2026-Q4'").fetchone() == ("Q",)
    trend = table_after(sheet_rows(tmp_path / "q4" / "审计报告_2026-Q4.xlsx", "整改跟踪"), "部门")
    assert all("2026-10" not in row and "2026-11" not in row for row in trend)


def test_rule_not_checked_this_month_is_not_resolved(ws, history_run, tmp_path):
    """Without the exchange log in November, October's 16-1 finding is unknown, not 已整改."""
    _d, db0, _r10, _r11 = history_run
    db = tmp_path / "h.db"
    shutil.copy(db0, db)
    inp = tmp_path / "in"
    shutil.copytree(ws / "导出/2026-11", inp)
    (inp / "交换日志.xlsx").unlink()
    # replay October so that November compares with it
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--history", db, "--out", tmp_path / "10", "-q")
    assert r.exit_code == 0
    r = sc("run", inp, "--period", "2026-11", "--history", db, "--out", tmp_path / "11")
    assert r.exit_code == 0, r.output
    track = table_after(sheet_rows(tmp_path / "11" / "审计报告_2026-11.xlsx", "整改跟踪"), "整改状态")
    resolved = {(t["规则编号"], t["部门"]) for t in track if t["整改状态"] == "已整改"}
    assert ("GZ165-10-3", MZ) in resolved and ("GZ165-16-1", GA) not in resolved


# ---------------------------------------------------------------------------------------------------- --fail-on
def test_fail_on_exit_codes(ws, tmp_path):
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "a", "-q", "--fail-on", "严重")
    assert r.exit_code == 1
    assert r.stderr.strip() == "存在「严重」或更严重的未豁免问题（--fail-on 严重），退出码 1"
    w = write_waivers(tmp_path / "w.csv", [["GZ165-16-1", GA, None, "已整改", "张三", "2026-12-31"],
                                           ["GZ165-20-1", JY, None, "补办中", "张三", "2026-12-31"]])
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "b", "-q", "--fail-on", "严重",
           "--waivers", w)
    assert r.exit_code == 0 and r.stderr == ""
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "c", "-q", "--fail-on", "一般",
           "--waivers", w)
    assert r.exit_code == 1
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "d", "-q")
    assert r.exit_code == 0                               # findings alone never fail a run


# ---------------------------------------------------------------------------------------------------- bad usage
@pytest.mark.parametrize("extra, fragments", [
    (["--as-of", "2026-11-05"], ["基准日 2026-11-05 不在审计期间 2026-10", "请不填基准日", "（命令行选项 --as-of）"]),
    (["--as-of", "2026-09-30"], ["不在审计期间 2026-10"]),
    (["--params", "{dir}/p_rule.yaml"], ["p_rule.yaml", "GZ165-08-9", "不存在"]),
    (["--params", "{dir}/p_name.yaml"], ["GZ165-08-2", "limit_days", "limit_wd"]),
    (["--params", "{dir}/none.yaml"], ["参数文件", "none.yaml", "不存在"]),
    (["--table", "exchanges={dir}/none.csv"], ["--table exchanges=", "none.csv", "不存在"]),
    (["--out", "{dir}/p_rule.yaml/x"], ["不是文件夹"]),
    (["--history", "{dir}/nodir/h.db"], ["所在的文件夹不存在"]),
    (["--calendar", "{dir}/none.csv"], ["日历文件", "none.csv"]),
    (["--waivers", "{dir}/none.xlsx"], ["none.xlsx", "豁免文件不存在"]),
])
def test_bad_options_one_line_exit_2_nothing_written(ws, tmp_path, extra, fragments):
    (tmp_path / "p_rule.yaml").write_text("GZ165-08-9: {limit_wd: 10}\n", encoding="utf-8")
    (tmp_path / "p_name.yaml").write_text("GZ165-08-2: {limit_days: 10}\n", encoding="utf-8")
    args = [a.replace("{dir}", str(tmp_path)) for a in extra]
    out = tmp_path / "out"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "--history", tmp_path / "h.db", *args)
    assert r.exit_code == 2, r.output
    line = one_error_line(r.stderr)
    for frag in fragments:
        assert frag in line, line
    assert r.stdout == "" and not out.exists() and not (tmp_path / "h.db").exists()


def test_params_file_changes_a_deadline_for_one_run(ws, tmp_path):
    p = tmp_path / "本次参数.yaml"
    p.write_text("# 本次参数\nGZ165-08-2: {limit_wd: 10}\n", encoding="utf-8")
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--params", p, "--out", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["GZ165-08-2"] == {"limit_wd": 10} and m["parameters"]["GZ165-08-3"] == {"limit_wd": 15}
    r = sc("rules", "--params", p)
    line = next(x for x in r.stdout.splitlines() if x.startswith("GZ165-08-2"))
    assert line.rstrip().endswith("limit_wd=10")


@pytest.mark.parametrize("args, fragment", [
    (["run", "x"], "缺少选项 --period"),
    (["run", "x", "--period"], "选项 --period 后面缺少取值"),
    (["run", "x", "--period", "2026-10", "--out"], "选项 --out 后面缺少取值"),
    (["run", "x", "--period", "2026-10", "--quiet=1"], "选项 --quiet 不带取值"),
    (["run", "x", "--period", "2026-1"], "审计期间「2026-1」格式不对"),
    (["run", "x", "--period", "2026-10", "--fail-on", "提示"], "--fail-on 的值不对：应为 严重 或 一般"),
    (["run", "x", "--period", "2026-10", "--format", "pdf"], "--format 的值不对"),
    (["run", "x", "--period", "2026-10", "--perod", "x"], "没有选项 --perod"),
    (["explain"], "缺少参数 RULE-ID"),
    (["explain", "GZ165-10-9"], "规则「GZ165-10-9」不存在"),
    (["rn"], "没有这个命令"),
    (["validate", "--limit", "-1", "x"], "--limit 的值不对"),
])
def test_click_usage_errors_are_chinese(tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    r = sc(*args)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert fragment in line
    assert not any(w in line for w in ("Option", "Missing", "requires", "Usage", "Error"))
    assert list(tmp_path.iterdir()) == []


def test_help_is_chinese_and_aligned():
    for args in ([], ["--help"], ["run", "--help"], ["validate", "-h"], ["template", "-h"], ["explain", "-h"]):
        r = sc(*args)
        assert r.exit_code == 0
        text = r.stdout
        assert text.startswith("用法：sharecheck") and "选项：" in text
        for english in ("Usage:", "Options:", "Commands:", "[required]", "[default:", "TEXT", "INTEGER"):
            assert english not in text, (args, english)
    run_help = sc("run", "--help").stdout
    assert "[必填]" in run_help and "[默认 gz165]" in run_help and "退出码：" in run_help and "130" in run_help
    # option descriptions start in one column, counting a CJK character as two columns
    starts = {cli_mod._width(line.split("  ", 1)[0]) + len(line.split("  ", 1)[1]) - len(line.split("  ", 1)[1].lstrip())
              for line in run_help.splitlines() if line.startswith("  --") and "  " in line.strip()}
    assert len(starts) == 1, starts


# ---------------------------------------------------------------------------------------------------- inputs
def test_table_override_and_two_candidates(ws, tmp_path):
    inp = tmp_path / "in"
    shutil.copytree(ws / "导出/2026-10", inp)
    # issue 11: an event table may come in parts; an identical copy of its file counts once and is noted
    shutil.copy(inp / "交换日志.xlsx", inp / "交换日志_副本.xlsx")
    r = sc("run", inp, "--period", "2026-10", "--out", tmp_path / "o0", "-q")
    assert r.exit_code == 0, r.output
    noted = [i for i in json.loads((tmp_path / "o0" / "manifest.json").read_text("utf-8"))["inputs"]
             if i["path"] == "交换日志_副本.xlsx"]
    assert noted and noted[0]["table"] is None
    (inp / "交换日志_副本.xlsx").unlink()
    # any other table: two candidates stop the run
    shutil.copy(inp / "信息资源.xlsx", inp / "信息资源_副本.xlsx")
    r = sc("run", inp, "--period", "2026-10", "--out", tmp_path / "o")
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "信息资源.xlsx" in line and "信息资源_副本.xlsx" in line and "--table catalog=" in line
    assert not (tmp_path / "o").exists()
    r = sc("run", inp, "--period", "2026-10", "--out", tmp_path / "o", "-q",
           "--table", f"catalog={inp / '信息资源_副本.xlsx'}")
    assert r.exit_code == 0, r.output
    assert statuses(tmp_path / "o")[("GZ165-16-1", GA, "EX0003")] == "新增"
    # a catalog export whose sheet is called Sheet1, in another folder, named with --table NAME=PATH:SHEET
    other = tmp_path / "目录导出.xlsx"
    wb = openpyxl.load_workbook(inp / "信息资源.xlsx")
    wb.active.title = "Sheet1"
    wb.create_sheet("备注").append(["导出说明"])
    wb.save(other)
    (inp / "信息资源.xlsx").unlink()
    (inp / "信息资源_副本.xlsx").unlink()
    r = sc("validate", inp, "--table", f"catalog={other}:Sheet1")
    assert r.exit_code == 0, r.output
    assert any(x.split()[:2] == ["信息资源", "catalog"] and x.split()[-1] == "6" for x in r.stdout.splitlines())
    r = sc("validate", inp, "--table", f"catalog={other}:Sheet9")
    assert r.exit_code == 2 and "Sheet9" in one_error_line(r.stderr)


def test_sheet_that_fits_no_table_is_said_plainly(ws, tmp_path):
    inp = tmp_path / "in"
    shutil.copytree(ws / "导出/2026-10", inp)
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["甲", "乙"])
    wb.active.append([1, 2])
    wb.save(inp / "杂项.xlsx")
    r = sc("validate", inp)
    assert r.exit_code == 0
    assert any(x.startswith("未识别") and "杂项.xlsx" in x and x.endswith("如需读取请用 --table 指定")
               for x in r.stdout.splitlines())
    r = sc("run", inp, "--period", "2026-10", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "未读取的工作表/文件 1 个：" in r.stdout and "杂项.xlsx「Sheet1」：未识别为任何输入表" in r.stdout


def test_missing_required_table(ws, tmp_path):
    inp = tmp_path / "in"
    shutil.copytree(ws / "导出/2026-10", inp)
    (inp / "部门名录.xlsx").unlink()
    r = sc("run", inp, "--period", "2026-10", "--out", tmp_path / "o")
    assert r.exit_code == 2
    assert "部门名录" in one_error_line(r.stderr) and not (tmp_path / "o").exists()


def test_format_writes_only_those_and_rerun_replaces_department_reports(ws, tmp_path):
    out = tmp_path / "o"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "-q", "--format", "csv", "--format", "json")
    assert r.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "findings.parquet", "manifest.json",
                                                     "scorecard.csv"]
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "-q", "--format", "dept_xlsx",
           "--format", "json")
    assert r.exit_code == 0
    # a department workbook the previous run wrote (its manifest lists it) for a department now gone ...
    stale, other_period = out / "部门报告" / f"已撤销的部门_2026-10.xlsx", out / "部门报告" / f"{GA}_2026-09.xlsx"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m["outputs"].append(f"部门报告/{stale.name}")
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    stale.write_bytes(b"old")
    # ... and the auditors' own files, one named like a department workbook of this period (issue 8 B2)
    own = out / "部门报告" / "我的汇总_2026-10.xlsx"
    own.write_bytes(b"mine")
    other_period.write_bytes(b"old")
    (out / "我的笔记.txt").write_text("x", encoding="utf-8")
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "-q", "--format", "dept_xlsx")
    assert r.exit_code == 0
    assert not stale.exists() and other_period.exists() and (out / "我的笔记.txt").exists()
    assert own.read_bytes() == b"mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sharecheck-")]


# ---------------------------------------------------------------------------------------------------- rules
def test_rules_and_explain(tmp_path):
    r = sc("rules")
    assert r.exit_code == 0
    ids = [x.split()[0] for x in r.stdout.splitlines() if x.startswith("GZ165-")]
    assert len(ids) == 31 and "GZ165-10-5" in ids and r.stdout.rstrip().endswith("查看详细说明。")
    r = sc("explain", "gz165-10-5")
    assert r.exit_code == 0
    text = r.stdout
    assert text.startswith("GZ165-10-5  ") and "条款：第十条第四款" in text and "严重程度：一般" in text
    assert "条款原文：" in text and "法律、行政法规依据或者党中央、国务院政策依据" in text
    assert "示例：" in text and "《广州市信息化促进条例》" in text
    r = sc("explain", "10-5")
    assert r.exit_code == 2 and "相近：GZ165-10-5" in one_error_line(r.stderr)


# ---------------------------------------------------------------------------------------------------- calendar
def test_year_without_calendar_stops_with_the_year(ws, tmp_path):
    inp = tmp_path / "in"
    shutil.copytree(ws / "导出/2026-10", inp)
    fill(ws / "模板", inp, {"目录变更": [["BG001", MZ, "职能变化", datetime(2026, 12, 20), None, None]]})
    db = tmp_path / "h.db"
    r = sc("run", inp, "--period", "2027-01", "--out", tmp_path / "o", "--history", db)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "2027" in line and "--calendar" in line
    assert not (tmp_path / "o").exists() and not db.exists()
    cal = tmp_path / "2027工作日历.csv"
    cal.write_text("日期,类型\n2027-01-01,节假日\n2027-02-06,调休上班\n", encoding="utf-8")
    r = sc("run", inp, "--period", "2027-01", "--out", tmp_path / "o", "--history", db, "--calendar", cal, "-q")
    assert r.exit_code == 0, r.output
    f = findings(tmp_path / "o")
    msg = f.loc[f["rule_id"] == "GZ165-08-2", "message"].tolist()
    # 2026-12-21..31: 9 working days; January 2027 without 01-01: 20 -> 29
    assert len(msg) == 1 and "已过 29 个工作日" in msg[0]


# ---------------------------------------------------------------------------------------------------- failures
def test_internal_error_exit_3_debug_log_nothing_written(ws, tmp_path, monkeypatch):
    import checker.render as render

    def broken(report, out_dir, formats=None):
        (Path(out_dir) / "审计报告_半成品.xlsx").write_bytes(b"half")
        raise RuntimeError("boom")
    monkeypatch.setattr(render, "write", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SHARECHECK_DEBUG", raising=False)
    db = tmp_path / "h.db"
    out = tmp_path / "审计结果" / "2026-10"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "--history", db, "-q")
    assert r.exit_code == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("内部错误（RuntimeError）") and "Traceback" not in r.stderr
    log = Path(lines[0].split("调试信息已写入 ", 1)[1].split("，", 1)[0])
    assert log.exists() and "RuntimeError: boom" in log.read_text(encoding="utf-8")
    assert not (tmp_path / "审计结果").exists()                       # no half-written report, no new folder
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM periods").fetchone()[0] == 0      # the record rolled back


def test_write_failure_is_one_line_exit_2(ws, tmp_path, monkeypatch):
    import checker.render as render

    def denied(report, out_dir, formats=None):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(out_dir) / "report.html"))
    monkeypatch.setattr(render, "write", denied)
    out = tmp_path / "o"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", out, "-q")
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "无法写入输出文件夹" in line and "没有写入权限" in line and "Permission" not in line
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".sharecheck-")]


def test_locked_history_waits_then_clear_error(ws, tmp_path, monkeypatch):
    import checker.history as hist
    db = tmp_path / "h.db"
    r = sc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "first", "--history", db, "-q")
    assert r.exit_code == 0
    before = md5(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(hist, "BUSY_TIMEOUT_MS", 1500)
    try:
        t0 = time.monotonic()
        r = sc("run", ws / "导出/2026-11", "--period", "2026-11", "--out", tmp_path / "o", "--history", db, "-q")
        waited = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.exit_code == 2 and waited >= 1.4
    line = one_error_line(r.stderr)
    assert f"历史库 {db} 正被另一次运行占用" in line and "已等待 1.5 秒" in line
    assert not (tmp_path / "o").exists() and md5(db) == before


# ---------------------------------------------------------------------------------------------------- processes
def test_subprocess_waits_for_the_lock_then_runs(ws, tmp_path):
    db = tmp_path / "h.db"
    r = sc_proc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "a", "--history", db, "-q")
    assert r.returncode == 0, r.stderr
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    p = subprocess.Popen(COMMAND + ["run", str(ws / "导出/2026-11"), "--period", "2026-11", "--out",
                                    str(tmp_path / "b"), "--history", str(db), "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        time.sleep(4)
        assert p.poll() is None                            # still waiting for the lock
    finally:
        holder.execute("COMMIT")
        holder.close()
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    with sqlite3.connect(db) as c:
        assert [x[0] for x in c.execute("SELECT period FROM periods ORDER BY start")] == ["2026-10", "2026-11"]


def test_ctrl_c_exit_130_nothing_written(ws, tmp_path):
    """Ctrl-C while the run waits for a locked history: exit 130 promptly, no reports, history unchanged."""
    db = tmp_path / "h.db"
    r = sc_proc("run", ws / "导出/2026-10", "--period", "2026-10", "--out", tmp_path / "a", "--history", db, "-q")
    assert r.returncode == 0, r.stderr
    before = md5(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    try:
        p = subprocess.Popen(COMMAND + ["run", str(ws / "导出/2026-11"), "--period", "2026-11", "--out",
                                        str(tmp_path / "b"), "--history", str(db)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        time.sleep(4)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)
        assert time.monotonic() - t0 < 5                   # not after the whole 30 s lock wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert p.returncode == 130, err
    assert err.strip() == "已中断。" and "Traceback" not in err
    assert not (tmp_path / "b").exists() and md5(db) == before


def test_concurrent_runs_share_one_history(ws, tmp_path):
    db = tmp_path / "h.db"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    jobs = [("2026-10", "2026-10"), ("2026-11", "2026-11"), ("2026-11", "2026-Q4")]
    procs = [subprocess.Popen(COMMAND + ["run", str(ws / "导出" / src), "--period", per, "--out",
                                         str(tmp_path / per), "--history", str(db), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for src, per in jobs]
    for p in procs:
        _o, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        got = dict(c.execute("SELECT period, findings FROM periods").fetchall())
        n = dict(c.execute("SELECT period, count(*) FROM findings GROUP BY period").fetchall())
    assert got == n == {"2026-10": 5, "2026-11": 5, "2026-Q4": 5}


def test_subprocess_error_line_and_no_output(ws, tmp_path):
    r = sc_proc("run", ws / "导出/2026-10", "--period", "2026-10", "--as-of", "2026-11-30", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "基准日 2026-11-30 不在审计期间 2026-10" in one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == []
    r = sc_proc("run", ws / "导出/2026-10", "--period", "2026-10", "--fail-on", "严重", cwd=tmp_path)
    assert r.returncode == 1 and (tmp_path / "审计结果" / "2026-10" / "审计报告_2026-10.xlsx").exists()
    assert "报告已写入：审计结果/2026-10" in r.stdout


# ---------------------------------------------------------------------------------------------------- README
SAMPLE = ROOT / "fixtures" / "sample" / "exports"


def _readme_block(after: str) -> list[str]:
    """The lines of the first ``` block following the paragraph containing ``after``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rest = text[text.index(after):]
    start = rest.index("```\n") + 4
    return [x for x in rest[start:rest.index("```", start)].splitlines() if x and not x.startswith("……")
            or x.startswith("……另有")]


@pytest.mark.skipif(not SAMPLE.exists(), reason="fixtures sample missing")
def test_readme_examples_match_what_the_tool_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = sc("validate", SAMPLE, "--limit", "3")
    assert r.exit_code == 0
    real = r.stdout.splitlines()
    for line in _readme_block("输出示例（自带样例"):
        assert line in real, line
    r = sc("run", SAMPLE, "--period", "2026-10", "--format", "csv")
    assert r.exit_code == 0
    real = r.stdout.splitlines()
    for line in _readme_block("最后打印摘要（自带样例）"):
        assert line in real or line == "报告已写入：审计结果/2026-10" and real[-1] == line, line
    w = write_waivers(tmp_path / "豁免.xlsx", WAIVERS + [["GZ165-10-33", MZ, None, "笔误", "王五", "2026-12-31"]])
    r = sc("run", SAMPLE, "--period", "2026-10", "--waivers", w.name)
    assert [one_error_line(r.stderr)] == _readme_block("哪一列，退出码 2，不写出任何报告。例如")
