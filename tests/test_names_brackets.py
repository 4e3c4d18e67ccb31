"""Department names with brackets: shown as the registers write them (full-width （）), matched whatever the
spelling, and keyed as rules.md "Key" says (NFKC: ASCII brackets)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).with_name("sharecheck")
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(n: int) -> str:
    body = f"11440100{n:09d}"
    return body + _USCC[(31 - sum(_USCC.index(c) * w for c, w in zip(body, _W)) % 31) % 31]


HP = "广州市黄埔区人民政府（广州开发区管理委员会）"
HP_ASCII = "广州市黄埔区人民政府(广州开发区管理委员会)"
NS = "广州市南沙区人民政府（南沙开发区管委会）办公室"


def test_bracket_names_display_match_and_key(tmp_path):
    ex = tmp_path / "exports"
    ex.mkdir()
    with open(ex / "部门名录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"])
        w.writerow([HP, uscc(1), "区级", "黄埔区", "其他", "否"])
        w.writerow([NS, uscc(2), "区级", "南沙区", "其他", "否"])
        w.writerow(["广州市政务服务和数据管理局", uscc(3), "市级", "", "政务服务数据管理", "是"])
    with open(ex / "信息资源.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["信息资源代码", "信息资源名称", "提供部门", "资源分类", "共享类型", "共享方式", "共享范围", "更新周期",
                    "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密", "发布日期", "共享条件", "共享依据", "标识类型"])
        # the catalog spells the provider with ASCII brackets: it is still the same department
        w.writerow(["301001001/000001", "企业名录", HP_ASCII, "部门信息资源", "无条件共享", "点对点", "全市政务部门",
                    "每月", "监管", HP_ASCII, HP_ASCII, "是", "否", "2026-10-08", "", "", ""])
    out = tmp_path / "out"
    p = subprocess.run([str(BIN), "run", str(ex), "--period", "2026-10", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    # the 主管部门 has no applicable rule here (no catalog duty, no officers table): the summary says so, no crash
    assert "广州市政务服务和数据管理局" in p.stdout and "无法评分" in p.stdout
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = {(r["rule_id"], r["department"], r["key"]) for r in rows}
    assert ("GZ165-16-2", HP, "301001001/000001") in got            # matched to 部门名录, shown as written there
    assert ("GZ165-08-1", NS, "广州市南沙区人民政府(南沙开发区管委会)办公室") in got   # key: NFKC
    assert not any(r["department"] == HP_ASCII for r in rows)
    assert not any(r["department"] == HP for r in rows if r["rule_id"] == "GZ165-08-1")   # HP has a catalog
    assert (out / "部门报告" / f"{HP}_2026-10.xlsx").exists()


def test_reports_show_the_inputs_own_spelling(tmp_path):
    """Issue 8 C4: NFKC is for matching and keys; reports show names and quoted text as the input wrote them."""
    from openpyxl import load_workbook
    ex = tmp_path / "exports"
    ex.mkdir()
    name = "企业名录（２０２６版）"                         # full-width digits: NFKC would show 企业名录(2026版)
    with open(ex / "部门名录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"])
        w.writerow([HP_ASCII, uscc(1), "区级", "黄埔区", "其他", "否"])      # the register writes ASCII brackets
        w.writerow(["广州市政务服务和数据管理局", uscc(3), "市级", "", "政务服务数据管理", "是"])
    with open(ex / "信息资源.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["信息资源代码", "信息资源名称", "提供部门", "资源分类", "共享类型", "共享方式", "共享范围", "更新周期",
                    "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密", "发布日期", "共享条件", "共享依据", "标识类型"])
        w.writerow(["301001001/000001", name, HP, "部门信息资源", "不予共享", "点对点", "全市政务部门",
                    "每月", "监管", HP, HP, "是", "否", "2026-10-08", "", "工作需要，见穗府办〔2020〕１号以外的内部安排", ""])
    out = tmp_path / "out"
    p = subprocess.run([str(BIN), "run", str(ex), "--period", "2026-10", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["department"] != HP for r in rows)
    mine = [r for r in rows if r["department"] == HP_ASCII]
    assert mine, rows                                   # matched to 部门名录 although the catalog writes （）
    assert any(f"「{name}」" in r["message"] for r in mine)
    assert not any("企业名录(2026版)" in r["message"] for r in rows)
    assert all(r["key"] != name for r in rows)
    assert (out / "部门报告" / f"{HP_ASCII}_2026-10.xlsx").exists()
    wb = load_workbook(out / "部门报告" / f"{HP_ASCII}_2026-10.xlsx", read_only=True)
    cells = {str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert any(name in c for c in cells) and any(HP_ASCII in c for c in cells)
    assert not any(HP in c for c in cells)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert HP_ASCII in html and name in html and HP not in html
