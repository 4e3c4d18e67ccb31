"""Issue 8, A: no input may crash, abort or exhaust the machine.

Hostile files are built here from real workbooks; each ends in exit 2 with one line naming the file (the real
command, in a child process whose address space is capped at 2.5 GB), or in a correct run.
"""
from __future__ import annotations

import pytest

from checker.errors import InputError
from checker.load import readers, safety

from .hostile import (DEPT_HEADER, dept_workbook, ods, ods_cell, ods_row, one_line_error, sharecheck,
                      xlsx_far_cell)

FAR = "XFD1048576"


# ---- A1: the sheet-extent guard -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["single-quoted", "lower-case", "moved-through-rels", "far-AAA200000",
                                  "moved-lower-single"])
def test_far_cell_is_refused_before_the_reader_sees_it(tmp_path, kind):
    p = tmp_path / "部门名录.xlsx"
    if kind == "single-quoted":
        xlsx_far_cell(p, FAR, quote="'")
    elif kind == "lower-case":
        xlsx_far_cell(p, FAR.lower())
    elif kind == "moved-through-rels":
        xlsx_far_cell(p, FAR, move_to="xl/sheet1.xml")
    elif kind == "far-AAA200000":
        xlsx_far_cell(p, "AAA200000")
    else:
        xlsx_far_cell(p, FAR.lower(), quote="'", move_to="xl/data/s.xml")
    with pytest.raises(InputError) as e:
        safety.check_file(str(p), "部门名录.xlsx")
    assert "使用区域过大" in str(e.value) and "文件 部门名录.xlsx，工作表「部门名录」" in str(e.value)


def test_declared_dimension_alone_is_not_refused_and_style_only_far_cells_are_ignored(tmp_path):
    """<dimension> only triggers the exact count; the reader allocates for filled cells only."""
    p = xlsx_far_cell(tmp_path / "a.xlsx", FAR, style_only=True, dimension="A1:XFD1048576")
    safety.check_file(str(p), "a.xlsx")
    sheets = readers.read_file(str(p), "a.xlsx")
    assert sheets[0].preview.shape[0] == 3


def test_single_quoted_far_cell_end_to_end_is_one_line_not_an_abort(tmp_path):
    xlsx_far_cell(tmp_path / "部门名录.xlsx", FAR, quote="'")
    line = one_line_error(sharecheck("validate", tmp_path))
    assert "部门名录.xlsx" in line and "使用区域过大" in line


# ---- A2: ODS repeat counts, native panics -------------------------------------------------------------------------
def test_ods_repeat_bomb_is_refused_naming_file_and_sheet(tmp_path):
    head = ods_row("".join(ods_cell(h) for h in DEPT_HEADER))
    bomb = ods_row(ods_cell("1", repeat=11000), repeat=9000)
    p = ods(tmp_path / "部门名录.ods", {"部门名录": head + bomb})
    assert p.stat().st_size < 2000
    with pytest.raises(InputError) as e:
        safety.check_file(str(p), "部门名录.ods")
    assert "使用区域过大" in str(e.value) and "「部门名录」" in str(e.value)
    line = one_line_error(sharecheck("validate", tmp_path))
    assert "部门名录.ods" in line


def test_ods_trailing_empty_repeats_as_libreoffice_writes_them_are_fine(tmp_path):
    head = ods_row("".join(ods_cell(h) for h in DEPT_HEADER) + '<table:table-cell table:number-columns-repeated="16378"/>')
    data = ods_row("".join(ods_cell(v or "") for v in ["广州市公安局", "114401000075028265", "市级", "", "公安", "否"]))
    tail = ods_row('<table:table-cell table:number-columns-repeated="16384"/>', repeat=1048574)
    p = ods(tmp_path / "部门名录.ods", {"部门名录": head + data + tail})
    safety.check_file(str(p), "部门名录.ods")
    sheet = readers.read_file(str(p), "部门名录.ods")[0]
    assert sheet.preview.shape[0] == 2


