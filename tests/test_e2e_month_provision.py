"""An outside tester's hand-made month (2026-10), end to end, for the provision / usage rules.

Rule set: GZ165-18-1, 19-1, 19-2, 19-3, 20-1, 20-2, 20-3, 21-1, 22-1, 23-1, REQ-1..4, DIS-1, DIS-2.

The exports are built in tmp_path the way an auditor receives them (xlsx with a title row, CSV in GB18030 and
UTF-8-BOM, header aliases, 共享类型 as codes, text dates in several forms), and the expected findings are
written by hand from /work/shared/spec/rules.md -- never computed by the checker's own code. The real command
runs in a subprocess and the (rule_id, severity, department, key) set of findings is compared exactly.

Working days used below (2026 official calendar, rules.md Conventions):
  September: ... 14 15 16 17 18 | 19 off | 20 (Sun, 调休 on) 21 22 23 24 | 25 (中秋) 26 27 off | 28 29 30
  October:   01..07 off (国庆) | 08 09 10 (Sat, 调休 on) | 11 off | 12..16 | 19..23 | 26..30 | 31 (Sat) off
  November:  02..06 | 09..13 | 16..20 | 23..27 | 30
  2026-Q4, first 10 working days: 10-08 09 10 12 13 14 15 16 19 20 -> the 10th is 10-20.
wd(a, b) counts working days d with a < d <= b.
"""
from __future__ import annotations

import csv
from datetime import datetime
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXE = ROOT / ".venv" / "bin" / "sharecheck"
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "checker.cli"]

MY_RULES = {"GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3", "GZ165-20-1", "GZ165-20-2",
            "GZ165-20-3", "GZ165-21-1", "GZ165-22-1", "GZ165-23-1", "GZ165-REQ-1", "GZ165-REQ-2",
            "GZ165-REQ-3", "GZ165-REQ-4", "GZ165-DIS-1", "GZ165-DIS-2"}

# --- departments -----------------------------------------------------------------------------------------
GA = "广州市公安局"
MZ = "广州市民政局"
WJ = "广州市卫生健康委员会"
SJ = "广州市市场监督管理局"
SW = "国家税务总局广州市税务局"
RS = "广州市人力资源和社会保障局"
ZS = "广州市政务服务和数据管理局"
JY = "广州市教育局"
GH = "广州市规划和自然资源局"
HZ_ZS = "广州市海珠区政务服务和数据管理局"
HZ_MZ = "广州市海珠区民政局"

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17: str) -> str:
    """GB 32100-2015 check character, computed from codelists.md (independent of the checker)."""
    s = sum(_USCC.index(c) * w for c, w in zip(body17, _W))
    return body17 + _USCC[(31 - s % 31) % 31]


def test_uscc_helper_matches_spec_examples():
    for good in ("91350100M000100Y43", "91110000600037341L", "91440300568520498A"):
        assert uscc(good[:17]) == good


# name, code, 层级, 所属区, 职能类别, 主管部门
DEPTS = [
    (GA, uscc("11440100007502010"), "市级", "", "公安", "否"),
    (MZ, uscc("11440100007502087"), "市级", "", "民政", "否"),
    (WJ, uscc("11440100MB2C12345"), "市级", "", "卫生健康", ""),
    (SJ, uscc("11440100MB2C67890"), "市级", "", "市场监督管理", "否"),
    (SW, uscc("11440100MB2D10001"), "市级", "", "税务", "否"),
    (RS, uscc("11440100007502150"), "市级", "", "人力资源社会保障", "N"),
    (ZS, uscc("11440100MB2C3344X"), "市级", "", "政务服务数据管理", "是"),
    (JY, uscc("11440100007502222"), "市级", "", "教育 ", "否"),
    (GH, uscc("11440100MB2C55660"), "市级", "", "规划和自然资源", "否"),
    (HZ_ZS, uscc("11440105MB2E00011"), "区级", "海珠区", "政务服务数据管理", "是"),
    (HZ_MZ, uscc("11440105007520011"), "区级", "海珠区", "民政", "否"),
]

# --- catalog -------------------------------------------------------------------------------------------------
CAT_HEADER = ["*资源代码", "资源名称", "提供方", "信息资源分类", "基础库类别", "基础信息\n细目", "共享属性",
              "共享条件", "依据", "共享方式", "共享范围", "更新频率", "用途", "采集部门", "核准部门",
              "保密审查", "涉密", "主体标识", "更新例外批准", "发布日期", "最近更新日期"]
COND = "仅限履行法定职责使用"
BASIS = "《中华人民共和国社会保险法》第八十一条"
SCOPE = "全市政务部门"
APPROVAL = "穗政数批〔2026〕3号"


def res(code, name, dept, cls="部门信息资源", cat="", item="", share="无条件共享", cond="", basis="",
        way="平台接口", cycle="不定期", audit="是", secret="否", ident="", approval="", published="2026-01-05"):
    if share in ("有条件共享", "2") and not cond:
        cond, basis = COND, basis or BASIS
    return [code, name, dept, cls, cat, item, share, cond, basis, way, SCOPE, cycle, "政务服务办理", dept, dept,
            audit, secret, ident, approval, published, ""]


