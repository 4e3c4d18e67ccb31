"""CSV (three encodings, title lines, wrong field counts) and Parquet inputs; references and duplicates."""
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from checker.load import load_inputs
from tests.test_load_common import basic_workbook

EX_HEADER = "交换流水号,交换时间,信息资源代码,提供部门,使用部门,交换通道,是否涉密,记录数,交换结果"
EX_ROWS = ["EX-0001,2026-10-08 09:30:00,101001001/000001,市公安局,海珠区民政局,共享平台,否,120,成功",
           "ex-0002,2026/10/9 14:05,101001001/000001,市 公安局,海珠区民政局,点对点,,1,失败",
           "EX-0003,20261010,101001001/000002,海珠区民政局,市公安局,邮件,是,,成功"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_with_title_line(tmp_path, encoding):
    basic_workbook(tmp_path / "base.xlsx")
    text = "平台交换日志（2026年10月）\n\n" + EX_HEADER + "\n" + "\n".join(EX_ROWS) + "\n"
    (tmp_path / "交换日志.csv").write_bytes(text.encode(encoding))
    r = load_inputs([tmp_path])
    ex = r.tables["exchanges"]
    assert ex["交换流水号"].tolist() == ["EX-0001", "EX-0002", "EX-0003"]
    assert ex["提供部门"].tolist() == ["市公安局", "市公安局", "海珠区民政局"]
    assert ex["交换时间"].tolist() == [pd.Timestamp("2026-10-08 09:30"), pd.Timestamp("2026-10-09 14:05"),
                                     pd.Timestamp("2026-10-10")]
    assert ex["是否涉密"].tolist() == [False, False, True]          # empty -> default 否
    assert ex["记录数"].dtype == "Int64" and ex["记录数"].tolist()[:2] == [120, 1]
    assert ex["_row"].tolist() == [4, 5, 6] and ex["_sheet"].tolist() == ["", "", ""]
    assert ex["_file"].iloc[0] == "交换日志.csv"
    assert r.defects.empty, r.defects


def test_csv_wrong_field_count_is_a_defect(tmp_path):
    basic_workbook(tmp_path / "base.xlsx")
    rows = [EX_ROWS[0], "EX-0009,2026-10-08,101001001/000001", EX_ROWS[2]]
    (tmp_path / "exchanges.csv").write_text(EX_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    r = load_inputs([tmp_path])
    assert r.tables["exchanges"]["_row"].tolist() == [2, 4]
    d = r.defects
    assert d["row"].tolist() == [3] and "字段个数" in d["problem"].iloc[0] and d["table"].iloc[0] == "exchanges"


def test_csv_defects_references_duplicates_and_codes(tmp_path):
    basic_workbook(tmp_path / "base.xlsx")
    rows = EX_ROWS + ["EX-0001,2026-10-11,101001001/000001,市公安局,市公安局,共享平台,否,5,成功",
                      "EX-0004,昨天,999001001/000001,市不存在局,市公安局,飞鸽传书,否,十,未知",
                      ",2026-10-12,101001001/000001,市公安局,市公安局,共享平台,否,1,成功"]
    (tmp_path / "交换日志.csv").write_text(EX_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    r = load_inputs([tmp_path])
    ex = r.tables["exchanges"]
    assert ex["交换流水号"].tolist() == ["EX-0001", "EX-0002", "EX-0003", "EX-0004", None]
    got = {(x.row, x.column, x.problem) for x in r.defects.itertuples()}
    assert (5, "交换流水号", "交换流水号重复（保留第 2 行）") in got
    assert (6, "交换时间", "日期时间无法识别") in got
    assert (6, "信息资源代码", "信息资源目录中无此信息资源代码") in got
    assert (6, "提供部门", "部门名录中无此部门") in got
    assert (6, "记录数", "不是整数") in got
    assert any(r_ == 6 and c == "交换通道" and "代码表" in p for r_, c, p in got)
    assert any(r_ == 6 and c == "交换结果" for r_, c, p in got)
    assert (7, "交换流水号", "交换流水号为空") in got
    assert all(r.defects["file"] == "交换日志.csv")
    assert r.defects["row"].dtype == "Int64"


def test_parquet_exchanges(tmp_path):
    basic_workbook(tmp_path / "base.xlsx")
    t = pa.table({"流水号": ["A1", "A2"], "时间": pa.array([pd.Timestamp("2026-10-08 10:00"),
                                                         pd.Timestamp("2026-10-09 11:00")]),
                  "资源代码": ["101001001/000001", "101001001/000002"], "提供方": ["市公安局", "海珠区民政局"],
                  "需求部门": ["海珠区民政局", "市公安局"], "通道": ["共享平台", "专项共享通道"],
                  "数据量": pa.array([10, None], type=pa.int64()), "其他": [1, 2]})
    pq.write_table(t, tmp_path / "exchanges.parquet")
    r = load_inputs([tmp_path])
    ex = r.tables["exchanges"]
    assert ex["交换流水号"].tolist() == ["A1", "A2"]
    assert ex["交换时间"].tolist() == [pd.Timestamp("2026-10-08 10:00"), pd.Timestamp("2026-10-09 11:00")]
    assert ex["记录数"].tolist()[0] == 10 and pd.isna(ex["记录数"].iloc[1])
    assert ex["_row"].tolist() == [2, 3]
    assert "其他" not in ex.columns
    assert r.defects.empty, r.defects


def test_override_picks_table_from_ambiguous_files(tmp_path):
    basic_workbook(tmp_path / "base.xlsx")
    body = EX_HEADER + "\n" + EX_ROWS[0] + "\n"
    (tmp_path / "交换日志.csv").write_text(body, encoding="utf-8")
    other = tmp_path / "x"
    other.mkdir()
    (other / "exchanges.csv").write_text(body.replace("EX-0001", "EX-9999"), encoding="utf-8")
    # issue 11: exchanges may come in parts, so the two files are one table (part order: path as shown)
    both = load_inputs([tmp_path])
    assert both.tables["exchanges"]["交换流水号"].tolist() == ["EX-9999", "EX-0001"]
    assert both.tables["exchanges"]["_file"].tolist() == ["x/exchanges.csv", "交换日志.csv"]
    r = load_inputs([tmp_path], overrides={"exchanges": (str(other / "exchanges.csv"), None)})
    assert r.tables["exchanges"]["交换流水号"].tolist() == ["EX-9999"]


def test_references_of_every_table_and_determinism(tmp_path):
    from tests.test_load_common import write_xlsx
    basic_workbook(tmp_path / "base.xlsx")
    write_xlsx(tmp_path / "other.xlsx", {
        "目录变更": [["变更编号", "部门", "变更原因", "变化发生日期"], ["c1", "市不存在局", "职能变化", "2026-10-01"]],
        "责任人员": [["部门", "姓名", "联系电话", "是否已发布"], ["市公安局", "张三", 12345678, "是"],
                     ["无名局", "李四", "020-1", "否"]],
        "共享申请": [["申请编号", "申请部门", "提供部门", "信息资源代码", "申请日期", "不同意理由", "申请用途"],
                     ["R1", "市公安局", "海珠区民政局", "101001001/000009", "2026-10-02", None, "核验"]],
        "信息系统": [["系统名称", "所属部门", "是否跨部门共享", "是否接入共享平台", "建设类型"],
                     ["户籍系统", "市公安局", "是", "是", "改建"]],
    })
    r1 = load_inputs([tmp_path])
    r2 = load_inputs([tmp_path])
    got = {(x.table, x.column, x.problem) for x in r1.defects.itertuples()}
    assert got == {("catalog_changes", "部门", "部门名录中无此部门"), ("officers", "部门", "部门名录中无此部门"),
                   ("requests", "信息资源代码", "信息资源目录中无此信息资源代码"),
                   ("systems", "建设类型", "建设类型不在代码表中（应为：新建/原有）")}
    assert r1.tables["officers"]["联系电话"].tolist() == ["12345678", "020-1"]
    assert r1.tables["catalog_changes"]["变更编号"].tolist() == ["C1"]
    pd.testing.assert_frame_equal(r1.defects, r2.defects)
    for k in r1.tables:
        pd.testing.assert_frame_equal(r1.tables[k], r2.tables[k])
    assert r1.inputs == r2.inputs


def test_dates_beyond_what_a_timestamp_holds_are_unreadable_cells_not_a_crash(tmp_path):
    """9999-12-31 ("never") and the like, in every form an export may hold them: a cell that cannot be read as a
    date (a defect naming its row), never a crash; the other rows are read as before."""
    import datetime as dt

    from checker.load.coerce import parse_datetime
    far = ["9999-12-31", "9999-12-31 23:59:59", dt.datetime(9999, 12, 31), dt.date(9999, 12, 31),
           dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc), 2958465.0, 2958465, "2958465", "0001-01-01"]
    for cells in (far + ["2026-10-08"], ["9999-12-31"] * 5000 + ["2026-10-08"]):   # (a long column: bulk path)
        values, unreadable = parse_datetime(pd.Series(cells, dtype=object))
        assert values.dtype == "datetime64[ns]"
        assert values.iloc[:-1].isna().all() and unreadable.iloc[:-1].all()
        assert values.iloc[-1] == pd.Timestamp("2026-10-08") and not unreadable.iloc[-1]
    basic_workbook(tmp_path / "base.xlsx")
    rows = [EX_ROWS[0], EX_ROWS[1].replace("2026/10/9 14:05", "9999-12-31"), EX_ROWS[2]]
    (tmp_path / "交换日志.csv").write_text(EX_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    r = load_inputs([tmp_path])
    assert r.tables["exchanges"]["交换时间"].isna().tolist() == [False, True, False]
    got = {(x.row, x.column, x.problem) for x in r.defects.itertuples()}
    assert (3, "交换时间", "日期时间无法识别") in got
