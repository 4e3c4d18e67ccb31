"""The output files against outputs.md and rules.md § Scorecard, checked independently of the writers' own tests.

One real run on the committed sample (fixtures/sample/exports) plus small synthetic reports for the corners:
exact rates in 规则汇总, wrapped rows, the chart, the per-department workbooks and their cost.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from checker import model
from checker.render import common as cm
from checker.render import write
from checker.render import xlsx as xlsx_mod
from tests.demo_report import make_report

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fixtures" / "sample" / "exports"
DIMS = ["目录管理", "平台共享", "数据提供", "共享服务"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from checker.pipeline import run
    out = tmp_path_factory.mktemp("run")
    o = run([str(SAMPLE)], "2026-10", out=out / "a")
    return o, out / "a"


def _csv_rows(p: Path):
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), p.name
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


# ------------------------------------------------------------------------------------------- the real run
def test_files_written(sample_run):
    o, out = sample_run
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"审计报告_2026-10.xlsx", "report.html", "findings.csv", "scorecard.csv", "manifest.json"} <= names
    depts = o.report.scorecard["department"].tolist()
    dept_books = [n for n in names if n.startswith("部门报告/")]
    assert len(dept_books) == len(depts)
    assert all(n.endswith("_2026-10.xlsx") for n in dept_books)


def test_findings_csv_columns_and_values(sample_run):
    o, out = sample_run
    rows = _csv_rows(out / "findings.csv")
    assert rows[0] == ["rule_id", "severity", "department", "input", "sheet", "row", "key", "message", "status"]
    body = rows[1:]
    assert len(body) == len(o.report.result.findings)
    assert {r[8] for r in body} <= {"新增", "持续", "已豁免"}
    assert {r[1] for r in body} <= {"严重", "一般", "提示"}
    assert all(r[5] == "" or (r[5].isdigit() and int(r[5]) >= 1) for r in body)
    assert all(r[6] for r in body)                          # every finding names its record


def test_scorecard_csv_columns(sample_run):
    o, out = sample_run
    rows = _csv_rows(out / "scorecard.csv")
    pack_rules = [r for d in o.report.pack["dimensions"] for r in d["rules"] if r != "GZ165-18-1"]
    assert rows[0] == ["department", "score", "grade", "rank"] + DIMS + pack_rules
    assert "GZ165-18-1" not in rows[0]                      # advisory: never scored
    for r in rows[1:]:
        assert re.fullmatch(r"\d{1,3}\.\d", r[1]), r          # one decimal
        assert r[2] in {"优秀", "良好", "合格", "不合格"}
        assert all(v == "" or re.fullmatch(r"\d{1,3}\.\d", v) for v in r[4:]), r


def _grade(s: Decimal) -> str:
    return "优秀" if s >= 90 else "良好" if s >= 75 else "合格" if s >= 60 else "不合格"


def test_scores_recomputed_independently(sample_run):
    """rules.md § Scorecard, from the engine's findings and checked units, with Decimal arithmetic."""
    o, out = sample_run
    r = o.report
    f, ch = r.result.findings, r.result.checked
    not_run = set(r.result.not_checked["rule_id"]) if len(r.result.not_checked) else set()
    counted = f[f["severity"].isin(["严重", "一般"]) & f["status"].ne("已豁免")]
    k = counted.groupby(["department", "rule_id"]).size().to_dict()
    u = ch.groupby(["department", "rule_id"])["checked"].sum().to_dict()
    rows = {x[0]: x for x in _csv_rows(out / "scorecard.csv")[1:]}
    expect = {}
    for dept in rows:
        num = den = Fraction(0)
        for d in r.pack["dimensions"]:
            rates = []
            for rid in d["rules"]:
                if rid == "GZ165-18-1" or rid in not_run:
                    continue
                n, c = max(int(u.get((dept, rid), 0)), k.get((dept, rid), 0)), k.get((dept, rid), 0)
                if n > 0:
                    rates.append(max(Fraction(0), 1 - Fraction(c, n)))
            if rates:
                num += Fraction(d["weight"]) * sum(rates) / len(rates)
                den += Fraction(d["weight"])
        s = Decimal(100 * num.numerator * den.denominator) / Decimal(num.denominator * den.numerator)
        s = s.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        g = _grade(s)
        rules_hit = {rid for (dd, rid) in k if dd == dept}
        if "GZ165-08-1" in rules_hit:
            s, g = Decimal("0.0"), "不合格"
        if "GZ165-20-2" in rules_hit:
            g = "不合格"
        if "GZ165-16-1" in rules_hit and g in ("优秀", "良好"):
            g = "合格"
        expect[dept] = (s, g)
        assert (Decimal(rows[dept][1]), rows[dept][2]) == (s, g), dept
    # competition ranking on the final score: ties share a rank (1, 2, 2, 4)
    scores = sorted((v[0] for v in expect.values()), reverse=True)
    for dept, (s, _) in expect.items():
        assert int(rows[dept][3]) == 1 + sum(1 for x in scores if x > s), dept


