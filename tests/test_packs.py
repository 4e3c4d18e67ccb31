"""Issue 9 items 2–3: packs that extend packs (extends, overrides, drop, based_on, scope, dimensions), the
commands `packs`, `packs diff`, `pack new`, `--pack PATH`, and the hz-draft pack on exports with 海珠区 departments."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from checker import pipeline
from checker.cli import main
from checker.engine import load_pack
from checker.errors import PackError, UsageError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample" / "exports"
KEY = ["rule_id", "severity", "department", "key", "message"]


class _Result:
    def __init__(self, code: int, output: str):
        self.exit_code, self.output = code, output


def _cli(*args) -> _Result:
    """The console entry point (errors as one Chinese line, exit codes), its stdout and stderr together."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return _Result(code, out.getvalue() + err.getvalue())


def _findings(pack=None, params=None, inputs=SAMPLE):
    kw = {"pack": str(pack)} if pack else {}
    o = pipeline.run([inputs], "2026-10", params=params, write=False, **kw)
    return o


def _frame(o) -> pd.DataFrame:
    f = o.report.result.findings[KEY].astype(str)
    return f.sort_values(KEY).reset_index(drop=True)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gz165_sample() -> pd.DataFrame:
    """gz165's findings on the sample month (computed once for the tests that compare with it)."""
    return _frame(_findings())


@pytest.fixture()
def mine(tmp_path: Path) -> Path:
    d = tmp_path / "我的包"
    r = _cli("pack", "new", d, "--extends", "gz165")
    assert r.exit_code == 0, r.output
    assert "已新建规则包" in r.output and "31 条规则" in r.output
    return d


def test_a_new_pack_runs_as_it_is_and_equals_its_parent(mine, gz165_sample):
    assert _frame(_findings(mine)).equals(gz165_sample)
    p = load_pack(mine)
    assert [c["pack"] for c in p.chain] == ["我的包", "gz165"]
    assert len(p.rules) == 31


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## 八、"):text.index("## Developers")]
    return [b.split("\n", 1)[1] for b in section.split("```")[1::2] if b.startswith("yaml")]


def test_the_readme_example_pack_works_as_written(tmp_path):
    """README 八: an auditor's own pack changes one deadline, drops a rule and adds one, without touching gz165."""
    manifest, rule = _readme_blocks()
    d = tmp_path / "我的规则包"
    assert _cli("pack", "new", d, "--extends", "gz165").exit_code == 0
    _write(d / "pack.yaml", manifest)
    _write(d / "MY-17-2.yaml", rule)
    r = _cli("rules", "--pack", d)
    assert r.exit_code == 0, r.output
    assert "共 31 条规则" in r.output and "MY-17-2" in r.output and "GZ165-REQ-4" not in r.output
    p = load_pack(d)
    assert p.rule("GZ165-08-2").params["limit_wd"] == 10 and p.rule("MY-17-2").params["limit_wd"] == 3
    assert [c["pack"] for c in p.chain] == ["我的规则包", "gz165"]
    out = tmp_path / "out"
    r = _cli("run", SAMPLE, "--period", "2026-10", "--pack", d, "--out", out, "--format", "json")
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["pack_chain"][0]["pack"] == "我的规则包" and "MY-17-2" in m["rules_run"]
    assert load_pack("gz165").rule("GZ165-08-2").params["limit_wd"] == 15


def test_pack_new_refuses_an_existing_pack(mine):
    r = _cli("pack", "new", mine)
    assert r.exit_code != 0 and "已存在" in r.output


