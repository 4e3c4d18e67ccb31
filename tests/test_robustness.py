"""Robustness: input an auditor could plausibly give must never crash (exit 3) or hang.

Each case runs the real command in-process (``checker.cli.main``) on a tiny month written here, and checks the
exit code, that an error is one Chinese line ``错误：…`` naming where the problem is, and that nothing is written
under --out when the run stops. Kept small: the whole file runs in a few seconds.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from checker.calendar import Calendar
from checker.cli import main
from checker.errors import CalendarError

DEPTS = [["部门名称", "部门代码", "层级", "所属区", "职能类别", "是否主管部门"],
         ["广州市公安局", "114401000075028265", "市级", "", "公安", "否"],
         ["广州市政务服务数据管理局", "11440100MB2C92136C", "市级", "", "政务服务数据管理", "是"]]
CATALOG = [["信息资源代码", "信息资源名称", "提供部门", "资源分类", "基础信息类别", "信息类别细目", "共享类型", "共享条件",
            "共享依据", "共享方式", "共享范围", "更新周期", "具体用途", "采集部门", "核准部门", "是否保密审查", "是否涉密",
            "标识类型", "特殊更新批准文号", "发布日期"],
           ["301001001/000001", "案件信息", "广州市公安局", "部门信息资源", "", "", "无条件共享", "", "", "平台接口",
            "全市政务部门", "每月", "办案", "广州市公安局", "广州市公安局", "是", "否", "", "", "2025-01-01"]]
CHANGES_HEAD = ["变更编号", "部门", "变更原因", "变化发生日期", "报送日期", "主管部门更新日期"]
UPDATES_HEAD = ["信息资源代码", "数据变化时间", "平台更新时间"]
REQUESTS = [["申请编号", "申请部门", "提供部门", "信息资源代码", "申请日期", "答复日期", "答复结果", "不同意理由", "申请用途"],
            ["SQ0001", "广州市政务服务数据管理局", "广州市公安局", "301001001/000001", "2026-10-09", "2026-10-12", "同意",
             "", "办事"]]


def _csv(path: Path, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)


def month(tmp_path: Path, **tables) -> Path:
    """A folder with the two required tables plus the given ones (name -> rows incl. header)."""
    d = tmp_path / "exports"
    d.mkdir()
    _csv(d / "部门名录.csv", DEPTS)
    _csv(d / "信息资源.csv", CATALOG)
    names = {"catalog_changes": "目录变更", "updates": "数据更新", "requests": "共享申请"}
    for name, rows in tables.items():
        _csv(d / f"{names[name]}.csv", rows)
    return d


def run(capsys, tmp_path, inputs, *extra, period="2026-10"):
    out = tmp_path / "out"
    code = main(["run", str(inputs), "--period", period, "--out", str(out), "-q", *map(str, extra)])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("错误："), err
        assert not out.exists(), "a stopped run must not write the output folder"
    return code, err, out


# --------------------------------------------------------------------------------------- calendar and old dates
def test_wd_first_day_of_timestamp_range_names_its_own_year():
    # numpy's ns -> day cast wraps 1677-09-22 to 2262-04-11; the error named year 2262
    cal = Calendar.load()
    s = pd.Series(pd.to_datetime(["1677-09-22", "2026-10-09"]))
    with pytest.raises(CalendarError) as e:
        cal.wd(s, pd.Series(pd.Timestamp("2026-10-31"), index=s.index))
    assert "1677" in str(e.value) and "2262" not in str(e.value)
    assert list(e.value.years) == [1677]
    # in covered years the result is unchanged
    assert int(cal.wd(pd.Series([pd.Timestamp("2026-10-09")]), pd.Series([pd.Timestamp("2026-10-12")]))[0]) == 2  # 10-10 调休上班


def test_stray_date_before_the_calendar_names_the_cell(capsys, tmp_path):
    changes = [CHANGES_HEAD, ["BG1", "广州市公安局", "职能变化", "2026-10-09", "2026-10-12", ""],
               ["BG2", "广州市公安局", "职能变化", "2003-05-01", "2026-10-10", ""]]
    code, err, _ = run(capsys, tmp_path, month(tmp_path, catalog_changes=changes))
    assert code == 2
    assert "2003" in err and "目录变更.csv" in err and "第 3 行" in err and "变化发生日期" in err, err


def test_period_in_uncovered_year_gets_no_cell_hint(capsys, tmp_path):
    rows = REQUESTS + [["SQ0002", "广州市政务服务数据管理局", "广州市公安局", "301001001/000001", "2027-01-05", "", "", "",
                        "办事"]]
    code, err, _ = run(capsys, tmp_path, month(tmp_path, requests=rows), period="2027-01")
    assert code == 2 and "2027" in err and "--calendar" in err
    assert "单元格" not in err


# --------------------------------------------------------------------------------------- --params values
@pytest.mark.parametrize("text, needle", [
    ("GZ165-19-1: {limit_hours: 1000000000000}\n", "limit_hours"),   # used to crash: OutOfBoundsTimedelta
    ("GZ165-08-2: {limit_wd: -1}\n", "deadline.limit"),               # used to name the rule file only
    ("GZ165-18-1: {cycle_days: {每日: -3}}\n", "每日"),
])
def test_params_out_of_range_name_the_params_file(capsys, tmp_path, text, needle):
    p = tmp_path / "参数.yaml"
    p.write_text(text, encoding="utf-8")
    updates = [UPDATES_HEAD, ["301001001/000001", "2026-10-09 10:00", "2026-10-09 12:00"]]
    code, err, _ = run(capsys, tmp_path, month(tmp_path, updates=updates), "--params", p)
    assert code == 2
    assert "参数文件" in err and "参数.yaml" in err and needle in err, err


def test_params_zero_and_large_run(capsys, tmp_path):
    p = tmp_path / "参数.yaml"
    p.write_text("GZ165-19-1: {limit_hours: 100000}\nGZ165-08-2: {limit_wd: 0}\nGZ165-REQ-1: {limit_wd: 100000}\n",
                 encoding="utf-8")
    changes = [CHANGES_HEAD, ["BG1", "广州市公安局", "职能变化", "2026-10-09", "", ""]]
    updates = [UPDATES_HEAD, ["301001001/000001", "2026-10-09 10:00", ""]]
    code, err, out = run(capsys, tmp_path, month(tmp_path, catalog_changes=changes, updates=updates,
                                                 requests=REQUESTS), "--params", p)
    assert code == 0, err
    findings = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    assert "GZ165-08-2" in set(findings["rule_id"])          # 0 working days: late the next working day


# --------------------------------------------------------------------------------------- CSV encodings / NUL
def test_utf16_csv_says_utf16_not_binary(capsys, tmp_path):
    d = month(tmp_path)
    _csv(d / "共享申请.csv", REQUESTS, encoding="utf-16")
    code, err, _ = run(capsys, tmp_path, d)
    assert code == 2 and "UTF-16" in err and "共享申请.csv" in err and "二进制" not in err, err


def test_stray_nul_in_a_csv_cell_loads(capsys, tmp_path):
    d = month(tmp_path)
    rows = [list(r) for r in REQUESTS]
    rows[1][8] = "办\x00事"
    _csv(d / "共享申请.csv", rows, encoding="utf-8")
    code, err, out = run(capsys, tmp_path, d)
    assert code == 0, err
    assert (out / "审计报告_2026-10.xlsx").exists()


# --------------------------------------------------------------------------------------- which files are inputs
def test_same_file_reached_twice_is_one_input(capsys, tmp_path):
    # `run 导出 导出/共享申请.csv` used to stop: "共享申请.csv 与 共享申请.csv 都像是共享申请表"
    d = month(tmp_path, requests=REQUESTS)
    code, err, _ = run(capsys, tmp_path, d, d / "共享申请.csv")
    assert code == 0, err
    code, err, _ = run(capsys, tmp_path, d, d)
    assert code == 0, err


def test_empty_optional_sheet_or_csv_counts_as_not_provided(capsys, tmp_path):
    import openpyxl
    d = month(tmp_path)
    (d / "数据异议.csv").write_bytes(b"")                    # 0-byte export of a month without disputes
    wb = openpyxl.Workbook()
    wb.active.title = "信息系统"                             # a blank sheet named like the table
    wb.create_sheet("责任人员")["A1"] = "   "
    wb.save(d / "其他.xlsx")
    code, err, out = run(capsys, tmp_path, d)
    assert code == 0, err
    not_checked = pd.read_excel(out / "审计报告_2026-10.xlsx", sheet_name="未检查").astype(str).to_string()
    for rule in ("GZ165-DIS-1", "GZ165-16-3", "GZ165-17-1"):
        assert rule in not_checked
    assert main(["validate", str(d)]) == 0
    assert "空工作表" in capsys.readouterr().out


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "0001-Q1"])
def test_absurd_period_year_is_a_usage_error(capsys, tmp_path, period):
    # 0000-01 crashed in date(), 9999-12 overflowed pandas timestamps: both exit 3 before
    code, err, _ = run(capsys, tmp_path, month(tmp_path), period=period)
    assert code == 2 and period in err and "年份" in err, err


def test_department_report_file_names_drop_invisible_format_characters():
    from checker.render.common import safe_file_stem, unique_file_stems
    assert safe_file_stem("\u202e广州市某局") == "广州市某局"      # a bidi override would spoof the extension
    assert safe_file_stem("广州\u200b市\u200f某局\ufeff") == "广州市某局"
    stems = unique_file_stems(["\u202e", "\u200b", "未命名部门"])
    assert len(set(stems.values())) == 3 and all("\u202e" not in v for v in stems.values())


# --------------------------------------------------------------------------------------- history file
def test_damaged_history_file_is_a_one_line_error(capsys, tmp_path):
    import sqlite3
    d = month(tmp_path, requests=REQUESTS)
    db = tmp_path / "历史.db"
    code, err, _ = run(capsys, tmp_path, d, "--history", db)
    assert code == 0, err
    con = sqlite3.connect(db)
    con.execute("DROP TABLE scores")                      # used to crash: OperationalError no such table
    con.commit()
    con.close()
    import shutil
    shutil.rmtree(tmp_path / "out")
    code, err, _ = run(capsys, tmp_path, d, "--history", db)
    assert code == 2 and "历史库" in err and "scores" in err, err


def test_history_with_a_missing_column_is_a_one_line_error(capsys, tmp_path):
    import shutil
    import sqlite3
    late = REQUESTS + [["SQ0002", "广州市政务服务数据管理局", "广州市公安局", "301001001/000001", "2026-09-01", "", "", "",
                        "办事"]]                          # unanswered: a GZ165-REQ-1 finding to record
    d = month(tmp_path, requests=late)
    db = tmp_path / "历史.db"
    assert run(capsys, tmp_path, d, "--history", db)[0] == 0
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE findings DROP COLUMN status")     # hand-edited: a column gone
    con.commit()
    con.close()
    shutil.rmtree(tmp_path / "out")
    code, err, _ = run(capsys, tmp_path, d, "--history", db)
    assert code == 2 and "历史库" in err, err


# --------------------------------------------------------------------------------------- waivers file
def test_waivers_total_row_is_dropped(capsys, tmp_path):
    d = month(tmp_path, requests=REQUESTS)
    w = tmp_path / "豁免.csv"
    _csv(w, [["规则编号", "部门", "记录", "理由", "批准人", "有效期至"],
             ["GZ165-REQ-1", "广州市公安局", "", "已报批", "张三", "2026-12-31"],
             ["合 计", "1", "", "", "", ""]])                # used to stop: 规则编号不存在（值「合 计」）
    code, err, out = run(capsys, tmp_path, d, "--waivers", w)
    assert code == 0, err
    waivers = pd.read_excel(out / "审计报告_2026-10.xlsx", sheet_name="豁免")
    assert len(waivers) == 1


# --------------------------------------------------------------------------------------- 主管部门
def test_second_head_of_a_level_is_an_input_defect():
    from checker.load import load_inputs  # noqa: F401  (the loader's cross-table checks)
    from checker.load.references import reference_defects
    meta = {"_file": "部门名录.xlsx", "_sheet": "部门名录"}
    deps = pd.DataFrame({
        "部门名称": ["甲局", "乙局", "丙局", "丁局", "戊局"],
        "层级": ["市级", "市级", "区级", "区级", "区级"],
        "所属区": [None, None, "海珠区", "越秀区", "海珠区"],
        "是否主管部门": pd.array([True, True, True, True, True], dtype="boolean"),
        **meta, "_row": pd.array([2, 3, 4, 5, 6], dtype="Int64")})
    found = pd.concat(reference_defects({"departments": deps}))
    assert list(found["row"]) == [3, 6]                      # 乙局 (second 市级), 戊局 (second 海珠区)
    assert "甲局" in found["problem"].iloc[0] and "市级" in found["problem"].iloc[0]
    assert "丙局" in found["problem"].iloc[1] and "区级海珠区" in found["problem"].iloc[1]
    one_each = deps.iloc[[0, 2, 3]]
    assert not reference_defects({"departments": one_each})


# --------------------------------------------------------------------------------------- rows that are not records
def test_repeated_header_row_is_not_a_record(tmp_path):
    from checker.pipeline import load
    d = month(tmp_path, requests=REQUESTS + [REQUESTS[0]] + [["SQ0009"] + REQUESTS[1][1:]])   # two exports pasted
    lr = load([d])
    assert list(lr.tables["requests"]["申请编号"]) == ["SQ0001", "SQ0009"]
    assert not (lr.defects["table"] == "requests").any(), lr.defects.to_string()


def test_unclosed_quote_says_how_many_lines_were_swallowed(tmp_path):
    from checker.pipeline import load
    d = month(tmp_path)
    lines = [",".join(REQUESTS[0])] + [",".join([f"SQ{i:04d}"] + REQUESTS[1][1:]) for i in range(1, 8)]
    lines[3] = '"' + lines[3]                                   # row 4 opens a quote that never closes
    (d / "共享申请.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    lr = load([d])
    assert list(lr.tables["requests"]["申请编号"]) == ["SQ0001", "SQ0002"]
    bad = lr.defects[lr.defects["table"] == "requests"]
    assert len(bad) == 1 and int(bad["row"].iloc[0]) == 4
    assert "第 8 行" in bad["problem"].iloc[0] and "共 5 行" in bad["problem"].iloc[0] and "引号" in bad["problem"].iloc[0]


# --------------------------------------------------------------------------------------- Parquet column types
def test_parquet_with_binary_and_nested_columns_loads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from checker.pipeline import load
    d = month(tmp_path)
    n = 3
    pq.write_table(pa.table({
        "交换流水号": [f"EX{i}" for i in range(n)],
        "交换时间": pa.array([b"2026-10-09 10:00:00"] * n, type=pa.binary()),   # used to crash: TypeError (bytes)
        "信息资源代码": ["301001001/000001"] * n, "提供部门": ["广州市公安局"] * n,
        "使用部门": ["广州市政务服务数据管理局"] * n, "交换通道": ["共享平台"] * n,
        "附加信息": pa.array([[1, 2], None, [3]], type=pa.list_(pa.int64())),   # used to crash: ValueError
        "标签": pa.array([{"a": 1}] * n, type=pa.struct([("a", pa.int64())])),
    }), d / "交换日志.parquet")
    lr = load([d])
    ex = lr.tables["exchanges"]
    assert len(ex) == n and (ex["交换时间"] == pd.Timestamp("2026-10-09 10:00:00")).all()


def test_far_year_dates_are_defects_not_overflows(capsys, tmp_path):
    # a change dated 2262 (typo) with its update in the period: ev + limit_hours overflowed (exit 3)
    updates = [UPDATES_HEAD, ["301001001/000001", "2262-04-01 10:00", "2026-10-10 10:00"],
               ["301001001/000001", "2026-10-09 10:00", "2026-10-09 12:00"]]
    requests = REQUESTS + [["SQ0002", "广州市政务服务数据管理局", "广州市公安局", "301001001/000001", "1677-09-22", "", "",
                            "", "办事"]]
    p = tmp_path / "参数.yaml"
    p.write_text("GZ165-19-1: {limit_hours: 100000}\n", encoding="utf-8")
    d = month(tmp_path, updates=updates, requests=requests)
    code, err, out = run(capsys, tmp_path, d, "--params", p)
    assert code == 0, err
    defects = pd.read_excel(out / "审计报告_2026-10.xlsx", sheet_name="输入问题").astype(str)
    far = defects[defects.apply(lambda r: "超出可处理的范围" in " ".join(r), axis=1)]
    assert len(far) == 2, defects.to_string()
    assert not defects.apply(lambda r: "为空" in " ".join(r), axis=1).any()   # said once, not twice


def test_waivers_path_that_is_a_folder(capsys, tmp_path):
    # used to crash: IsADirectoryError (exit 3)
    d = month(tmp_path)
    folder = tmp_path / "豁免.xlsx"
    folder.mkdir()
    for target in (tmp_path, folder):
        code, err, _ = run(capsys, tmp_path, d, "--waivers", target)
        assert code == 2 and "文件夹" in err and str(target) in err, err
