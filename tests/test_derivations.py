"""Issue 9 item 1: derivations are an open registry; rule files name them; pack facts (REQ-3's reasons, the
classifier table, code lists, report titles, parameter labels) come from the pack, not from Python."""
from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from checker import pipeline, schema
from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.derivations import REGISTRY
from checker.engine.derive import Views, view_columns, views
from checker.engine.examples import example_period, example_tables
from checker.engine.resources import packs_dir
from checker.errors import PackError
from checker.levels import head_of_level

ROOT = Path(__file__).resolve().parents[1]
SRC = packs_dir() / "gz165"
CAL = Calendar.load()
CHECKER = ROOT / "checker"


@pytest.fixture()
def pack_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mypack"
    shutil.copytree(SRC, d, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return d


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_derivation_is_documented_and_adds_exactly_its_columns():
    pack = load_pack("gz165")
    tables = {}
    for r in pack.rules:             # every table the examples fill, one row each way
        for ex in r.data.get("examples") or []:
            for t, frame in example_tables(ex).items():
                tables[t] = frame if t not in tables else pd.concat([tables[t], frame], ignore_index=True)
    v = Views(tables, pack.codelists, example_period({})[0], example_period({})[1], CAL, None, pack.pack_data())
    for d in REGISTRY.values():
        assert d.summary and d.doc.count("\n") >= 1, f"{d.name}: docstring is its documentation"
        assert d.module.startswith("checker.engine.derivations."), d.name
    for view in views():
        frame = v.get(view, {"window_wd": 10} if view == "quarter_windows" else None)
        missing = [c for c in view_columns(view) if c not in frame.columns]
        assert not missing, (view, missing)


def test_a_rule_reading_a_derived_column_must_name_its_derivation(pack_dir):
    _edit(pack_dir / "GZ165-REQ-3.yaml", "derivations: [exchange_catalog, approval, exchange_success, in_period]",
          "derivations: [exchange_catalog, exchange_success, in_period]")
    with pytest.raises(PackError) as e:
        load_pack(pack_dir)
    msg = str(e.value)
    assert "GZ165-REQ-3.yaml" in msg and "approval" in msg and "审批有效" in msg and "derivations" in msg


def test_an_unknown_derivation_is_a_pack_error(pack_dir):
    _edit(pack_dir / "GZ165-08-1.yaml", "derivations: [has_catalog]", "derivations: [has_catalogue]")
    with pytest.raises(PackError, match="has_catalogue.*未知"):
        load_pack(pack_dir)


def test_the_rule_files_name_the_derivations_the_issue_lists():
    pack = load_pack("gz165")
    for rid, name in [("GZ165-08-1", "has_catalog"), ("GZ165-08-3", "level_head"), ("GZ165-10-5", "legal_basis"),
                      ("GZ165-11-2", "exchange_resources"), ("GZ165-17-1", "published_officer"),
                      ("GZ165-18-1", "catalog_freshness"), ("GZ165-19-3", "quarter_windows"),
                      ("GZ165-22-1", "identity_items"), ("GZ165-REQ-3", "approval")]:
        assert name in pack.rule(rid).derivations, rid


def _req3(pack):
    ex = pack.rule("GZ165-REQ-3").data["examples"][0]
    period, as_of = example_period(ex)
    res = evaluate(example_tables(ex), pack.subset(["GZ165-REQ-3"]), period, as_of, CAL)
    return dict(zip(res.findings["key"], res.findings["message"]))


def test_req3_reasons_come_from_the_pack(pack_dir):
    before = _req3(load_pack("gz165"))
    assert before["JH-5"].endswith("无有效审批：未填写申请编号")
    assert before["JH-4"].endswith("申请「SQ-1」的申请部门为「市公安局」，不是使用部门")
    _edit(pack_dir / "pack.yaml", "no_number: 未填写申请编号", "no_number: 交换未注明申请编号")
    _edit(pack_dir / "pack.yaml", "other_user: 申请「{申请编号}」的申请部门为「{申请部门}」，不是使用部门",
          "other_user: 申请{申请编号}由{申请部门}提出")
    after = _req3(load_pack(pack_dir))
    assert after["JH-5"].endswith("无有效审批：交换未注明申请编号")
    assert after["JH-4"].endswith("无有效审批：申请SQ-1由市公安局提出")
    assert after["JH-2"] == before["JH-2"]


def test_req3_reasons_are_checked_at_pack_load(pack_dir):
    _edit(pack_dir / "pack.yaml", "other_user: 申请「{申请编号}」", "other_user: 申请「{申请号}」")
    with pytest.raises(PackError, match="申请号"):
        load_pack(pack_dir)


def test_the_classifier_table_is_the_packs_own(pack_dir):
    text = "《广州市信息化促进条例》"
    ex = {"period": "2026-10", "tables": {"catalog": [
        {"信息资源代码": "1/1", "提供部门": "市民政局", "共享类型": "不予共享", "共享依据": text}]}}
    period, as_of = example_period(ex)
    gz = evaluate(example_tables(ex), load_pack("gz165").subset(["GZ165-10-5"]), period, as_of, CAL)
    assert list(gz.findings["key"]) == ["1/1"]
    _edit(pack_dir / "legal_basis.yaml", "sufficient_levels: [法律, 行政法规, 党中央国务院政策]",
          "sufficient_levels: [法律, 行政法规, 党中央国务院政策, 不足]")
    own = evaluate(example_tables(ex), load_pack(pack_dir).subset(["GZ165-10-5"]), period, as_of, CAL)
    assert own.findings.empty


def test_no_code_list_is_copied_into_python():
    import re
    # the columns' notes (template help texts) still name example values; the lists themselves are pack data
    src = re.sub(r'note="[^"]*"', "", (CHECKER / "schema.py").read_text(encoding="utf-8"))
    for value in ("来穗人员服务管理", "专项共享通道", "前置机直连", "法律法规修订", "营业执照注册号", "户籍登记信息", "部分同意"):
        assert value not in src, value


def test_the_loader_follows_the_packs_code_lists(pack_dir):
    from checker.load.coerce import parse_sharetype
    _edit(pack_dir / "codelists.yaml", '"3": 不予共享,', '"3": 不予共享, 条件共享: 有条件共享,')
    before = schema.use_codelists(load_pack(pack_dir).codelists)
    try:
        assert list(parse_sharetype(pd.Series(["条件共享", "1"], dtype=object))) == ["有条件共享", "无条件共享"]
    finally:
        schema.restore_codelists(before)
    assert list(parse_sharetype(pd.Series(["条件共享"], dtype=object))) == ["条件共享"]


def test_a_pack_without_a_loader_code_list_is_refused():
    cl = dict(load_pack("gz165").codelists)
    del cl["层级"]
    before = schema.use_codelists(None)
    try:
        with pytest.raises(PackError, match="层级"):
            schema.use_codelists(cl)
    finally:
        schema.restore_codelists(before)


def test_report_titles_and_parameter_labels_come_from_the_pack(pack_dir, tmp_path):
    _edit(pack_dir / "pack.yaml", "report_title: 广州市政务信息共享合规审计报告", "report_title: 海珠区政务信息共享审计报告")
    _edit(pack_dir / "pack.yaml", "regulation: 广州市政务信息共享管理规定", "regulation: 某区规定")
    _edit(pack_dir / "GZ165-08-2.yaml", "limit_wd: {label: 期限,", "limit_wd: {label: 报送期限,")
    out = tmp_path / "out"
    pipeline.run([ROOT / "fixtures" / "sample" / "exports"], "2026-10", pack=str(pack_dir), out=out,
                 formats=["xlsx", "html"])
    ws = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx", read_only=True)["说明"]
    cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert cells[0] == "海珠区政务信息共享审计报告（2026-10）"
    assert any(c.startswith("某区规定") for c in cells)
    assert "报送期限（工作日）（limit_wd）" in cells and "期限（工作日）（limit_wd）" in cells
    assert not any("广州市政务信息共享合规审计报告" in c for c in cells)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<title>海珠区政务信息共享审计报告（2026-10）</title>" in html


def test_one_head_of_level_for_engine_and_loader():
    d = pd.DataFrame({"部门名称": ["市A", "海珠B", "海珠C", "天河D", "市E"], "层级": ["市级", "区级", "区级", "区级", "市级"],
                      "所属区": [None, "海珠区", "海珠区", "天河区", None], "是否主管部门": [True, True, True, False, True]})
    assert head_of_level(d).to_dict() == {"市级": "市A", "区级/海珠区": "海珠B"}
    from checker.load.references import _second_heads
    from checker.model import META_FILE, META_ROW, META_SHEET
    d2 = d.assign(**{META_FILE: "f.xlsx", META_SHEET: "部门名录", META_ROW: range(2, 7)})
    defects = pd.concat(_second_heads(d2))
    assert sorted(defects["row"]) == [4, 6]