def test_own_pack_changes_one_parameter_and_drops_one_rule(mine, tmp_path, gz165_sample):
    text = (mine / "pack.yaml").read_text(encoding="utf-8")
    text = text.replace("overrides: {}", "overrides:\n  GZ165-08-2: {params: {limit_wd: 20}}")
    text = text.replace("drop: []", "drop: [GZ165-REQ-4]")
    _write(mine / "pack.yaml", text)
    params = _write(tmp_path / "p.yaml", "GZ165-08-2: {limit_wd: 20}\n")
    own = _frame(_findings(mine))
    base = _frame(_findings(params=params))
    assert (base["rule_id"] == "GZ165-REQ-4").any() and not (own["rule_id"] == "GZ165-REQ-4").any()
    assert own.equals(base[base["rule_id"] != "GZ165-REQ-4"].reset_index(drop=True))
    assert not gz165_sample.equals(base)       # the parameter did change something
    p = load_pack(mine)
    assert "GZ165-REQ-4" not in [r.id for r in p.rules] and p.rule("GZ165-08-2").params["limit_wd"] == 20
    assert p.differences == [{"rule_id": "GZ165-08-2", "what": "参数", "name": "limit_wd", "old": 15, "new": 20}]
    # the installed pack is untouched
    assert load_pack("gz165").rule("GZ165-08-2").params["limit_wd"] == 15
    r = _cli("packs", "diff", "gz165", mine)
    assert r.exit_code == 0, r.output
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln.startswith("GZ165-")}
    assert "覆盖" in lines["GZ165-08-2"] and "limit_wd：15 → 20" in lines["GZ165-08-2"]
    assert "删除" in lines["GZ165-REQ-4"] and "继承" in lines["GZ165-10-1"]
    assert "继承 29 条，覆盖 1 条，新增 0 条，删除 1 条" in r.output


def test_own_rule_based_on_an_installed_rule(mine, tmp_path):
    _write(mine / "MY-08-2.yaml", """id: MY-08-2
based_on: GZ165-08-2
article: 本单位规定第三条
article_text: 目录变化后 5 个工作日内报送。
title: 目录更新报送超过5个工作日
explanation: 同 GZ165-08-2，期限为 5 个工作日。
severity: 提示
dimension: 目录管理
params: {limit_wd: 5}
examples:
  - name: 第6个工作日报送记问题
    period: 2026-10
    tables:
      catalog_changes:
        - {变更编号: BG-1, 部门: 市民政局, 变更原因: 其他, 变化发生日期: 2026-10-12, 报送日期: 2026-10-19}
        - {变更编号: BG-2, 部门: 市民政局, 变更原因: 其他, 变化发生日期: 2026-10-12, 报送日期: 2026-10-20}
    findings: [BG-2]
    checked: {市民政局: 2}
""")
    text = (mine / "pack.yaml").read_text(encoding="utf-8")
    _write(mine / "pack.yaml", text.replace("rules: []", "rules: [MY-08-2]\ndimensions: {目录管理: {add: [MY-08-2]}}"))
    p = load_pack(mine)
    r = p.rule("MY-08-2")
    assert r.params["limit_wd"] == 5 and r.severity == "提示" and r.checks[0].deadline is not None
    assert p.param_labels()["MY-08-2"]["limit_wd"] == "期限（工作日）"      # the base's label, unit, description
    dims = {d["name"]: d["rules"] for d in p.manifest["dimensions"]}
    assert dims["目录管理"][-1] == "MY-08-2"
    f = _findings(mine).report.result.findings
    mine_f = f[f["rule_id"] == "MY-08-2"]
    base_f = f[f["rule_id"] == "GZ165-08-2"]
    assert len(mine_f) >= len(base_f) > 0 and set(mine_f["severity"]) == {"提示"}
    out = _cli("explain", "MY-08-2", "--pack", mine).output
    assert "本单位规定第三条" in out and "limit_wd = 5工作日" in out
    assert "沿用 GZ165-08-2" in _cli("packs", "diff", "gz165", mine).output


@pytest.mark.parametrize("edit,fragment", [
    ("overrides:\n  GZ165-99-9: {severity: 提示}", "GZ165-99-9"),
    ("overrides:\n  GZ165-08-2: {params: {limit_wd: 十五}}", "limit_wd"),
    ("overrides:\n  GZ165-08-2: {params: {limit: 3}}", "没有参数「limit」"),
    ("overrides:\n  GZ165-08-2: {severity: 很严重}", "很严重"),
    ("overrides:\n  GZ165-16-3: {department: 采集部门}", "没有列「采集部门」"),
    ("overrides:\n  GZ165-08-2: {weight: 3}", "只能包含"),
])
def test_bad_overrides_are_pack_errors_naming_the_manifest(mine, edit, fragment):
    text = (mine / "pack.yaml").read_text(encoding="utf-8")
    _write(mine / "pack.yaml", text.replace("overrides: {}", edit))
    with pytest.raises(PackError) as e:
        load_pack(mine)
    assert fragment in str(e.value) and "pack.yaml" in str(e.value)


