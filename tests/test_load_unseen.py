"""Exports built the way an outside person would from inputs.md (not from fixtures/ or the other loader tests'
builders): every table, every alias, every format, every "How real exports vary" item, and "What bad input gets".

Each test writes real files into tmp_path and goes through ``checker.load.load_inputs`` (or ``sharecheck validate``).
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl.styles import Font, PatternFill

from checker.errors import InputError
from checker.load import load_inputs

# ---- independent helpers ---------------------------------------------------------------------------------------

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def make_uscc(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015), computed here from the standard."""
    body = f"11440100{n:09d}"
    total = sum(_USCC.index(c) * w for c, w in zip(body, _USCC_W))
    return body + _USCC[(31 - total % 31) % 31]


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


DEPTS = [("广州市公安局", "市级", None, "公安", "否"),
         ("广州市政务服务数据管理局", "市级", None, "政务服务数据管理", "是"),
         ("广州市民政局", "市级", None, "民政", "否"),
         ("海珠区卫生健康局", "区级", "海珠区", "卫生健康", "否")]
R1, R2, R3 = "101001001/000101", "301002003/000007", "201001001/000300"


def problems(r, table=None) -> list[tuple]:
    d = r.defects if table is None else r.defects[r.defects["table"] == table]
    return list(zip(d["table"], d["row"].astype(object), d["column"], d["problem"]))


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


# ---- one workbook, all ten tables, every variation of "How real exports vary" ------------------------------------

def _sheet(wb, name, title_rows, header, rows, *, hide=(), total=True, styled_tail=True, start_col=1):
    ws = wb.create_sheet(name)
    r = 1
    for t in title_rows:
        if t is None:                            # blank row
            r += 1
            continue
        ws.cell(r, start_col, t)
        if r == 1:
            ws.merge_cells(start_row=1, start_column=start_col, end_row=1, end_column=start_col + len(header) - 1)
            ws.cell(1, start_col).font = Font(bold=True, size=16)
        r += 1
    header_row = r
    for j, h in enumerate(header):
        ws.cell(header_row, start_col + j, h)
    r += 1
    for row in rows:
        if row is None:                          # blank row inside the data
            r += 1
            continue
        for j, v in enumerate(row):
            ws.cell(r, start_col + j, v)
        r += 1
    if total:
        ws.cell(r, start_col, "合 计")
        ws.cell(r, start_col + 1, len([x for x in rows if x is not None]))
        r += 1
    if styled_tail:                              # trailing styled empty rows and columns
        fill = PatternFill("solid", fgColor="FFF2CC")
        for rr in range(r, r + 6):
            for cc in range(start_col, start_col + len(header) + 4):
                ws.cell(rr, cc).fill = fill
        ws.cell(header_row, start_col + len(header) + 3).fill = fill
    for letter in hide:
        ws.column_dimensions[letter].hidden = True
    return header_row