def test_manifest_contents(sample_run):
    o, out = sample_run
    m = json.loads((out / "manifest.json").read_text("utf-8"))
    assert m["period"] == "2026-10" and m["as_of"] == "2026-10-31"
    assert m["pack"]["pack"] == "gz165" and m["pack"]["version"]
    assert m["parameters"]["GZ165-08-2"]["limit_wd"] == 15
    # the scoring parameters are parameters too (rules.md: weights and grade policies can be changed)
    sc = m["scoring"]
    assert [d["name"] for d in sc["dimensions"]] == DIMS and [d["weight"] for d in sc["dimensions"]] == [30, 25, 30, 15]
    assert {g["grade"]: g["min"] for g in sc["grades"]} == {"优秀": 90, "良好": 75, "合格": 60, "不合格": 0}
    assert {p["when"]["rule"] for p in sc["policies"]} == {"GZ165-20-2", "GZ165-16-1", "GZ165-08-1"}
    for i in m["inputs"]:
        assert set(i) == {"path", "sheet", "table", "rows", "sha256"} and re.fullmatch(r"[0-9a-f]{64}", i["sha256"])
    assert len(m["rules_run"]) + len(m["rules_not_checked"]) == 31
    assert m["counts"]["findings"] == len(o.report.result.findings)
    grades = o.report.scorecard["grade"].value_counts()
    assert m["counts"]["by_grade"] == {g: int(grades.get(g, 0)) for g in ["优秀", "良好", "合格", "不合格"]}


def test_workbook_sheets_and_layout(sample_run):
    _, out = sample_run
    wb = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx")
    assert wb.sheetnames == ["说明", "部门评分", "规则汇总", "问题明细", "待办", "输入问题", "未检查"]
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes == "A2", name
    for name in ["部门评分", "规则汇总", "问题明细", "待办", "输入问题"]:
        assert wb[name].auto_filter.ref, name
    texts = [str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value is not None]
    assert any("期限（工作日）" in t for t in texts)            # parameters named in Chinese
    assert any("优秀 ≥ 90" in t for t in texts)                  # grade bands stated
    nc = [c.value for row in wb["未检查"].iter_rows() for c in row if c.value is not None]
    assert any("全部规则均已检查" in str(v) for v in nc)


def test_deterministic_bytes_of_every_file(sample_run, tmp_path):
    from checker.pipeline import run
    _, a = sample_run
    run([str(SAMPLE)], "2026-10", out=tmp_path / "b")
    b = tmp_path / "b"
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert fa == fb
    for rel in fa:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


# --------------------------------------------------------------------------------------------- 规则汇总
def _summary_report(findings: list[tuple], checked: list[tuple]):
    r = make_report(0, history=False, waivers=False)
    rows = [{"rule_id": rid, "severity": sev, "department": d, "counterpart": None, "input": "catalog",
             "file": "x.xlsx", "sheet": "s", "row": i + 2, "key": f"K{i}", "message": "m", "status": st}
            for i, (rid, sev, d, st) in enumerate(findings)]
    r.result.findings = pd.DataFrame(rows, columns=model.FINDING_COLUMNS + ["status"])
    r.result.checked = pd.DataFrame(checked, columns=model.CHECKED_COLUMNS)
    return r


def test_rule_summary_rate_is_exact_half_up():
    # 37 of 2960 -> 1 − 0.0125 = 98.75 % -> 98.8 ; float arithmetic gives 98.7 for some such pairs
    r = _summary_report([("GZ165-08-2", "一般", "甲局", "新增")] * 37, [("GZ165-08-2", "甲局", 2960)])
    rs = cm.rule_summary(r).set_index("rule_id")
    assert rs.loc["GZ165-08-2", "rate"] == 98.8
    # 2923 of 2960 -> 1.25 % -> 1.3 (np.floor(v*10+0.5)/10 gives 1.2)
    r = _summary_report([("GZ165-08-2", "一般", "甲局", "新增")] * 2923, [("GZ165-08-2", "甲局", 2960)])
    assert cm.rule_summary(r).set_index("rule_id").loc["GZ165-08-2", "rate"] == 1.3
    assert cm.exact_rate_percent(1, 8) == 87.5 and cm.exact_rate_percent(9, 8) == 0.0