def test_drop_of_an_unknown_rule_and_extends_cycles_are_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _write(a / "pack.yaml", "pack: a\nversion: '1'\ntitle: A\nextends: ../b\n")
    _write(b / "pack.yaml", "pack: b\nversion: '1'\ntitle: B\nextends: ../a\n")
    with pytest.raises(PackError, match="循环"):
        load_pack(a)
    _write(b / "pack.yaml", "pack: b\nversion: '1'\ntitle: B\nextends: gz165\ndrop: [GZ165-XX]\n")
    with pytest.raises(PackError, match="GZ165-XX"):
        load_pack(b)
    r = _cli("rules", "--pack", tmp_path / "nowhere")
    assert r.exit_code != 0


def test_a_policy_on_a_dropped_rule_goes_with_it(mine):
    text = (mine / "pack.yaml").read_text(encoding="utf-8")
    _write(mine / "pack.yaml", text.replace("drop: []", "drop: [GZ165-08-1]"))
    p = load_pack(mine)
    assert "P-08-1" not in [x["id"] for x in p.manifest["policies"]]
    assert all("GZ165-08-1" not in d["rules"] for d in p.manifest["dimensions"])
    assert len(_findings(mine).report.scorecard) > 0


def test_scope_exclude_leaves_records_out_and_counts_them(mine, gz165_sample):
    text = (mine / "pack.yaml").read_text(encoding="utf-8")
    _write(mine / "pack.yaml", text + "scope:\n  exclude: {catalog: 是否涉密, exchanges: 是否涉密}\n")
    o = _findings(mine)
    oos = o.report.result.out_of_scope
    assert oos["excluded"].get("catalog", 0) > 0
    assert not (o.report.result.findings["rule_id"] == "GZ165-20-2").any()
    assert (gz165_sample["rule_id"] == "GZ165-20-2").any()


def test_packs_lists_installed_packs():
    r = _cli("packs")
    assert r.exit_code == 0, r.output
    rows = {ln.split()[0]: ln for ln in r.output.splitlines()[2:] if ln and not ln.startswith("用 ")}
    assert "2026.11.2" in rows["gz165"] and rows["gz165"].rstrip().endswith("31")
    assert "征求意见稿" in rows["hz-draft"] and " gz165 " in rows["hz-draft"] and rows["hz-draft"].rstrip().endswith("34")


def test_packs_diff_gz165_hz_draft():
    r = _cli("packs", "diff", "gz165", "hz-draft")
    assert r.exit_code == 0, r.output
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln[:3] in ("GZ1", "HZ-")}
    for rid in ("GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3"):
        assert "覆盖" in lines[rid] and "归属部门：提供部门 → 归属采集部门" in lines[rid]
    for rid in ("HZ-04-1", "HZ-06-1", "HZ-06-2"):
        assert "新增" in lines[rid]
    assert "第四条第二款" in lines["HZ-04-1"]
    assert "继承 27 条，覆盖 4 条，新增 3 条，删除 0 条" in r.output


