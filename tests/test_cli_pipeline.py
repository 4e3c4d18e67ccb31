"""The run pipeline with stand-in stages (load/engine/score/render): order, statuses, waivers, history,
fail-on, and that nothing is written when input is bad. The real stages are exercised in test_cli.py."""
from __future__ import annotations

import sqlite3
import sys
import types
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

import checker
import checker.load.readers  # noqa: F401  (waivers and the calendar file read through it; the stand-in
#                              checker.load below must not hide it when this file runs alone)
from checker import cli as cli_mod
from checker.errors import InputError
from checker.model import (CHECKED_COLUMNS, FINDING_COLUMNS, NOT_CHECKED_COLUMNS, PENDING_COLUMNS, RULE_INFO_COLUMNS,
                           SKIPPED_COLUMNS, EvalResult, LoadResult, empty_frame)

CALLS: list = []


def _findings(period):
    rows = [("GZ165-10-1", "严重", "市公安局", None, "catalog", "c.xlsx", "信息资源", 5, "101001001/000001", "共享类型缺失"),
            ("GZ165-17-1", "一般", "市民政局", None, "departments", "d.xlsx", "部门名录", 3, "市民政局", "无责任人")]
    if period.label == "2026-11":
        rows = rows[:1] + [("GZ165-16-2", "一般", "市民政局", None, "catalog", "c.xlsx", "信息资源", 6,
                            "101001001/000002", "共享方式")]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


class FakePack:
    manifest = {"pack": "gz165", "version": "t", "title": "测试包"}

    def rule_info(self):
        return pd.DataFrame([(r, "10", "原文", "名称", "说明", "严重", "目录管理", ["catalog"])
                             for r in ("GZ165-10-1", "GZ165-16-2", "GZ165-17-1")], columns=RULE_INFO_COLUMNS)

    def params_used(self):
        return {"GZ165-10-1": {}}


def fake_modules(monkeypatch, bad_input=False):
    CALLS.clear()
    load = types.ModuleType("checker.load")

    def load_inputs(paths, overrides):
        CALLS.append("load")
        if bad_input:
            raise InputError("缺少必填列「共享类型」", file="c.xlsx", sheet="信息资源", column="共享类型")
        return LoadResult(tables={"departments": pd.DataFrame({"部门名称": ["市公安局", "市民政局"]}),
                                  "catalog": pd.DataFrame({"信息资源代码": ["101001001/000001"]})}, inputs=[],
                          defects=empty_frame(["table", "file", "sheet", "row", "column", "value", "problem"]))
    load.load_inputs = load_inputs
    engine = types.ModuleType("checker.engine")
    engine.load_pack = lambda name, params=None: (CALLS.append("pack"), FakePack())[1]

    def evaluate(tables, pack, period, as_of, calendar, defects=None, parts=None):
        CALLS.append(("evaluate", period.label, as_of))
        return EvalResult(_findings(period), empty_frame(CHECKED_COLUMNS), empty_frame(PENDING_COLUMNS),
                          empty_frame(NOT_CHECKED_COLUMNS), empty_frame(SKIPPED_COLUMNS), {})
    engine.evaluate = evaluate
    score = types.ModuleType("checker.score")

    def fake_score(findings, checked, not_checked, pack, departments, rules=None):
        CALLS.append(("score", tuple(findings["status"])))
        counted = findings[findings["status"] != "已豁免"].groupby("department").size()
        d = ["市公安局", "市民政局"]
        s = [100.0 - 10 * int(counted.get(x, 0)) for x in d]
        return pd.DataFrame({"department": d, "score": s, "grade": ["优秀"] * 2, "rank": [1, 2]})
    score.score = fake_score
    render = types.ModuleType("checker.render")

    def write(report, out_dir, formats=None):
        CALLS.append("render")
        p = out_dir / "findings.csv"
        report.result.findings.to_csv(p, index=False)
        return [p]
    render.write = write
    for name, mod in (("load", load), ("engine", engine), ("score", score), ("render", render)):
        monkeypatch.setitem(sys.modules, f"checker.{name}", mod)
        monkeypatch.setattr(checker, name, mod, raising=False)


def invoke(*args):
    return CliRunner().invoke(cli_mod.cli, [str(a) for a in args])


