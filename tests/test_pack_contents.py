"""Issue 9 item 4: the packs gd-trial and hz-draft hold every rule of packs.md §2.3 / §3.4, quote their articles
from the sources exactly, and the classifier's levels give packs.md §2.4's table under both gz165 and GD."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.examples import example_pack, example_period, example_tables
from checker.engine.resources import packs_dir
from checker.legal import classify_basis

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "docs" / "sources" / "sources-seed.txt").read_text(encoding="utf-8")
CAL = Calendar.load()


def test_gd_trial_has_the_nine_rules_of_the_spec():
    p = load_pack("gd-trial")
    assert [r.id for r in p.rules] == ["GD-04-1", "GD-04-2", "GD-04-3", "GD-04-4", "GD-04-5", "GD-04-6", "GD-04-7",
                                       "GD-07-1", "GD-08-1"]
    assert {r.id: r.severity for r in p.rules} == {
        "GD-04-1": "严重", "GD-04-2": "一般", "GD-04-3": "一般", "GD-04-4": "严重", "GD-04-5": "严重",
        "GD-04-6": "严重", "GD-04-7": "一般", "GD-07-1": "一般", "GD-08-1": "一般"}
    based = {rid: s.based_on for rid, s in p.sources.items() if s.based_on}
    assert based == {"GD-04-1": "GZ165-10-1", "GD-04-2": "GZ165-10-3", "GD-04-4": "GZ165-REQ-4",
                     "GD-04-6": "GZ165-10-4", "GD-04-7": "GZ165-10-5"}
    assert {d["name"]: (d["weight"], len(d["rules"])) for d in p.manifest["dimensions"]} == {
        "目录管理": (50, 7), "信息采集": (50, 2)}
    assert p.manifest["policies"] == [] and p.chain[0]["pack"] == "gd-trial" and len(p.chain) == 1
    assert p.rule("GD-04-2").params == {"require_conditions": True, "require_basis": False}
    assert p.rule("GD-04-7").params["sufficient_levels"] == ["法律", "行政法规", "地方性法规", "地方政府规章"]


def test_hz_draft_extends_gz165_with_three_rules_and_four_attributions():
    p = load_pack("hz-draft")
    gz = load_pack("gz165")
    ids = [r.id for r in p.rules]
    assert len(ids) == 34 and set(ids) - {r.id for r in gz.rules} == {"HZ-04-1", "HZ-06-1", "HZ-06-2"}
    assert [c["pack"] for c in p.chain] == ["hz-draft", "gz165"] and p.chain[0]["status"] == "征求意见稿"
    for rid in ("GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3"):
        assert {c.department for c in p.rule(rid).checks} == {"归属采集部门"}
        assert {c.department for c in gz.rule(rid).checks} == {"提供部门"}
    same = [r.id for r in gz.rules if r.id not in ("GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3")]
    assert len(same) == 27
    for rid in same:
        assert p.rule(rid).params == gz.rule(rid).params and p.rule(rid).severity == gz.rule(rid).severity
    assert p.scope.departments_text == "层级 == '区级' and 所属区 == '海珠区'"
    dims = {d["name"]: d["rules"] for d in p.manifest["dimensions"]}
    assert "HZ-04-1" in dims["目录管理"] and {"HZ-06-1", "HZ-06-2"} <= set(dims["数据提供"])


@pytest.mark.parametrize("pack", ["gd-trial", "hz-draft"])
def test_every_own_rule_quotes_its_article_from_the_sources(pack):
    p = load_pack(pack)
    own = [r for r in p.rules if p.sources[r.id].pack == pack]
    assert own
    for r in own:
        for sentence in filter(None, re.split(r"(?<=。)", str(r.data["article_text"]))):
            assert sentence in SOURCES, (r.id, sentence)


# packs.md §2.4 (citation, GZ165-10-5 sufficient?, GD-04-7 result) and §7 readings 10 and 15
TABLE = [
    ("《中华人民共和国数据安全法》", True, None),
    ("国务院《优化营商环境条例》", True, None),
    ("《国务院关于经营者集中申报标准的规定》", True, None),
    ("广东省政务公开条例(2005年7月29日广东省第十届人民代表大会常务委员会第十九次会议通过)", False, None),
    ("《广东省市场监管条例》", False, None),
    ("《广州市信息化促进条例》", False, None),
    ("广州市人民政府令第165号", False, None),
    ("《广州市依申请公开政府信息办法》(市政府令〔2007〕第5号)", False, None),
    ("(国发〔2016〕51号)", True, "一般"),
    ("(国办发〔2019〕57号)", True, "一般"),
    ("(粤府办〔2018〕50号)", False, "一般"),
    ("《广东省交易场所监督管理办法》(粤府办〔2021〕7号", False, "一般"),
    ("穗府办规〔2017〕18号", False, "一般"),
    ("东府办〔2020〕54号", False, "一般"),
    ("《中国共产党纪律处分条例》", True, "一般"),
    ("《人口信息管理规定》（公安部令第XX号）", False, "提示"),
    ("本局内部管理要求", False, "一般"),
]


def _run(pack_name: str, rule_id: str, texts: list[str]) -> pd.DataFrame:
    ex = {"period": "2026-10", "tables": {"catalog": [
        {"信息资源代码": f"1/{i}", "信息资源名称": f"r{i}", "提供部门": "甲局", "共享类型": "不予共享", "共享依据": t}
        for i, t in enumerate(texts)]}}
    period, as_of = example_period(ex)
    res = evaluate(example_tables(ex), example_pack(load_pack(pack_name), rule_id, ex), period, as_of, CAL)
    return res.findings.set_index("key")


def test_the_classifier_table_of_the_spec_under_gz165_and_gd():
    texts = [t for t, _, _ in TABLE]
    gz = _run("gz165", "GZ165-10-5", texts)
    gd = _run("gd-trial", "GD-04-7", texts)
    for i, (text, gz_ok, gd_sev) in enumerate(TABLE):
        key = f"1/{i}"
        assert (key not in gz.index) == gz_ok, text
        if gd_sev is None:
            assert key not in gd.index, text
        else:
            assert gd.loc[key, "severity"] == gd_sev, text
    # §7 reading 15: under gz165 an unbracketed 地方性法规 and an internal rule are 一般, not 提示
    assert gz.loc["1/3", "severity"] == "一般" and gz.loc["1/16", "severity"] == "一般"


def test_gz165_classifier_results_do_not_change_on_its_own_examples():
    table = packs_dir() / "gz165" / "legal_basis.yaml"
    import yaml
    examples = yaml.safe_load(table.read_text(encoding="utf-8"))["examples"]
    r = classify_basis(pd.Series([e["text"] for e in examples]), table)
    assert r["level"].tolist() == [e["level"] for e in examples]


def test_gd_trial_runs_the_sample_with_its_nine_rules(tmp_path):
    from checker import pipeline
    o = pipeline.run([ROOT / "fixtures" / "sample" / "exports"], "2026-10", pack="gd-trial", write=False)
    rules = list(o.report.rules["rule_id"])
    assert rules == [r.id for r in load_pack("gd-trial").rules]
    nc = dict(zip(o.report.result.not_checked["rule_id"], o.report.result.not_checked["reason"]))
    assert set(nc) == {"GD-04-5", "GD-07-1"} and "关联审批事项" in nc["GD-04-5"] and "采集制度" in nc["GD-07-1"]
    assert set(o.report.result.findings["rule_id"]) <= set(rules) and len(o.report.scorecard) > 0


def test_the_optional_table_and_columns_load_like_every_other_input(tmp_path):
    """packs.md §6.1: 采集制度 by an alias sheet name and alias headers, a title row, an unreadable date and an
    unknown 采集方式 reported as input defects, naming file, sheet, row and column."""
    import openpyxl

    from checker import pipeline
    shutil_src = ROOT / "fixtures" / "sample" / "exports"
    d = tmp_path / "exports"
    d.mkdir()
    for f in ("部门名录.xlsx",):
        (d / f).write_bytes((shutil_src / f).read_bytes())
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "信息采集制度"
    ws.append(["广州市各部门信息采集制度（2026年10月）"])
    ws.append(["部门名称", "名称", "类别", "文号", "发布日期", "废止日期"])
    ws.append(["广州市民政局", "信息管理办法", "信息收集、信息发布", "穗民〔2025〕1号", "2025-01-01", None])
    ws.append(["广州市民政局", "维护规程", "信息维护", None, "2025年13月1日", None])
    ws.append(["广州市民政局", "保密规程", "信息维护，信息保密", None, "2025-01-01", None])
    wb.save(d / "采集制度.xlsx")
    cat = openpyxl.Workbook()
    ws = cat.active
    ws.title = "信息资源"
    from checker import schema
    required = [col.name for col in schema.table("catalog").columns if col.required]
    ws.append(required + ["数据来源方式", "关联行政许可事项"])
    base = {"信息资源代码": "1/1", "信息资源名称": "甲", "提供部门": "广州市民政局", "资源分类": "部门信息资源",
            "共享类型": "无条件共享", "共享方式": "平台接口", "共享范围": "所有政务部门", "更新周期": "每月",
            "具体用途": "核验", "采集部门": "广州市民政局", "核准部门": "广州市民政局", "是否保密审查": "是",
            "是否涉密": "否", "发布日期": "2026-01-05"}
    ws.append([base.get(n) for n in required] + ["共享获取", "婚姻登记"])
    ws.append([{**base, "信息资源代码": "1/2"}.get(n) for n in required] + ["网上抓取", None])
    cat.save(d / "信息资源.xlsx")
    lr = pipeline.load([d])
    pr = lr.tables["procedures"]
    assert pr["制度名称"].tolist() == ["信息管理办法", "维护规程", "保密规程"] and pr["_row"].tolist() == [3, 4, 5]
    c = lr.tables["catalog"]
    assert c["采集方式"].tolist()[0] == "共享获取" and c["关联审批事项"].tolist()[0] == "婚姻登记"
    defects = lr.defects
    bad_date = defects[(defects["table"] == "procedures") & (defects["column"] == "印发日期")]
    assert bad_date["row"].tolist() == [4] and bad_date["file"].str.endswith("采集制度.xlsx").all()
    bad_kind = defects[(defects["table"] == "procedures") & (defects["column"] == "制度类别")]
    assert bad_kind["row"].tolist() == [5] and "信息收集" in bad_kind["problem"].iloc[0]
    bad_way = defects[(defects["table"] == "catalog") & (defects["column"] == "采集方式")]
    assert bad_way["row"].tolist() == [3] and "自行采集" in bad_way["problem"].iloc[0]


def test_gd_terms_for_share_types_are_read_under_gd_only(tmp_path):
    """Decision 5: 条件共享类 is 有条件共享 under gd-trial (no GD-04-1 finding) and stays invalid under gz165 (a
    GZ165-10-1 finding); a gd-trial run leaves the loader on the default pack's lists afterwards."""
    import openpyxl

    from checker import pipeline, schema
    from checker.load.coerce import parse_sharetype
    d = tmp_path / "exports"
    d.mkdir()
    (d / "部门名录.xlsx").write_bytes((ROOT / "fixtures" / "sample" / "exports" / "部门名录.xlsx").read_bytes())
    required = [col.name for col in schema.table("catalog").columns if col.required]
    row = {"信息资源代码": "1/1", "信息资源名称": "甲", "提供部门": "广州市民政局", "资源分类": "部门信息资源",
           "共享类型": "条件共享类", "共享条件": "仅限核验", "共享依据": "《社会救助暂行办法》", "共享方式": "平台接口",
           "共享范围": "市民政局", "更新周期": "每月", "具体用途": "核验", "采集部门": "广州市民政局",
           "核准部门": "广州市民政局", "是否保密审查": "是", "是否涉密": "否", "发布日期": "2026-01-05"}
    wb = openpyxl.Workbook()
    wb.active.title = "信息资源"
    wb.active.append(required)
    wb.active.append([row.get(n) for n in required])
    wb.save(d / "信息资源.xlsx")
    gd = pipeline.run([d], "2026-10", pack="gd-trial", write=False).report.result.findings
    assert not (gd["rule_id"] == "GD-04-1").any()
    assert list(parse_sharetype(pd.Series(["条件共享类"], dtype=object))) == ["条件共享类"]
    gz = pipeline.run([d], "2026-10", write=False).report.result.findings
    assert list(gz.loc[gz["rule_id"] == "GZ165-10-1", "key"]) == ["1/1"]
