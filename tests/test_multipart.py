"""Issue 11, item 1: the event tables (exchanges, updates) in any number of parts, read as one table."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from checker.errors import InputError
from checker.load import load_inputs
from checker.pipeline import run

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "exports"
EXCHANGES = "交换日志_202610.csv"


def split_sample(dst: Path, k: int = 3, reverse_second: bool = True) -> list[Path]:
    """The committed sample month with its exchange log split into k daily CSV parts in a folder 交换日志/ (the
    second part with its columns in reverse order)."""
    shutil.copytree(SAMPLE, dst)
    (dst / EXCHANGES).unlink()
    df = pd.read_csv(SAMPLE / EXCHANGES, dtype=str, keep_default_na=False)
    (dst / "交换日志").mkdir()
    n, out = len(df), []
    for i in range(k):
        part = df.iloc[i * n // k:(i + 1) * n // k]
        if reverse_second and i == 1:
            part = part[list(reversed(part.columns))]
        p = dst / "交换日志" / f"2026-10-{i + 1:02d}.csv"
        part.to_csv(p, index=False)
        out.append(p)
    return out


def _content(frame: pd.DataFrame) -> list[tuple]:
    cols = [c for c in frame.columns if c not in ("file", "row", "_file", "_row", "sheet", "_sheet")]
    return sorted(map(tuple, frame[cols].astype(str).to_numpy().tolist()))


def test_parts_read_as_one_table(tmp_path):
    parts = split_sample(tmp_path / "m")
    one = load_inputs([str(SAMPLE)])
    many = load_inputs([str(tmp_path / "m")])
    a, b = one.tables["exchanges"], many.tables["exchanges"]
    assert len(a) == len(b) and list(a.columns) == list(b.columns)
    assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes]
    # every row names its own part and its line in it (the header is line 1)
    assert sorted(b["_file"].unique()) == [f"交换日志/{p.name}" for p in parts]
    assert b.groupby("_file")["_row"].min().tolist() == [2, 2, 2]
    assert _content(a.drop(columns=["_file", "_row"])) == _content(b.drop(columns=["_file", "_row"]))
    # categories as one file's: sorted
    cat = b["信息资源代码"].cat.categories
    assert list(cat) == sorted(cat)
    entries = [e for e in many.inputs if e["table"] == "exchanges"]
    assert [e["path"] for e in entries] == [f"交换日志/{p.name}" for p in parts]
    assert sum(e["rows"] for e in entries) == len(b)


def test_run_on_parts_finds_what_one_file_finds(tmp_path):
    split_sample(tmp_path / "m")
    one = run([str(SAMPLE)], "2026-10", write=False).report.result.findings
    many = run([str(tmp_path / "m")], "2026-10", write=False).report.result.findings
    assert len(one) > 0 and _content(one) == _content(many)
    ex = many[many["input"] == "exchanges"] if "input" in many.columns else many
    assert ex["file"].astype(str).str.startswith("交换日志/").any()


def test_duplicate_key_across_parts_is_a_defect_first_part_kept(tmp_path):
    parts = split_sample(tmp_path / "m", reverse_second=False)
    first = pd.read_csv(parts[0], dtype=str, keep_default_na=False)
    last = pd.read_csv(parts[2], dtype=str, keep_default_na=False)
    pd.concat([last, first.iloc[[4]]]).to_csv(parts[2], index=False)     # row 5 of part 1 again, at the end of part 3
    lr = load_inputs([str(tmp_path / "m")])
    dup = lr.defects[(lr.defects["table"] == "exchanges") & lr.defects["problem"].str.contains("重复")]
    d = dup[dup["problem"].str.contains("2026-10-01.csv", regex=False)]     # (the sample has one duplicate of its own)
    assert len(d) == 1 and len(dup) == 2
    row = d.iloc[0]
    assert row["file"] == "交换日志/2026-10-03.csv" and int(row["row"]) == len(last) + 2
    assert row["value"] == first.iloc[4]["流水号"].upper()
    assert "交换日志/2026-10-01.csv 第 6 行" in row["problem"]
    ex = lr.tables["exchanges"]
    assert (ex["交换流水号"] == first.iloc[4]["流水号"].upper()).sum() == 1


def test_part_that_is_not_the_table_is_refused_with_its_name(tmp_path):
    parts = split_sample(tmp_path / "m")
    df = pd.read_csv(parts[1], dtype=str, keep_default_na=False)
    df.drop(columns=["时间"]).to_csv(parts[1], index=False)
    with pytest.raises(InputError) as e:
        load_inputs([str(tmp_path / "m")])
    text = str(e.value)
    assert "2026-10-02.csv" in text and "交换时间" in text and "\n" not in text


def test_identical_file_twice_counts_once(tmp_path):
    parts = split_sample(tmp_path / "m")
    shutil.copy(parts[0], tmp_path / "m" / "交换日志" / "2026-10-01 (1).csv")
    lr = load_inputs([str(tmp_path / "m")])
    ref = load_inputs([str(SAMPLE)])
    assert len(lr.tables["exchanges"]) == len(ref.tables["exchanges"])
    # parts in name order: "2026-10-01 (1).csv" sorts first, so the later "2026-10-01.csv" is the one noted
    kept = [e for e in lr.inputs if e["path"] == "交换日志/2026-10-01 (1).csv"]
    noted = [e for e in lr.inputs if e["path"] == "交换日志/2026-10-01.csv"]
    assert len(kept) == 1 and kept[0]["table"] == "exchanges"
    assert len(noted) == 1 and noted[0]["table"] is None and "2026-10-01 (1).csv" in noted[0]["note"]
    assert "SHA-256" in noted[0]["note"] and "只计一次" in noted[0]["note"]
    assert not lr.defects["problem"].str.contains("重复").any() or \
        len(lr.defects[lr.defects["problem"].str.contains("重复")]) == len(ref.defects[ref.defects["problem"].str.contains("重复")])


def test_other_tables_in_two_files_still_stop(tmp_path):
    split_sample(tmp_path / "m")
    shutil.copy(tmp_path / "m" / "部门名录.xlsx", tmp_path / "m" / "部门名录_2.xlsx")
    with pytest.raises(InputError) as e:
        load_inputs([str(tmp_path / "m")])
    assert "部门名录_2.xlsx" in str(e.value)


def test_identical_part_is_said_in_manifest_workbook_and_validate(tmp_path):
    import json

    import openpyxl
    from click.testing import CliRunner

    from checker.cli import cli
    parts = split_sample(tmp_path / "m")
    shutil.copy(parts[2], tmp_path / "m" / "交换日志" / "2026-10-03b.csv")
    run([str(tmp_path / "m")], "2026-10", out=tmp_path / "o", formats=["xlsx", "json"])
    m = json.loads((tmp_path / "o" / "manifest.json").read_text("utf-8"))
    assert m["identical_inputs"] == [{"path": "交换日志/2026-10-03b.csv", "sheet": "", "same_as": "交换日志/2026-10-03.csv",
                                      "sha256": next(i["sha256"] for i in m["inputs"]
                                                     if i["path"] == "交换日志/2026-10-03.csv")}]
    wb = openpyxl.load_workbook(tmp_path / "o" / "审计报告_2026-10.xlsx", read_only=True)
    cells = [str(c) for row in wb["说明"].iter_rows(values_only=True) for c in row if c]
    assert any("与 交换日志/2026-10-03.csv 内容相同，只计一次" in c for c in cells)
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "m")])
    line = next(x for x in r.output.splitlines() if "2026-10-03b.csv" in x)
    assert line.startswith("交换日志") and "只计一次" in line