B = "基础信息资源"
CATALOG = [
    # natural-person base resources
    res("101001001/000001", "户籍登记信息库", GA, B, "自然人", "户籍登记信息", cycle="实时", ident="公民身份号码"),
    res("101002001/000001", "婚姻登记信息", MZ, B, "自然人", "婚姻登记和收养登记信息", share="1", way="平台库表",
        cycle="实时", ident="统一社会信用代码"),
    res("101003001/000001", "最低生活保障对象信息", MZ, B, "自然人", "社会保障信息和最低生活保障信息", cycle="实时",
        ident="公民身份号码"),
    res("101004001/000001", "学籍信息", RS, B, "自然人", "教育信息", cycle="实时", ident="其他法定身份证件号码"),
    res("101005001/000001", "出生医学证明信息", WJ, B, "自然人", "出生和死亡登记信息", cycle="实时", ident=""),
    res("101006001/000001", "职业资格证书信息", RS, B, "自然人", "资格证书和执业证书信息", cycle="实时",
        ident="公民身份号码"),
    res("101001001/000002", "海珠区户籍人口信息", HZ_MZ, B, "自然人", "户籍登记信息", cycle="实时",
        ident="公民身份号码"),
    res("101007001/000001", "退役军人优抚对象信息", MZ, B, "自然人", "退役军人优抚信息", cycle="实时",
        ident="公民身份号码"),
    res("101001002/000001", "重点人员管控信息", GA, B, "自然人", "户籍登记信息", share="3",
        basis="《中华人民共和国人民警察法》第二十条", cycle="实时", audit="否", ident="无"),
    # legal-person base resources
    res("102001001/000001", "企业登记信息", SJ, B, "法人", "企业和个体工商户登记信息", cycle="实时",
        ident="统一社会信用代码"),
    res("102002001/000001", "企业税务登记信息", SW, B, "法人", "企业税务登记信息", cycle="实时", ident="公民身份号码"),
    res("102003001/000001", "社会组织登记信息", HZ_MZ, B, "法人", "非营利组织登记信息", cycle="实时",
        ident="统一社会信用代码"),
    res("102005001/000001", "统一社会信用代码信息", SW, B, "法人", "统一社会信用代码信息", cycle="实时",
        ident="营业执照注册号"),
    res("103001001/000001", "国土空间规划信息", GH, B, "自然资源和空间地理", "国土空间规划信息", cycle="实时",
        ident="无"),
    # a department resource that carries a 基础信息类别 -> a base resource (rules.md "Base resource")
    res("301010001/000001", "用人单位登记信息", RS, "部门信息资源", "法人", "企业和个体工商户登记信息", cycle="实时",
        ident="统一社会信用代码"),
    # department resources
    res("301001001/000001", "养老机构名录", MZ, share="2", audit="否"),
    res("301001001/000002", "社会救助统计信息", MZ, audit=""),
    res("301002001/000001", "医疗机构执业登记信息", WJ, share="有条件共享"),
    res("301002001/000002", "传染病疫情内部报告", WJ, secret="是"),
    res("301003001/000001", "社会保险参保缴费记录", RS, share="2", cycle="每月", published="2026-03-01"),
    res("301004001/000001", "刑侦案件信息", GA, share="不予共享", basis="《中华人民共和国保守国家秘密法》第九条",
        cycle="每日", audit="否", secret="是", published="2020-05-01"),
    res("301005001/000001", "食品经营许可信息", SJ, cycle="每日"),
    res("301005001/000002", "特种设备检验信息", SJ, cycle="每日"),
    res("301006001/000001", "纳税信用等级信息", SW, cycle="每周"),
    res("301006001/000002", "欠税公告信息", SW, cycle="每周"),
    res("301007001/000001", "民办学校名录", JY, cycle="每月", published="2026-09-30"),
    res("301007001/000002", "校外培训机构名录", JY, cycle="每月", published="2026/9/29"),
    res("301007001/000003", "教师资格认定信息", JY, cycle="每年", published="2025年10月30日"),
    res("301007001/000004", "学校安全检查信息", JY, cycle="每半年", published="20260430"),
    res("301008001/000001", "建设工程规划许可信息", GH),
    res("301009001/000001", "地名地址信息", GH, cycle="每季度", approval=APPROVAL),
    res("301009001/000002", "测绘成果目录", GH, cycle="每季度", approval=APPROVAL),
    res("301009001/000003", "不动产测量信息", GH, cycle="每季度", approval=APPROVAL),
    res("301002001/000003", "卫生监督抽检信息", WJ, cycle="每季度", approval=APPROVAL),
    res("301002001/000004", "健康档案统计信息", WJ, cycle="每季度", approval=APPROVAL),
    # second batch of probes
    res("201001001/000001", "适龄儿童入学信息", JY, "主题信息资源", "自然人", "计划生育信息", share="01",
        ident="公民身份号码"),                                              # base via 基础信息类别
    res("１０２００４００１/０００００１", "事业单位法人信息", " 广州市市场监督管理局 ", B, "法人", "事业单位登记信息",
        cycle="实时", ident="统一社会信用代码"),                            # full-width code, spaced name
    res("101008001/000001", "残疾人登记信息", MZ, B, "自然人", "残疾人登记信息", share="", cycle="实时",
        ident="无"),                                                        # 共享类型 missing: 10-1 only
    res("301001001/000003", "慈善组织公开信息", MZ, share="无条件", audit="×", secret="N"),
]
CAT_ROW0 = 4  # title row 1, note row 2, header row 3 -> first data row is Excel row 4


def cat_row(code: str) -> int:
    return CAT_ROW0 + [r[0] for r in CATALOG].index(code)


ITEMS = [  # 信息资源代码, 信息项名称
    ("101001001/000001", "姓名"),
    ("101002001/000001", "姓名"), ("101002001/000001", "身份证件类型"), ("101002001/000001", "身份证号"),
    ("101002001/000001", "登记日期"),
    ("101003001/000001", "姓名"), ("101003001/000001", "证件号码"), ("101003001/000001", "保障类别"),
    ("101005001/000001", "姓名"), ("101005001/000001", "证件类型"), ("101005001/000001", "公民身份号码"),
    ("101006001/000001", "姓名"), ("101006001/000001", "证件类型"), ("101006001/000001", "证件号码"),
    ("101001001/000002", "姓名"), ("101001001/000002", "证件类型"), ("101001001/000002", "证件号码"),
    ("101007001/000001", "姓名"), ("101007001/000001", "身份证件类型"), ("１０１００７００１/０００００１ ", "身份证件号码"),
    ("102001001/000001", "统一社会信用代码"), ("102001001/000001", "企业名称"),
    ("201001001/000001", " 姓名 "), ("201001001/000001", "证件类型"), ("201001001/000001", "身份证号码"),
]