def test_ods_empty_gap_before_a_filled_cell_counts(tmp_path):
    gap = ods_row('<table:table-cell table:number-columns-repeated="1000"/>', repeat=100000)
    last = ods_row('<table:table-cell table:number-columns-repeated="999"/>' + ods_cell("x"))
    p = ods(tmp_path / "a.ods", {"S": ods_row(ods_cell("部门名称")) + gap + last})
    with pytest.raises(InputError, match="使用区域过大"):
        safety.check_file(str(p), "a.ods")


def test_a_rust_panic_in_the_reader_is_a_one_line_input_error(tmp_path, monkeypatch):
    """pyo3's PanicException derives from BaseException: ``except Exception`` let it through (exit 1)."""
    PanicException = type("PanicException", (BaseException,), {"__module__": "pyo3_runtime"})
    p = dept_workbook(tmp_path / "部门名录.xlsx")

    def panic(*a, **k):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(readers, "_parse_grid", panic)          # (where a sheet's cells are parsed)
    with pytest.raises(InputError) as e:
        readers.read_file(str(p), "部门名录.xlsx")
    assert "部门名录.xlsx" in str(e.value) and "无法读取" in str(e.value)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(readers, "_parse_grid", interrupted)
    with pytest.raises(KeyboardInterrupt):
        readers.read_file(str(p), "部门名录.xlsx")