def test_run_without_history_all_new(monkeypatch, tmp_path):
    fake_modules(monkeypatch)
    (tmp_path / "in").mkdir()
    r = invoke("run", tmp_path / "in", "--period", "2026-10", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    f = pd.read_csv(tmp_path / "out" / "findings.csv")
    assert list(f["status"]) == ["新增", "新增"]
    assert ("evaluate", "2026-10", date(2026, 10, 31)) in CALLS
    assert CALLS.index("load") < CALLS.index("render")
    assert "严重 1，一般 1，提示 0" in r.output and "市民政局" in r.output and str(tmp_path / "out") in r.output


def test_waivers_then_history_across_two_months(monkeypatch, tmp_path):
    fake_modules(monkeypatch)
    (tmp_path / "in").mkdir()
    w = tmp_path / "w.csv"
    w.write_text("规则编号,部门,记录,理由,批准人,有效期至\nGZ165-17-1,市民政局,,新设,张三,2026-10-31\n", encoding="utf-8")
    db = tmp_path / "h.db"
    r = invoke("run", tmp_path / "in", "--period", "2026-10", "--out", tmp_path / "o1", "--waivers", w,
               "--history", db, "--fail-on", "一般")
    assert r.exit_code == 1, r.output                     # the 严重 10-1 finding is counted
    f = pd.read_csv(tmp_path / "o1" / "findings.csv")
    assert list(f["status"]) == ["新增", "已豁免"] and list(f["waiver_id"].fillna("")) == ["", "W001"]
    assert ("score", ("新增", "已豁免")) in CALLS
    r = invoke("run", tmp_path / "in", "--period", "2026-11", "--out", tmp_path / "o2", "--waivers", w,
               "--history", db)
    assert r.exit_code == 0, r.output
    f = pd.read_csv(tmp_path / "o2" / "findings.csv")
    assert list(f["status"]) == ["持续", "新增"] and list(f["since"]) == ["2026-10", "2026-11"]
    assert "与 2026-10 相比：新增 1，持续 1，已整改 1" in r.output    # 17-1 of 市民政局 is gone
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM periods").fetchone()[0] == 2


def test_fail_on_ignores_waived(monkeypatch, tmp_path):
    fake_modules(monkeypatch)
    (tmp_path / "in").mkdir()
    w = tmp_path / "w.csv"
    w.write_text("规则编号,部门,记录,理由,批准人,有效期至\nGZ165-10-1,市公安局,,整改中,张三,2026-12-31\n", encoding="utf-8")
    r = invoke("run", tmp_path / "in", "--period", "2026-10", "--out", tmp_path / "o", "--waivers", w,
               "--fail-on", "严重")
    assert r.exit_code == 0, r.output
    r = invoke("run", tmp_path / "in", "--period", "2026-10", "--out", tmp_path / "o", "--fail-on", "严重")
    assert r.exit_code == 1


def test_bad_input_writes_nothing(monkeypatch, tmp_path):
    fake_modules(monkeypatch, bad_input=True)
    (tmp_path / "in").mkdir()
    code = cli_mod.main(["run", str(tmp_path / "in"), "--period", "2026-10", "--out", str(tmp_path / "o"),
                         "--history", str(tmp_path / "h.db")])
    assert code == 2
    assert not (tmp_path / "o").exists() and not (tmp_path / "h.db").exists()
    assert "render" not in CALLS


def test_bad_waivers_stop_before_loading(monkeypatch, tmp_path, capsys):
    fake_modules(monkeypatch)
    (tmp_path / "in").mkdir()
    w = tmp_path / "w.csv"
    w.write_text("规则编号,部门,记录,理由,批准人,有效期至\nGZ165-99-1,市公安局,,x,张三,2026-12-31\n", encoding="utf-8")
    code = cli_mod.main(["run", str(tmp_path / "in"), "--period", "2026-10", "--out", str(tmp_path / "o"),
                         "--waivers", str(w)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("错误：") and "第 2 行" in err and "GZ165-99-1" in err
    assert "load" not in CALLS and not (tmp_path / "o").exists()


def test_missing_input_path(monkeypatch, tmp_path, capsys):
    fake_modules(monkeypatch)
    code = cli_mod.main(["run", str(tmp_path / "nope"), "--period", "2026-10", "--out", str(tmp_path / "o")])
    assert code == 2 and "不存在" in capsys.readouterr().err


def test_internal_error_exit_3_with_debug_log(monkeypatch, tmp_path, capsys):
    fake_modules(monkeypatch)
    (tmp_path / "in").mkdir()
    monkeypatch.setattr(sys.modules["checker.score"], "score", lambda *a, **k: 1 / 0)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SHARECHECK_DEBUG", raising=False)
    code = cli_mod.main(["run", str(tmp_path / "in"), "--period", "2026-10", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("内部错误（ZeroDivisionError）") and "Traceback" not in err
    assert not list(tmp_path.glob("sharecheck-debug-*.log"))          # never in the shared temp folder
    folder = tmp_path / "cache" / "sharecheck"
    logs = list(folder.glob("sharecheck-debug-*.log"))
    assert len(logs) == 1 and "ZeroDivisionError" in logs[0].read_text(encoding="utf-8")
    assert str(logs[0]) in err
    # issue 8 B7: only this user can read the log (it holds the full command line)
    assert logs[0].stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("SHARECHECK_DEBUG", "1")
    code = cli_mod.main(["run", str(tmp_path / "in"), "--period", "2026-10", "--out", str(tmp_path / "o")])
    assert code == 3 and "Traceback" in capsys.readouterr().err