# --- updates (数据更新) ---------------------------------------------------------------------------------------
HJ, YR = "101001001/000001", "301010001/000001"
GHX = "301008001/000001"
UPDATES = [  # 资源代码, 变化时间, 更新时间 (text forms vary on purpose)
    (HJ, "2026-10-12 09:00:00", "2026-10-13 09:00:00"),      # U1 exactly 24 h
    (HJ, "2026/10/14 8:30", "2026-10-15 08:30:01"),          # U2 24 h + 1 s
    (HJ, "2026-09-29 10:00", "2026年10月2日 10:00"),          # U3 event in Sep, action in Oct, 72 h
    (HJ, "2026-09-20 10:00:00", "2026-09-22 10:00:00"),      # U4 action in Sep: out of scope
    (HJ, "2026-10-31 08:00:00", ""),                         # U5 pending: 15:59:59 by end of as_of
    (HJ, "2026-10-30 22:00:00", "/"),                        # U6 missing, 25:59:59 by end of as_of
    (HJ, "2026-10-31 10:00:00", "2026-11-01 15:00:00"),      # U7 action after as_of
    (HJ, "2026-10-29 09:00:00", "2026-11-02 09:00:00"),      # U8 action after as_of (late, next month)
    (YR, "2026-10-20 10:00:00", "2026-10-21 11:00:00"),      # W1 base via 基础信息类别, 25 h
    (GHX, "2026-09-30 15:00:00", "2026-10-13 10:00:00"),     # V1 wd = 5
    (GHX, "2026-09-30 09:00:00", "2026-10-14 10:00:00"),     # V2 wd = 6
    (GHX, "2026-09-23 16:00:00", "2026-10-08 09:00:00"),     # V3 wd = 5 (over 中秋 and 国庆)
    (GHX, "2026-09-22 16:00:00", "2026.10.08 09:00"),        # V3b wd = 6
    (GHX, "2026-10-26 10:00:00", ""),                        # V4a missing, wd to as_of = 4: pending
    (GHX, "2026-10-23 10:00:00", ""),                        # V4b missing, wd = 5: pending
    (GHX, "2026-10-22 10:00:00", ""),                        # V4c missing, wd = 6: late
    (GHX, "2026-10-15 10:00:00", "2026-11-03 10:00:00"),     # V5 action after as_of
    (GHX, "2026-09-01 10:00:00", "2026-09-30 10:00:00"),     # V6 out of scope (Sep)
    ("301005001/000001", "2026-10-30 20:00:00", "2026-10-30 23:00:00"),
    ("301005001/000002", "2026-10-29 07:00:00", "2026-10-29 08:00:00"),
    ("301005001/000002", "2026-10-31 09:00:00", "2026-11-01 08:00:00"),
    ("301006001/000001", "2026-10-23 09:00:00", "2026-10-24 10:00:00"),
    ("301006001/000002", "2026-10-23 17:00:00", "2026-10-23 18:00:00"),
    ("301003001/000001", "2026-09-30 12:00:00", "2026-10-05 10:00:00"),
    ("301009001/000001", "2026-10-15 09:00:00", "2026-10-20 17:30:00"),  # S1 on the 10th wd
    ("301009001/000002", "2026-10-02 09:00:00", "2026-10-21 09:00:00"),  # S2 11th wd (19-2 would fire)
    ("301009001/000003", "2026-07-08 09:00:00", "2026-07-10 09:00:00"),  # S3 Q3 only
    ("301002001/000003", "2026-10-03 09:00:00", "2026-10-05 10:00:00"),  # S4 a holiday inside the window
    ("301002001/000004", "2026-09-28 09:00:00", "2026-09-30 10:00:00"),  # S5 before the quarter ...
    ("301002001/000004", "2026-10-09 09:00:00", "2026-10-22 10:00:00"),  # ... and after its 10th wd
    ("１０１００１００１/０００００１", "2026-10-16 09:00", "2026-10-17 10:00"),  # full-width code, 25 h
    (HJ, datetime(2026, 10, 19, 9, 0), datetime(2026, 10, 20, 9, 0)),   # real datetime cells, 24 h
    (HJ, datetime(2026, 10, 21, 9, 0), datetime(2026, 10, 22, 9, 30)),  # real datetime cells, 24.5 h
    (HJ, "2026-10-27", "2026-10-28 00:00:01"),                        # date only = 00:00:00; 24 h + 1 s
    (HJ, "2026-11-02 09:00:00", ""),                                  # U9 change after as_of of October
    ("109999001/000001", "2026-10-12 09:00:00", "2026-10-20 09:00:00"),  # unknown code: input defect only
    ("101008001/000001", "2026-10-12 09:00:00", "2026-10-20 09:00:00"),  # 共享类型 missing, still a base change
]
UPD_ROW0 = 3  # title row 1, header row 2


def upd_row(code: str, changed: str) -> int:
    return UPD_ROW0 + [(c, t) for c, t, _ in UPDATES].index((code, changed))


# --- requests (共享申请) ---------------------------------------------------------------------------------------
RSC, WJC = "301003001/000001", "301002001/000001"
REQUESTS = [  # 编号, 申请部门, 提供部门, 资源代码, 申请日期, 答复日期, 审核结果, 理由
    ("SQ-2026-0001", WJ, RS, RSC, "2026-09-30", "2026-10-20", "同意", ""),
    ("SQ-2026-0002", JY, RS, RSC, "2026-09-30", "2026/10/21", "不同意", "/"),
    ("SQ-2026-0003", MZ, WJ, WJC, "2026-09-18", "2026-10-09", "同意", ""),
    ("SQ-2026-0004", GA, WJ, WJC, "2026年9月18日", "2026年10月10日", "同意", ""),
    ("SQ-2026-0005", JY, WJ, WJC, "2026-10-19", "", "", ""),
    ("SQ-2026-0006", SW, RS, RSC, "20261016", "", "", ""),
    ("SQ-2026-0007", SJ, RS, RSC, "2026-10-15", "", "", ""),
    ("SQ-2026-0008", GA, RS, RSC, "2026-10-09", "2026-11-05", "不同意", ""),
    ("SQ-2026-0009", SW, WJ, WJC, "2026-09-01", "2026-09-10", "同意", ""),
    ("SQ-2026-0010", SJ, WJ, WJC, "2026-10-09", "2026-10-12", "部分同意", ""),
    ("SQ-2026-0011", GH, WJ, WJC, "2026-10-09", "2026-10-13", "不同意", "涉及个人隐私，依据《中华人民共和国个人信息保护法》不予提供"),
    ("SQ-2026-0012", GH, RS, RSC, "2026-09-14", "2026-09-28", "不同意", ""),
    ("SQ-2026-0013", JY, RS, RSC, "2026-10-12", "2026-10-13", "同意", ""),
    ("SQ-2026-0020", MZ, RS, RSC, "2026-10-08", "2026-10-12", "同意", ""),
    ("SQ-2026-0021", WJ, RS, RSC, "2026-10-08", "2026-10-09", "同意", ""),
    ("SQ-2026-0022", MZ, RS, RSC, "2026-10-08", "2026-10-13", "不同意", "申请用途与共享条件不符"),
    ("SQ-2026-0023", MZ, WJ, WJC, "2026-10-08", "2026-10-09", "同意", ""),
    ("SQ-2026-0024", HZ_MZ, RS, RSC, "2026-10-12", "2026-10-20", "部分同意", "仅提供参保状态字段"),
    ("SQ-2026-0026", GH, RS, RSC, "2026-11-02", "", "", ""),       # made after as_of
    ("SQ-2026-0027", SJ, WJ, WJC, "46307", "2026-10-27", "不同意", "无"),  # Excel serial = 2026-10-12
    ("SQ-2026-0001", WJ, RS, RSC, "2026-09-01", "2026-10-30", "同意", ""),  # duplicate key: ignored
]
REQ_ROW0 = 2  # header row 1


