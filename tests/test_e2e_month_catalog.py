"""An outside tester's hand-made month, end to end, for the catalog and platform rules.

Rules covered: GZ165-08-1, 08-2, 08-3, 10-1 … 10-5, 11-1, 11-2, 16-1, 16-2, 16-3, 17-1, 17-2.

The exports below were written from /work/shared/spec alone (inputs.md, rules.md, codelists.md,
outputs.md), the way an auditor receives them: workbooks with a title row, CSV in UTF-8-BOM and
GB18030, header aliases, 共享类型 as codes, text dates in several forms. The expected findings were
computed by hand from rules.md and the 2026 calendar it gives; the real ``sharecheck run`` command is
driven in a subprocess and its ``findings.csv`` is compared exactly, restricted to the rules above.

2026 working days used below (rules.md): 09-20 (Sun) and 10-10 (Sat) are make-up working days;
09-25 (Mid-Autumn), 10-01, 10-02, 10-05, 10-06, 10-07 are holidays; 10-08 is a working day.
Counting after an event (wd(a, b) = working days d with a < d <= b):
  after 09-14: 15,16,17,18,20,21,22,23,24,28,29,30,10-08,09,10 (=15), 10-12 (=16)
  after 09-18: 20,21,22,23,24,28,29,30,10-08,09,10,12,13,14,15 (=15), 10-16 (=16)
  after 09-24: 28,29,30,10-08,10-09 (=5), 10-10 (=6)
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXE = ROOT / ".venv" / "bin" / "sharecheck"
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "checker.cli"]

MY_RULES = {"GZ165-08-1", "GZ165-08-2", "GZ165-08-3", "GZ165-10-1", "GZ165-10-2", "GZ165-10-3",
            "GZ165-10-4", "GZ165-10-5", "GZ165-11-1", "GZ165-11-2", "GZ165-16-1", "GZ165-16-2",
            "GZ165-16-3", "GZ165-17-1", "GZ165-17-2"}
DEADLINE_RULES = {"GZ165-08-2", "GZ165-08-3", "GZ165-17-2"}

# ------------------------------------------------------------------------------------------ departments
ZS = "广州市政务服务数据管理局"          # 市级 主管部门
GA = "广州市公安局"
MZ = "广州市民政局"
JY = "广州市教育局"
WJ = "广州市卫生健康委员会"
RS = "广州市人力资源和社会保障局"
SJ = "广州市市场监督管理局"
GH = "广州市规划和自然资源局"          # no catalog, no officer
HZS = "广州市海珠区政务服务数据管理局"  # 区级 主管部门 of 海珠区, no catalog (a 主管部门: not 08-1)
HZM = "广州市海珠区民政局"             # 区级, its only resource is 不予共享

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(first17: str) -> str:
    """GB 32100-2015 check character, computed as codelists.md says (independently of the product)."""
    assert len(first17) == 17
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_W))
    return first17 + _USCC_CHARS[(31 - s % 31) % 31]


def test_uscc_helper_matches_spec_examples():
    for code in ("91350100M000100Y43", "91110000600037341L", "91440300568520498A"):
        assert uscc(code[:17]) == code


DEPARTMENTS = [
    # 单位名称, 统一社会信用代码, 行政层级, 区, 部门类别, 主管部门
    [ZS, uscc("11440100MB2C9230X"), "市级", "", "政务服务数据管理", "是"],
    [GA, uscc("11440100007482011"), "市级", "", "公安", "否"],
    [MZ, uscc("11440100007483042"), "市级", "", "民政", ""],
    [JY, uscc("11440100007484051"), "市级", "", "教育", "N"],
    [WJ, uscc("11440100007485063"), "市级", "", "卫生健康", "0"],
    [RS, uscc("11440100007486074"), "市级", "", "人力资源社会保障", "否"],
    [SJ, uscc("11440100007487085"), "市级", "", "市场监督管理", "否"],
    [GH, uscc("11440100007488096"), "市级", "", "规划和自然资源", "否"],
    [HZS, uscc("11440105MB2D1234X"), "区级", "海珠区", "政务服务数据管理", "Y"],
    [HZM, uscc("11440105007490017"), "区级", "海珠区", "民政", "否"],
]

# ------------------------------------------------------------------------------------------ catalog
CAT_HEADER = ["*信息资源代码", "资源名称", "信息资源\n提供方", "信息资源分类", "基础库类别", "信息类别细目",
              "共享属性", "共享条件", "共享依据", "共享方式", "共享范围", "更新频率", "用途", "采集部门",
              "核准部门", "保密审查", "涉密", "标识类型", "发布日期"]


def res(code, name, dept, cls, cat, item, stype, cond, basis, way, scope, cycle, use, coll, appr,
        ident=""):
    return [code, name, dept, cls, cat, item, stype, cond, basis, way, scope, cycle, use, coll, appr,
            "是", "否", ident, dt.datetime(2026, 3, 2)]


FULL = ("全市政务部门", "每月", "行政审批和监管")   # scope, cycle, use of a complete shared entry
CATALOG = [
    # C01 row 3: base resource, 共享类型 as code "1" = 无条件共享 -> 10-2 boundary pass; everything complete
    res("101001001/000001", "户籍人口基本信息", GA, "基础信息资源", "自然人", "户籍登记信息", "1", "", "",
        "平台接口", "全市政务部门", "实时", "身份核验", GA, GA, "公民身份号码"),
    # C02 row 4: base resource (资源分类) that is 有条件共享 -> 10-2; 10-3 passes (条件+依据 present)
    res("101001002/000002", "出生医学证明信息", WJ, "基础信息资源", "自然人", "出生和死亡登记信息", "有条件共享",
        "仅限办理户籍和社保业务使用", "《中华人民共和国母婴保健法》第二十三条", "平台接口", *FULL, WJ, WJ,
        "公民身份号码"),
    # C03 row 5: 资源分类 部门信息资源 but 基础信息类别 set -> base; 共享类型 "3" = 不予共享 -> 10-2;
    #            依据 is a city instrument only -> 10-5 一般
    res("102001001/000003", "企业登记档案", SJ, "部门信息资源", "法人", "企业和个体工商户登记信息", "3", "",
        "《广州市商事登记暂行办法》第十二条", "平台库表", "", "", "", "", "", "统一社会信用代码"),
    # C04 row 6: base resource with empty 共享类型 -> 10-1 and 10-2 (and nothing else: not shared)
    res("102001002/000004", "社会组织登记信息", MZ, "基础信息资源", "法人", "非营利组织登记信息", "", "", "",
        "点对点", "", "", "", "", "", "统一社会信用代码"),
    # C05 row 7: invalid 共享类型 -> 10-1 only
    res("301001001/000005", "教育督导报告", JY, "部门信息资源", "", "", "部分共享", "", "",
        "平台文件", *FULL, JY, JY),
    # C06 row 8: placeholder 共享类型 "/" = missing -> 10-1; 16-2 not (not a shared resource)
    res("301001002/000006", "低保救助家庭台账", MZ, "部门信息资源", "", "", "/", "", "",
        "邮件", *FULL, MZ, MZ),
    # C07 row 9: "02" = 有条件共享 whose 共享条件 is a placeholder "—" -> 10-3
    res("301001003/000007", "养老机构信息", MZ, "部门信息资源", "", "", "02", "—",
        "《养老机构管理办法》（民政部令第66号）", "平台接口", *FULL, MZ, MZ),
    # C08 row 10: 有条件共享 without 共享依据 -> 10-3
    res("301001004/000008", "学籍变动信息", JY, "部门信息资源", "", "", "有条件共享", "需经市教育局审核同意", "",
        "平台接口", *FULL, JY, JY),
    # C09 row 11: "有条件" alias with 条件 and 依据 -> passes 10-3
    res("301001005/000009", "医疗机构执业登记信息", WJ, "部门信息资源", "", "", "有条件", "用于行政审批",
        "《医疗机构管理条例》第十五条", "平台接口", *FULL, WJ, WJ),
    # C10 row 12: 不予共享 with placeholder 依据 "暂无" -> 10-4 (严重); not 10-5 (依据 not present)
    res("301001006/000010", "内部人事档案", RS, "部门信息资源", "", "", "不予共享", "", "暂无",
        "平台库表", "", "", "", "", ""),
    # C11 row 13: "不共享" alias, a 法律 cited -> passes 10-4 and 10-5
    res("301001007/000011", "统计调查原始资料", RS, "部门信息资源", "", "", "不共享", "",
        "《中华人民共和国统计法》第二十五条", "平台库表", "", "", "", "", ""),
    # C12 row 14: 不予共享 citing only a city instrument -> 10-5 一般
    res("301001008/000012", "执法案件卷宗", GA, "部门信息资源", "", "", "不予共享", "",
        "《广州市政务信息共享管理规定》第十条", "平台库表", "", "", "", "", ""),
    # C13 row 15: 不予共享 whose 依据 cites nothing recognizable -> 10-5 提示 (unclassified)
    res("301001009/000013", "信访人信息", GA, "部门信息资源", "", "", "不予共享", "", "工作需要，暂不对外共享",
        "平台库表", "", "", "", "", ""),
    # C14 row 16: 不予共享 citing a departmental rule (…部令) -> 10-5 一般
    res("301001010/000014", "行政案件办理记录", GA, "部门信息资源", "", "", "不予共享", "",
        "《公安机关办理行政案件程序规定》（公安部令第160号）", "平台库表", "", "", "", "", ""),
    # C15 row 17: 海珠区民政局's only resource, 不予共享 citing a 法律 and a district paper -> passes;
    #             the department has a catalog -> no 08-1
    res("301002001/000015", "困难群众个人隐私信息", HZM, "部门信息资源", "", "", "不予共享", "",
        "《中华人民共和国个人信息保护法》第十三条；《海珠区社会救助工作规程》", "平台库表", "", "", "", "",
        ""),
    # C16 row 18: 无条件共享 lacking 共享范围 and 具体用途 ("无") -> one 11-1 finding
    res("301001012/000016", "卫生监督执法信息", WJ, "部门信息资源", "", "", "无条件共享", "", "",
        "平台库表", "", "每月", "无", WJ, WJ),
    # C17 row 19: 有条件共享 with an invalid 更新周期 -> 11-1
    res("301001013/000017", "社保参保缴费信息", RS, "部门信息资源", "", "", "有条件共享", "经申请审核后使用",
        "国办发〔2016〕51号", "平台接口", "全市政务部门", "每两周", "社保待遇核定", RS, RS),
    # C18 row 20: 无条件共享 with an invalid 共享方式 -> 11-1 (not 16-2: not one of the off-platform ways)
    res("301001014/000018", "就业登记信息", RS, "部门信息资源", "", "", "无条件共享", "", "",
        "FTP传输", *FULL, RS, RS),
    # C19 row 21: 无条件共享 through 点对点 -> 16-2
    res("301001015/000019", "市场主体年报信息", SJ, "部门信息资源", "", "", "1", "", "",
        "点对点", *FULL, SJ, SJ),
    # C20 row 22: 有条件共享 through 邮件 -> 16-2 (10-3 passes)
    res("301001016/000020", "食品经营许可信息", SJ, "部门信息资源", "", "", "2", "用于食品安全监管",
        "《中华人民共和国食品安全法》第三十五条", "邮件", *FULL, SJ, SJ),
    # C21 row 23: 不予共享 through 介质拷贝, 11-1 elements empty -> neither 16-2 nor 11-1
    res("301001017/000021", "特种设备安全档案", SJ, "部门信息资源", "", "", "不予共享", "",
        "《中华人民共和国特种设备安全法》第三十五条", "介质拷贝", "", "", "", "", ""),
    # C22 row 24: 无条件共享 through 专项共享 -> passes
    res("301001018/000022", "政务服务事项目录", ZS, "部门信息资源", "", "", "无条件", "", "",
        "专项共享", *FULL, ZS, ZS),
    # C23 row 25: 无条件共享 lacking 采集部门 (empty) and 核准部门 ("暂无") -> one 11-1 finding
    res("301001019/000023", "教师资格认定信息", JY, "部门信息资源", "", "", "01", "", "",
        "平台接口", *FULL, "", "暂无"),
    # C24 row 26: 资源分类 基础信息资源 with 类别/细目 left empty (an input defect for other rules) that is
    #             有条件共享 -> still 10-2
    res("101001003/000024", "人口综合信息", GA, "基础信息资源", "", "", "有条件共享", "限于政务服务办理",
        "《中华人民共和国居民身份证法》第十三条", "平台接口", *FULL, GA, GA),
    # C25 row 27: 共享类型 as a full-width code with full-width spaces = 无条件共享 -> nothing; 共享方式 with
    #             stray spaces " 点对点 " -> 16-2
    res("301001020/000025", "出入境证件办理信息", GA, "部门信息资源", "", "", "\u3000１\u3000", "", "",
        " 点对点 ", *FULL, GA, GA),
    # C26 row 28: 更新周期 "N/A" is a placeholder = missing -> 11-1; 有条件 依据 "-" placeholder -> 10-3
    res("301001021/000026", "机动车登记信息", GA, "部门信息资源", "", "", "有条件共享", "限交通管理使用", "-",
        "平台接口", "全市政务部门", "N/A", "交通管理", GA, GA),
]
# A trailing-space / full-width variant of the provider must still be the same department.
CATALOG[9][2] = f" {RS} "
# C12 is 涉密 in the catalog: exchange rules must look at the exchange row's own flag only.
CATALOG[11][16] = "是"

# ------------------------------------------------------------------------------------------ exchanges
EX_HEADER = ["流水号", "时间", "资源代码", "提供方", "需求部门", "通道", "涉密", "结果"]
EXCHANGES = [
    ["JH202610001", "2026-10-09 10:00:00", "101001001/000001", GA, MZ, "共享平台", "", "成功"],   # pass
    ["JH202610002", "2026/10/12 09:30", "301001015/000019", SJ, RS, "点对点", "", "成功"],         # 16-1
    ["JH202610003", "2026-10-15 14:00:00", "301001012/000016", WJ, MZ, "前置机直连", "否", "成功"],  # 16-1
    ["JH202610004", "2026-10-20 11:00:00", "301001008/000012", GA, MZ, "邮件", "是", "成功"],       # secret
    ["JH202610005", "2026-10-21 16:20:00", "301001017/000021", SJ, GA, "介质拷贝", "√", "成功"],    # secret
    ["JH202609006", "2026-09-30 23:59:59", "301001015/000019", SJ, RS, "点对点", "", "成功"],       # Sept.
    ["JH202611007", "2026-11-01 00:00:05", "301001015/000019", SJ, RS, "点对点", "", "成功"],       # Nov.
    ["JH202610008", "2026-10-31 23:30:00", "301001012/000016", WJ, RS, "邮件", "", "失败"],         # 16-1
    ["JH202610009", "2026-10-10 08:00:00", "101001001/009999", GA, MZ, "共享平台", "", "成功"],     # 11-2
    ["JH202610010", "2026-10-16 08:00:00", "101001001/009999", GA, WJ, "点对点", "", "成功"],       # 11-2,16-1
    ["JH202610011", "2026-10-19 15:00:00", "301009001/000888", RS, JY, "专项共享通道", "", "失败"],  # 11-2
    ["JH202610012", "2026-10-22 15:00:00", "301009001/000888", JY, RS, "共享平台", "", ""],         # 11-2
    ["JH202609013", "2026-09-29 10:00:00", "301009009/000777", MZ, GA, "共享平台", "", "成功"],     # Sept.
    ["JH202610014", "2026-10-23 10:00:00", "１０１００１００１/０００００１", GA, RS, "共享平台", "", "成功"],
    ["JH202610015", "2026-10-26 10:00:00", "301001006/000010", RS, GA, "共享平台", "", "成功"],     # 不予共享
    ["JH202610016", "2026-10-27 10:00:00", "102001002/000004", MZ, GA, "点对点", "N", "成功"],      # 16-1
    ["JH202610017", "2026-10-28 10:00:00", "301001008/000012", GA, MZ, "点对点", "", "成功"],       # 16-1
    # a lower-case serial, a date-only time and a Chinese date: all in October, all 16-1; the unknown code
    # with stray spaces is the same 301009001/000888 of 人社局 (no second 11-2 finding)
    ["jh202610018", "2026年10月18日 9:05", " 301009001/000888 ", RS, GA, "点对点", "", "成功"],
    ["JH202610019", "2026-10-20", "301001015/000019", SJ, GA, "介质拷贝", "0", "成功"],
]

# ------------------------------------------------------------------------------------------ systems
SYS_HEADER = ["系统名称", "部门", "跨部门共享", "接入平台", "建设类型"]
SYSTEMS = [
    ["人口信息管理系统", GA, "是", "否", "新建"],      # row 3: 16-3 严重 (新建, cross-department)
    ["婚姻登记 系统", MZ, "是", "否", "原有"],          # row 4: 16-3 一般 (原有); key without the space
    ["学籍管理系统", JY, "否", "否", "新建"],           # row 5: 16-3 一般 (not cross-department)
    ["全民健康信息平台", WJ, "Y", "N", ""],             # row 6: 16-3 一般 (建设类型 unknown)
    ["社保经办系统", RS, "是", "是", "新建"],           # row 7: connected -> pass
    ["商事登记系统", SJ, "1", "1", "原有"],             # row 8: connected -> pass
]

# ------------------------------------------------------------------------------------------ catalog_changes
CHG_HEADER = ["编号", "部门名称", "原因", "发生日期", "部门报送日期", "本级目录更新日期"]
D = dt.datetime
CHANGES = [
    # row 4 BG-001: 09-18 -> 10-15 = 15 wd (08-2 boundary pass); 10-15 -> 11-05 = 15 wd (08-3, after Oct as_of)
    ["BG-2026-001", GA, "法律法规修订", D(2026, 9, 18), D(2026, 10, 15), "2026-11-05"],
    # row 5 BG-002: 09-18 -> 10-16 = 16 wd: 08-2 late; 10-16 -> 11-09 = 16 wd (08-3 late, seen in Q4 only)
    ["BG-2026-002", MZ, "职能变化", "2026/9/18", "2026年10月16日", "2026-11-09"],
    # row 6 BG-003: 10-12, not sent: wd(10-12, 10-31) = 14 -> pending in Oct
    ["BG-2026-003", JY, "其他", "2026-10-12", "", ""],
    # row 7 BG-004: 10-09, not sent: wd(10-09, 10-31) = 16 (10-10 is a working Saturday) -> 08-2 late
    ["BG-2026-004", WJ, "职能变化", "20261009", "", ""],
    # row 8 BG-005: 10-10 (working Saturday), not sent: wd(10-10, 10-31) = 15 -> pending (boundary)
    ["BG-2026-005", RS, "法律法规修订", D(2026, 10, 10), "", ""],
    # row 9 BG-006: sent 11-05 (after Oct as_of): not checked in Oct; Q4: 08-2 late, 08-3 11-05 -> 11-26 = 15
    ["BG-2026-006", SJ, "其他", "2026-09-01", "2026-11-05", "2026-11-26"],
    # row 10 BG-007: sent in Sept (08-2 not this period); 09-30 -> 10-30 = 18 wd -> 08-3 late (市 主管)
    ["BG-2026-007", GA, "其他", "2026-08-01", "2026-09-30", "2026.10.30"],
    # row 11 BG-008: 09-14 -> 10-10 = 15 wd -> 08-3 boundary pass
    ["BG-2026-008", MZ, "职能变化", "2026-09-07", "2026-09-14", "2026-10-10"],
    # row 12 BG-009: 09-14 -> 10-12 = 16 wd -> 08-3 late (市 主管)
    ["BG-2026-009", WJ, "职能变化", "2026-09-07", "2026-09-14", "2026.10.12"],
    # row 13 BG-010: 10-08 -> 10-09 = 1 wd (08-2 pass); level catalog not revised, wd(10-09, 10-31) = 16 -> 08-3
    ["BG-2026-010", JY, "其他", "2026-10-08", "2026-10-09", ""],
    # row 14 BG-011: 09-24 -> 10-16 = 11 wd (pass); 区 catalog not revised, wd(10-16, 10-31) = 10 -> pending
    ["BG-2026-011", HZM, "职能变化", "2026-09-24", "2026-10-16", ""],
    # row 15 BG-012: sent 09-18 (Sept); 09-18 -> 10-16 = 16 wd -> 08-3 late, attributed to 海珠区 主管
    ["BG-2026-012", HZM, "法律法规修订", "2026-09-10", "2026-09-18", "2026-10-16"],
    # row 16 BG-013: all in Aug/Sept -> not checked
    ["BG-2026-013", RS, "其他", "2026-08-03", "2026-08-25", "2026-09-10"],
    # row 17 BG-014: a text Excel serial: 46287 = 09-22, 46311 = 10-16 -> 13 wd, pass; 08-3 pending (10)
    ["BG-2026-014", SJ, "其他", "46287", "46311", ""],
    # row 18 BG-015: datetimes in date columns: 09-18 17:30 -> 10-16 09:00 = 16 wd -> 08-2 (dates count)
    ["BG-2026-015", JY, "其他", "2026-09-18 17:30", "2026-10-16 09:00:00", "2026-10-20"],
    # row 19 BG-016: in November (Q4 only): not sent at 11-30 although "sent" 12-10 -> wd(11-02, 11-30) = 20
    ["BG-2026-016", GA, "其他", "2026-11-02", "2026-12-10", ""],
]

# ------------------------------------------------------------------------------------------ officers
OFF_HEADER = ["部门名称", "姓名", "职务", "电话", "平台发布", "任职日期", "书面告知日期"]
OFFICERS = [
    [ZS, "张伟", "科长", "020-83120001", "是", "", ""],                          # row 3
    [GA, "李娜", "副科长", "020-83120002", "Y", "2026-09-24", "2026-10-09"],     # row 4: 5 wd, pass
    [MZ, "王芳", "科长", "020-83120003", "√", "2026-09-24", "2026-10-10"],       # row 5: 6 wd -> 17-2
    [JY, "陈静", "科员", "020-83120004", "否", "", ""],                          # row 6: 教育局 unpublished
    [WJ, "刘洋", "科长", "020-83120005", "1", "2026-10-26", ""],                 # row 7: 4 wd -> pending
    [RS, "黄磊", "主任", "020-83120006", "true", "2026/10/23", ""],              # row 8: 5 wd -> pending
    [SJ, "周杰", "科长", "020-83120007", "是", "2026年10月22日", ""],            # row 9: 6 wd -> 17-2
    [HZS, "吴刚", "股长", "020-84120001", "是", "2026-10-20", "2026-11-03"],     # row 10: after as_of
    [HZM, "郑丽", "股长", "020-84120002", "是", "2026-08-03", "2026-08-20"],     # row 11: August
    [HZM, "孙强", "科员", "020-84120003", "是", "2026-11-23", "2026-11-30"],     # row 12: Nov, 5 wd
    [HZM, "钱进", "科员", "020-84120004", "是", "2026-11-24", ""],               # row 13: Nov, pending
    [GA, "欧阳 娜娜", "科员", "020-83120008", "是", "2026-10-12", "2026-10-20"],  # row 14: 13..16,19,20 = 6
    [GA, "丁三", "科员", "020-83120009", "是", "2026-11-20", "2026-12-03"],       # row 15: Q4: late at 11-30
    [GA, "丁四", "科员", "020-83120010", "是", "2026-11-26", "2026-12-04"],       # row 16: Q4: pending at 11-30
]


def _title_sheet(ws, title, header, rows, blank_after_title=False):
    ws.append([title] + [None] * (len(header) - 1))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if blank_after_title:
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)


def build_month(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # departments: UTF-8 with BOM, aliases
    with open(folder / "部门名录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "统一社会信用代码", "行政层级", "区", "部门类别", "主管部门"])
        w.writerows(DEPARTMENTS)
    # catalog: workbook with a merged title row, header on row 2, a 合计 row
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "信息资源"
    _title_sheet(ws, "广州市政务信息资源目录（导出时间：2026-11-02）", CAT_HEADER, CATALOG)
    ws.append(["合计", f"{len(CATALOG)} 条"])
    # the platform's export holds the 信息项 in the same workbook
    items = wb.create_sheet("信息项")
    items.append(["资源代码", "数据项名称", "字段类型", "基础信息项"])
    for code, name in [("101001001/000001", "姓名"), ("101001001/000001", "公民身份号码"),
                       ("101001002/000002", "姓名"), ("101001002/000002", "身份证件类型"),
                       ("101001002/000002", "身份证件号码"), ("102001001/000003", "统一社会信用代码")]:
        items.append([code, name, "字符型", "是"])
    wb.save(folder / "政务信息资源目录.xlsx")
    # exchanges: GB18030 CSV, aliases
    with open(folder / "交换日志_202610.csv", "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(EX_HEADER)
        w.writerows(EXCHANGES)
    # systems
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "信息系统"
    _title_sheet(ws, "各部门业务信息系统接入情况", SYS_HEADER, SYSTEMS)
    wb.save(folder / "业务信息系统.xlsx")
    # catalog changes and officers: one workbook, two sheets
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "目录变更"
    _title_sheet(ws, "目录变更记录（2026年）", CHG_HEADER, CHANGES, blank_after_title=True)
    for row in ws.iter_rows(min_row=4):
        for c in row[3:]:
            if isinstance(c.value, dt.datetime):
                c.number_format = "yyyy-mm-dd"
    ws2 = wb.create_sheet("责任人员")
    _title_sheet(ws2, "政务信息共享工作责任人员", OFF_HEADER, OFFICERS)
    wb.save(folder / "目录变更及责任人员.xlsx")
    return folder


def run(inputs: Path, out: Path, *extra: str) -> pd.DataFrame:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SHARECHECK_DEBUG")}
    proc = subprocess.run(COMMAND + ["run", str(inputs), "--out", str(out), "-q", *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def got(df: pd.DataFrame, rules=MY_RULES) -> set[tuple[str, str, str, str]]:
    mine = df[df["rule_id"].isin(rules)]
    tuples = list(zip(mine["rule_id"], mine["severity"], mine["department"], mine["key"]))
    assert len(tuples) == len(set(tuples)), "a record was reported twice"
    return set(tuples)


# ------------------------------------------------------------------------------------------ expectations
EXPECTED_OCT = {
    # 08-1: a non-主管 department without any catalog row (海珠区政数局 has none but is a 主管部门;
    #       海珠区民政局's only resource is 不予共享, still a catalog)
    ("GZ165-08-1", "严重", GH, GH),
    # 08-2: BG-002 sent 10-16, 16 wd after 09-18
    ("GZ165-08-2", "一般", MZ, "BG-2026-002"),
    # 08-2: BG-004 not sent, wd(10-09, 10-31) = 16 > 15
    ("GZ165-08-2", "一般", WJ, "BG-2026-004"),
    # 08-2: BG-015 sent 10-16 09:00, 16 wd after 09-18 17:30 (calendar dates count)
    ("GZ165-08-2", "一般", JY, "BG-2026-015"),
    # 08-3: BG-007 received 09-30, level catalog revised 10-30 (in period) = 18 wd -> the 市级 主管部门
    ("GZ165-08-3", "一般", ZS, "BG-2026-007"),
    # 08-3: BG-009 received 09-14, revised 10-12 = 16 wd
    ("GZ165-08-3", "一般", ZS, "BG-2026-009"),
    # 08-3: BG-010 received 10-09, not revised, wd(10-09, 10-31) = 16
    ("GZ165-08-3", "一般", ZS, "BG-2026-010"),
    # 08-3: BG-012 (海珠区民政局, 区级) received 09-18, revised 10-16 = 16 wd -> the 海珠区 主管部门
    ("GZ165-08-3", "一般", HZS, "BG-2026-012"),
    # 10-1: C04 empty, C05 invalid "部分共享", C06 placeholder "/"
    ("GZ165-10-1", "严重", MZ, "102001002/000004"),
    ("GZ165-10-1", "严重", JY, "301001001/000005"),
    ("GZ165-10-1", "严重", MZ, "301001002/000006"),
    # 10-2: C02 base 有条件共享; C03 base (by 基础信息类别) 不予共享 given as "3"; C04 base with no 共享类型
    ("GZ165-10-2", "严重", WJ, "101001002/000002"),
    ("GZ165-10-2", "严重", SJ, "102001001/000003"),
    ("GZ165-10-2", "严重", MZ, "102001002/000004"),
    # 10-2: C24 base by 资源分类 although 类别/细目 are empty
    ("GZ165-10-2", "严重", GA, "101001003/000024"),
    # 10-3: C07 条件 is a placeholder; C08 no 依据
    ("GZ165-10-3", "一般", MZ, "301001003/000007"),
    ("GZ165-10-3", "一般", JY, "301001004/000008"),
    ("GZ165-10-3", "一般", GA, "301001021/000026"),   # 依据 "-"
    # 10-4: C10 依据 "暂无" (provider written with stray spaces)
    ("GZ165-10-4", "严重", RS, "301001006/000010"),
    # 10-5: C03 and C12 cite only city instruments; C14 a 部令 (departmental rule); C13 nothing -> 提示
    ("GZ165-10-5", "一般", SJ, "102001001/000003"),
    ("GZ165-10-5", "一般", GA, "301001008/000012"),
    ("GZ165-10-5", "一般", GA, "301001010/000014"),
    ("GZ165-10-5", "提示", GA, "301001009/000013"),
    # 11-1: C16 (共享范围, 具体用途), C17 (更新周期 invalid), C18 (共享方式 invalid), C23 (采集/核准部门)
    ("GZ165-11-1", "一般", WJ, "301001012/000016"),
    ("GZ165-11-1", "一般", RS, "301001013/000017"),
    ("GZ165-11-1", "一般", RS, "301001014/000018"),
    ("GZ165-11-1", "一般", JY, "301001019/000023"),
    ("GZ165-11-1", "一般", GA, "301001021/000026"),   # 更新周期 "N/A"
    # 11-2: unknown code 101001001/009999 exchanged twice by 公安 -> once; 301009001/000888 by two providers
    #       (one failed exchange, one with empty 结果); the Sept. unknown code is out of the period
    ("GZ165-11-2", "一般", GA, "101001001/009999"),
    ("GZ165-11-2", "一般", RS, "301009001/000888"),
    ("GZ165-11-2", "一般", JY, "301009001/000888"),
    # 16-1: off-platform and not secret by the exchange row's own flag (JH017's resource is 涉密 in the
    #       catalog, not consulted; JH008 failed but counts; JH010's code is unknown but counts);
    #       JH004/JH005 are secret; JH006/JH007 are outside October
    ("GZ165-16-1", "严重", SJ, "JH202610002"),
    ("GZ165-16-1", "严重", WJ, "JH202610003"),
    ("GZ165-16-1", "严重", WJ, "JH202610008"),
    ("GZ165-16-1", "严重", GA, "JH202610010"),
    ("GZ165-16-1", "严重", MZ, "JH202610016"),
    ("GZ165-16-1", "严重", GA, "JH202610017"),
    ("GZ165-16-1", "严重", RS, "JH202610018"),   # key upper-cased
    ("GZ165-16-1", "严重", SJ, "JH202610019"),   # 涉密 "0"
    # 16-2: C19 无条件 via 点对点, C20 有条件 via 邮件 (C06/C21 are not shared resources)
    ("GZ165-16-2", "一般", SJ, "301001015/000019"),
    ("GZ165-16-2", "一般", SJ, "301001016/000020"),
    ("GZ165-16-2", "一般", GA, "301001020/000025"),   # " 点对点 ", 共享类型 "　１　"
    # 16-3
    ("GZ165-16-3", "严重", GA, f"{GA}/人口信息管理系统"),
    ("GZ165-16-3", "一般", MZ, f"{MZ}/婚姻登记系统"),
    ("GZ165-16-3", "一般", JY, f"{JY}/学籍管理系统"),
    ("GZ165-16-3", "一般", WJ, f"{WJ}/全民健康信息平台"),
    # 17-1: 教育局's only officer is unpublished; 规划和自然资源局 has none
    ("GZ165-17-1", "一般", JY, JY),
    ("GZ165-17-1", "一般", GH, GH),
    # 17-2: 王芳 notified 10-10, 6 wd after 09-24; 周杰 not notified, wd(10-22, 10-31) = 6
    ("GZ165-17-2", "一般", MZ, f"{MZ}/王芳"),
    ("GZ165-17-2", "一般", SJ, f"{SJ}/周杰"),
    # 17-2: 欧阳娜娜 (key without the inner space) notified 10-20, 6 wd after 10-12
    ("GZ165-17-2", "一般", GA, f"{GA}/欧阳娜娜"),
}

# 2026-Q4 with as_of 2026-11-30, deadline rules only (plus the exchange rules for the November exchange)
EXPECTED_Q4_DEADLINES = {
    ("GZ165-08-2", "一般", MZ, "BG-2026-002"),   # 16 wd, action 10-16 in Q4
    ("GZ165-08-2", "一般", JY, "BG-2026-003"),   # not sent, wd(10-12, 11-30) = 34
    ("GZ165-08-2", "一般", WJ, "BG-2026-004"),   # not sent
    ("GZ165-08-2", "一般", RS, "BG-2026-005"),   # not sent, wd(10-10, 11-30) = 30
    ("GZ165-08-2", "一般", SJ, "BG-2026-006"),   # 09-01 -> 11-05, 45 wd
    ("GZ165-08-2", "一般", JY, "BG-2026-015"),   # 16 wd
    ("GZ165-08-2", "一般", GA, "BG-2026-016"),   # "sent" 12-10, after as_of: not sent at 11-30, 20 wd
    # (BG-001: 15 wd pass; BG-010, BG-011, BG-014: pass; others sent outside Q4)
    ("GZ165-08-3", "一般", ZS, "BG-2026-002"),   # 10-16 -> 11-09 = 16 wd
    ("GZ165-08-3", "一般", ZS, "BG-2026-007"),   # 18 wd
    ("GZ165-08-3", "一般", ZS, "BG-2026-009"),   # 16 wd
    ("GZ165-08-3", "一般", ZS, "BG-2026-010"),   # not revised, wd(10-09, 11-30) = 36
    ("GZ165-08-3", "一般", HZS, "BG-2026-011"),  # not revised, wd(10-16, 11-30) = 31
    ("GZ165-08-3", "一般", HZS, "BG-2026-012"),  # 16 wd
    ("GZ165-08-3", "一般", ZS, "BG-2026-014"),   # not revised, wd(10-16, 11-30) = 31
    # (BG-015: 10-16 -> 10-20 = 2 wd)
    # (BG-001 10-15 -> 11-05 = 15 and BG-006 11-05 -> 11-26 = 15: boundary passes; BG-008 15)
    ("GZ165-17-2", "一般", MZ, f"{MZ}/王芳"),    # 6 wd
    ("GZ165-17-2", "一般", WJ, f"{WJ}/刘洋"),    # not notified, wd(10-26, 11-30) = 24
    ("GZ165-17-2", "一般", RS, f"{RS}/黄磊"),    # not notified
    ("GZ165-17-2", "一般", SJ, f"{SJ}/周杰"),    # not notified
    ("GZ165-17-2", "一般", HZS, f"{HZS}/吴刚"),  # 10-20 -> 11-03 = 10 wd
    ("GZ165-17-2", "一般", GA, f"{GA}/欧阳娜娜"),  # 6 wd
    ("GZ165-17-2", "一般", GA, f"{GA}/丁三"),    # notified 12-03, after as_of: wd(11-20, 11-30) = 6
    # (丁四: wd(11-26, 11-30) = 2, pending although notified 12-04)
    # (孙强 11-23 -> 11-30 = 5 wd: pass; 钱进 wd(11-24, 11-30) = 4: pending)
}
EXPECTED_Q4_16_1 = {k for k in EXPECTED_OCT if k[0] == "GZ165-16-1"} | {
    ("GZ165-16-1", "严重", SJ, "JH202611007"),  # 11-01 00:00:05 is inside Q4 and before as_of
}


@pytest.fixture(scope="module")
def october(tmp_path_factory):
    base = tmp_path_factory.mktemp("month_catalog")
    inputs = build_month(base / "导出" / "2026-10")
    out = base / "out_202610"
    return inputs, out, run(inputs, out, "--period", "2026-10")


def test_october_findings_match_hand_computed(october):
    _, _, df = october
    actual = got(df)
    missing = EXPECTED_OCT - actual
    extra = actual - EXPECTED_OCT
    assert not missing and not extra, f"missing={sorted(missing)}\nextra={sorted(extra)}"


def test_october_rows_point_at_the_excel_rows(october):
    _, _, df = october
    idx = {(r.rule_id, r.key): r for r in df.itertuples()}
    # catalog: title on row 1, header on row 2, C01 on row 3
    assert idx[("GZ165-10-1", "301001001/000005")].row == "7"
    assert idx[("GZ165-10-4", "301001006/000010")].row == "12"
    assert idx[("GZ165-11-1", "301001019/000023")].row == "25"
    # catalog changes: title, blank, header -> BG-001 on row 4
    assert idx[("GZ165-08-2", "BG-2026-002")].row == "5"
    assert idx[("GZ165-08-3", "BG-2026-012")].row == "15"
    # officers and systems: title + header -> first data row 3
    assert idx[("GZ165-17-2", f"{SJ}/周杰")].row == "9"
    assert idx[("GZ165-16-3", f"{MZ}/婚姻登记系统")].row == "4"
    # 08-1 and 17-1 are about a missing record (no catalog entry / no published officer): outputs.md leaves
    # `row` empty; `input` names the table the record is missing from
    assert (idx[("GZ165-08-1", GH)].input, idx[("GZ165-08-1", GH)].sheet, idx[("GZ165-08-1", GH)].row) == \
        ("catalog", "", "")
    assert (idx[("GZ165-17-1", JY)].input, idx[("GZ165-17-1", JY)].row) == ("officers", "")
    # the message of 11-1 names every missing element of C16
    msg = idx[("GZ165-11-1", "301001012/000016")].message
    assert "共享范围" in msg and "具体用途" in msg
    # an invalid code is quoted so the department can correct it; an empty 建设类型 reads cleanly
    assert "每两周" in idx[("GZ165-11-1", "301001013/000017")].message
    assert "（（" not in idx[("GZ165-16-3", f"{WJ}/全民健康信息平台")].message
    assert "（空）" not in idx[("GZ165-10-2", "102001002/000004")].message
    # the GB18030 exchange log: header on line 1, JH202610001 on line 2
    assert idx[("GZ165-16-1", "JH202610002")].row == "3"
    # 11-2 points at the provider's first exchange of the unknown code by time (JH018 10-18 before JH011 10-19)
    rs_11_2 = df[(df.rule_id == "GZ165-11-2") & (df.department == RS)]
    assert rs_11_2["row"].tolist() == ["19"]
    # 16-1 names the using department
    assert RS in idx[("GZ165-16-1", "JH202610002")].message


def _pending(out: Path, period: str) -> list[tuple]:
    wb = openpyxl.load_workbook(out / f"审计报告_{period}.xlsx", read_only=True)
    rows = [tuple("" if v is None else str(v) for v in r) for r in wb["待办"].iter_rows(values_only=True)]
    wb.close()
    return rows


def _has(rows: list[tuple], *needles: str) -> bool:
    return any(all(any(n in cell for cell in r) for n in needles) for r in rows)


def test_october_pending_items_listed(october):
    _, out, _ = october
    rows = _pending(out, "2026-10")
    # not late yet at 10-31: BG-003 (14 wd), BG-005 (15 wd), BG-011 step 2 (10 wd), 刘洋 (4), 黄磊 (5)
    assert _has(rows, "GZ165-08-2", "BG-2026-003")
    assert _has(rows, "GZ165-08-2", "BG-2026-005")
    assert _has(rows, "GZ165-08-3", "BG-2026-011")
    assert _has(rows, "GZ165-08-3", "BG-2026-014")
    assert _has(rows, "GZ165-17-2", "刘洋")
    assert _has(rows, "GZ165-17-2", "黄磊")
    # late ones are findings, not pending; November events are not pending in October
    assert not _has(rows, "BG-2026-004")
    assert not _has(rows, "周杰")
    assert not _has(rows, "钱进")


@pytest.fixture(scope="module")
def q4(tmp_path_factory):
    base = tmp_path_factory.mktemp("q4_catalog")
    inputs = build_month(base / "导出" / "2026-Q4")
    out = base / "out_2026Q4"
    return inputs, out, run(inputs, out, "--period", "2026-Q4", "--as-of", "2026-11-30")


def test_q4_deadline_findings_match_hand_computed(q4):
    _, _, df = q4
    actual = got(df, DEADLINE_RULES)
    missing = EXPECTED_Q4_DEADLINES - actual
    extra = actual - EXPECTED_Q4_DEADLINES
    assert not missing and not extra, f"missing={sorted(missing)}\nextra={sorted(extra)}"
    assert got(df, {"GZ165-16-1"}) == EXPECTED_Q4_16_1
    assert got(df, {"GZ165-11-2"}) == {k for k in EXPECTED_OCT if k[0] == "GZ165-11-2"}


def test_q4_pending_items_listed(q4):
    _, out, _ = q4
    rows = _pending(out, "2026-Q4")
    assert _has(rows, "GZ165-17-2", "钱进")
    assert _has(rows, "GZ165-17-2", "丁四")
    assert not _has(rows, "刘洋")
    assert not _has(rows, "BG-2026-011")


# 2026-Q3, as_of defaulting to 2026-09-30: only what was done (or due) by the end of September
EXPECTED_Q3 = {
    # BG-007 sent 09-30, long after its 08-01 change (08-01 is a Saturday)
    ("GZ165-08-2", "一般", GA, "BG-2026-007"),
    # BG-013 08-03 -> 08-25: Aug 4-7, 10-14, 17-21, 24, 25 = 16 wd
    ("GZ165-08-2", "一般", RS, "BG-2026-013"),
    # (BG-008/009 09-07 -> 09-14 = 5, BG-012 09-10 -> 09-18 = 6: pass; BG-006 sent 11-05 is not in Q3;
    #  08-3: only BG-013's level revision 08-25 -> 09-10 = 12 wd is in Q3, a pass)
    # 郑丽 changed 08-03, notified 08-20: 13 wd
    ("GZ165-17-2", "一般", HZM, f"{HZM}/郑丽"),
    # exchanges of Q3: JH006 (09-30 23:59:59, 点对点) and the unknown code of JH013 (09-29)
    ("GZ165-16-1", "严重", SJ, "JH202609006"),
    ("GZ165-11-2", "一般", MZ, "301009009/000777"),
}


def test_q3_findings_match_hand_computed(tmp_path):
    inputs = build_month(tmp_path / "导出" / "2026-Q3")
    out = tmp_path / "out_2026Q3"
    df = run(inputs, out, "--period", "2026-Q3")
    rules = DEADLINE_RULES | {"GZ165-16-1", "GZ165-11-2"}
    actual = got(df, rules)
    assert actual == EXPECTED_Q3, f"missing={sorted(EXPECTED_Q3 - actual)}\nextra={sorted(actual - EXPECTED_Q3)}"
    rows = _pending(out, "2026-Q3")
    assert not any(r and r[0] in DEADLINE_RULES for r in rows[1:]), rows
    # the catalog rules do not depend on the period
    assert got(df, MY_RULES - rules) == {k for k in EXPECTED_OCT if k[0] not in rules}


def test_q4_to_its_end_reports_the_december_actions(tmp_path):
    """2026-Q4 with the default as_of 12-31: the December actions are now known."""
    inputs = build_month(tmp_path / "导出" / "2026-Q4")
    df = run(inputs, tmp_path / "out", "--period", "2026-Q4")
    expected = EXPECTED_Q4_DEADLINES | {
        ("GZ165-17-2", "一般", GA, f"{GA}/丁四"),     # 11-26 -> 12-04: 27, 30, 12-01..04 = 6 wd
        ("GZ165-17-2", "一般", HZM, f"{HZM}/钱进"),  # not notified, wd(11-24, 12-31) = 27
    }
    actual = got(df, DEADLINE_RULES)
    assert actual == expected, f"missing={sorted(expected - actual)}\nextra={sorted(actual - expected)}"