# ---- hz-draft on exports with 海珠区 departments --------------------------------------------------------------
@pytest.fixture(scope="module")
def haizhu(tmp_path_factory) -> Path:
    """The sample month with the 南沙区 departments moved to 海珠区 (所属区 only; their names stay)."""
    d = tmp_path_factory.mktemp("hz") / "exports"
    shutil.copytree(SAMPLE, d)
    wb = openpyxl.load_workbook(d / "部门名录.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value == "南沙区":
                    c.value = "海珠区"
    wb.save(d / "部门名录.xlsx")
    return d


def test_hz_draft_scores_only_haizhu_departments_and_keeps_gz165_findings_for_them(haizhu, tmp_path):
    gz = _findings(inputs=haizhu)
    hz = _findings("hz-draft", inputs=haizhu)
    deps = gz.report.load.tables["departments"]
    inside = set(deps.loc[(deps["层级"] == "区级") & (deps["所属区"] == "海珠区"), "部门名称"])
    assert len(inside) >= 2
    assert set(hz.report.scorecard["department"]) == inside
    assert set(hz.report.result.findings["department"]) <= inside
    assert set(hz.report.result.checked["department"]) <= inside
    changed = {"GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3"}
    g, h = _frame(gz), _frame(hz)
    g = g[g["department"].isin(inside) & ~g["rule_id"].isin(changed)].reset_index(drop=True)
    h = h[h["rule_id"].str.startswith("GZ165-") & ~h["rule_id"].isin(changed)].reset_index(drop=True)
    assert len(g) > 0 and h.equals(g)
    gc = gz.report.result.checked
    hc = hz.report.result.checked
    keep = lambda c: c[c["department"].isin(inside) & c["rule_id"].str.startswith("GZ165-")  # noqa: E731
                       & ~c["rule_id"].isin(changed)].sort_values(["rule_id", "department"]).reset_index(drop=True)
    assert keep(hc).equals(keep(gc))
    oos = hz.report.result.out_of_scope
    assert oos["departments_in_scope"] == len(inside) and oos["findings"] > 0 and oos["checked_units"] > 0


def test_hz_draft_reports_print_the_chain_status_differences_and_scope(haizhu, tmp_path):
    out = tmp_path / "out"
    pipeline.run([haizhu], "2026-10", pack="hz-draft", out=out, formats=["xlsx", "html", "json"])
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["pack_chain"] == [{"pack": "hz-draft", "status": "征求意见稿", "version": "2026.12.1"},
                               {"pack": "gz165", "status": None, "version": "2026.11.2"}]
    assert {d["rule_id"] for d in m["pack_differences"]} == {"GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3"}
    assert m["out_of_scope"]["departments_condition"] == "层级 == '区级' and 所属区 == '海珠区'"
    ws = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx", read_only=True)["说明"]
    rows = {r[0]: (r[1] if len(r) > 1 else None) for r in ws.iter_rows(values_only=True) if r and r[0]}
    assert rows["规则包链"] == "hz-draft 2026.12.1（征求意见稿） → gz165 2026.11.2"
    assert "GZ165-18-1 归属部门：提供部门 → 采集部门" in rows["与上级规则包不同"]
    assert "范围外的问题" in rows["适用范围"]
    assert str(next(iter(rows))).startswith("海珠区政务信息资源共享合规审计报告")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "规则包链：hz-draft 2026.12.1（征求意见稿） → gz165 2026.11.2" in html


def test_history_refuses_to_compare_periods_across_packs(tmp_path):
    db = tmp_path / "h.db"
    pipeline.run([SAMPLE], "2026-09", history=db, write=False)
    with pytest.raises(UsageError) as e:
        pipeline.run([SAMPLE], "2026-10", pack="hz-draft", history=db, write=False)
    assert "gz165" in str(e.value) and "hz-draft" in str(e.value) and "单独的历史库" in str(e.value)


def test_installed_packs_read_alike_with_libyaml_and_pure_yaml():
    """The installed packs are parsed by libyaml where PyYAML has it (issue 10); it must read every file as the
    pure loader does, and a file libyaml refuses is worded by the pure loader as before."""
    import yaml
    from checker.engine import pack as packmod
    if packmod._C_SAFE_LOADER is None:
        pytest.skip("PyYAML was built without libyaml here: the pure loader reads the packs")
    root = Path(packmod.__file__).resolve().parents[2] / "rules"
    files = sorted(root.rglob("*.yaml")) + sorted(root.rglob("*.yml"))
    assert len(files) > 30
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert packmod._safe_load(text) == yaml.safe_load(text), f
    bad = "rule_id: GZ165-1\ntitle: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(bad)
    with pytest.raises(yaml.YAMLError) as ours:
        packmod._safe_load(bad)
    assert str(ours.value) == str(pure.value)