def req_row(no: str) -> int:
    return REQ_ROW0 + [r[0] for r in REQUESTS].index(no)


# --- exchanges (交换日志, CSV UTF-8-BOM) ------------------------------------------------------------------------
F1, F3, ZDRY = "301005001/000001", "301006001/000001", "101001002/000001"
EXCHANGES = [  # 流水号, 时间, 资源代码, 提供方, 需求部门, 通道, 涉密, 申请编号, 结果
    ("JH202610000001", "2026-10-09 10:00:00", F1, SJ, WJ, "共享平台", "是", "", "失败"),
    ("JH202610000002", "2026-10-09 11:00:00", F1, SJ, WJ, "点对点", "是", "", "成功"),
    ("JH202610000003", "2026-10-10 09:00:00", "309999001/000001", SW, SJ, "专项共享通道", "Y", "", "成功"),
    ("JH202609300099", "2026-09-30 23:59:59", F1, SJ, WJ, "共享平台", "是", "", "成功"),
    ("JH202610000005", "2026-10-31 23:59:59", F3, SW, SJ, "共享平台", "√", "", "成功"),
    ("JH202611010001", "2026-11-01 00:00:00", F3, SW, SJ, "共享平台", "是", "", "成功"),
    ("JH202610000011", "2026-10-12 14:00:00", RSC, RS, MZ, "共享平台", "", "SQ-2026-0020", "成功"),
    ("JH202610000012", "2026-10-09 10:00:00", RSC, RS, MZ, "共享平台", "", "SQ-2026-0020", "成功"),
    ("JH202610000013", "2026-10-13 10:00:00", RSC, RS, MZ, "共享平台", "否", "", "成功"),
    ("JH202610000014", "2026-10-14 10:00:00", RSC, RS, WJ, "共享平台", "否", "SQ-2026-0999", "成功"),
    ("JH202610000015", "2026-10-15 10:00:00", RSC, RS, MZ, "共享平台", "否", "SQ-2026-0021", "成功"),
    ("JH202610000016", "2026-10-16 10:00:00", RSC, RS, JY, "共享平台", "否", "", "失败"),
    ("JH202610000017", "2026-10-19 10:00:00", RSC, RS, MZ, "共享平台", "否", "SQ-2026-0022", "成功"),
    ("JH202609290001", "2026-09-29 10:00:00", RSC, RS, MZ, "共享平台", "否", "", "成功"),
    ("JH202610000019", "2026-10-20 10:00:00", RSC, RS, MZ, "共享平台", "否", "SQ-2026-0023", "成功"),
    ("JH202610000020", "2026-10-21 10:00:00", RSC, RS, WJ, "共享平台", "否", "SQ-2026-0021", "成功"),
    ("JH202610000021", "2026-10-22 10:00:00", RSC, RS, HZ_MZ, "专项共享通道", "否", "SQ-2026-0024", ""),
    ("JH202610000022", "2026-10-22 11:00:00", F1, SJ, MZ, "共享平台", "否", "", "成功"),
    ("JH202610000023", "2026-10-23 10:00:00", RSC, RS, MZ, "共享平台", "否", " sq-2026-0020 ", "成功"),
    ("JH202610000030", "2026-10-12 10:00:00", ZDRY, GA, MZ, "共享平台", "否", "", "成功"),
    ("JH202610000031", "2026-10-13 10:00:00", ZDRY, GA, MZ, "共享平台", "否", "", "失败"),
    ("JH202610000032", "2026-10-14 10:00:00", ZDRY, GA, MZ, "共享平台", "", "", ""),
    ("JH202609280001", "2026-09-28 10:00:00", ZDRY, GA, MZ, "共享平台", "否", "", "成功"),
    ("JH202610000040", "2026-10-26 10:00:00", "301002001/000002", WJ, MZ, "共享平台", "否", "", "成功"),
]

# --- disputes (数据异议, CSV GB18030) ----------------------------------------------------------------------------
DISPUTES = [  # 编号, 提出部门, 提供部门, 资源代码, 提出日期, 核实日期, 更正日期
    ("YY-2026-001", JY, RS, RSC, "2026-09-30", "2026-10-13", "2026-10-20"),
    ("YY-2026-002", MZ, SJ, F1, "2026-09-30", "2026-10-14", "2026-10-21"),
    ("YY-2026-003", WJ, GA, HJ, "2026-10-26", "", ""),
    ("YY-2026-004", GA, MZ, "101002001/000001", "2026-10-23", "", ""),
    ("YY-2026-005", SW, SJ, "102001001/000001", "2026-10-22", "", "无"),
    ("YY-2026-006", RS, SW, "102002001/000001", "2026-09-22", "2026-09-29", "2026-10-09"),
    ("YY-2026-007", JY, WJ, "101005001/000001", "2026-09-14", "2026-09-18", "2026/10/10"),
    ("YY-2026-008", SJ, RS, "101006001/000001", "2026-10-14", "2026-10-21", "2026-11-06"),
    ("YY-2026-009", MZ, GH, "103001001/000001", "2026-10-12", "2026-11-02", ""),
    ("YY-2026-010", JY, GH, "103001001/000001", "2026-11-03", "", ""),   # raised after as_of
]


def _title_sheet(ws, title, header, rows, note=True):
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if note:
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(list(r))


