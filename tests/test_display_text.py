"""Issue 8 C4 (regression): NFKC is for matching and keys; every report shows the input's own spelling.

A small month where 部门名录 writes a department with full-width brackets, the catalog writes the same department
with ASCII brackets, and the 共享依据 of two 不予共享 resources contain 〔2020〕, full-width digits and 「，」.
The same month with the catalog written in the register's spelling must give the same findings (matching works).
"""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests.test_names_brackets import HP, HP_ASCII, uscc

BIN = Path(sys.executable).with_name("sharecheck")
BASIS_LOCAL = "穗府办规〔2020〕３号"                       # a local document: 10-5 quotes it as 依据引用
BASIS_UNKNOWN = "工作需要，涉及「个人隐私」，暂不共享"       # no recognisable citation: 10-5 quotes it whole
NAME = "企业名录（２０２６版）"
HEAD = ["信息资源代码", "信息资源名称", "提供部门", "资源分类", "共享类型", "共享方式", "共享范围", "更新周期",
        "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密", "发布日期", "共享条件", "共享依据", "标识类型"]


def _month(root: Path, catalog_dept: str, register_dept: str = HP) -> Path:
    ex = root / "exports"
    ex.mkdir(parents=True)
    with open(ex / "部门名录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"])
        w.writerow([register_dept, uscc(1), "区级", "黄埔区", "其他", "否"])
        w.writerow(["广州市政务服务和数据管理局", uscc(3), "市级", "", "政务服务数据管理", "是"])
    with open(ex / "信息资源.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEAD)
        for i, (name, basis) in enumerate([(NAME, BASIS_LOCAL), ("法人库", BASIS_UNKNOWN)], 1):
            w.writerow([f"301001001/00000{i}", name, catalog_dept, "部门信息资源", "不予共享", "点对点",
                        "全市政务部门", "每月", "监管", catalog_dept, catalog_dept, "是", "否", "2026-10-08", "",
                        basis, ""])
    out = root / "out"
    p = subprocess.run([str(BIN), "run", str(ex), "--period", "2026-10", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out


def _findings(out: Path) -> list[dict]:
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _cells(path: Path) -> list[str]:
    wb = load_workbook(path, read_only=True)
    cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    cells += [ws.title for ws in wb.worksheets]
    return cells


def test_reports_quote_the_input_and_matching_is_unchanged(tmp_path):
    out = _month(tmp_path / "ascii", HP_ASCII)          # catalog: ASCII brackets; register: full-width
    rows = _findings(out)
    ten5 = [r for r in rows if r["rule_id"] == "GZ165-10-5"]
    assert len(ten5) == 2, rows
    assert all(r["department"] == HP for r in ten5)      # shown as 部门名录 writes it, and matched to it
    msgs = " ".join(r["message"] for r in ten5)
    assert "〔2020〕３号" in msgs and BASIS_UNKNOWN in msgs and f"「{NAME}」" in msgs
    assert "[2020]" not in msgs and "(2020)" not in msgs and "工作需要," not in msgs and "(2026版)" not in msgs
    for path in (out / "审计报告_2026-10.xlsx", out / "部门报告" / f"{HP}_2026-10.xlsx"):
        cells = " ".join(_cells(path))
        assert "〔2020〕３号" in cells and BASIS_UNKNOWN in cells and NAME in cells, path
        assert HP in cells and "[2020]" not in cells and "工作需要," not in cells, path
    html = (out / "report.html").read_text(encoding="utf-8")
    assert HP in html and "〔2020〕３号" in html and BASIS_UNKNOWN in html and NAME in html
    assert "工作需要," not in html

    same = _findings(_month(tmp_path / "fullwidth", HP))  # the register's own spelling everywhere
    def facts(rs):
        return sorted((r["rule_id"], r["key"], r["severity"], r["department"]) for r in rs)
    assert facts(rows) == facts(same)
    assert len(rows) == len(same)


def test_register_spelling_names_the_department_everywhere_keys_unchanged(tmp_path):
    """部门名录 writes ASCII brackets, the catalog full-width: reports use the register's spelling; keys do not move."""
    out = _month(tmp_path / "reg", HP, register_dept=HP_ASCII)
    rows = _findings(out)
    assert rows and {r["department"] for r in rows if r["rule_id"] == "GZ165-10-5"} == {HP_ASCII}
    cells = _cells(out / "审计报告_2026-10.xlsx")
    assert any(HP_ASCII in c for c in cells) and not any(HP in c for c in cells)
    assert (out / "部门报告" / f"{HP_ASCII}_2026-10.xlsx").exists()
    base = _findings(_month(tmp_path / "base", HP))
    assert sorted((r["rule_id"], r["key"], r["severity"]) for r in rows) == \
        sorted((r["rule_id"], r["key"], r["severity"]) for r in base)