def _all_tables_workbook(path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    # 1 departments: aliases, full-width spaces, * markers, line breaks; extra 序号/备注 columns (备注 hidden)
    hr = _sheet(wb, "部门名录", ["广州市政务部门名录（导出时间：2026-11-02）", "单位：个", None],
                ["序号", "*单位名称", "统一社会信用代码\n（18位）", "行政\u3000层级", "区", "＊部门类别", "主管部门", "备注"],
                [[1, " 广州市公安局 ", make_uscc(1).lower(), "市级", None, "公安", "N", "hidden note"],
                 [2, "广州市政务服务\u3000数据管理局", " " + make_uscc(2)[:9] + " " + make_uscc(2)[9:], "市级", None,
                  "政务服务数据管理", "√", None],
                 None,
                 [3, "广州市民政局", fullwidth(make_uscc(3)), "市级", "", "民政", "×", None],
                 [4, "海珠区卫生健康局", make_uscc(4), "区级", "海珠区", "卫生健康", "/", None]],
                hide=("H",))
    assert hr == 4
    wb["部门名录"].row_dimensions[8].hidden = True          # a hidden data row is still a record
    # 2 catalog: aliases for every aliased column, shuffled order, 1/2/3 share types, business values left empty
    cat_h = ["目录名称", "资源代码", "信息资源提供方", "信息资源分类", "基础库类别", "基础信息细目", "共享属性", "共享条件",
             "不予共享依据", "共享方式", "共享范围", "更新频率", "用途", "采集部门", "核准部门", "保密审查", "涉密", "主体标识",
             "更新例外批准", "发布日期（YYYY-MM-DD）", "最近更新日期", "多余列"]
    cat = [["户籍人口", " 101001001 / 000101 ", "广州市公安局", "基础信息资源", "自然人", "户籍登记信息", 1, None, None,
            "平台接口", "全市政务部门", "实时", "身份核验", "广州市公安局", "广州市公安局", "是", "否", "公民身份号码", None,
            dt.datetime(2026, 10, 8), "2026/10/9", "x"],
           ["低保对象", "301002003/000007", "广州市民政局", "部门信息资源", None, None, "02", "经申请", "《某某条例》第十条",
            "平台库表", "全市政务部门", "每月", "救助", "广州市民政局", "广州市民政局", "Y", "n", "无", None, "2026.10.08",
            None, None],
           ["疫苗接种", "２０１００１００１／０００３００", "海珠区卫生健康局", "主题信息资源", None, None, 3.0, None, "/", "邮件",
            None, None, None, None, None, None, None, None, None, "20261008", None, None]]
    _sheet(wb, "信息资源", ["广州市政务信息资源目录（导出时间：2026-11-02）"], cat_h, cat, hide=("V",))
    # 3 items
    _sheet(wb, "信息项", [], ["资源代码", "字段名称", "字段类型", "基础信息项"],
           [[R1, "姓名", "字符型", "是"], [R1.lower(), "公民身份号码", "字符型", "1"], [R2, "救助金额", "数值型", None]],
           total=False)
    # 4 catalog_changes
    _sheet(wb, "目录变更", ["目录变更记录"], ["编号", "部门名称", "原因", "发生日期", "部门报送日期", "本级目录更新日期"],
           [["bg-2026-01", "广州市民政局", "职能变化", "2026年9月1日", "2026-09-10", "—"],
            ["BG-2026-02", "广州市公安局", "法律法规修订", "46280", None, None]])
    # 5 exchanges
    _sheet(wb, "交换日志", [], ["交换编号", "时间", "资源代码", "提供方", "需求部门", "交换方式", "涉密", "申请编号", "使用用途",
                               "数据量", "状态"],
           [["jh-0001", dt.datetime(2026, 10, 8, 9, 30, 15), R1, "广州市公安局", "广州市民政局", "共享平台", None, None,
             "核验", 120.0, "成功"],
            ["JH-0002", "2026/10/9 14:05", R2, "广州市民政局", "广州市公安局", "点对点", "否", "sq-1", None, "1,200", "失败"],
            ["JH-0003", "46305.5", R2, "广州市民政局", "广州市公安局", "邮件", "是", None, None, None, None]],
           total=False)
    # 6 updates
    _sheet(wb, "数据更新", [], ["资源代码", "变化时间", "更新时间"],
           [[R1, "2026-10-08 10:30", "2026-10-08 10:35:20"], [R2, "2026年10月9日 08:00", None]], total=False)
    # 7 officers
    _sheet(wb, "责任人员", [], ["部门名称", "姓名", "职务", "电话", "平台发布", "任职日期", "书面告知日期"],
           [["广州市公安局", "张三", "科长", 13800138000, "true", "2026/9/1", "2026/9/3"],
            ["广州市民政局", "李四", None, "020-12345678", "FALSE", None, None]], total=False)
    # 8 requests
    _sheet(wb, "共享申请", [], ["编号", "使用部门", "提供部门", "资源代码", "申请日期", "答复日期", "审核结果", "理由", "用途"],
           [["sq-1", "广州市公安局", "广州市民政局", R2, "2026-10-08", "2026-10-12", "同意", None, "治安"]], total=False)
    # 9 disputes
    _sheet(wb, "数据异议", [], ["编号", "提出部门", "提供部门", "资源代码", "提出日期", "答复日期", "更正日期"],
           [["YY-1", "广州市公安局", "广州市民政局", R2, "2026-10-08", "2026-10-10", None]], total=False)
    # 10 systems
    _sheet(wb, "信息系统", [], ["系统名称", "部门", "跨部门共享", "接入平台", "建设类型"],
           [["户政系统", "广州市公安局", "是", "√", "原有"], ["救助系统", "广州市民政局", True, False, "新建"]],
           total=False)
    wb.save(path)


def test_all_ten_tables_in_one_workbook_with_every_variation(tmp_path):
    _all_tables_workbook(tmp_path / "平台导出.xlsx")
    r = load_inputs([tmp_path])
    assert set(r.tables) == {"departments", "catalog", "items", "catalog_changes", "exchanges", "updates",
                             "officers", "requests", "disputes", "systems"}
    d = r.tables["departments"]
    assert d["部门名称"].tolist() == ["广州市公安局", "广州市政务服务数据管理局", "广州市民政局", "海珠区卫生健康局"]
    assert d["部门代码"].tolist() == [make_uscc(i) for i in (1, 2, 3, 4)]
    assert d["_row"].tolist() == [5, 6, 8, 9]                      # title rows, blank row inside the data
    assert d["是否主管部门"].tolist() == [False, True, False, False]  # N, √, ×, "/" (placeholder -> default 否)
    assert d["所属区"].tolist() == [None, None, None, "海珠区"]
    # issue 8 C4: the input's own spelling rides along as `_原文:<列名>` where it differs from the normalised value
    assert all(c.startswith("_原文:") for c in d.columns[11:])
    assert list(d.columns[:11]) == ["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门",
                               "是否派驻机构", "机构性质",          # optional (packs.md §6.1), not in this export
                               "_file", "_sheet", "_row"]          # extra 序号/备注 dropped
    c = r.tables["catalog"]
    assert c["信息资源代码"].tolist() == [R1, R2, R3]
    assert c["共享类型"].tolist() == ["无条件共享", "有条件共享", "不予共享"]
    assert c["发布日期"].tolist() == [ts("2026-10-08")] * 3
    assert c["最近更新日期"].tolist()[0] == ts("2026-10-09") and pd.isna(c["最近更新日期"].iloc[1])
    assert c["是否保密审查"].tolist()[:2] == [True, True] and pd.isna(c["是否保密审查"].iloc[2])
    assert c["是否涉密"].tolist()[:2] == [False, False]
    assert c["共享依据"].tolist() == [None, "《某某条例》第十条", "/"]   # placeholder kept: the rule judges it
    assert c["_row"].tolist() == [3, 4, 5]
    it = r.tables["items"]
    assert it["信息资源代码"].tolist() == [R1, R1, R2] and it["是否基础信息项"].tolist() == [True, True, False]
    ch = r.tables["catalog_changes"]
    assert ch["变更编号"].tolist() == ["BG-2026-01", "BG-2026-02"]
    assert ch["变化发生日期"].tolist() == [ts("2026-09-01"), ts("2026-09-15")]
    assert ch["报送日期"].iloc[0] == ts("2026-09-10") and pd.isna(ch["主管部门更新日期"].iloc[0])
    ex = r.tables["exchanges"]
    assert ex["交换流水号"].tolist() == ["JH-0001", "JH-0002", "JH-0003"]
    assert ex["交换时间"].tolist() == [ts("2026-10-08 09:30:15"), ts("2026-10-09 14:05"), ts("2026-10-10 12:00")]
    assert ex["是否涉密"].tolist() == [False, False, True]
    assert ex["记录数"].tolist()[:2] == [120, 1200] and pd.isna(ex["记录数"].iloc[2])
    assert ex["申请编号"].astype(object).tolist()[1] == "SQ-1"
    assert ex["交换结果"].astype(object).tolist()[:2] == ["成功", "失败"]
    up = r.tables["updates"]
    assert up["数据变化时间"].tolist() == [ts("2026-10-08 10:30"), ts("2026-10-09 08:00")]
    assert up["平台更新时间"].iloc[0] == ts("2026-10-08 10:35:20") and pd.isna(up["平台更新时间"].iloc[1])
    of = r.tables["officers"]
    assert of["联系电话"].tolist() == ["13800138000", "020-12345678"]
    assert of["是否已发布"].tolist() == [True, False]
    assert of["变动日期"].iloc[0] == ts("2026-09-01") and of["告知日期"].iloc[0] == ts("2026-09-03")
    rq = r.tables["requests"]
    assert rq.iloc[0][["申请编号", "申请部门", "答复结果", "申请用途"]].tolist() == ["SQ-1", "广州市公安局", "同意", "治安"]
    ds = r.tables["disputes"]
    assert ds["核实日期"].tolist() == [ts("2026-10-10")]
    sy = r.tables["systems"]
    assert sy["所属部门"].tolist() == ["广州市公安局", "广州市民政局"]
    assert sy["是否跨部门共享"].tolist() == [True, True] and sy["是否接入共享平台"].tolist() == [True, False]
    # the catalog's third row leaves every rule-judged column empty: not an input defect (inputs.md)
    assert r.defects.empty, r.defects.to_string()


def test_alias_headers_recognised_by_header_alone(tmp_path):
    """Neutral sheet names (Sheet1…), only alias headers: every table is recognised from its header."""
    tables = {
        "departments": (["部门", "机构代码", "行政层级", "区", "部门类别", "主管部门"],
                        ["广州市公安局", make_uscc(1), "市级", None, "公安", "是"]),
        "catalog": (["目录代码", "资源名称", "提供方", "信息资源分类", "共享属性", "共享条件", "依据", "共享方式", "共享范围",
                     "更新频率", "用途", "采集部门", "核准部门", "保密审查", "涉密", "主体标识", "发布日期"],
                    [R1, "x", "广州市公安局", "部门信息资源", "1", None, None, "平台接口", "全市", "每日", "u",
                     "广州市公安局", "广州市公安局", "是", "否", "无", "2026-10-08"]),
        "items": (["资源代码", "数据项名称"], [R1, "姓名"]),
        "catalog_changes": (["编号", "部门名称", "原因", "发生日期"], ["C1", "广州市公安局", "其他", "2026-10-08"]),
        "exchanges": (["流水号", "时间", "资源代码", "提供方", "请求方", "通道", "结果"],
                      ["E1", "2026-10-08 10:00", R1, "广州市公安局", "广州市公安局", "共享平台", "成功"]),
        "updates": (["资源代码", "变化时间", "更新时间"], [R1, "2026-10-08 10:00", "2026-10-08 11:00"]),
        "officers": (["部门名称", "姓名", "电话", "平台发布"], ["广州市公安局", "张三", "123", "是"]),
        "requests": (["编号", "使用部门", "提供部门", "资源代码", "申请日期", "理由", "用途"],
                     ["R1", "广州市公安局", "广州市公安局", R1, "2026-10-08", None, "u"]),
        "disputes": (["编号", "提出部门", "提供部门", "资源代码", "提出日期", "答复日期"],
                     ["D1", "广州市公安局", "广州市公安局", R1, "2026-10-08", "2026-10-09"]),
        "systems": (["系统名称", "部门", "跨部门共享", "接入平台"], ["S1", "广州市公安局", "是", "否"]),
    }
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    order = ["systems", "requests", "updates", "departments", "disputes", "items", "exchanges", "catalog",
             "officers", "catalog_changes"]
    for i, name in enumerate(order):
        ws = wb.create_sheet(f"Sheet{i + 1}")
        ws.append(tables[name][0])
        ws.append(tables[name][1])
    wb.save(tmp_path / "export.xlsx")
    r = load_inputs([tmp_path / "export.xlsx"])
    got = {e["table"]: e["sheet"] for e in r.inputs if e["table"]}
    assert got == {name: f"Sheet{i + 1}" for i, name in enumerate(order)}
    assert r.tables["disputes"]["核实日期"].tolist() == [ts("2026-10-09")]        # 答复日期 -> 核实日期 in disputes
    assert r.tables["requests"]["申请部门"].tolist() == ["广州市公安局"]            # 使用部门 -> 申请部门 in requests
    assert r.tables["exchanges"]["使用部门"].astype(object).tolist() == ["广州市公安局"]
    assert r.defects.empty, r.defects.to_string()


# ---- formats ------------------------------------------------------------------------------------------------------

DEPT_CANON = ["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"]
CAT_CANON = ["信息资源代码", "信息资源名称", "提供部门", "资源分类", "共享类型", "共享条件", "共享依据", "共享方式", "共享范围",
             "更新周期", "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密", "标识类型", "发布日期"]


def _dept_rows():
    return [[n, make_uscc(i + 1), lvl, dist, fn, sup] for i, (n, lvl, dist, fn, sup) in enumerate(DEPTS)]


def _cat_rows(published=("2026-10-08", "2026/10/8", "2026年10月8日")):
    return [[R1, "户籍", "广州市公安局", "部门信息资源", "1", None, None, "平台接口", "全市", "每日", "u", "广州市公安局",
             "广州市公安局", "是", "否", "无", published[0]],
            [R2, "低保", "广州市民政局", "部门信息资源", "2", "c", "《条例》", "平台接口", "全市", "每日", "u", "广州市民政局",
             "广州市民政局", "是", "否", "无", published[1]],
            [R3, "接种", "海珠区卫生健康局", "部门信息资源", "3", None, "《法》", "平台接口", None, "每日", None, None, None,
             "是", "否", "无", published[2]]]


def test_xlsm_and_xls_and_ods_workbooks(tmp_path):
    import xlwt

    # .xls (xlwt): merged title, real date cells, numbers for serials and bools
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("部门名录")
    ws.write_merge(0, 0, 0, 5, "广州市政务部门名录（导出时间：2026-11-02）")
    for j, h in enumerate(DEPT_CANON):
        ws.write(2, j, h)
    for i, row in enumerate(_dept_rows()):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(3 + i, j, v)
    ws.write(3 + len(DEPTS), 0, "总计")
    ws2 = book.add_sheet("目录变更")
    for j, h in enumerate(["变更编号", "部门", "变更原因", "变化发生日期", "报送日期"]):
        ws2.write(0, j, h)
    datefmt = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    ws2.write(1, 0, "BG-1")
    ws2.write(1, 1, "广州市民政局")
    ws2.write(1, 2, "职能变化")
    ws2.write(1, 3, dt.datetime(2026, 9, 1), datefmt)
    ws2.write(1, 4, 46280)                                  # a number cell holding a serial
    ws2.write(2, 0, 17)                                     # a code typed as a number
    ws2.write(2, 1, "广州市公安局")
    ws2.write(2, 2, "其他")
    ws2.write(2, 3, 20260901)                               # YYYYMMDD typed as a number
    book.save(str(tmp_path / "部门.xls"))
    # .xlsm
    wb = openpyxl.Workbook()
    wb.active.title = "信息资源"
    wb.active.append(CAT_CANON)
    for row in _cat_rows(published=(dt.datetime(2026, 10, 8), 46303, "46303")):
        wb.active.append(row)
    wb.save(tmp_path / "目录.xlsm")
    # .ods (odfpy through pandas), single sheet with a neutral name: recognised by header
    pd.DataFrame([["广州市公安局", "张三", "13800138000", "是", "2026-09-01", "2026-09-03"]],
                 columns=["部门", "姓名", "联系电话", "是否已发布", "变动日期", "告知日期"]
                 ).to_excel(tmp_path / "export.ods", engine="odf", index=False, sheet_name="Sheet1")
    r = load_inputs([tmp_path])
    d = r.tables["departments"]
    assert d["部门名称"].tolist() == [x[0] for x in DEPTS] and d["_row"].tolist() == [4, 5, 6, 7]
    assert d["是否主管部门"].tolist() == [False, True, False, False]
    ch = r.tables["catalog_changes"]
    assert ch["变更编号"].tolist() == ["BG-1", "17"]
    assert ch["变化发生日期"].tolist() == [ts("2026-09-01"), ts("2026-09-01")]
    assert ch["报送日期"].iloc[0] == ts("2026-09-15")
    c = r.tables["catalog"]
    assert c["发布日期"].tolist() == [ts("2026-10-08")] * 3 and c["_file"].iloc[0] == "目录.xlsm"
    of = r.tables["officers"]
    assert of["_file"].tolist() == ["export.ods"] and of["_row"].tolist() == [2]
    assert of["告知日期"].tolist() == [ts("2026-09-03")]
    assert r.defects.empty, r.defects.to_string()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_with_characters_outside_gbk(tmp_path, encoding):
    rare = "𠀾䶮"                       # CJK Ext B and Ext A: GB18030 four-byte sequences, not in GBK
    dept = "部门名录（导出）\n\n单位名称,统一社会信用代码,行政层级,部门类别\n" + "\n".join(
        f"{n},{make_uscc(i + 1)},{lvl},{fn}" for i, (n, lvl, _d, fn, _s) in enumerate(DEPTS)) + \
        f"\n{rare}街道办事处,{make_uscc(9)},区级,镇街\n合计,5,,\n"
    (tmp_path / "部门名录.csv").write_bytes(dept.encode(encoding))
    cat = ",".join(CAT_CANON) + "\n" + "\n".join(",".join("" if v is None else str(v) for v in row)
                                                 for row in _cat_rows()) + "\n"
    cat = cat.replace("户籍", f"{rare}户籍")
    (tmp_path / "信息资源.csv").write_bytes(cat.encode(encoding))
    r = load_inputs([tmp_path])
    d = r.tables["departments"]
    assert d["部门名称"].tolist()[-1] == f"{rare}街道办事处"
    assert d["_row"].tolist() == [4, 5, 6, 7, 8] and d["_sheet"].tolist() == [""] * 5
    c = r.tables["catalog"]
    assert c["信息资源名称"].iloc[0] == f"{rare}户籍"
    assert c["发布日期"].tolist() == [ts("2026-10-08")] * 3 and c["_row"].tolist() == [2, 3, 4]
    assert r.defects.empty, r.defects.to_string()


def test_parquet_real_dtypes_and_string_dtypes(tmp_path):
    pd.DataFrame(_dept_rows(), columns=DEPT_CANON).assign(
        是否主管部门=[False, True, None, False]).to_parquet(tmp_path / "部门名录.parquet")
    pd.DataFrame(_cat_rows(), columns=CAT_CANON).to_parquet(tmp_path / "信息资源.parquet")
    n = 4
    ex = pa.table({
        "交换流水号": pa.array([f"jh-{i}" for i in range(n)], pa.large_string()),
        "交换时间": pa.array([dt.datetime(2026, 10, 8, 1, 30)] * 3 + [None], pa.timestamp("ms")),
        "信息资源代码": pa.array([R1] * n).dictionary_encode(),
        "提供部门": pa.array(["广州市公安局"] * n, pa.string()),
        "使用部门": pa.array(["广州市民政局"] * n, pa.string()),
        "交换通道": pa.array(["共享平台", "点对点", "邮件", "共享平台"]),
        "是否涉密": pa.array([True, False, None, True]),
        "记录数": pa.array([1, None, 3, 4], pa.int64()),
        "交换结果": pa.array(["成功"] * n),
    })
    pq.write_table(ex, tmp_path / "交换日志.parquet")
    up = pa.table({
        "资源代码": pa.array([R1, R1, R2]),
        # timezone-aware instants: 2026-10-08 02:30 UTC is 10:30 in Guangzhou
        "变化时间": pa.array([dt.datetime(2026, 10, 8, 2, 30)] * 3, pa.timestamp("us", tz="UTC")),
        "更新时间": pa.array(["2026-10-08T03:00:00Z", "2026-10-08 11:00:00+08:00", None]),
    })
    pq.write_table(up, tmp_path / "数据更新.parquet")
    ds = pa.table({"异议编号": ["d1"], "提出部门": ["广州市民政局"], "提供部门": ["广州市公安局"], "信息资源代码": [R1],
                   "提出日期": pa.array([20261008], pa.int64()), "核实日期": pa.array([dt.date(2026, 10, 9)]),
                   "更正日期": pa.array([None], pa.date32())})
    pq.write_table(ds, tmp_path / "数据异议.parquet")
    sy = pd.DataFrame({"系统名称": ["a", "b"], "所属部门": ["广州市公安局", "广州市民政局"],
                       "是否跨部门共享": pd.array(["是", "否"], dtype="string"),
                       "是否接入共享平台": pd.array([1, 0], dtype="Int8")})
    sy.to_parquet(tmp_path / "信息系统.parquet")
    r = load_inputs([tmp_path])
    d = r.tables["departments"]
    assert d["是否主管部门"].tolist() == [False, True, False, False] and d["_row"].tolist() == [2, 3, 4, 5]
    e = r.tables["exchanges"]
    assert e["交换流水号"].tolist() == ["JH-0", "JH-1", "JH-2", "JH-3"]
    assert e["交换时间"].tolist()[:3] == [ts("2026-10-08 01:30")] * 3 and pd.isna(e["交换时间"].iloc[3])
    assert e["是否涉密"].tolist() == [True, False, False, True]
    assert e["记录数"].dtype == "Int64" and e["记录数"].tolist()[0] == 1 and pd.isna(e["记录数"].iloc[1])
    u = r.tables["updates"]
    assert u["数据变化时间"].tolist() == [ts("2026-10-08 10:30")] * 3
    assert u["平台更新时间"].tolist()[:2] == [ts("2026-10-08 11:00")] * 2
    assert r.tables["disputes"]["提出日期"].tolist() == [ts("2026-10-08")]
    assert r.tables["disputes"]["核实日期"].tolist() == [ts("2026-10-09")]
    s = r.tables["systems"]
    assert s["是否跨部门共享"].tolist() == [True, False] and s["是否接入共享平台"].tolist() == [True, False]
    # the only defect: the exchange without 交换时间 (a date a rule counts from), on Parquet row 5
    assert problems(r) == [("exchanges", 5, "交换时间", "交换时间为空")]


def test_parquet_timestamp_beyond_pandas_range_is_a_defect_not_a_crash(tmp_path):
    pd.DataFrame(_dept_rows(), columns=DEPT_CANON).to_parquet(tmp_path / "部门名录.parquet")
    pd.DataFrame(_cat_rows(), columns=CAT_CANON).to_parquet(tmp_path / "信息资源.parquet")
    pq.write_table(pa.table({"信息资源代码": [R1, R1],
                             "数据变化时间": pa.array([dt.datetime(2026, 10, 8), dt.datetime(9999, 12, 31)],
                                                     pa.timestamp("us"))}), tmp_path / "数据更新.parquet")
    r = load_inputs([tmp_path])
    assert r.tables["updates"]["数据变化时间"].iloc[0] == ts("2026-10-08")
    assert problems(r) == [("updates", 3, "数据变化时间", "日期时间无法识别")]


# ---- values -------------------------------------------------------------------------------------------------------

def _dept_workbook():
    """A workbook whose first sheet is a clean 部门名录."""
    wb = openpyxl.Workbook()
    wb.active.title = "部门名录"
    wb.active.append(DEPT_CANON)
    for row in _dept_rows():
        wb.active.append(row)
    return wb


def _base(tmp_path):
    wb = _dept_workbook()
    cat = wb.create_sheet("信息资源")
    cat.append(CAT_CANON)
    for row in _cat_rows():
        cat.append(row)
    wb.save(tmp_path / "base.xlsx")


def _xlsx(path, name, header, rows):
    wb = openpyxl.Workbook()
    wb.active.title = name
    wb.active.append(header)
    for row in rows:
        wb.active.append(row)
    wb.save(path)


def test_every_date_and_datetime_form(tmp_path):
    _base(tmp_path)
    forms = [(dt.datetime(2026, 10, 8, 9, 5), "2026-10-08 09:05"), (dt.date(2026, 10, 8), "2026-10-08"),
             ("2026-10-08", "2026-10-08"), ("2026/10/8", "2026-10-08"), ("2026.10.08", "2026-10-08"),
             ("2026年10月8日", "2026-10-08"), ("20261008", "2026-10-08"), ("46303", "2026-10-08"),
             ("46303.5", "2026-10-08 12:00"), (46303.25, "2026-10-08 06:00"), (20261008, "2026-10-08"),
             (20261008.0, "2026-10-08"), ("2026-10-08 9:05", "2026-10-08 09:05"),
             ("2026/10/8 09:05:07", "2026-10-08 09:05:07"), ("2026年10月8日 10:30", "2026-10-08 10:30"),
             ("２０２６－１０－０８\u300010:30", "2026-10-08 10:30"), ("2026-10-08T02:30:00Z", "2026-10-08 10:30"),
             ("20261008 10:30", "2026-10-08 10:30")]
    rows = [[R1, v, None] for v, _ in forms]
    rows += [[R1, "2026-10-32", None], [R1, "下周", None], [R1, None, None], [R1, "—", None],
             [R1, "2026-10-08", "/"], [R1, "2026-10-08", "2026-13-01"]]
    _xlsx(tmp_path / "更新.xlsx", "数据更新", ["信息资源代码", "数据变化时间", "平台更新时间"], rows)
    r = load_inputs([tmp_path])
    u = r.tables["updates"]
    assert u["数据变化时间"].tolist()[:len(forms)] == [ts(w) for _, w in forms]
    n = len(forms) + 2        # Excel row of the first bad form
    assert problems(r) == [("updates", n, "数据变化时间", "日期时间无法识别"),
                           ("updates", n + 1, "数据变化时间", "日期时间无法识别"),
                           ("updates", n + 2, "数据变化时间", "数据变化时间为空"),
                           ("updates", n + 3, "数据变化时间", "数据变化时间为空"),      # placeholder = empty
                           ("updates", n + 5, "平台更新时间", "日期时间无法识别")]
    assert pd.isna(u["平台更新时间"].iloc[len(forms) + 4])                           # "/" = not yet


def test_bool_spellings_share_types_codes_and_placeholders(tmp_path):
    _base(tmp_path)
    spellings = [("是", True), ("否", False), ("Y", True), ("N", False), ("y", True), ("n", False), ("1", True),
                 ("0", False), (1, True), (0.0, False), ("true", True), ("false", False), ("TRUE", True),
                 ("False", False), ("√", True), ("×", False), (True, True), (False, False), ("Ｙ", True),
                 (" 是 ", True), ("x", False), ("/", None), ("无", None), (None, None)]
    rows = [[f"s{i}", "广州市公安局", v, v] for i, (v, _) in enumerate(spellings)] + [["bad", "广州市公安局", "也许", "?"]]
    _xlsx(tmp_path / "系统.xlsx", "信息系统", ["系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台"], rows)
    r = load_inputs([tmp_path])
    s = r.tables["systems"]
    got = [None if pd.isna(v) else bool(v) for v in s["是否跨部门共享"]]
    assert got == [want for _, want in spellings] + [None]
    bad_row = len(spellings) + 2
    assert [(t, row, col) for t, row, col, _p in problems(r)] == [("systems", bad_row, "是否接入共享平台"),
                                                                  ("systems", bad_row, "是否跨部门共享")]


def test_share_type_forms_and_code_normalisation(tmp_path):
    _base(tmp_path)
    forms = [(1, "无条件共享"), (2.0, "有条件共享"), ("3", "不予共享"), ("01", "无条件共享"), ("02", "有条件共享"),
             ("03", "不予共享"), ("无条件", "无条件共享"), ("有条件", "有条件共享"), ("不共享", "不予共享"),
             ("２", "有条件共享"), (" 不予 共享 ", "不予共享"), ("4", "4"), ("随便", "随便"), (None, None)]
    wb = openpyxl.load_workbook(tmp_path / "base.xlsx")
    ws = wb["信息资源"]
    for i, (v, _) in enumerate(forms):
        code = f"3010020{i:02d}/{i:06d}"
        if i % 3 == 1:
            code = fullwidth(code)
        elif i % 3 == 2:
            code = code[:5] + " " + code[5:] + "\u3000"
        ws.append([code, "n", "广州市民政局", "部门信息资源", v, None, None, "平台接口", "全市", "每日", "u", None, None,
                   None, None, None, "2026-10-08"])
    wb.save(tmp_path / "base.xlsx")
    r = load_inputs([tmp_path])
    c = r.tables["catalog"].iloc[3:]
    assert c["共享类型"].tolist() == [w for _, w in forms]
    assert c["信息资源代码"].tolist() == [f"3010020{i:02d}/{i:06d}" for i in range(len(forms))]
    assert r.defects.empty, r.defects.to_string()           # 共享类型 4/随便/empty: GZ165-10-1's business


def test_rule_judged_columns_are_not_defects_but_keys_references_and_dates_are(tmp_path):
    _base(tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "base.xlsx")
    ws = wb["信息资源"]
    # every rule-judged column empty or unknown
    ws.append([fullwidth("301009009/000001"), "n", "广州市民政局", "部门信息资源", "五", "/", "暂无", "飞鸽传书", "—",
               "每十年", "N/A", "不存在的部门", "也不存在", "待定", "不知道", "护照", "2026-10-08"])
    ws.append(["301009009/000002", "n", "广州市民政局", "部门信息资源"] + [None] * 13)   # 发布日期 empty
    ws.append([None, "无代码", "广州市民政局", "部门信息资源"] + [None] * 12 + ["2026-10-08"])  # key empty
    ws.append(["301009009/000004", "n", None, "部门信息资源"] + [None] * 12 + ["2026-10-08"])  # 提供部门 empty
    ws.append(["301009009/000005", "n", "不存在局", "部门信息资源"] + [None] * 12 + ["2026-10-08"])
    ws.append(["301009009/000001", "dup", "广州市民政局", "部门信息资源"] + [None] * 12 + ["2026-10-09"])
    ws.append(["ABC", "bad code", "广州市民政局", "部门信息资源"] + [None] * 12 + ["2026-10-08"])
    wb.save(tmp_path / "base.xlsx")
    r = load_inputs([tmp_path])
    got = [(row, col, p) for _t, row, col, p in problems(r, "catalog")]
    assert got == [(6, "发布日期", "发布日期为空"),
                   (7, "信息资源代码", "信息资源代码为空"),
                   (8, "提供部门", "提供部门为空"),
                   (9, "提供部门", "部门名录中无此部门"),
                   (10, "信息资源代码", "信息资源代码重复（保留第 5 行）"),
                   (11, "信息资源代码", "信息资源代码格式不对（应为 分类码/顺序码，如 101001001/000012）")]
    c = r.tables["catalog"]
    first = c[c["信息资源代码"] == "301009009/000001"]
    assert len(first) == 1 and first["信息资源名称"].iloc[0] == "n"             # first row kept


def test_unknown_references_in_event_tables(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "申请.xlsx", "共享申请", ["申请编号", "申请部门", "提供部门", "信息资源代码", "申请日期", "不同意理由",
                                             "申请用途"],
          [["SQ-1", "某不存在局", "广州市民政局", "999999/1", "2026-10-08", None, "u"],
           ["SQ-2", "广州市公安局", "广州市民政局", R2, "明天", None, "u"],
           ["sq-1", "广州市公安局", "广州市民政局", R2, "2026-10-08", None, "u"]])
    r = load_inputs([tmp_path])
    assert [(row, col, p) for _t, row, col, p in problems(r, "requests")] == [
        (2, "信息资源代码", "信息资源目录中无此信息资源代码"), (2, "申请部门", "部门名录中无此部门"),
        (3, "申请日期", "日期无法识别"), (4, "申请编号", "申请编号重复（保留第 2 行）")]
    assert r.tables["requests"]["申请编号"].tolist() == ["SQ-1", "SQ-2"]


def test_first_data_row_with_an_unreadable_date_is_a_defect_not_a_note_row(tmp_path):
    """Regression: a first record whose typed cells all fail to parse was dropped silently as a notes row."""
    _base(tmp_path)
    _xlsx(tmp_path / "变更.xlsx", "目录变更", ["变更编号", "部门", "变更原因", "变化发生日期", "报送日期", "主管部门更新日期"],
          [["BG-1", "广州市民政局", "职能变化", "2026-13-01", None, None],
           ["BG-2", "广州市民政局", "职能变化", "2026-10-01", None, None]])
    _xlsx(tmp_path / "人员.xlsx", "责任人员", ["部门", "姓名", "联系电话", "是否已发布"],
          [["广州市公安局", "张三", "1", "未知"]])
    r = load_inputs([tmp_path])
    assert r.tables["catalog_changes"]["变更编号"].tolist() == ["BG-1", "BG-2"]
    assert r.tables["officers"]["姓名"].tolist() == ["张三"]
    assert [(t, row, col) for t, row, col, _p in problems(r)] == [("catalog_changes", 2, "变化发生日期"),
                                                                  ("officers", 2, "是否已发布")]


def test_description_rows_under_the_header_are_still_skipped(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "变更.xlsx", "目录变更", ["变更编号", "部门", "变更原因", "变化发生日期", "报送日期"],
          [["唯一编号", "部门名录中的部门名称", "法律法规修订/职能变化/其他", "YYYY-MM-DD", "日期，如 2026-10-08"],
           ["BG-1", "广州市民政局", "职能变化", "2026-10-01", None]])
    _xlsx(tmp_path / "系统.xlsx", "信息系统", ["系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台"],
          [["（必填）", "（必填）", "是/否", "是/否"], ["户政", "广州市公安局", "是", "是"]])
    r = load_inputs([tmp_path])
    assert r.tables["catalog_changes"]["_row"].tolist() == [3]
    assert r.tables["systems"]["_row"].tolist() == [3]
    assert r.defects.empty, r.defects.to_string()


def test_prenumbered_rows_with_only_a_serial_number_are_not_records(tmp_path):
    _base(tmp_path)
    rows = [[1, "户政", "广州市公安局", "是", "是"]] + [[i, None, None, None, None] for i in range(2, 30)]
    _xlsx(tmp_path / "系统.xlsx", "信息系统", ["序号", "系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台"], rows)
    r = load_inputs([tmp_path])
    assert r.tables["systems"]["系统名称"].tolist() == ["户政"]
    assert r.defects.empty, r.defects.to_string()


def test_total_row_variants(tmp_path):
    _base(tmp_path)
    for i, word in enumerate(["合计", "总 计", "合\u3000计：", " 总计 "]):
        _xlsx(tmp_path / f"t{i}.xlsx", "信息系统" if i == 0 else f"信息系统{i}",
              ["序号", "系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台"],
              [[1, "户政", "广州市公安局", "是", "是"], [word, 1, None, 1, 1]])
        r = load_inputs([tmp_path / "base.xlsx"], overrides={"systems": (str(tmp_path / f"t{i}.xlsx"), None)})
        assert r.tables["systems"]["系统名称"].tolist() == ["户政"], word
        assert r.defects.empty, (word, r.defects.to_string())


# ---- CSV line numbers and field counts ----------------------------------------------------------------------------

def test_csv_line_numbers_with_quoted_line_breaks_blank_lines_and_a_short_total(tmp_path):
    _base(tmp_path)
    text = ("交换日志 2026-10\r\n"
            "交换流水号,交换时间,信息资源代码,提供部门,使用部门,交换通道,用途\r\n"
            f"JH-1,2026-10-08 09:00,{R1},广州市公安局,广州市民政局,共享平台,\"核验\r\n多行\"\r\n"
            "\r\n"
            f"JH-2,2026-10-08 09:00,{R1},广州市公安局,广州市民政局,共享平台,\"a\nb\nc\"\r\n"
            f"JH-3,2026-10-32,{R1},广州市公安局,广州市民政局,共享平台,\r\n"
            "合计,3\r\n")
    (tmp_path / "交换日志.csv").write_bytes(text.encode("utf-8"))
    r = load_inputs([tmp_path])
    e = r.tables["exchanges"]
    assert e["交换流水号"].tolist() == ["JH-1", "JH-2", "JH-3"]
    assert e["_row"].tolist() == [3, 6, 9]
    assert e["用途"].tolist()[0] == "核验\r\n多行"
    assert problems(r) == [("exchanges", 9, "交换时间", "日期时间无法识别")]


def test_csv_line_numbers_with_quoted_line_breaks_fast_path(tmp_path):
    _base(tmp_path)
    lines = ["交换流水号,交换时间,信息资源代码,提供部门,使用部门,交换通道,用途"]
    for i in range(6):
        purpose = '"两行\n用途"' if i % 2 == 0 else "一行"
        lines.append(f"JH-{i},2026-10-08 09:00,{R1},广州市公安局,广州市民政局,共享平台,{purpose}")
    lines.append(f"JH-9,bad,{R1},广州市公安局,广州市民政局,共享平台,x")
    (tmp_path / "交换日志.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = load_inputs([tmp_path])
    assert r.tables["exchanges"]["_row"].tolist() == [2, 4, 5, 7, 8, 10, 11]
    assert problems(r) == [("exchanges", 11, "交换时间", "日期时间无法识别")]


def test_csv_one_line_with_an_extra_field_does_not_lose_the_others(tmp_path):
    """Regression: one wider line made every normal line 'wrong field count' and the whole table was lost."""
    _base(tmp_path)
    text = ("部门名称,部门代码,层级,职能类别\n" +
            "\n".join(f"{n},{make_uscc(i + 1)},{lvl},{fn}" for i, (n, lvl, _d, fn, _s) in enumerate(DEPTS)) +
            f"\n多字段局,{make_uscc(8)},市级,其他,多出来的\n尾逗号局,{make_uscc(9)},市级,其他,,\n")
    (tmp_path / "部门名录.csv").write_text(text, encoding="utf-8")
    (tmp_path / "base.xlsx").unlink()
    pd.DataFrame(_cat_rows(), columns=CAT_CANON).to_csv(tmp_path / "信息资源.csv", index=False)
    r = load_inputs([tmp_path])
    assert r.tables["departments"]["部门名称"].tolist() == [x[0] for x in DEPTS] + ["尾逗号局"]
    assert r.tables["departments"]["_row"].tolist() == [2, 3, 4, 5, 7]
    d = r.defects
    assert d["row"].tolist() == [6] and "字段个数" in d["problem"].iloc[0]


# ---- recognition -------------------------------------------------------------------------------------------------

def test_file_name_hint_yields_to_a_header_that_fits_another_table(tmp_path):
    _base(tmp_path)
    # 部门共享责任人.csv contains the sheet alias 部门 but holds officers
    (tmp_path / "部门共享责任人.csv").write_text("部门,姓名,联系电话,是否已发布\n广州市公安局,张三,123,是\n",
                                             encoding="utf-8")
    r = load_inputs([tmp_path])
    assert r.tables["officers"]["姓名"].tolist() == ["张三"]
    assert len(r.tables["departments"]) == len(DEPTS)


def test_catalog_and_items_sheets_together_and_extra_instruction_sheet(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "填报说明"
    wb.active.append(["本表由平台导出，请勿修改表头"])
    ws = wb.create_sheet("信息资源")
    ws.append(CAT_CANON)
    for row in _cat_rows():
        ws.append(row)
    it = wb.create_sheet("信息项")
    it.append(["信息资源代码", "信息项名称", "数据类型", "是否基础信息项"])
    it.append([R1, "姓名", "字符型", "是"])
    dep = wb.create_sheet("部门名录")
    dep.append(DEPT_CANON)
    for row in _dept_rows():
        dep.append(row)
    wb.save(tmp_path / "目录导出.xlsx")
    r = load_inputs([tmp_path])
    assert len(r.tables["catalog"]) == 3 and r.tables["items"]["信息项名称"].tolist() == ["姓名"]
    assert [e["note"] for e in r.inputs if e["sheet"] == "填报说明"][0].startswith("未识别")


# ---- bad files ---------------------------------------------------------------------------------------------------

def test_missing_required_column_names_file_sheet_column_and_closest_header(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "部门名录"
    wb.active.append(["部门名称", "部门代码", "层级", "职能类别"])
    wb.active.append(DEPTS[0][:1] + (make_uscc(1), "市级", "公安"))
    ws = wb.create_sheet("信息资源")
    ws.append(["广州市政务信息资源目录"])
    ws.append([h if h != "发布日期" else "发布时间" for h in CAT_CANON])
    wb.save(tmp_path / "导出.xlsx")
    with pytest.raises(InputError) as e:
        load_inputs([tmp_path])
    msg = str(e.value)
    assert "导出.xlsx" in msg and "信息资源" in msg and "「发布日期」" in msg and "发布时间" in msg
    assert "\n" not in msg


def _bad_files(tmp_path):
    html = tmp_path / "html" / "部门名录.xlsx"
    html.parent.mkdir()
    html.write_text("<html><head><meta charset='utf-8'></head><body><table><tr><td>部门名称</td></tr></table>"
                    "</body></html>", encoding="utf-8")
    enc = tmp_path / "enc" / "部门名录.xlsx"
    enc.parent.mkdir()
    enc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)   # what Excel writes for a password
    broken = tmp_path / "broken" / "部门名录.xlsx"
    broken.parent.mkdir()
    _all = tmp_path / "good.xlsx"
    _xlsx(_all, "部门名录", DEPT_CANON, _dept_rows())
    broken.write_bytes(_all.read_bytes()[:600])
    notxlsx = tmp_path / "notxlsx" / "部门名录.xlsx"
    notxlsx.parent.mkdir()
    with zipfile.ZipFile(notxlsx, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    bomb = tmp_path / "bomb" / "部门名录.xlsx"
    bomb.parent.mkdir()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><Types/>')
    xls = tmp_path / "xls" / "部门名录.xls"
    xls.parent.mkdir()
    xls.write_text("部门名称\t部门代码\n", encoding="utf-8")
    pqbad = tmp_path / "pq" / "交换日志.parquet"
    pqbad.parent.mkdir()
    pqbad.write_bytes(b"PAR1" + b"\x00" * 100)
    return [html, enc, broken, notxlsx, bomb, xls, pqbad]


def test_corrupt_html_encrypted_and_hostile_files_give_one_clear_line(tmp_path):
    for f in _bad_files(tmp_path):
        with pytest.raises(InputError) as e:
            load_inputs([f], require=False)
        msg = str(e.value)
        assert f.name in msg and "\n" not in msg and "Traceback" not in msg, msg
        assert any("\u4e00" <= ch <= "\u9fff" for ch in msg)


def test_validate_cli_on_bad_files_exits_2_without_traceback(tmp_path):
    for f in _bad_files(tmp_path)[:3]:
        p = subprocess.run([sys.executable, "-m", "checker.cli", "validate", str(f.parent)], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 2, (p.stdout, p.stderr)
        assert "Traceback" not in p.stderr and f.name in (p.stdout + p.stderr)


def test_validate_cli_lists_defects_with_excel_rows(tmp_path):
    _all_tables_workbook(tmp_path / "平台导出.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "平台导出.xlsx")
    wb["目录变更"]["D4"] = "2026年13月1日"            # row 4: title row, header row 2, data from row 3
    wb.save(tmp_path / "平台导出.xlsx")
    p = subprocess.run([sys.executable, "-c", "from checker.cli import main; main()", "validate", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    line = [x for x in p.stdout.splitlines() if "2026年13月1日" in x]
    assert line and " 4 " in line[0] and "变化发生日期" in line[0] and "日期无法识别" in line[0], p.stdout


def test_placeholders_in_typed_columns_are_empty_not_unreadable(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "交换.xlsx", "交换日志", ["交换流水号", "交换时间", "信息资源代码", "提供部门", "使用部门", "交换通道",
                                              "是否涉密", "记录数", "交换结果"],
          [["JH-1", "2026-10-08 09:00", R1, "广州市公安局", "广州市民政局", "共享平台", "—", "/", "成功"],
           ["JH-2", "2026-10-08 09:00", R1, "广州市公安局", "广州市民政局", "共享平台", "N/A", "暂无", None]])
    r = load_inputs([tmp_path])
    e = r.tables["exchanges"]
    assert e["是否涉密"].tolist() == [False, False]                 # default 否
    assert e["记录数"].isna().all()
    assert r.defects.empty, r.defects.to_string()


def test_large_numbers_of_rows_keep_excel_row_numbers(tmp_path):
    _base(tmp_path)
    n = 3000
    rows = [[f"JH-{i}", dt.datetime(2026, 10, 8) + dt.timedelta(minutes=i), R1, "广州市公安局", "广州市民政局",
             "共享平台"] for i in range(n)]
    rows[1234][1] = "坏日期"
    rows.insert(2000, [None] * 6)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "交换日志"
    ws.append(["平台交换日志"])
    ws.append(["交换流水号", "交换时间", "信息资源代码", "提供部门", "使用部门", "交换通道"])
    for row in rows:
        ws.append(row)
    wb.save(tmp_path / "交换.xlsx")
    r = load_inputs([tmp_path])
    e = r.tables["exchanges"]
    assert len(e) == n and e["_row"].iloc[-1] == n + 3 and e["_row"].iloc[1999] == 2002
    assert problems(r) == [("exchanges", 1237, "交换时间", "日期时间无法识别")]
    assert np.all(np.diff(e["_row"].to_numpy(dtype=np.int64)) > 0)


def test_two_row_header_with_merged_group_heading(tmp_path):
    wb = _dept_workbook()
    ws = wb.create_sheet("信息资源")
    ws.append(["广州市政务信息资源目录"])
    ws.merge_cells("A1:Q1")
    top = [h if h not in ("共享类型", "共享条件", "共享依据") else None for h in CAT_CANON]
    top[4] = "共享属性（按第十条）"
    sub = [None] * 4 + ["共享类型", "共享条件", "共享依据"] + [None] * 10
    ws.append(top)
    ws.append(sub)
    ws.merge_cells("E2:G2")
    for col in "ABCDHIJKLMNOPQ":
        ws.merge_cells(f"{col}2:{col}3")
    for row in _cat_rows():
        ws.append(row)
    wb.save(tmp_path / "目录.xlsx")
    r = load_inputs([tmp_path])
    c = r.tables["catalog"]
    assert c["共享类型"].tolist() == ["无条件共享", "有条件共享", "不予共享"]
    assert c["共享条件"].tolist() == [None, "c", None] and c["_row"].tolist() == [4, 5, 6]
    assert r.defects.empty, r.defects.to_string()


def test_old_xls_saved_with_an_xlsx_name_is_read_but_encrypted_workbook_is_refused(tmp_path):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("部门名录")
    for j, h in enumerate(DEPT_CANON):
        ws.write(0, j, h)
    for i, row in enumerate(_dept_rows()):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(1 + i, j, v)
    book.save(str(tmp_path / "部门名录.xlsx"))
    r = load_inputs([tmp_path / "部门名录.xlsx"], require=False)
    assert r.tables["departments"]["部门名称"].tolist() == [x[0] for x in DEPTS]
    enc = tmp_path / "enc.xlsx"
    enc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000 + "EncryptedPackage".encode("utf-16-le")
                    + b"\0" * 3000)
    with pytest.raises(InputError) as e:
        load_inputs([enc], require=False)
    assert "密码" in str(e.value) and "enc.xlsx" in str(e.value)


def test_header_only_csv_without_final_line_break_is_an_empty_table(tmp_path):
    _base(tmp_path)
    (tmp_path / "数据异议.csv").write_text("异议编号,提出部门,提供部门,信息资源代码,提出日期", encoding="utf-8")
    r = load_inputs([tmp_path])
    assert len(r.tables["disputes"]) == 0 and r.defects.empty


def test_invisible_zero_width_characters_do_not_break_references(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "系统.xlsx", "信息系统", ["\ufeff系统名称", "所属部门\u200b", "是否跨部门共享", "是否接入共享平台"],
          [["户政", "广州市\u200b公安局", "是", "是"]])
    r = load_inputs([tmp_path])
    assert r.tables["systems"]["所属部门"].tolist() == ["广州市公安局"]
    assert r.defects.empty, r.defects.to_string()


@pytest.mark.parametrize("delim", [",", "\t", ";"])
def test_csv_delimiters_quoting_and_a_title_line(tmp_path, delim):
    _base(tmp_path)
    rows = [["系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台"], ["户政, 二期", "广州市公安局", "是", "否"],
            ["救助", "广州市民政局", "否", "是"]]
    text = "信息系统清单：2026年10月\n" + "\n".join(delim.join(f'"{v}"' for v in r) for r in rows) + "\n"
    (tmp_path / "信息系统.csv").write_text(text, encoding="utf-8")
    r = load_inputs([tmp_path])
    s = r.tables["systems"]
    assert s["系统名称"].tolist() == ["户政, 二期", "救助"] and s["_row"].tolist() == [3, 4]
    assert s["是否接入共享平台"].tolist() == [False, True]


def test_base_resource_by_category_needs_its_item_and_placeholders_in_code_lists(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "部门名录"
    wb.active.append(DEPT_CANON)
    for row in _dept_rows():
        wb.active.append(row[:2] + ["/"] + row[3:])        # 层级 "/" = empty: not a code-list defect
    ws = wb.create_sheet("信息资源")
    ws.append(CAT_CANON[:4] + ["基础信息类别", "信息类别细目"] + CAT_CANON[4:])
    for i, (cls, cat, item) in enumerate([("部门信息资源", "自然人", None), ("部门信息资源", "/", None),
                                          ("基础信息资源", None, "—"), ("基础信息资源", "法人", "企业税务登记信息")]):
        row = _cat_rows()[0]
        row[0] = f"10100100{i}/000001"
        ws.append(row[:3] + [cls, cat, item] + row[4:])
    wb.save(tmp_path / "a.xlsx")
    r = load_inputs([tmp_path])
    assert [(t, row, col) for t, row, col, _p in problems(r)] == [("catalog", 2, "信息类别细目"),
                                                                  ("catalog", 4, "信息类别细目")]


def test_header_cells_with_leading_notes_colons_and_unit_suffixes(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "交换.xlsx", "交换日志",
          ["（必填）交换流水号", "交换时间：", "【必填】信息资源代码", "提供部门*", "使用部门\n（需求方）", "交换通道",
           "记录数（条）"],
          [["JH-1", "2026-10-08 09:00", R1, "广州市公安局", "广州市民政局", "共享平台", "12"]])
    r = load_inputs([tmp_path])
    e = r.tables["exchanges"]
    assert e["交换流水号"].tolist() == ["JH-1"] and e["记录数"].tolist() == [12]
    assert r.defects.empty, r.defects.to_string()


# ---- the same month in every format loads to the same tables -------------------------------------------------------

def _month_frames() -> dict[str, pd.DataFrame]:
    dep = pd.DataFrame(_dept_rows(), columns=DEPT_CANON)
    cat = pd.DataFrame(_cat_rows(), columns=CAT_CANON)
    ex = pd.DataFrame([[f"JH-{i:04d}", f"2026-10-{8 + i % 20:02d} {9 + i % 8:02d}:{i % 60:02d}:00", [R1, R2, R3][i % 3],
                        DEPTS[i % 4][0], DEPTS[(i + 1) % 4][0], ["共享平台", "点对点", "邮件"][i % 3],
                        ["是", "否", None][i % 3], str(i * 10), ["成功", "失败"][i % 2]] for i in range(40)],
                      columns=["交换流水号", "交换时间", "信息资源代码", "提供部门", "使用部门", "交换通道", "是否涉密", "记录数",
                               "交换结果"])
    req = pd.DataFrame([["SQ-1", DEPTS[0][0], DEPTS[2][0], R2, "2026-09-28", "2026-10-20", "部分同意", "/", "u"],
                        ["SQ-2", DEPTS[3][0], DEPTS[2][0], R2, "2026-10-08", None, None, None, "u"]],
                       columns=["申请编号", "申请部门", "提供部门", "信息资源代码", "申请日期", "答复日期", "答复结果",
                                "不同意理由", "申请用途"])
    return {"部门名录": dep, "信息资源": cat, "交换日志": ex, "共享申请": req}


def _write_month(folder, fmt):
    folder.mkdir()
    frames = _month_frames()
    if fmt in ("xlsx", "ods"):
        with pd.ExcelWriter(folder / f"月度导出.{fmt}", engine="openpyxl" if fmt == "xlsx" else "odf") as w:
            for name, df in frames.items():
                df.to_excel(w, sheet_name=name, index=False)
    elif fmt == "xls":
        import xlwt
        book = xlwt.Workbook(encoding="utf-8")
        for name, df in frames.items():
            ws = book.add_sheet(name)
            for j, h in enumerate(df.columns):
                ws.write(0, j, h)
            for i, row in enumerate(df.itertuples(index=False)):
                for j, v in enumerate(row):
                    if v is not None and not (isinstance(v, float) and np.isnan(v)):
                        ws.write(i + 1, j, v)
        book.save(str(folder / "月度导出.xls"))
    elif fmt.startswith("csv"):
        enc = fmt.split(":")[1]
        for name, df in frames.items():
            (folder / f"{name}.csv").write_bytes(df.to_csv(index=False).encode(enc))
    elif fmt == "parquet":
        for name, df in frames.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)


def test_the_same_month_in_every_format_loads_to_the_same_tables(tmp_path):
    results = {}
    for fmt in ("xlsx", "ods", "xls", "csv:utf-8", "csv:utf-8-sig", "csv:gb18030", "parquet"):
        folder = tmp_path / fmt.replace(":", "_")
        _write_month(folder, fmt)
        r = load_inputs([folder])
        results[fmt] = r
    ref = results["xlsx"]
    assert set(ref.tables) == {"departments", "catalog", "exchanges", "requests"}
    for fmt, r in results.items():
        for name, frame in ref.tables.items():
            a = frame.drop(columns=["_file", "_sheet"])
            b = r.tables[name].drop(columns=["_file", "_sheet"])
            pd.testing.assert_frame_equal(a.astype(object), b.astype(object), obj=f"{fmt} {name}")
        pd.testing.assert_frame_equal(ref.defects.drop(columns=["file", "sheet"]),
                                      r.defects.drop(columns=["file", "sheet"]), obj=f"{fmt} defects")


def test_user_calendar_file_with_title_row_serials_and_gb18030(tmp_path):
    from checker.calendar import Calendar

    text = ("2027年工作日历（国务院办公厅通知）\n日期,类型,名称\n"
            "46388,节假日,元旦\n20270211,节假日,春节\n2027/2/7,调休上班,春节调休\n２０２７－０５－０１,节假日,劳动节\n")
    f = tmp_path / "日历.csv"
    f.write_bytes(text.encode("gb18030"))
    cal = Calendar.load(f)
    assert not cal.is_workday(dt.date(2027, 1, 1))          # serial 46388
    assert not cal.is_workday(dt.date(2027, 2, 11))         # 20270211
    assert cal.is_workday(dt.date(2027, 2, 7))              # a Sunday made a working day
    assert not cal.is_workday(dt.date(2027, 5, 1))
    assert cal.is_workday(dt.date(2027, 1, 4))
    wb = openpyxl.Workbook()
    wb.active.append(["日期", "类型"])
    wb.active.append([dt.datetime(2027, 1, 1), "节假日"])
    wb.active.append([20270211, "节假日"])
    wb.save(tmp_path / "cal.xlsx")
    cal = Calendar.load(tmp_path / "cal.xlsx")
    assert not cal.is_workday(dt.date(2027, 2, 11)) and not cal.is_workday(dt.date(2027, 1, 1))


def test_a_first_record_whose_name_starts_with_a_note_word_is_kept(tmp_path):
    _base(tmp_path)
    _xlsx(tmp_path / "系统.xlsx", "信息系统", ["所属部门", "系统名称", "是否跨部门共享", "是否接入共享平台"],
          [["填写说明：每个系统一行"], ["广州市公安局", "填写式申报系统", "是", "是"], ["广州市民政局", "救助", "否", "否"]])
    r = load_inputs([tmp_path])
    assert r.tables["systems"]["系统名称"].tolist() == ["填写式申报系统", "救助"]
    assert r.tables["systems"]["_row"].tolist() == [3, 4]


def test_a_department_cell_merged_down_over_its_officers_applies_to_each_row(tmp_path):
    _base(tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "责任人员"
    ws.append(["共享责任人员名单"])
    ws.merge_cells("A1:D1")
    ws.append(["部门", "姓名", "联系电话", "是否已发布"])
    ws.append(["广州市公安局", "张三", "1", "是"])
    ws.append([None, "李四", "2", "是"])
    ws.append([None, "王五", "3", "否"])
    ws.append(["广州市民政局", "赵六", "4", "是"])
    ws.append([None, "钱七", "5", "是"])
    ws.merge_cells("A3:A5")
    wb.save(tmp_path / "人员.xlsx")
    r = load_inputs([tmp_path])
    o = r.tables["officers"]
    assert o["部门"].tolist() == ["广州市公安局"] * 3 + ["广州市民政局", None]     # A7 is not merged: empty
    assert o["_row"].tolist() == [3, 4, 5, 6, 7]
    assert problems(r) == [("officers", 7, "部门", "部门为空")]


def test_one_stray_far_away_cell_is_refused_quickly_not_an_out_of_memory_crash(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门名录"
    ws.append(DEPT_CANON)
    for row in _dept_rows():
        ws.append(row)
    ws.cell(200_000, 3_000, " ")                 # 600 million cells if the reader filled the rectangle
    wb.save(tmp_path / "部门名录.xlsx")
    with pytest.raises(InputError) as e:
        load_inputs([tmp_path / "部门名录.xlsx"], require=False)
    assert "部门名录.xlsx" in str(e.value) and "过大" in str(e.value)


def test_a_far_away_cell_with_only_a_fill_colour_is_harmless(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门名录"
    ws.append(DEPT_CANON)
    for row in _dept_rows():
        ws.append(row)
    ws.cell(200_000, 3_000).fill = PatternFill("solid", fgColor="FFFF00")
    wb.save(tmp_path / "部门名录.xlsx")
    r = load_inputs([tmp_path / "部门名录.xlsx"], require=False)
    assert r.tables["departments"]["部门名称"].tolist() == [x[0] for x in DEPTS]


def test_rule_judged_code_columns_fold_stray_spaces(tmp_path):
    """共享方式 / 更新周期 / 标识类型 / 信息类别细目 are code-list values a rule compares whole: `平台 接口` is 平台接口."""
    pd.DataFrame({"部门名称": ["广州市公安局"], "部门代码": [make_uscc(1)], "层级": ["市级"], "职能类别": ["公安"]}
                 ).to_csv(tmp_path / "部门名录.csv", index=False)
    pd.DataFrame({"信息资源代码": [R1], "信息资源名称": ["户籍"], "提供部门": ["广州市公安局"], "资源分类": ["基础信息资源"],
                  "基础信息类别": ["自然人"], "信息类别细目": ["户籍 登记信息"], "共享类型": ["无条件 共享"],
                  "共享条件": [None], "共享依据": [None], "共享方式": ["平台　接口"], "共享范围": ["全市政务部门"],
                  "更新周期": [" 每 日"], "具体用途": ["x"], "采集部门": ["广州市公安局"], "核准部门": ["广州市公安局"],
                  "是否保密审查": ["是"], "是否涉密": ["否"], "标识类型": ["公民身份 号码"], "发布日期": ["2026-01-05"]}
                 ).to_csv(tmp_path / "信息资源.csv", index=False)
    r = load_inputs([tmp_path])
    row = r.tables["catalog"].iloc[0]
    assert (row["信息类别细目"], row["共享类型"], row["共享方式"], row["更新周期"], row["标识类型"]) == \
        ("户籍登记信息", "无条件共享", "平台接口", "每日", "公民身份号码")
    assert problems(r, "catalog") == []


def test_folder_scan_skips_sharecheck_report_folders(tmp_path):
    """`sharecheck run . --period …` inside the exports folder: earlier reports (审计结果/<period>/) are not inputs."""
    from checker.load.readers import scan_paths
    (tmp_path / "部门名录.csv").write_text("部门名称,部门代码,层级,职能类别\n", encoding="utf-8")
    rep = tmp_path / "审计结果" / "2026-10"
    (rep / "部门报告").mkdir(parents=True)
    for name in ("manifest.json", "findings.csv", "scorecard.csv"):
        (rep / name).write_text("{}", encoding="utf-8")
    (rep / "部门报告" / "x_2026-10.xlsx").write_bytes(b"")
    other = tmp_path / "子目录"
    other.mkdir()
    (other / "findings.csv").write_text("a\n", encoding="utf-8")      # a lone findings.csv is an ordinary file
    assert [shown for _, shown in scan_paths([tmp_path])] == ["子目录/findings.csv", "部门名录.csv"]
