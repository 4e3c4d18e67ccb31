"""An independent re-reading of rules.md / codelists.md, checked end to end: CSV exports -> loader -> engine.

Each test names the sentence of the spec it checks. They go through the real loader on purpose: keys are written
"from normalised values" (rules.md "Key"), which only the loader + engine together produce.
"""
from __future__ import annotations

import csv
from datetime import date

import pandas as pd
import pytest

from checker.calendar import Calendar
from checker.engine import evaluate, load_pack
from checker.engine.resources import packs_dir
from checker.legal import classify_basis
from checker.load import load_inputs
from checker.model import Period

PACK = load_pack("gz165")
CAL = Calendar.load()

DEPTS = [
    {"部门名称": "广州市政务服务和数据管理局", "部门代码": "114401006604876437", "层级": "市级", "职能类别": "政务服务数据管理",
     "是否主管部门": "是"},
    {"部门名称": "广州市民政局", "部门代码": "11440100157815654H", "层级": "市级", "职能类别": "民政", "是否主管部门": "否"},
    {"部门名称": "广州市公安局", "部门代码": "11440100759382421L", "层级": "市级", "职能类别": "公安", "是否主管部门": "否"},
]


def cat(code, **kw):
    r = {"信息资源代码": code, "信息资源名称": "资源" + code[-2:], "提供部门": "广州市民政局", "资源分类": "部门信息资源",
         "共享类型": "无条件共享", "共享条件": "", "共享依据": "", "共享方式": "平台接口", "共享范围": "全市", "更新周期": "每月",
         "具体用途": "用途", "采集部门": "广州市民政局", "核准部门": "广州市民政局", "是否保密审查": "是", "是否涉密": "否",
         "标识类型": "", "特殊更新批准文号": "", "发布日期": "2026-01-05"}
    r.update(kw)
    return r


