"""The ``sharecheck`` command: usage errors in Chinese, exit codes, and (once every stage exists) the full run
on the committed fixtures sample, rules/explain/validate/template, byte-identical reruns."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from checker import __version__
from checker import cli as cli_mod
from checker.cli import format_table, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample" / "exports"
PACK_RULES = [r for d in yaml.safe_load((ROOT / "rules/gz165/pack.yaml").read_text(encoding="utf-8"))["dimensions"]
              for r in d["rules"]]


def run_main(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.strip() == f"sharecheck {__version__}"


def test_help_is_chinese(capsys):
    code, out, _ = run_main(capsys, "run", "--help")
    assert code == 0 and "审计期间" in out and "--fail-on" in out and "--table" in out
    code, out, _ = run_main(capsys)
    assert code == 0 and "run" in out and "template" in out and "显示帮助" in out


@pytest.mark.parametrize("args, fragment", [
    (["run", "x"], "缺少选项 --period"),
    (["run", "x", "--period", "2026-13"], "审计期间「2026-13」格式不对"),
    (["run", "x", "--period", "2026-10", "--as-of", "2026-11-01"], "不在审计期间 2026-10"),
    (["run", "x", "--period", "2026-10", "--as-of", "2026-09-30"], "不在审计期间 2026-10"),
    (["run", "x", "--period", "2026-Q4", "--as-of", "昨天"], "基准日「昨天」格式不对"),
    (["run", "x", "--period", "2026-10", "--fail-on", "提示"], "--fail-on 的值不对：应为 严重 或 一般"),
    (["run", "x", "--period", "2026-10", "--table", "foo=bar.csv"], "--table 的表名「foo」不存在"),
    (["run", "x", "--period", "2026-10", "--table", "nonsense"], "--table「nonsense」格式不对"),
    (["run", "--bogus"], "没有选项 --bogus"),
    (["frobnicate"], "没有这个命令"),
    (["validate", "--limit", "-1", "x"], "--limit 的值不对"),
])
def test_usage_errors_one_chinese_line_exit_2(capsys, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and fragment in lines[0], err
    assert not (tmp_path / "审计结果").exists()


def test_out_is_a_file(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    code, _, err = run_main(capsys, "run", tmp_path, "--period", "2026-10", "--out", tmp_path / "f")
    assert code == 2 and "不是文件夹" in err


def test_table_override_parsing(tmp_path):
    from checker.pipeline import parse_table_override
    assert parse_table_override("exchanges=e.csv") == ("exchanges", "e.csv", None)
    assert parse_table_override("catalog=目录.xlsx:信息资源") == ("catalog", "目录.xlsx", "信息资源")
    assert parse_table_override("交换日志=e.parquet") == ("exchanges", "e.parquet", None)
    odd = tmp_path / "a:b.csv"
    odd.write_text("x")
    assert parse_table_override(f"updates={odd}") == ("updates", str(odd), None)


def test_format_table_aligns_wide_characters():
    t = format_table(["规则编号", "n"], [["GZ165-10-1", 3], ["甲乙", None]]).splitlines()
    from checker.cli import _width
    assert _width(t[0][: t[0].index("n")]) == _width(t[2][: t[2].index("3")]) == len("GZ165-10-1") + 2
    assert t[3].rstrip() == "甲乙"


def test_template_command(tmp_path):
    r = CliRunner().invoke(cli_mod.cli, ["template", "--out", str(tmp_path / "t")])
    assert r.exit_code == 0 and "已生成 11 个模板" in r.output
    assert (tmp_path / "t" / "交换日志.xlsx").exists()


def test_subprocess_entry_point_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "checker.cli", "run", str(tmp_path), "--period", "2026-99"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT, env=dict(os.environ, CI="1"))
    assert r.returncode == 2 and r.stderr.startswith("错误：") and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------------------------- real stages
def test_rules_lists_every_rule(capsys):
    code, out, err = run_main(capsys, "rules")
    assert code == 0, err
    for rid in PACK_RULES:
        assert rid in out
    assert "严重" in out and "15" in out         # a parameter value (08-2 deadline) is shown


def test_explain(capsys):
    code, out, err = run_main(capsys, "explain", "gz165-08-2")
    assert code == 0, err
    assert "GZ165-08-2" in out and "条款原文" in out and "15" in out
    code, _, err = run_main(capsys, "explain", "GZ165-99-9")
    assert code == 2 and err.startswith("错误：规则「GZ165-99-9」不存在")


def test_validate_sample(capsys):
    code, out, err = run_main(capsys, "validate", SAMPLE, "--limit", "3")
    assert code == 0, err
    assert "部门名录" in out and "信息资源" in out and "输入问题：" in out


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """One plain run of the committed sample (shared by the tests below)."""
    out = tmp_path_factory.mktemp("sample") / "out"
    code = main(["run", str(SAMPLE), "--period", "2026-10", "--out", str(out)])
    assert code == 0
    return out


def test_full_run_on_sample(capsys, sample_run, tmp_path):
    out1, out2 = sample_run, tmp_path / "b"
    for name in ("审计报告_2026-10.xlsx", "report.html", "findings.csv", "scorecard.csv", "manifest.json"):
        assert (out1 / name).exists(), name
    assert any((out1 / "部门报告").glob("*_2026-10.xlsx"))
    f = pd.read_csv(out1 / "findings.csv", encoding="utf-8-sig", dtype=str)
    assert len(f) > 0 and set(f["status"]) == {"新增"}
    counted = f[f["severity"].isin(["严重", "一般"])]
    # the same run again, in a pipe (no TTY, no CI variable) and with --fail-on, which changes only the exit
    # status: byte-identical outputs, no progress bar, the summary on stdout
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    r = subprocess.run([sys.executable, "-m", "checker.cli", "run", str(SAMPLE), "--period", "2026-10", "--out",
                        str(out2), "--fail-on", "一般"], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert r.returncode == (1 if len(counted) else 0), r.stderr
    assert "部门" in r.stdout and "报告已写入" in r.stdout and "得分最低的部门" in r.stdout
    assert "%" not in r.stderr and "[" not in r.stderr and "Traceback" not in r.stderr
    if len(counted):
        assert r.stderr.strip().splitlines() == ["存在「一般」或更严重的未豁免问题（--fail-on 一般），退出码 1"]
    assert _digest(out1) == _digest(out2)


def test_sample_with_waivers_and_history(capsys, sample_run, tmp_path):
    first = pd.read_csv(sample_run / "findings.csv", encoding="utf-8-sig", dtype=str)
    one = first.iloc[0]
    w = tmp_path / "豁免.csv"
    w.write_text("规则编号,部门,记录,理由,批准人,有效期至\n"
                 f"{one['rule_id']},{one['department']},{one['key']},测试豁免,张三,2026-12-31\n"
                 "GZ165-10-1,不存在的部门,,测试,李四,2026-12-31\n", encoding="utf-8-sig")
    db = tmp_path / "历史.db"
    out = _run_sample(capsys, tmp_path / "w", "--waivers", w, "--history", db)
    f = pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str)
    assert (f["status"] == "已豁免").sum() == ((first["rule_id"] == one["rule_id"])
                                              & (first["department"] == one["department"])
                                              & (first["key"] == one["key"])).sum()
    assert set(f["status"]) == {"新增", "已豁免"}
    assert len(f) == len(first)
    out = _run_sample(capsys, tmp_path / "again", "--history", db, period="2026-11")
    f2 = pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str)
    assert set(f2["status"]) <= {"新增", "持续"}
    # catalog findings are checked every period, so they persist into November
    assert (f2.loc[f2["rule_id"] == "GZ165-10-1", "status"] == "持续").all()


def _run_sample(capsys, out, *extra, period="2026-10"):
    """The real pipeline, writing only the CSV outputs (the full set is covered by test_full_run_on_sample)."""
    from checker.pipeline import run
    opts = dict(zip([e.lstrip("-") for e in extra[0::2]], extra[1::2]))
    run([SAMPLE], period, out=out, formats=["csv"], **opts)
    return out


def test_sample_findings_match_the_oracle(sample_run):
    """The whole pipeline on the committed sample gives exactly the generator's expected findings."""
    got = pd.read_csv(sample_run / "findings.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    want = pd.read_csv(SAMPLE.parent / "expected" / "findings.csv", encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)
    cols = ["rule_id", "severity", "department", "key"]
    g = set(map(tuple, got[cols].values.tolist()))
    w = set(map(tuple, want[cols].values.tolist()))
    assert sorted(g - w)[:10] == [] and sorted(w - g)[:10] == []


def test_progress_only_on_a_terminal_outside_ci(monkeypatch):
    from checker.cli import _interactive
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert _interactive() is True
    monkeypatch.setenv("CI", "true")
    assert _interactive() is False
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert _interactive() is False



def test_format_option_writes_only_those_reports(capsys, tmp_path):
    out = tmp_path / "out"
    code, _out, err = run_main(capsys, "run", SAMPLE, "--period", "2026-10", "--out", out, "-q",
                               "--format", "csv", "--format", "json")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "findings.parquet", "manifest.json",
                                                     "scorecard.csv"]
    code, _out, err = run_main(capsys, "run", SAMPLE, "--period", "2026-10", "--out", tmp_path / "o2",
                               "--format", "pdf")
    assert code == 2 and err.startswith("错误：--format") and "Traceback" not in err