def test_rule_summary_counts_like_the_scorecard():
    r = _summary_report([("GZ165-10-1", "严重", "甲局", "新增"), ("GZ165-10-1", "严重", "乙局", "已豁免"),
                         ("GZ165-10-1", "提示", "甲局", "新增"),          # advisory finding of a scored rule
                         ("GZ165-18-1", "提示", "甲局", "新增")],         # advisory rule: never counted
                        [("GZ165-10-1", "甲局", 5), ("GZ165-10-1", "乙局", 5), ("GZ165-18-1", "甲局", 4)])
    rs = cm.rule_summary(r).set_index("rule_id")
    assert rs.loc["GZ165-10-1", ["findings", "waived", "counted", "checked"]].tolist() == [3, 1, 1, 10]
    assert rs.loc["GZ165-10-1", "rate"] == 90.0
    # advisory rule: never counted (score.counted_mask), its rate over its findings not waived
    assert rs.loc["GZ165-18-1", "counted"] == 0 and rs.loc["GZ165-18-1", "rate"] == 75.0


# ---------------------------------------------------------------------------------------- workbook looks
def test_long_texts_wrap_and_rows_grow(tmp_path):
    r = make_report(30, history=False, waivers=False)
    f = r.result.findings
    f.loc[0, "message"] = "＝SUM(1)" + "很长的问题说明" * 20
    f.loc[1, "message"] = "　=1+1 很长的问题说明" + "甲" * 80
    p = write(r, tmp_path, ["xlsx"])[0]
    ws = openpyxl.load_workbook(p)["问题明细"]
    col = {c.value: c.column for c in ws[1]}["问题说明"]
    rows = {ws.cell(i, col).value: i for i in range(2, ws.max_row + 1)}
    i0 = rows[f.loc[0, "message"]]
    assert ws.cell(i0, col).alignment.wrap_text
    assert ws.row_dimensions[i0].height and ws.row_dimensions[i0].height >= 45
    assert ws.cell(i0, 1).alignment.vertical == "top"             # the row's texts start on one line
    assert ws.cell(rows[f.loc[1, "message"]], col).data_type == "s"
    with zipfile.ZipFile(p) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", z.read(n)), n


def test_score_chart_grade_colours_and_own_page(tmp_path):
    r = make_report(50, history=False, waivers=False)
    p = write(r, tmp_path, ["xlsx"])[0]
    with zipfile.ZipFile(p) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    for g, colour in cm.GRADE_BAR_COLOURS.items():
        if (r.scorecard["grade"] == g).any():
            assert colour in chart, g
    assert chart.count("<dPt>") == len(r.scorecard)
    assert "优秀" in chart and "不合格" in chart                   # the title explains the colours
    assert f'<brk id="{len(r.scorecard) + 2}"' in sheet


# ------------------------------------------------------------------------------------ department books
def test_department_rule_sheet_matches_scorecard(tmp_path):
    r = make_report(200, history=False, waivers=False)
    paths = write(r, tmp_path, ["dept_xlsx"])
    stems = cm.unique_file_stems(cm.departments_of_report(r))
    sc = r.scorecard.set_index("department")
    for dept, stem in list(stems.items())[:4]:
        wb = openpyxl.load_workbook(tmp_path / "部门报告" / f"{stem}_2026-10.xlsx")
        ws = wb["各规则合规率"]
        head = [c.value for c in ws[1]]
        got = {ws.cell(i, 1).value: [ws.cell(i, j + 1).value for j in range(len(head))]
               for i in range(2, ws.max_row + 1)}
        for rid in [c for c in sc.columns if c.startswith("GZ165-")]:
            v = sc.loc[dept, rid]
            rate = got[rid][head.index("合规率(%)")]
            assert (rate == float(v)) if pd.notna(v) else rate in ("不适用", "未检查"), (dept, rid)
        own = r.result.findings[r.result.findings["department"] == dept]
        assert sum(row[head.index("问题数")] for row in got.values()) == len(own)
        ch = r.result.checked[r.result.checked["department"] == dept].groupby("rule_id")["checked"].sum()
        for rid, n in ch.items():
            assert got[rid][head.index("检查单元数")] == n
    assert len(paths) == len(stems)


