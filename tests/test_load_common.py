"""Shared builders for the loader tests (real files written into tmp_path)."""
from __future__ import annotations

import datetime as dt

import openpyxl

from checker.codes import uscc_check_char

DEPT_HEADER = ["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"]
CATALOG_HEADER = ["信息资源代码", "信息资源名称", "提供部门", "资源分类", "基础信息类别", "信息类别细目", "共享类型",
                  "共享条件", "共享依据", "共享方式", "共享范围", "更新周期", "具体用途", "采集部门", "核准部门",
                  "是否保密审查", "是否涉密", "标识类型", "发布日期"]


def uscc(n: int) -> str:
    body = f"9144010{n:010d}"[:17]
    return body + uscc_check_char(body)


def dept_rows():
    return [["市公安局", uscc(1), "市级", None, "公安", "否"],
            ["市政务服务数据管理局", uscc(2), "市级", None, "政务服务数据管理", "是"],
            ["海珠区民政局", uscc(3), "区级", "海珠区", "民政", None]]


def catalog_row(code="101001001/000001", dept="市公安局", published=dt.datetime(2026, 10, 8), **kw):
    row = dict(zip(CATALOG_HEADER, [code, "户籍人口信息", dept, "基础信息资源", "自然人", "户籍登记信息", "无条件共享",
                                    None, None, "平台接口", "全市政务部门", "每日", "身份核验", dept, dept, "是", "否",
                                    "公民身份号码", published]))
    row.update(kw)
    return [row[h] for h in CATALOG_HEADER]


def write_xlsx(path, sheets: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def basic_workbook(path, extra: dict | None = None):
    sheets = {"部门名录": [DEPT_HEADER] + dept_rows(),
              "信息资源": [CATALOG_HEADER, catalog_row(), catalog_row("101001001/000002", "海珠区民政局")]}
    sheets.update(extra or {})
    return write_xlsx(path, sheets)