# ---- A3: YAML aliases in --params -------------------------------------------------------------------------------
ALIAS_BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
GZ165-08-2: {limit_wd: *h}
"""


def test_params_alias_bomb_is_refused_in_one_short_line(tmp_path):
    (tmp_path / "p.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    proc = sharecheck("rules", "--params", tmp_path / "p.yaml")
    line = one_line_error(proc)
    assert "别名" in line and "第 2 行" in line and "p.yaml" in line
    assert len(line) < 400


def test_params_merge_key_alias_is_refused_too(tmp_path):
    from checker.engine import load_pack
    from checker.errors import PackError
    (tmp_path / "p.yaml").write_text("x: &x {limit_wd: 5}\nGZ165-08-2:\n  <<: *x\n", encoding="utf-8")
    with pytest.raises(PackError, match="别名"):
        load_pack("gz165", tmp_path / "p.yaml")


def test_a_huge_value_in_params_is_echoed_bounded(tmp_path):
    from checker.engine import load_pack
    from checker.errors import PackError
    big = "[" + ",".join(["1"] * 20000) + "]"
    (tmp_path / "p.yaml").write_text(f"GZ165-08-2: {{limit_wd: {big}}}\n", encoding="utf-8")
    with pytest.raises(PackError) as e:
        load_pack("gz165", tmp_path / "p.yaml")
    assert "limit_wd" in str(e.value) and len(str(e.value)) < 300


# ---- A4: unreadable files and folders (file permissions apply to the child: see hostile.py) ---------------------
def _permission_case(tmp_path):
    from .hostile import copy_sample
    return copy_sample(tmp_path / "exports")


def test_unreadable_export_is_exit_2_naming_the_file(tmp_path):
    ex = _permission_case(tmp_path)
    (ex / "数据异议.csv").chmod(0)
    line = one_line_error(sharecheck("validate", ex, ordinary=True))
    assert "数据异议.csv" in line and "没有读取权限" in line


def test_unreadable_sub_folder_is_listed_not_skipped_silently(tmp_path):
    ex = _permission_case(tmp_path)
    sub = ex / "补充"
    sub.mkdir()
    (ex / "数据异议.csv").rename(sub / "数据异议.csv")
    sub.chmod(0)
    try:
        proc = sharecheck("validate", ex, ordinary=True)
    finally:
        sub.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "补充/" in x)
    assert "无法读取的文件夹" in line and "没有读取权限" in line


# ---- A6: control characters --------------------------------------------------------------------------------------
def _departments_csv(ex, mutate):
    import pandas as pd
    grid = pd.read_excel(ex / "部门名录.xlsx", header=None, dtype=object)
    mutate(grid)
    (ex / "部门名录.xlsx").unlink()
    grid.to_csv(ex / "部门名录.csv", header=False, index=False, encoding="utf-8")


def test_nul_in_a_department_name_is_a_defect_not_a_phantom_department(tmp_path):
    from checker.load import load_inputs
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    clean = "广州市公安局"

    def put_nul(grid):
        hit = grid[1].eq(clean)
        assert hit.sum() == 1
        grid.loc[hit, 1] = "广州市\x00公安局"
    _departments_csv(ex, put_nul)
    lr = load_inputs([ex])
    names = set(lr.tables["departments"]["部门名称"])
    assert clean in names and not any("\x00" in n for n in names)
    d = lr.defects
    ctl = d[d["problem"].str.contains("控制字符")]
    assert len(ctl) == 1 and ctl.iloc[0]["value"] == "广州市\\x00公安局" and ctl.iloc[0]["file"] == "部门名录.csv"
    unknown = d[d["value"].astype(str).str.contains("公安局") & d["problem"].str.contains("名录")]
    assert unknown.empty, unknown


def test_escape_sequences_never_reach_the_terminal(tmp_path):
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")

    def put_esc(grid):
        grid.loc[grid[1].eq("广州市公安局"), 1] = "广州市公安局\x1b[2J\x1b]0;pwned\x07"
    _departments_csv(ex, put_esc)
    (ex / "\x1b[31m红.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    proc = sharecheck("validate", ex)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b[31m红.csv" in proc.stdout
    proc = sharecheck("run", ex, "--period", "2026-10", "--out", tmp_path / "out", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout
    assert "广州市公安局" in (tmp_path / "out" / "scorecard.csv").read_text(encoding="utf-8-sig")


# ---- C5: validate warns about empty required tables, as run does ------------------------------------------------
def test_validate_warns_when_departments_has_no_data_rows(tmp_path):
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    dept_workbook(ex / "部门名录.xlsx", rows=[])
    proc = sharecheck("validate", ex)
    assert proc.returncode == 0, proc.stderr
    assert "「部门名录」 没有任何数据行" in proc.stdout


# ---- D: formula-safe CSVs; the waiver reader takes a key with or without the guard ---------------------------------
def test_formula_safe_prefixes_formulas_but_not_numbers():
    import pandas as pd
    from checker.render.tabular import formula_safe
    s = pd.Series(["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=2",
                   "-3", "-0.5", "+7", "普通文字", "a=b", None, 12], dtype=object)
    out = formula_safe(s).tolist()
    assert out[:6] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1)", "'\t=1", "'\r=2"]
    assert out[6:] == ["-3", "-0.5", "+7", "普通文字", "a=b", None, 12]


def test_findings_csv_is_formula_safe_and_waivers_match_with_or_without_the_guard(tmp_path):
    import csv
    import io
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    log = ex / "交换日志_202610.csv"
    text = log.read_text(encoding="utf-8-sig")
    # two 点对点 exchanges (GZ165-16-1 findings); an audited department controls its serial numbers
    assert text.count("JH20261031002548") == 1 and text.count(" JH20261001002549 ") == 1
    text = text.replace("JH20261031002548", "@SUM(1)").replace(" JH20261001002549 ", '"=HYPERLINK(""http://x"",""y"")"')
    log.write_text(text, encoding="utf-8")
    reason = "经核实「点对点」为临时通道，见〔2020〕3号、［2021］5号"
    (tmp_path / "豁免.csv").write_text(
        "规则编号,部门,记录,理由,批准人,有效期至\n"
        "GZ165-16-1,广州市医疗保障局,'@SUM(1),同上,李四,2026-12-31\n"           # copied from findings.csv
        f'GZ165-16-1,广州市南沙区卫生健康局,"=HYPERLINK(""HTTP://X"",""Y"")",{reason},张三,2026-12-31\n',
        encoding="utf-8")
    out = tmp_path / "out"
    proc = sharecheck("run", ex, "--period", "2026-10", "--out", out, "--waivers", tmp_path / "豁免.csv", "-q",
                      "--format", "xlsx", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    raw = (out / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    keys = {r[6]: r for r in rows[1:]}
    assert "'@SUM(1)" in keys and "'=HYPERLINK(\"HTTP://X\",\"Y\")" in keys
    assert keys["'@SUM(1)"][8] == "已豁免" and keys["'=HYPERLINK(\"HTTP://X\",\"Y\")"][8] == "已豁免"
    for r in rows[1:]:
        for field in r:
            assert not field.startswith(("=", "+", "@", "\t", "\r")), r
            assert not field.startswith("-") or field.lstrip("-").replace(".", "").isdigit(), r
    for line in (out / "scorecard.csv").read_text(encoding="utf-8-sig").splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@"))
    # C4: the waiver reason is shown as written (NFKC only for matching)
    import openpyxl
    wb = openpyxl.load_workbook(out / "审计报告_2026-10.xlsx", read_only=True)
    cells = {str(c) for ws in wb.worksheets if ws.title == "豁免" for row in ws.iter_rows(values_only=True) for c in row}
    assert reason in cells, sorted(x for x in cells if "临时" in x)


# ---- C1: unfilled templates are not provided ----------------------------------------------------------------------
def _templates_plus_required(tmp_path):
    import shutil
    from checker.templates import write_templates
    from .hostile import SAMPLE
    ex = tmp_path / "exports"
    write_templates(ex / "模板")
    for f in ("部门名录.xlsx", "信息资源.xlsx", "信息项.xlsx"):
        (ex / "模板" / f).unlink()                       # the auditor filled these two: the sample's
    shutil.copy(SAMPLE / "部门名录.xlsx", ex)
    shutil.copy(SAMPLE / "政务信息资源目录.xlsx", ex)
    return ex


def test_unfilled_templates_count_as_not_provided(tmp_path):
    from checker.load import load_inputs
    ex = _templates_plus_required(tmp_path)
    lr = load_inputs([ex])
    assert set(lr.tables) == {"departments", "catalog", "items"}
    notes = {i["path"]: i["note"] for i in lr.inputs if not i["table"]}
    from checker import schema
    assert len(notes) == len(schema.TABLE_LIST) - 3 and all("模板的填写说明行" in n and "按未提供处理" in n for n in notes.values())
    assert "责任人员表" in notes["模板/责任人员.xlsx"]


def test_unfilled_templates_leave_their_rules_not_checked_end_to_end(tmp_path):
    import json
    ex = _templates_plus_required(tmp_path)
    proc = sharecheck("run", ex, "--period", "2026-10", "--out", tmp_path / "out", "--format", "html", "--format",
                      "json", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    not_checked = {r["rule_id"] for r in m["rules_not_checked"]}
    assert "GZ165-17-1" in not_checked and "GZ165-17-1" not in m["counts"]["by_rule"]
    assert "全部规则均已检查" not in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "按未提供处理" in proc.stdout
    sc = (tmp_path / "out" / "scorecard.csv").read_text(encoding="utf-8-sig").splitlines()
    lead = next(x for x in sc if x.startswith("广州市政务服务和数据管理局,"))
    assert float(lead.split(",")[1]) > 50, lead          # was 0.0 不合格 (every 17-1 finding counted)


def test_an_unfilled_required_template_is_named(tmp_path):
    from checker.templates import write_templates
    ex = tmp_path / "exports"
    write_templates(ex)
    line = one_line_error(sharecheck("validate", ex))
    assert ("部门名录.xlsx" in line or "信息资源.xlsx" in line) and "未填写的模板" in line


# ---- C6: no machine path in any output; absolute and relative arguments give the same bytes -----------------------
def test_outputs_identical_for_absolute_and_relative_arguments_and_free_of_machine_paths(tmp_path):
    import shutil
    import zipfile
    from .hostile import SAMPLE
    ex = tmp_path / "exports"
    ex.mkdir()
    for f in ("部门名录.xlsx", "政务信息资源目录.xlsx", "交换日志_202610.csv", "共享申请.csv"):
        shutil.copy(SAMPLE / f, ex)
    (tmp_path / "豁免.csv").write_text("规则编号,部门,记录,理由,批准人,有效期至\n"
                                      "GZ165-16-1,广州市医疗保障局,,临时通道,李四,2026-12-31\n", encoding="utf-8")
    absolute = sharecheck("run", ex / "部门名录.xlsx", ex / "政务信息资源目录.xlsx", ex / "交换日志_202610.csv",
                          "--table", f"requests={ex / '共享申请.csv'}", "--waivers", tmp_path / "豁免.csv",
                          "--period", "2026-10", "--out", tmp_path / "abs", "-q", cwd=tmp_path)
    assert absolute.returncode == 0, absolute.stderr
    relative = sharecheck("run", "部门名录.xlsx", "政务信息资源目录.xlsx", "交换日志_202610.csv",
                          "--table", "requests=共享申请.csv", "--waivers", "../豁免.csv",
                          "--period", "2026-10", "--out", "../rel", "-q", cwd=ex)
    assert relative.returncode == 0, relative.stderr
    a = sorted(p.relative_to(tmp_path / "abs") for p in (tmp_path / "abs").rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path / "rel") for p in (tmp_path / "rel").rglob("*") if p.is_file())
    assert a == b and len(a) > 5
    machine = str(tmp_path).encode()
    for rel in a:
        da, db = (tmp_path / "abs" / rel).read_bytes(), (tmp_path / "rel" / rel).read_bytes()
        assert da == db, rel
        texts = [da]
        if rel.suffix == ".xlsx":
            with zipfile.ZipFile(tmp_path / "abs" / rel) as z:
                texts = [z.read(n) for n in z.namelist()]
        assert not any(machine in t for t in texts), rel


# ---- A7: long names: file names limited by bytes ----------------------------------------------------------------
LONG_NAME = "".join(chr(0x20000 + i) for i in range(60))        # 60 four-byte characters (CJK Extension B)


def test_file_stem_is_limited_in_bytes():
    from checker.render.common import safe_file_stem, unique_file_stems
    stem = safe_file_stem(LONG_NAME)
    assert len((stem + "_2026-10.xlsx").encode()) <= 255 and LONG_NAME.startswith(stem) and len(stem) >= 40
    stems = unique_file_stems([LONG_NAME, LONG_NAME + "甲"])
    assert len(set(stems.values())) == 2 and all(len(v.encode()) + 20 <= 255 for v in stems.values())


def test_a_department_with_a_very_long_name_gets_its_report(tmp_path):
    import openpyxl
    ex = tmp_path / "exports"
    ex.mkdir()
    dept_workbook(ex / "部门名录.xlsx", rows=DEPTS_LONG)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "信息资源"
    ws.append(CAT_HEADER)
    ws.append(CAT_ROW)
    wb.save(ex / "信息资源.xlsx")
    proc = sharecheck("run", ex, "--period", "2026-10", "--out", tmp_path / "out", "-q")
    assert proc.returncode == 0, proc.stderr
    names = [p.name for p in (tmp_path / "out" / "部门报告").iterdir()]
    long = [n for n in names if n.startswith(LONG_NAME[:10])]
    assert len(long) == 1 and len(long[0].encode()) <= 255 and long[0].endswith("_2026-10.xlsx")


DEPTS_LONG = [["广州市公安局", "114401000075028265", "市级", None, "公安", "否"],
              [LONG_NAME, "11440100MB2C92136C", "市级", None, "政务服务数据管理", "是"]]
CAT_HEADER = ["信息资源代码", "信息资源名称", "提供部门", "资源分类", "基础信息类别", "信息类别细目", "共享类型", "共享条件",
              "共享依据", "共享方式", "共享范围", "更新周期", "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密",
              "标识类型", "特殊更新批准文号", "发布日期"]
CAT_ROW = ["101001001/000012", "户籍人口信息", "广州市公安局", "基础信息资源", "自然人", "户籍登记信息", "无条件共享", None,
           None, "平台接口", "全市政务部门", "实时", "身份核验", "广州市公安局", "广州市公安局", "是", "否", "公民身份号码",
           None, "2026-01-05"]


# ---- A5: mixed encodings -------------------------------------------------------------------------------------------
def _mixed_departments(ex, majority: str):
    """部门名录 as a CSV in ``majority`` encoding with the 广州市教育局 line in the other one."""
    import pandas as pd
    grid = pd.read_excel(ex / "部门名录.xlsx", header=None, dtype=object)
    (ex / "部门名录.xlsx").unlink()
    lines = grid.to_csv(header=False, index=False, lineterminator="\r\n").split("\r\n")
    hit = [i for i, x in enumerate(lines) if x.split(",")[1:2] == ["广州市教育局"]]
    assert len(hit) == 1
    other = "utf-8" if majority == "gb18030" else "gb18030"
    data = b"".join((x + "\r\n").encode(other if i == hit[0] else majority) for i, x in enumerate(lines) if x)
    (ex / "部门名录.csv").write_bytes(data)
    assert lines[hit[0]].encode("utf-8").decode("gb18030")         # the trap: it decodes without an error
    before = "\r\n".join(lines[:hit[0]])
    return before.count("\n") + 2          # its physical line (the header holds a quoted line break)


@pytest.mark.parametrize("majority", ["gb18030", "utf-8"])
def test_a_line_in_another_encoding_is_a_defect_not_a_garbled_department(tmp_path, majority):
    from checker.load import load_inputs
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    line = _mixed_departments(ex, majority)
    lr = load_inputs([ex])
    names = set(lr.tables["departments"]["部门名称"])
    assert "广州市教育局" in names and "广州市公安局" in names
    assert not any("骞垮窞" in n or "\ufffd" in n for n in names)
    d = lr.defects
    enc = d[d["problem"].str.contains("编码")]
    assert len(enc) == 1 and int(enc.iloc[0]["row"]) == line and enc.iloc[0]["file"] == "部门名录.csv"
    other = "UTF-8" if majority == "gb18030" else "GB18030"
    assert f"此行的编码（{other}）与文件其余部分" in enc.iloc[0]["problem"]


def test_a_plain_gb18030_file_is_not_flagged(tmp_path):
    from checker.load import readers
    text = "部门名称,部门代码\r\n广州市公安局,114401000075028265\r\n广州市来穗人员服务管理局,11440100194892413W\r\n"
    (tmp_path / "a.csv").write_bytes(text.encode("gb18030"))
    sheet = readers.read_file(str(tmp_path / "a.csv"), "a.csv")[0]
    df, rows, defects = sheet.data(0, 2)
    assert defects == [] and df[0].tolist() == ["广州市公安局", "广州市来穗人员服务管理局"]


# ---- C3: two header cells for one field ----------------------------------------------------------------------------
def test_two_header_cells_for_one_field_prefer_the_visible_and_say_so(tmp_path):
    import openpyxl
    from checker.load import read_table
    from .hostile import DEPTS
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门名录"
    ws.append(["层级"] + DEPT_HEADER)
    for r in DEPTS:
        ws.append(["区级"] + r)
    ws.column_dimensions["A"].hidden = True          # a stale hidden copy of the column, left of the real one
    wb.save(tmp_path / "部门名录.xlsx")
    frame, defects, _ = read_table(str(tmp_path / "部门名录.xlsx"), None, "departments", "部门名录.xlsx")
    assert frame["层级"].tolist() == ["市级", "市级"]
    d = defects[defects["column"].eq("层级")]
    assert len(d) == 1 and int(d.iloc[0]["row"]) == 1
    assert "已使用第 D 列（可见的列优先），第 A 列（隐藏列）未读取" in d.iloc[0]["problem"]
    proc = sharecheck("validate", tmp_path / "部门名录.xlsx")
    assert "表头中有 2 列都是「层级」" in proc.stdout, proc.stdout + proc.stderr


def test_two_header_cells_in_a_csv_use_the_first_and_say_so(tmp_path):
    from checker.load import read_table
    (tmp_path / "a.csv").write_text("部门名称,部门代码,层级,所属区,职能类别,是否主管部门,部门名称\n"
                                    "广州市公安局,114401000075028265,市级,,公安,否,旧名\n", encoding="utf-8")
    frame, defects, _ = read_table(str(tmp_path / "a.csv"), None, "departments", "a.csv")
    assert frame["部门名称"].tolist() == ["广州市公安局"]
    assert defects["problem"].str.contains("已使用第 1 列（取最左边的一列），第 7 列未读取").sum() == 1


def test_unreadable_side_files_are_named_in_chinese(tmp_path):
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    (tmp_path / "豁免.csv").write_text("规则编号,部门,记录,理由,批准人,有效期至\n", encoding="utf-8")
    (tmp_path / "豁免.csv").chmod(0)
    line = one_line_error(sharecheck("run", ex, "--period", "2026-10", "--out", tmp_path / "o",
                                     "--waivers", tmp_path / "豁免.csv", ordinary=True))
    assert "--waivers" in line and "豁免.csv" in line and "没有读取权限" in line


def test_unfilled_templates_beside_real_exports_do_not_compete_with_them(tmp_path):
    """The README suggests `sharecheck template`: a folder of blank templates left beside the month's exports
    used to stop the run with 「都像是…无法确定用哪一个」."""
    from checker.load import load_inputs
    from checker.templates import write_templates
    from .hostile import copy_sample
    ex = copy_sample(tmp_path / "exports")
    write_templates(ex / "模板")
    lr = load_inputs([ex])
    assert len(lr.tables) == 10 and len(lr.tables["departments"]) == 23
    unread = [i for i in lr.inputs if not i["table"]]
    from checker import schema
    assert len(unread) == len(schema.TABLE_LIST) and all(i["path"].startswith("模板/") and "按未提供处理" in i["note"] for i in unread)


def test_the_cell_limit_holds_for_the_whole_workbook(tmp_path):
    """Every sheet of a workbook is held at once: three sheets just under the sheet limit are refused together."""
    n = safety.MAX_SHEET_CELLS // 1000 - 10
    rows = ods_row(ods_cell("广州市公安局", repeat=1000), repeat=n)
    p = ods(tmp_path / "a.ods", {"甲": rows, "乙": rows, "丙": rows})
    with pytest.raises(InputError, match="合计过大"):
        safety.check_file(str(p), "a.ods")
    safety.check_file(str(ods(tmp_path / "b.ods", {"甲": rows})), "b.ods")


@pytest.mark.parametrize("bom", [True, False])
def test_a_gb18030_line_late_in_a_utf8_file_is_read_and_reported(tmp_path, bom):
    """The encoding detector reads the first 4 MiB (nothing after a BOM): a GB18030 line further down used to
    stop the whole file with 「CSV 无法解析（'utf-8' codec can't decode …）」."""
    from checker.load import readers
    head = "部门名称,部门代码\r\n"
    filler = "".join(f"广州市测试局{i},11440100MB2C{i:05d}\r\n" for i in range(1 if bom else 160000))
    late = "广州市公安局,114401000075028265\r\n".encode("gb18030")
    data = (b"\xef\xbb\xbf" if bom else b"") + (head + filler).encode("utf-8") + late
    (tmp_path / "a.csv").write_bytes(data)
    assert bom or len(data) > readers._SAMPLE_BYTES
    sheet = readers.read_file(str(tmp_path / "a.csv"), "a.csv")[0]
    df, rows, defects = sheet.data(0, 2)
    assert df[0].iloc[-1] == "广州市公安局" and len(defects) == 1
    assert defects[0]["row"] == int(rows[-1]) and "此行的编码（GB18030）" in defects[0]["problem"]