def build_exports(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    # departments: GB18030 CSV with alias headers
    with open(d / "部门名录.csv", "w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位名称", "统一社会信用代码", "行政层级", "区", "部门类别", "主管部门"])
        w.writerows(DEPTS)
    # catalog + items in one workbook
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "信息资源"
    _title_sheet(ws, "广州市政务信息资源目录（导出时间：2026-11-02）", CAT_HEADER, CATALOG)
    ws2 = wb.create_sheet("信息项")
    ws2.append(["资源代码", "信息项名称", "数据类型"])
    for code, item in ITEMS:
        ws2.append([code, item, "字符型"])
    wb.save(d / "政务信息资源目录.xlsx")
    # updates
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据更新"
    ws.append(["数据更新记录（2026年10月）"])
    ws.append(["资源代码", "变化时间", "更新时间"])
    for r in UPDATES:
        ws.append(list(r))
    wb.save(d / "数据更新_202610.xlsx")
    # requests
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "共享申请"
    ws.append(["编号", "使用部门", "提供部门", "资源代码", "申请日期", "答复日期", "审核结果", "理由", "用途"])
    for r in REQUESTS:
        ws.append(list(r) + ["业务协同"])
    wb.save(d / "共享申请.xlsx")
    # exchanges: UTF-8 with BOM
    with open(d / "交换日志_202610.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["流水号", "时间", "资源代码", "提供方", "需求部门", "通道", "涉密", "申请编号", "结果"])
        w.writerows(EXCHANGES)
    # disputes: GB18030
    with open(d / "数据异议.csv", "w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(["异议编号", "提出部门", "提供部门", "资源代码", "提出日期", "答复日期", "更正日期"])
        w.writerows(DISPUTES)


# --- expected findings, October 2026 (as_of 2026-10-31) -----------------------------------------------------------
EXPECTED_MONTH = {
    # 18-1 (提示): shared, regular cycle, as_of - date(latest update <= as_of, else 发布日期) > cycle
    ("GZ165-18-1", "提示", SJ, "301005001/000002"),   # 每日, latest 10-29 (11-01 ignored): 2 > 1
    ("GZ165-18-1", "提示", SW, "301006001/000002"),   # 每周, latest 10-23: 8 > 7 (10-24 one is 7: pass)
    ("GZ165-18-1", "提示", JY, "301007001/000002"),   # 每月, no update, 发布 09-29: 32 > 31 (09-30: pass)
    ("GZ165-18-1", "提示", JY, "301007001/000004"),   # 每半年, 发布 04-30: 184 > 183 (每年 2025-10-30: 366 pass)
    ("GZ165-18-1", "提示", GH, "301009001/000003"),   # 每季度, latest 07-10: 113 > 92
    # 19-1 (严重): base resources, > 24 h
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-14 08:30:00"),  # U2 24 h + 1 s (U1 exactly 24 h passes)
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-09-29 10:00:00"),  # U3 action 10-02 in period, 72 h
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-30 22:00:00"),  # U6 not yet ('/'), 25:59:59 by 10-31 23:59:59
    ("GZ165-19-1", "严重", RS, f"{YR}@2026-10-20 10:00:00"),  # W1 base via 基础信息类别, 25 h
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-16 09:00:00"),  # full-width code, 25 h
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-21 09:00:00"),  # datetime cells, 24.5 h
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-27 00:00:00"),  # date-only change, 24 h + 1 s
    # a resource with a missing 共享类型 is reported (as a resource) by 10-1/10-2 only, but its change records are
    # update records, judged by 19-1 like any base resource's: 192 h
    ("GZ165-19-1", "严重", MZ, "101008001/000001@2026-10-12 09:00:00"),
    # 19-2 (一般): other resources without approval, > 5 wd
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-09-30 09:00:00"),  # V2 wd(09-30, 10-14) = 6
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-09-22 16:00:00"),  # V3b wd(09-22, 10-08) = 6 (09-25 off)
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-10-22 10:00:00"),  # V4c not yet, wd(10-22, 10-31) = 6
    # 19-3 (一般): approved quarterly exception, no platform update in 10-01..10-20
    ("GZ165-19-3", "一般", GH, "301009001/000002@2026-Q4"),   # only update 10-21 (11th wd)
    ("GZ165-19-3", "一般", GH, "301009001/000003@2026-Q4"),   # only update 07-10
    ("GZ165-19-3", "一般", WJ, "301002001/000004@2026-Q4"),   # 09-30 and 10-22, none in the window
    # 20-1 (严重): shared and not passed 保密审查
    ("GZ165-20-1", "严重", MZ, "301001001/000001"),   # 有条件 (code 2), 保密审查 否
    ("GZ165-20-1", "严重", MZ, "301001001/000002"),   # 保密审查 empty: the rule's business
    ("GZ165-20-1", "严重", MZ, "301001001/000003"),   # 保密审查 ×, 共享类型 无条件
    # 20-2 (严重): shared resource 涉密, platform exchanges 涉密 in the period
    ("GZ165-20-2", "严重", WJ, "301002001/000002"),   # catalog 涉密 是 (不予共享 刑侦 one: not shared)
    ("GZ165-20-2", "严重", SJ, "JH202610000001"),     # 共享平台, 涉密, 交换结果 失败 still counts
    ("GZ165-20-2", "严重", SW, "JH202610000003"),     # 专项共享通道, 涉密 Y, unknown resource code
    ("GZ165-20-2", "严重", SW, "JH202610000005"),     # 10-31 23:59:59 is in the period, 涉密 √
    # 20-3 (一般): natural/legal person base resources with a wrong 标识类型
    ("GZ165-20-3", "一般", MZ, "101002001/000001"),   # 自然人 identified by 统一社会信用代码
    ("GZ165-20-3", "一般", WJ, "101005001/000001"),   # 标识类型 empty
    ("GZ165-20-3", "一般", GA, "101001002/000001"),   # 自然人 标识 无 (a base resource, even 不予共享)
    ("GZ165-20-3", "一般", SW, "102002001/000001"),   # 法人 identified by 公民身份号码
    # 21-1 (严重): natural-person 细目 from a non-statutory department
    ("GZ165-21-1", "严重", RS, "101004001/000001"),   # 教育信息 by 人社
    ("GZ165-21-1", "严重", HZ_MZ, "101001001/000002"),  # 户籍登记信息 by a 民政 department
    ("GZ165-21-1", "严重", JY, "201001001/000001"),   # 计划生育信息 by 教育 (a 主题 resource with 基础信息类别)
    # 22-1 (一般): non-公安 natural-person base resource lacking 姓名/证件类型/证件号码
    ("GZ165-22-1", "一般", MZ, "101003001/000001"),   # 姓名 + 证件号码, no 证件类型
    ("GZ165-22-1", "一般", RS, "101004001/000001"),   # no items at all
    # 23-1 (严重): legal-person 细目 from a non-statutory department
    ("GZ165-23-1", "严重", HZ_MZ, "102003001/000001"),  # 非营利组织登记信息 by 民政 (needs 社会组织管理)
    ("GZ165-23-1", "严重", SW, "102005001/000001"),   # 统一社会信用代码信息 by 税务
    ("GZ165-23-1", "严重", RS, "301010001/000001"),   # 企业和个体工商户登记信息 by 人社
    ("GZ165-23-1", "严重", SJ, "102004001/000001"),   # 事业单位登记信息 by 市场监管 (full-width code)
    # REQ-1 (一般): > 10 wd to answer
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0002"),      # wd(09-30, 10-21) = 11 (10-20 = 10 passes)
    ("GZ165-REQ-1", "一般", WJ, "SQ-2026-0004"),      # wd(09-18, 10-10) = 11 (09-20, 10-10 调休)
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0007"),      # unanswered, wd(10-15, 10-31) = 11 (10-16: 10 pending)
    ("GZ165-REQ-1", "一般", WJ, "SQ-2026-0027"),      # 申请 as Excel serial 46307 = 10-12, wd to 10-27 = 11
    # REQ-2 (一般): answered in the period, 不同意/部分同意 without a reason
    ("GZ165-REQ-2", "一般", RS, "SQ-2026-0002"),      # reason '/' is a placeholder
    ("GZ165-REQ-2", "一般", WJ, "SQ-2026-0010"),      # 部分同意, reason empty
    ("GZ165-REQ-2", "一般", WJ, "SQ-2026-0027"),      # reason 无 is a placeholder
    # REQ-3 (严重, 使用部门): successful exchanges of 有条件共享 without an approved request
    ("GZ165-REQ-3", "严重", MZ, "JH202610000012"),    # 答复 10-12 after the exchange date 10-09
    ("GZ165-REQ-3", "严重", MZ, "JH202610000013"),    # 申请编号 empty
    ("GZ165-REQ-3", "严重", WJ, "JH202610000014"),    # 申请编号 unknown
    ("GZ165-REQ-3", "严重", MZ, "JH202610000015"),    # another 使用部门's request
    ("GZ165-REQ-3", "严重", MZ, "JH202610000017"),    # request answered 不同意
    ("GZ165-REQ-3", "严重", MZ, "JH202610000019"),    # request for another resource
    # REQ-4 (严重): successful exchanges of a 不予共享 resource
    ("GZ165-REQ-4", "严重", GA, "JH202610000030"),
    ("GZ165-REQ-4", "严重", GA, "JH202610000032"),    # 交换结果 empty = 成功
    # DIS-1 (一般): verified > 5 wd
    ("GZ165-DIS-1", "一般", SJ, "YY-2026-002"),       # wd(09-30, 10-14) = 6 (10-13 = 5 passes)
    ("GZ165-DIS-1", "一般", SJ, "YY-2026-005"),       # not yet, wd(10-22, 10-31) = 6
    # DIS-2 (一般): corrected > 10 wd
    ("GZ165-DIS-2", "一般", SJ, "YY-2026-002"),       # wd(09-30, 10-21) = 11 (10-20 = 10 passes)
    ("GZ165-DIS-2", "一般", WJ, "YY-2026-007"),       # wd(09-14, 10-10) = 15
    ("GZ165-DIS-2", "一般", GH, "YY-2026-009"),       # not yet, wd(10-12, 10-31) = 14
}

# pending at as_of 2026-10-31: (rule, key)
PENDING_MONTH = {
    ("GZ165-19-1", f"{HJ}@2026-10-31 08:00:00"),
    ("GZ165-19-2", f"{GHX}@2026-10-26 10:00:00"),
    ("GZ165-19-2", f"{GHX}@2026-10-23 10:00:00"),
    ("GZ165-REQ-1", "SQ-2026-0005"),
    ("GZ165-REQ-1", "SQ-2026-0006"),
    ("GZ165-DIS-1", "YY-2026-003"),
    ("GZ165-DIS-1", "YY-2026-004"),
    ("GZ165-DIS-2", "YY-2026-003"),
    ("GZ165-DIS-2", "YY-2026-004"),
    ("GZ165-DIS-2", "YY-2026-005"),
}

# --- expected findings, 2026-Q4 with as_of 2026-11-30 (deadline rules + REQ-2) -----------------------------------
QUARTER_RULES = {"GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3", "GZ165-20-2", "GZ165-REQ-1",
                 "GZ165-REQ-2", "GZ165-REQ-3", "GZ165-REQ-4", "GZ165-DIS-1", "GZ165-DIS-2"}
EXPECTED_QUARTER = {
    # 18-1 at as_of 11-30 (date of the latest update <= 11-30, else 发布日期)
    ("GZ165-18-1", "提示", SJ, "301005001/000001"),   # 每日, 10-30: 31
    ("GZ165-18-1", "提示", SJ, "301005001/000002"),   # 每日, 11-01: 29
    ("GZ165-18-1", "提示", SW, "301006001/000001"),   # 每周, 10-24: 37
    ("GZ165-18-1", "提示", SW, "301006001/000002"),   # 每周, 10-23: 38
    ("GZ165-18-1", "提示", JY, "301007001/000001"),   # 每月, 发布 09-30: 61
    ("GZ165-18-1", "提示", JY, "301007001/000002"),   # 每月, 发布 09-29: 62
    ("GZ165-18-1", "提示", JY, "301007001/000003"),   # 每年, 发布 2025-10-30: 396
    ("GZ165-18-1", "提示", JY, "301007001/000004"),   # 每半年, 发布 04-30: 214
    ("GZ165-18-1", "提示", RS, "301003001/000001"),   # 每月, 10-05: 56
    ("GZ165-18-1", "提示", GH, "301009001/000003"),   # 每季度, 07-10: 143 (the other 每季度 ones <= 56)
    # 20-2: as in October, plus the 11-01 00:00:00 exchange (in Q4 and <= as_of)
    ("GZ165-20-2", "严重", WJ, "301002001/000002"),
    ("GZ165-20-2", "严重", SJ, "JH202610000001"),
    ("GZ165-20-2", "严重", SW, "JH202610000003"),
    ("GZ165-20-2", "严重", SW, "JH202610000005"),
    ("GZ165-20-2", "严重", SW, "JH202611010001"),
    # REQ-3 / REQ-4: exchanges are all in October
    ("GZ165-REQ-3", "严重", MZ, "JH202610000012"),
    ("GZ165-REQ-3", "严重", MZ, "JH202610000013"),
    ("GZ165-REQ-3", "严重", WJ, "JH202610000014"),
    ("GZ165-REQ-3", "严重", MZ, "JH202610000015"),
    ("GZ165-REQ-3", "严重", MZ, "JH202610000017"),
    ("GZ165-REQ-3", "严重", MZ, "JH202610000019"),
    ("GZ165-REQ-4", "严重", GA, "JH202610000030"),
    ("GZ165-REQ-4", "严重", GA, "JH202610000032"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-14 08:30:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-09-29 10:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-30 22:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-31 08:00:00"),  # U5 still missing at 11-30
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-31 10:00:00"),  # U7 29 h, action 11-01 in Q4
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-29 09:00:00"),  # U8 96 h
    ("GZ165-19-1", "严重", RS, f"{YR}@2026-10-20 10:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-16 09:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-21 09:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-10-27 00:00:00"),
    ("GZ165-19-1", "严重", MZ, "101008001/000001@2026-10-12 09:00:00"),
    ("GZ165-19-1", "严重", GA, f"{HJ}@2026-11-02 09:00:00"),   # U9 open at 11-30
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-09-30 09:00:00"),
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-09-22 16:00:00"),
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-10-26 10:00:00"),  # still missing at 11-30
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-10-23 10:00:00"),
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-10-22 10:00:00"),
    ("GZ165-19-2", "一般", GH, f"{GHX}@2026-10-15 10:00:00"),  # V5 wd(10-15, 11-03) = 13
    ("GZ165-19-3", "一般", GH, "301009001/000002@2026-Q4"),
    ("GZ165-19-3", "一般", GH, "301009001/000003@2026-Q4"),
    ("GZ165-19-3", "一般", WJ, "301002001/000004@2026-Q4"),
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0002"),
    ("GZ165-REQ-1", "一般", WJ, "SQ-2026-0004"),
    ("GZ165-REQ-1", "一般", WJ, "SQ-2026-0005"),   # unanswered, late by 11-30
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0006"),
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0007"),
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0008"),   # wd(10-09, 11-05) = 20
    ("GZ165-REQ-1", "一般", RS, "SQ-2026-0026"),   # unanswered, wd(11-02, 11-30) = 20
    ("GZ165-REQ-1", "一般", WJ, "SQ-2026-0027"),
    ("GZ165-REQ-2", "一般", RS, "SQ-2026-0002"),
    ("GZ165-REQ-2", "一般", WJ, "SQ-2026-0010"),
    ("GZ165-REQ-2", "一般", RS, "SQ-2026-0008"),   # 不同意 on 11-05, in Q4, no reason
    ("GZ165-REQ-2", "一般", WJ, "SQ-2026-0027"),
    ("GZ165-DIS-1", "一般", SJ, "YY-2026-002"),
    ("GZ165-DIS-1", "一般", GA, "YY-2026-003"),
    ("GZ165-DIS-1", "一般", MZ, "YY-2026-004"),
    ("GZ165-DIS-1", "一般", SJ, "YY-2026-005"),
    ("GZ165-DIS-1", "一般", GH, "YY-2026-009"),    # wd(10-12, 11-02) = 15
    ("GZ165-DIS-1", "一般", GH, "YY-2026-010"),    # not yet, wd(11-03, 11-30) = 19
    ("GZ165-DIS-2", "一般", SJ, "YY-2026-002"),
    ("GZ165-DIS-2", "一般", GA, "YY-2026-003"),
    ("GZ165-DIS-2", "一般", MZ, "YY-2026-004"),
    ("GZ165-DIS-2", "一般", SJ, "YY-2026-005"),
    ("GZ165-DIS-2", "一般", WJ, "YY-2026-007"),
    ("GZ165-DIS-2", "一般", RS, "YY-2026-008"),    # wd(10-14, 11-06) = 16
    ("GZ165-DIS-2", "一般", GH, "YY-2026-009"),
    ("GZ165-DIS-2", "一般", GH, "YY-2026-010"),
}


def _run(src: Path, out: Path, *extra: str) -> list[dict]:
    p = subprocess.run(COMMAND + ["run", str(src), "--out", str(out), *extra], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e_provision")
    build_exports(base / "导出")
    out = base / "out_month"
    return out, _run(base / "导出", out, "--period", "2026-10")


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e_provision_q")
    build_exports(base / "导出")
    out = base / "out_q4"
    return out, _run(base / "导出", out, "--period", "2026-Q4", "--as-of", "2026-11-30")


def _got(rows, rules):
    return {(r["rule_id"], r["severity"], r["department"], r["key"]) for r in rows if r["rule_id"] in rules}


@pytest.mark.parametrize("rule", sorted(MY_RULES))
def test_month_findings_per_rule(month, rule):
    _, rows = month
    got = _got(rows, {rule})
    want = {t for t in EXPECTED_MONTH if t[0] == rule}
    assert got == want, f"missing {sorted(want - got)}; unexpected {sorted(got - want)}"


def test_month_rows_point_at_the_source_rows(month):
    _, rows = month
    by = {(r["rule_id"], r["key"]): r for r in rows}
    r = by[("GZ165-20-1", "301001001/000001")]
    assert (r["sheet"], int(r["row"])) == ("信息资源", cat_row("301001001/000001"))
    assert int(by[("GZ165-21-1", "101004001/000001")]["row"]) == cat_row("101004001/000001")
    assert int(by[("GZ165-23-1", "301010001/000001")]["row"]) == cat_row("301010001/000001")
    r = by[("GZ165-19-1", f"{HJ}@2026-10-14 08:30:00")]
    assert (r["sheet"], int(r["row"])) == ("数据更新", upd_row(HJ, "2026/10/14 8:30"))
    assert int(by[("GZ165-19-2", f"{GHX}@2026-10-22 10:00:00")]["row"]) == upd_row(GHX, "2026-10-22 10:00:00")
    r = by[("GZ165-REQ-1", "SQ-2026-0004")]
    assert (r["sheet"], int(r["row"])) == ("共享申请", req_row("SQ-2026-0004"))
    # a quarterly finding is about a missing update record: row empty (outputs.md), input = updates
    r = by[("GZ165-19-3", "301009001/000003@2026-Q4")]
    assert (r["input"], r["sheet"], r["row"]) == ("updates", "", "")


def test_month_pending_items_in_workbook(month):
    out, rows = month
    wb = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx", read_only=True)
    ws = wb["待办"]
    cells = [[("" if v is None else str(v)) for v in row] for row in ws.iter_rows(values_only=True)]
    wb.close()
    text = ["\t".join(c) for c in cells]
    for rule, key in sorted(PENDING_MONTH):
        assert any(rule in t and key in t for t in text), f"pending {rule} {key} not in 待办"
    # a late item is a finding, not a pending one; an action after as_of is not listed as pending either
    for rule, key in [("GZ165-REQ-1", "SQ-2026-0007"), ("GZ165-DIS-1", "YY-2026-005"),
                      ("GZ165-19-2", f"{GHX}@2026-10-22 10:00:00"), ("GZ165-19-1", f"{HJ}@2026-11-02 09:00:00"),
                      ("GZ165-19-1", f"{HJ}@2026-10-29 09:00:00"), ("GZ165-REQ-1", "SQ-2026-0026")]:
        assert not any(rule in t and key in t for t in text), f"{rule} {key} is late, not pending"
    assert not PENDING_MONTH & {(r["rule_id"], r["key"]) for r in rows}


@pytest.mark.parametrize("rule", sorted(QUARTER_RULES))
def test_quarter_findings_per_rule(quarter, rule):
    _, rows = quarter
    got = _got(rows, {rule})
    want = {t for t in EXPECTED_QUARTER if t[0] == rule}
    assert got == want, f"missing {sorted(want - got)}; unexpected {sorted(got - want)}"


def test_month_missing_share_type_is_reported_as_a_resource_by_10_1_only(month):
    """rules.md Conventions: a resource whose 共享类型 is missing is reported by GZ165-10-1 only (and 10-2 when
    base) -- not by 20-3 / 21-1 / 22-1 (it is a 自然人 base resource of 民政, 细目 残疾人登记信息, 标识 无, no items)."""
    _, rows = month
    got = {(r["rule_id"], r["key"]) for r in rows if r["key"] == "101008001/000001"}
    assert got == {("GZ165-10-1", "101008001/000001"), ("GZ165-10-2", "101008001/000001")}


def test_month_19_1_message_never_reads_the_limit_as_the_lag(month):
    _, rows = month
    by = {(r["rule_id"], r["key"]): r["message"] for r in rows}
    assert "用时 24 小时 0 分 1 秒，超过 24 小时" in by[("GZ165-19-1", f"{HJ}@2026-10-14 08:30:00")]
    assert "用时 24 小时 30 分，超过 24 小时" in by[("GZ165-19-1", f"{HJ}@2026-10-21 09:00:00")]
    assert "已过 25 小时 59 分 59 秒" in by[("GZ165-19-1", f"{HJ}@2026-10-30 22:00:00")]
    assert "用时 72 小时，" in by[("GZ165-19-1", f"{HJ}@2026-09-29 10:00:00")]


def test_december_run_with_pending_items_due_next_year(tmp_path):
    """A December 2026 run: deciding late vs pending needs only 2026 (covered); a pending item whose due day lies
    in 2027 (no bundled calendar) is listed without a due day instead of stopping the run.
    December 2026 working days: 01-04, 07-11, 14-18, 21-25, 28-31 (no holiday)."""
    src = tmp_path / "导出"
    build_exports(src)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "共享申请"
    ws.append(["编号", "使用部门", "提供部门", "资源代码", "申请日期", "答复日期", "审核结果", "理由", "用途"])
    ws.append(["SQ-2026-0101", GH, RS, RSC, "2026-12-17", "", "", "", "业务协同"])   # wd to 12-31 = 10: pending
    ws.append(["SQ-2026-0102", GH, RS, RSC, "2026-12-21", "", "", "", "业务协同"])   # 8: pending, due in 2027
    ws.append(["SQ-2026-0103", GH, WJ, WJC, "2026-12-15", "", "", "", "业务协同"])   # 12: late
    wb.save(src / "共享申请.xlsx")
    out = tmp_path / "out"
    rows = _run(src, out, "--period", "2026-12")
    assert _got(rows, {"GZ165-REQ-1"}) == {("GZ165-REQ-1", "一般", WJ, "SQ-2026-0103")}
    wb = openpyxl.load_workbook(out / "审计报告_2026-12.xlsx", read_only=True)
    pend = {r[2]: r for r in wb["待办"].iter_rows(min_row=2, values_only=True) if r[0] == "GZ165-REQ-1"}
    wb.close()
    assert set(pend) == {"SQ-2026-0101", "SQ-2026-0102"}
    assert pend["SQ-2026-0101"][3].date().isoformat() == "2026-12-31"
    assert pend["SQ-2026-0102"][3] is None and "2027" in pend["SQ-2026-0102"][4]


def test_unreadable_action_date_is_skipped_not_taken_as_not_yet(tmp_path):
    """inputs.md "What bad input gets": an unreadable 平台更新时间 ('待定') is an input defect and the deadline rules
    skip that row -- it is not "not yet updated" (which would be a 19-1 finding here: 10-20 11:00 + 24 h < as_of).
    An empty or placeholder ('/') one is "not yet". The engine takes the loader's defects for that; the CLI must
    pass them (checker/pipeline.py: ``_engine.evaluate(..., defects=lr.defects)``)."""
    from checker import engine
    from checker.calendar import Calendar
    from checker.model import Period
    from checker.pipeline import load

    src = tmp_path / "导出"
    build_exports(src)
    wb = openpyxl.load_workbook(src / "数据更新_202610.xlsx")
    wb["数据更新"].append([HJ, "2026-10-20 11:00:00", "待定"])
    wb["数据更新"].append([HJ, "2026-10-20 12:00:00", "/"])
    wb.save(src / "数据更新_202610.xlsx")
    lr = load([src], None)
    bad = lr.defects[(lr.defects["table"] == "updates") & (lr.defects["column"] == "平台更新时间")]
    assert bad["value"].tolist() == ["待定"]
    pack = engine.load_pack("gz165", None).subset(["GZ165-19-1"])
    res = engine.evaluate(lr.tables, pack, Period.parse("2026-10"), None, Calendar.load(None), lr.defects)
    keys = set(res.findings["key"])
    assert f"{HJ}@2026-10-20 11:00:00" not in keys and f"{HJ}@2026-10-20 12:00:00" in keys
    sk = res.skipped[res.skipped["reason"].str.contains("平台更新时间无法识别")]
    assert sk["count"].tolist() == [1]