def run(tmp_path, tables, period="2026-10", as_of=None, rules=None):
    for name, rows in tables.items():
        cols = list(dict.fromkeys(k for r in rows for k in r))
        with open(tmp_path / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows:
                w.writerow([r.get(c, "") for c in cols])
    lr = load_inputs([str(tmp_path)])
    pack = PACK.subset(rules) if rules else PACK
    return evaluate(lr.tables, pack, Period.parse(period), date.fromisoformat(as_of) if as_of else None, CAL)


def keys(res, rule):
    return sorted(res.findings.loc[res.findings["rule_id"] == rule, "key"])


# ---------------------------------------------------------------------------------------------------- Key
def test_keys_are_written_from_normalised_values(tmp_path):
    """rules.md "Key": NFKC, trimmed, inner spaces removed, codes upper-cased; officers 部门/姓名, systems
    所属部门/系统名称, updates 代码@YYYY-MM-DD HH:MM:SS, exchanges 交换流水号."""
    res = run(tmp_path, {
        "部门名录": DEPTS,
        "信息资源": [cat("301001001/000001")],
        "责任人员": [{"部门": "广州市 民政局", "姓名": " 张　三 ", "联系电话": "1", "是否已发布": "是",
                  "变动日期": "2026-09-01", "告知日期": ""}],
        "信息系统": [{"系统名称": "婚姻 登记　系统", "所属部门": "广州市民政局", "是否跨部门共享": "是",
                  "是否接入共享平台": "否", "建设类型": "新建"}],
        "交换日志": [{"交换流水号": " jh-２０２６-0001 ", "交换时间": "2026-10-12 10:00", "信息资源代码": "301001001/000001",
                  "提供部门": "广州市民政局", "使用部门": "广州市公安局", "交换通道": "点对点"}],
        "数据更新": [{"信息资源代码": "３０１００１００１ / 000001", "数据变化时间": "2026/10/9 8:05",
                  "平台更新时间": "2026-10-20 11:00"}],
    }, rules=["GZ165-17-2", "GZ165-16-3", "GZ165-16-1", "GZ165-19-2"])
    assert keys(res, "GZ165-17-2") == ["广州市民政局/张三"]
    assert keys(res, "GZ165-16-3") == ["广州市民政局/婚姻登记系统"]
    assert keys(res, "GZ165-16-1") == ["JH-2026-0001"]
    assert keys(res, "GZ165-19-2") == ["301001001/000001@2026-10-09 08:05:00"]


# ---------------------------------------------------------------------------------------------------- counting
def test_update_rows_of_the_other_rule_are_not_counted_as_outside_the_period(tmp_path):
    """rules.md: "update rows that the scoping rule above does not select are not checked by GZ165-19-1/19-2 (the
    report counts them)" -- a base-resource update is 19-1's record, not a 19-2 row "outside the period"."""
    res = run(tmp_path, {
        "部门名录": DEPTS,
        "信息资源": [cat("101001001/000001", 资源分类="基础信息资源", 基础信息类别="自然人", 标识类型="公民身份号码"),
                 cat("301001001/000002"),
                 cat("301001001/000003", 特殊更新批准文号="穗政数〔2026〕1号")],
        "数据更新": [
            {"信息资源代码": "101001001/000001", "数据变化时间": "2026-10-09 10:00", "平台更新时间": "2026-10-10 11:00"},
            {"信息资源代码": "101001001/000001", "数据变化时间": "2026-09-09 10:00", "平台更新时间": "2026-09-10 11:00"},
            {"信息资源代码": "101001001/000001", "数据变化时间": "2026-09-10 10:00", "平台更新时间": "2026-09-10 12:00"},
            {"信息资源代码": "301001001/000002", "数据变化时间": "2026-09-09 10:00", "平台更新时间": "2026-09-10 11:00"},
            {"信息资源代码": "301001001/000002", "数据变化时间": "2026-10-09 10:00", "平台更新时间": "2026-10-20 11:00"},
            {"信息资源代码": "301001001/000003", "数据变化时间": "2026-10-09 10:00", "平台更新时间": "2026-10-20 11:00"},
        ]}, rules=["GZ165-19-1", "GZ165-19-2"])
    sk = res.skipped[res.skipped["reason"].str.contains("审计期间")].set_index("rule_id")["count"].to_dict()
    assert sk == {"GZ165-19-1": 2, "GZ165-19-2": 1}
    ch = res.checked.set_index("rule_id")["checked"].to_dict()
    assert ch == {"GZ165-19-1": 1, "GZ165-19-2": 1}
    assert keys(res, "GZ165-19-1") == ["101001001/000001@2026-10-09 10:00:00"]     # 25 h > 24 h
    assert keys(res, "GZ165-19-2") == ["301001001/000002@2026-10-09 10:00:00"]     # 8 wd > 5 wd


def test_exchange_rules_read_the_rows_own_secret_flag_and_result(tmp_path):
    """rules.md "Exchanges": 16-1, 11-2, 20-2 look at every exchange whatever 交换结果, also for unknown codes;
    REQ-4 only 成功 (empty = 成功) of a catalog code; an exchange's 涉密 is its own row's (the catalog's is not read)."""
    ex = dict(交换时间="2026-10-12 10:00", 提供部门="广州市民政局", 使用部门="广州市公安局")
    res = run(tmp_path, {
        "部门名录": DEPTS,
        "信息资源": [cat("301001001/000001", 共享类型="不予共享", 共享依据="《统计法》", 是否涉密="是")],
        "交换日志": [
            dict(ex, 交换流水号="E1", 信息资源代码="399999999/000009", 交换通道="点对点", 交换结果="失败"),
            dict(ex, 交换流水号="E2", 信息资源代码="399999999/000009", 交换通道="共享平台", 是否涉密="是", 交换结果="失败"),
            dict(ex, 交换流水号="E3", 信息资源代码="301001001/000001", 交换通道="共享平台", 交换结果=""),
            dict(ex, 交换流水号="E4", 信息资源代码="301001001/000001", 交换通道="共享平台", 交换结果="失败"),
            dict(ex, 交换流水号="E5", 信息资源代码="301001001/000001", 交换通道="邮件", 是否涉密="是"),
        ]}, rules=["GZ165-16-1", "GZ165-11-2", "GZ165-20-2", "GZ165-REQ-4"])
    assert keys(res, "GZ165-16-1") == ["E1"]                     # E5 is secret: may go off the platform
    assert keys(res, "GZ165-11-2") == ["399999999/000009"]       # one per (code, provider), failed ones too
    assert keys(res, "GZ165-20-2") == ["E2"]                     # the catalog row is not shared; E3/E4 not secret
    assert keys(res, "GZ165-REQ-4") == ["E3", "E5"]              # empty result = 成功 (any channel); E4 failed
    msg = res.findings.loc[res.findings["rule_id"] == "GZ165-11-2", "message"].iloc[0]
    assert "2 次" in msg


def test_missing_or_invalid_share_type_only_10_1_and_10_2(tmp_path):
    """rules.md "Shared resource": a missing/invalid 共享类型 is reported by 10-1 only (and 10-2 when base)."""
    res = run(tmp_path, {
        "部门名录": DEPTS,
        "信息资源": [cat("101001001/000001", 资源分类="基础信息资源", 基础信息类别="自然人", 标识类型="公民身份号码",
                     共享类型="", 共享方式="邮件", 是否保密审查="否"),
                 cat("301001001/000002", 共享类型="部分共享", 共享范围="", 是否涉密="是"),
                 cat("301001001/000003", 共享类型="１")],
    }, rules=["GZ165-10-1", "GZ165-10-2", "GZ165-11-1", "GZ165-16-2", "GZ165-20-1"])
    f = res.findings
    assert sorted(zip(f["rule_id"], f["key"])) == [("GZ165-10-1", "101001001/000001"), ("GZ165-10-1", "301001001/000002"),
                                                  ("GZ165-10-2", "101001001/000001")]


def test_11_1_message_lists_every_missing_element_and_invalid_code(tmp_path):
    res = run(tmp_path, {"部门名录": DEPTS, "信息资源": [
        cat("301001001/000001", 共享范围="/", 具体用途="暂无", 核准部门="", 更新周期="每旬", 共享方式="FTP")]},
        rules=["GZ165-11-1"])
    msg = res.findings["message"].iloc[0]
    for part in ("缺少共享范围", "缺少具体用途", "缺少核准部门", "更新周期无效", "共享方式无效"):
        assert part in msg
    assert "缺少采集部门" not in msg and "缺少更新周期" not in msg


def test_08_3_attributed_to_the_district_head(tmp_path):
    """08-3: attributed to the 主管部门 of that level (是否主管部门 = 是; 区级: the same 所属区)."""
    deps = DEPTS + [
        {"部门名称": "海珠区政务服务数据管理局", "部门代码": "11440105MB2C90787B", "层级": "区级", "所属区": "海珠区",
         "职能类别": "政务服务数据管理", "是否主管部门": "是"},
        {"部门名称": "天河区政务服务数据管理局", "部门代码": "11440106MB2C90787B", "层级": "区级", "所属区": "天河区",
         "职能类别": "政务服务数据管理", "是否主管部门": "是"},
        {"部门名称": "海珠区民政局", "部门代码": "11440105MB2C90787C", "层级": "区级", "所属区": "海珠区",
         "职能类别": "民政", "是否主管部门": "否"},
    ]
    res = run(tmp_path, {"部门名录": deps, "信息资源": [cat("301001001/000001")], "目录变更": [
        {"变更编号": "BG-1", "部门": "海珠区民政局", "变更原因": "职能变化", "变化发生日期": "2026-08-03",
         "报送日期": "2026-08-10", "主管部门更新日期": "2026-10-20"},
        {"变更编号": "BG-2", "部门": "广州市民政局", "变更原因": "职能变化", "变化发生日期": "2026-08-03",
         "报送日期": "2026-08-10", "主管部门更新日期": ""}]}, rules=["GZ165-08-3"])
    f = res.findings.set_index("key")
    assert f.loc["BG-1", "department"] == "海珠区政务服务数据管理局"
    assert f.loc["BG-1", "counterpart"] == "海珠区民政局"
    assert f.loc["BG-2", "department"] == "广州市政务服务和数据管理局"


def test_19_3_window_and_quarter_key(tmp_path):
    """19-3: first 10 wd of the quarter (first day counts if a working day); only quarters whose 10th working day
    falls inside the period; key 代码@YYYY-Qn. 2026-Q3: 07-01 (Wed) … 07-14 is the 10th working day."""
    tables = {"部门名录": DEPTS, "信息资源": [cat("301001001/000001", 特殊更新批准文号="穗政数〔2026〕1号"),
                                        cat("301001001/000002", 特殊更新批准文号="穗政数〔2026〕2号")],
              "数据更新": [{"信息资源代码": "301001001/000001", "数据变化时间": "2026-06-30 10:00",
                        "平台更新时间": "2026-07-01 00:00"},
                       {"信息资源代码": "301001001/000002", "数据变化时间": "2026-07-14 10:00",
                        "平台更新时间": "2026-07-15 08:00"}]}
    res = run(tmp_path, tables, period="2026-Q3", rules=["GZ165-19-3"])
    assert keys(res, "GZ165-19-3") == ["301001001/000002@2026-Q3"]
    res = run(tmp_path, tables, period="2026-08", rules=["GZ165-19-3"])
    assert keys(res, "GZ165-19-3") == [] and res.checked.empty
    res = run(tmp_path, tables, period="2026-07", as_of="2026-07-13", rules=["GZ165-19-3"])
    assert keys(res, "GZ165-19-3") == []                          # the window has not closed at as_of


# ---------------------------------------------------------------------------------------------------- 10-5
CITATIONS = [
    # 法律
    ("《中华人民共和国个人信息保护法》第十三条", "法律"),
    ("《统计法》第二十五条", "法律"),
    ("依据中华人民共和国统计法第九条", "法律"),
    ("《中华人民共和国统计法》（中华人民共和国主席令第十五号）", "法律"),
    ("《保守国家秘密法》第九条；国发〔2016〕51号", "法律"),
    # 行政法规
    ("《中华人民共和国统计法实施条例》", "行政法规"),
    ("《全国人口普查条例》", "行政法规"),
    ("《城市市容和环境卫生管理条例》", "行政法规"),
    ("国务院令第５８８号", "行政法规"),
    ("中华人民共和国国务院令第 711 号", "行政法规"),
    ("《社会救助暂行办法》（国务院令第649号）", "行政法规"),
    # 党中央、国务院政策: every bracket style, full-width digits
    ("中发〔2021〕7号", "党中央国务院政策"),
    ("中办发[2019]12号", "党中央国务院政策"),
    ("国发［2016］51号", "党中央国务院政策"),
    ("国办发(2018)45号", "党中央国务院政策"),
    ("国办发（2018）45号", "党中央国务院政策"),
    ("国发〔２０１６〕５１号", "党中央国务院政策"),
    ("国办发﹝2017﹞39号", "党中央国务院政策"),
    ("厅字〔2019〕13号", "党中央国务院政策"),
    ("《广州市政务信息共享管理规定》及国办发〔2017〕39号", "党中央国务院政策"),
    # 不足: local, departmental, internal
    ("《广东省数字政府建设条例》", "不足"),
    ("《广州市政府信息共享管理规定》", "不足"),
    ("《杭州市数据资源管理条例》", "不足"),
    ("粤府〔2018〕105号", "不足"),
    ("穗府办〔2019〕7号", "不足"),
    ("公安部令第149号", "不足"),
    ("公安部〔2019〕12号", "不足"),
    ("《人口信息管理规定》（公安部令第XX号）", "不足"),
    ("《医疗机构病历管理规定》（国卫医发〔2013〕31号）", "不足"),
    ("公安部关于印发《居民身份证信息管理规定》的通知", "不足"),
    ("《广州市政务信息共享管理规定》（市政府令第165号）", "不足"),
    ("根据《广东省政务数据管理办法》和《广州市公共数据开放管理办法》", "不足"),
    ("本单位保密规定", "不足"),
    # a text that cites something recognisable is classified (rules.md: only "nothing recognizable" is unclassified)
    ("《广州市信息化促进条例》；《数据共享安全管理办法》", "不足"),
    ("粤府办〔2019〕25号；国办函〔2019〕45号", "不足"),
    ("依据统计法实施条例第三十条", "行政法规"),
    ("依据社会保险法第八十一条", "法律"),
    # 无法识别
    ("《数据共享安全管理办法》", "无法识别"),
    ("涉及商业秘密，不宜共享", "无法识别"),
    ("依据相关法律法规规定不予共享", "无法识别"),
]


@pytest.mark.parametrize("text,level", CITATIONS, ids=[t for t, _ in CITATIONS])
def test_legal_basis_classifier(text, level):
    r = classify_basis(pd.Series([text], dtype=object), packs_dir() / "gz165" / "legal_basis.yaml")
    assert r.loc[0, "level"] == level, r.loc[0, "citations"]


def test_10_5_severity_per_finding(tmp_path):
    """10-5: 一般 when the basis is insufficient, 提示 when it could not be classified; nothing when sufficient."""
    res = run(tmp_path, {"部门名录": DEPTS, "信息资源": [
        cat("301001001/000001", 共享类型="3", 共享依据="《人口信息管理规定》（公安部令第XX号）"),
        cat("301001001/000002", 共享类型="不共享", 共享依据="涉及个人隐私"),
        cat("301001001/000003", 共享类型="不予共享", 共享依据="国发〔２０１６〕５１号"),
        cat("301001001/000004", 共享类型="不予共享", 共享依据="—")]}, rules=["GZ165-10-5", "GZ165-10-4"])
    f = res.findings
    assert sorted(zip(f["rule_id"], f["key"], f["severity"])) == [
        ("GZ165-10-4", "301001001/000004", "严重"),
        ("GZ165-10-5", "301001001/000001", "一般"),
        ("GZ165-10-5", "301001001/000002", "提示")]