def test_department_books_do_not_rescan_all_findings(tmp_path, monkeypatch):
    """Writing N department books costs their share of findings: the rule catalogue (a pass over all findings)
    is built a fixed number of times, not once per department."""
    calls = {"n": 0}
    real = cm.rules_frame

    def counting(report):
        calls["n"] += 1
        return real(report)

    monkeypatch.setattr(cm, "rules_frame", counting)
    r = make_report(300, history=True, waivers=False)
    n_depts = len(cm.departments_of_report(r))
    write(r, tmp_path, ["dept_xlsx"])
    assert n_depts >= 10 and calls["n"] <= 2


# -------------------------------------------------------------------------------------------------- html
def test_html_numbers_one_decimal_and_grade_legend(sample_run):
    _, out = sample_run
    html = (out / "report.html").read_text("utf-8")
    assert 'class="legend"' in html and "优秀 ≥ 90" in html
    table = html[html.index('<section id="score">'):html.index("</section>", html.index('<section id="score">'))]
    cells = re.findall(r'<td class="num">([^<]*)</td>', table)
    assert cells and all(re.fullmatch(r"\d{1,3}\.\d|", c) or c == "不适用" for c in cells), cells[:20]


# ------------------------------------------------------------------------------------------ hand-computed
def test_hand_computed_scorecard_with_policies_and_ties():
    import yaml
    from checker.score import score
    pack = yaml.safe_load((REPO / "rules" / "gz165" / "pack.yaml").read_text("utf-8"))

    def fnd(rows):
        return pd.DataFrame([{"rule_id": r, "severity": s, "department": d, "counterpart": None, "input": "catalog",
                              "file": "f", "sheet": "s", "row": i + 2, "key": f"K{i}", "message": "m", "status": st}
                             for i, (r, s, d, st) in enumerate(rows)], columns=model.FINDING_COLUMNS + ["status"])

    f = fnd([("GZ165-10-1", "严重", "甲局", "新增"), ("GZ165-16-1", "严重", "甲局", "新增"),
             ("GZ165-17-1", "一般", "丙局", "新增"),
             ("GZ165-10-1", "一般", "戊局", "新增"), ("GZ165-10-1", "一般", "戊局", "新增"),
             ("GZ165-10-1", "一般", "戊局", "持续"), ("GZ165-10-1", "一般", "戊局", "已豁免"),
             ("GZ165-20-2", "严重", "己局", "已豁免")])                # waived: no veto
    c = pd.DataFrame([("GZ165-10-1", "甲局", 4), ("GZ165-10-3", "甲局", 2), ("GZ165-16-1", "甲局", 10),
                      ("GZ165-20-1", "甲局", 3), ("GZ165-10-1", "乙局", 4), ("GZ165-17-1", "丙局", 1),
                      ("GZ165-10-1", "丁局", 1), ("GZ165-10-1", "戊局", 16), ("GZ165-20-2", "己局", 2)],
                     columns=model.CHECKED_COLUMNS)
    d = pd.DataFrame({"部门名称": ["甲局", "乙局", "丙局", "丁局", "戊局", "己局", "庚局"]})
    sc = score(f, c, pd.DataFrame(columns=model.NOT_CHECKED_COLUMNS), pack, d).set_index("department")
    # 甲局: 目录管理 (75 + 100)/2 = 87.5, 平台共享 90, 数据提供 100, 共享服务 不适用 (its 15 spread)
    #       (30×0.875 + 25×0.9 + 30×1) / 85 = 78.75/85 = 92.647… -> 92.6 优秀, capped to 合格 by 16-1
    assert sc.loc["甲局", "目录管理"] == 87.5 and sc.loc["甲局", "平台共享"] == 90.0
    assert pd.isna(sc.loc["甲局", "共享服务"])
    assert (sc.loc["甲局", "score"], sc.loc["甲局", "raw_grade"], sc.loc["甲局", "grade"]) == (92.6, "优秀", "合格")
    assert (sc.loc["丙局", "score"], sc.loc["丙局", "grade"]) == (0.0, "不合格")
    # 戊局: 3 counted of 16 (the waived one is not) -> 81.25 -> 81.3 (half up, not banker's 81.2)
    assert (sc.loc["戊局", "score"], sc.loc["戊局", "grade"]) == (81.3, "良好")
    assert (sc.loc["己局", "score"], sc.loc["己局", "grade"]) == (100.0, "优秀")
    # ties share a rank: 乙局, 丁局, 己局 100.0 -> 1, 1, 1; then 甲局 4th; 庚局 has nothing to score
    assert [int(sc.loc[x, "rank"]) for x in ["乙局", "丁局", "己局", "甲局", "戊局", "丙局"]] == [1, 1, 1, 4, 5, 6]
    assert pd.isna(sc.loc["庚局", "score"]) and pd.isna(sc.loc["庚局", "rank"])
