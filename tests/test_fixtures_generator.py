"""The fixtures generator: determinism, coverage of every rule, every export variation, defects at real rows."""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fixtures import oracle
from fixtures.generate import generate, specs
from fixtures.world import USCC_CHARS, uscc_check

SPEC = Path("/work/shared/spec/rules.md")
RULE_IDS = sorted(set(re.findall(r"GZ165-[0-9A-Z]+-\d", SPEC.read_text(encoding="utf-8")))) if SPEC.exists() else [
    "GZ165-08-1", "GZ165-08-2", "GZ165-08-3", "GZ165-10-1", "GZ165-10-2", "GZ165-10-3", "GZ165-10-4",
    "GZ165-10-5", "GZ165-11-1", "GZ165-11-2", "GZ165-16-1", "GZ165-16-2", "GZ165-16-3", "GZ165-17-1",
    "GZ165-17-2", "GZ165-18-1", "GZ165-19-1", "GZ165-19-2", "GZ165-19-3", "GZ165-20-1", "GZ165-20-2",
    "GZ165-20-3", "GZ165-21-1", "GZ165-22-1", "GZ165-23-1", "GZ165-REQ-1", "GZ165-REQ-2", "GZ165-REQ-3",
    "GZ165-REQ-4", "GZ165-DIS-1", "GZ165-DIS-2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("fx")
    out = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        generate(base / name, seed=seed)
        out[name] = base / name
    return out


def _read_csv(p: Path) -> pd.DataFrame:
    return pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _all_files(d: Path):
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())


def test_rule_ids_parsed():
    assert len(RULE_IDS) == 31


def test_same_seed_same_bytes_and_content(runs):
    a, b = runs["a"], runs["b"]
    assert _all_files(a) == _all_files(b)
    for rel in _all_files(a):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for rel in _all_files(a / "exports"):
        if rel.endswith((".xlsx", ".xls", ".ods")):
            x = pd.read_excel(a / "exports" / rel, sheet_name=None, header=None, engine="calamine")
            y = pd.read_excel(b / "exports" / rel, sheet_name=None, header=None, engine="calamine")
            assert x.keys() == y.keys()
            for k in x:
                pd.testing.assert_frame_equal(x[k], y[k])


def test_other_seed_varies(runs):
    fa, fc = _read_csv(runs["a"] / "expected/findings.csv"), _read_csv(runs["c"] / "expected/findings.csv")
    ka = set(map(tuple, fa[["rule_id", "department", "key"]].values))
    kc = set(map(tuple, fc[["rule_id", "department", "key"]].values))
    assert ka != kc and len(ka & kc) < len(ka)
    da = pd.read_excel(runs["a"] / "exports/部门名录.xlsx", header=3, engine="calamine")
    dc = pd.read_excel(runs["c"] / "exports/部门名录.xlsx", header=3, engine="calamine")
    assert set(da["单位名称"]) != set(dc["单位名称"])


def test_layout_and_expected_files(runs):
    d = runs["a"]
    assert sorted(p.name for p in (d / "expected").iterdir()) == ["defects.csv", "findings.csv", "load.json",
                                                                   "pending.csv"]
    exports = sorted(p.name for p in (d / "exports").iterdir())
    assert exports == sorted({s["file"] for s in specs("2026-10").values()})
    raw = (d / "expected/findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    f = _read_csv(d / "expected/findings.csv")
    assert list(f.columns) == ["rule_id", "severity", "department", "key"]
    assert f.values.tolist() == f.sort_values(["rule_id", "department", "key", "severity"]).values.tolist()
    assert set(f["severity"]) <= {"严重", "一般", "提示"}
    assert not f.duplicated().any()
    p = _read_csv(d / "expected/pending.csv")
    assert list(p.columns) == ["rule_id", "department", "key", "due"]
    assert list(_read_csv(d / "expected/defects.csv").columns) == ["table", "file", "sheet", "row", "column"]


@pytest.mark.parametrize("run", ["a", "c"])
def test_every_rule_has_findings(runs, run):
    f = _read_csv(runs[run] / "expected/findings.csv")
    assert sorted(set(f["rule_id"])) == RULE_IDS
    sev = f.groupby("rule_id")["severity"].agg(lambda s: set(s))
    assert sev["GZ165-10-5"] == {"一般", "提示"}
    assert sev["GZ165-16-3"] == {"严重", "一般"}
    assert sev["GZ165-18-1"] == {"提示"}


def test_oracle_edges(runs):
    d = runs["a"]
    f = _read_csv(d / "expected/findings.csv")
    p = _read_csv(d / "expected/pending.csv")
    k191 = set(f.loc[f.rule_id == "GZ165-19-1", "key"])
    p191 = set(p.loc[p.rule_id == "GZ165-19-1", "key"])
    code = pd.Series([k.split("@")[0] for k in sorted(k191)]).value_counts().index[0]   # the edge resource
    assert f"{code}@2026-10-12 10:00:00" in k191          # 24 h + 1 s
    assert f"{code}@2026-10-12 09:00:00" not in k191      # exactly 24 h
    assert f"{code}@2026-10-30 23:59:58" in k191          # open, 24 h + 1 s at the end of as_of
    assert f"{code}@2026-10-30 23:59:59" in p191          # open, exactly 24 h: pending
    assert p.loc[p.key == f"{code}@2026-10-30 23:59:59", "due"].item() == "2026-10-31 23:59:59"
    # 19-2 across the National Day: 09-29 + 5 wd = 10-12 is on time, 10-13 late
    k192 = set(f.loc[f.rule_id == "GZ165-19-2", "key"])
    assert any(k.endswith("@2026-09-29 11:00:00") for k in k192)
    assert not any(k.endswith("@2026-09-29 10:00:00") for k in k192)
    # 11-2: one finding per (code, provider) however many exchanges
    k112 = f[f.rule_id == "GZ165-11-2"]
    assert not k112.duplicated(["key", "department"]).any()
    assert "311004002/000555" not in set(k112["key"])    # only exchanged last month
    assert all(re.fullmatch(r".+@2026-Q4", k) for k in f.loc[f.rule_id == "GZ165-19-3", "key"])
    # the district 主管部门 has no catalog and is exempt from 08-1; a department with none is reported
    deps = pd.read_excel(d / "exports/部门名录.xlsx", header=3, engine="calamine")
    admins = set(deps.loc[deps["是否主管\n部门"] == "是", "单位名称"])
    assert not admins & set(f.loc[f.rule_id == "GZ165-08-1", "department"])
    assert len(f[f.rule_id == "GZ165-08-1"]) == 2


def test_calendar_is_the_official_one():
    cal = oracle.calendar()
    assert cal.wd([dt.date(2026, 9, 30)], [dt.date(2026, 10, 8)])[0] == 1
    assert cal.is_workday(dt.date(2026, 10, 10)) and not cal.is_workday(dt.date(2026, 10, 8) - dt.timedelta(1))
    assert cal.wd([dt.date(2026, 9, 29)], [dt.date(2026, 10, 12)])[0] == 5
    assert str(cal.add_wd(pd.Series([pd.Timestamp(2026, 9, 29)]), 5)[0].date()) == "2026-10-12"
    assert cal.is_workday(dt.date(2026, 9, 20)) and not cal.is_workday(dt.date(2026, 9, 25))


def test_xlsx_variations(runs):
    ex = runs["a"] / "exports"
    wb = openpyxl.load_workbook(ex / "部门名录.xlsx")
    ws = wb["部门名录"]
    assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)
    hdr = [c.value for c in ws[4]]
    assert "*层级" in hdr and "是否主管\n部门" in hdr and ws["A2"].value.startswith("说明")
    hidden = {ws.cell(4, j).value for j in range(1, ws.max_column + 1)
              if ws.column_dimensions[openpyxl.utils.get_column_letter(j)].hidden}
    assert {"统一社会信用代码", "内部编号"} <= hidden
    col = hdr.index("是否主管\n部门") + 1
    assert {ws.cell(r, col).value for r in range(5, ws.max_row + 1)} >= {"是", "否", None}

    wb = openpyxl.load_workbook(ex / "政务信息资源目录.xlsx")
    assert wb.sheetnames == ["信息资源", "信息项"]
    ws = wb["信息资源"]
    hdr = [c.value for c in ws[3]]
    assert "\u3000信息资源名称\u3000" in hdr and "*资源代码" in hdr and "信息资源\n提供方" in hdr
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    last = max(i for i, r in enumerate(rows) if any(v is not None for v in r))
    assert rows[last][0] == "合计"
    assert ws.max_row > last + 4 and ws.max_column > len([h for h in hdr if h])    # styled trailing cells
    pub = [r[hdr.index("发布日期")] for r in rows[:last]]
    assert any(isinstance(v, dt.datetime) for v in pub)
    texts = [v for v in pub if isinstance(v, str)]
    assert any(re.fullmatch(r"\d{1,5}", v) for v in texts)                 # serial in a text cell
    assert any(re.fullmatch(r"\d{8}", v) for v in texts)
    assert any("年" in v for v in texts) and any("/" in v for v in texts) and any("." in v for v in texts)
    st = [r[hdr.index("共享属性")] for r in rows[:last]]
    assert {1, 2, 3} & set(st) and {"1", "2", "3"} & set(st) and "无条件共享" in st
    assert {"Y", "N", "是"} <= set(r[hdr.index("保密审查")] for r in rows[:last])
    assert {"√", "×"} <= set(r[hdr.index("涉密")] for r in rows[:last])
    codes = [r[1] for r in rows[:last]]
    assert any(c != c.strip() for c in codes) and any("１" in c or "０" in c for c in codes)
    assert ws.column_dimensions["V"].hidden
    items = wb["信息项"]
    assert items["A1"].value == "资源代码"
    assert {"1", "0", "√", "×"} <= {c.value for c in items["D"][1:]}

    wb = openpyxl.load_workbook(ex / "数据更新记录.xlsx")
    assert any(isinstance(c.value, dt.datetime) and c.value.second for c in wb.active["B"])
    wb = openpyxl.load_workbook(ex / "业务信息系统.xlsx")
    assert wb.sheetnames == ["Sheet1"]
    vals = {c.value for c in wb.active["C"]} | {c.value for c in wb.active["D"]}
    assert {True, False, "true", "false", "TRUE", "FALSE"} <= vals


def test_xls_ods_and_csv_encodings(runs):
    ex = runs["a"] / "exports"
    assert (ex / "目录变更记录.xls").read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    x = pd.read_excel(ex / "目录变更记录.xls", header=None, engine="calamine")
    assert x.iloc[1].tolist()[:2] == ["编号", "部门名称"]
    with zipfile.ZipFile(ex / "共享责任人员.ods") as z:
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert "date-value" in z.read("content.xml").decode()
    o = pd.read_excel(ex / "共享责任人员.ods", header=None, engine="calamine")
    assert o.iloc[2].tolist()[:2] == ["部门名称", "姓名"]

    raw = (ex / "交换日志_202610.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8").splitlines()
    assert lines[-1].strip(",") == "" and lines[-3].startswith("合计,")
    assert lines[0].endswith(",,")                                           # trailing empty columns
    body = [ln.split(",") for ln in lines[1:-3]]
    assert any(re.fullmatch(r"\d{5}\.\d+", r[1]) for r in body)               # datetime serial in text
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d", r[1]) for r in body)
    assert any(r[0].startswith("jh") for r in body)
    assert {"1", "0", "是", "否", "true", "false", ""} <= {r[6] for r in body}
    assert (ex / "数据异议.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    req = (ex / "共享申请.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        req.decode("utf-8")
    assert req.decode("gb18030").splitlines()[1].startswith("编号,使用部门")


def _norm(v) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v))).upper()


def test_defects_point_at_real_rows(runs):
    d = runs["a"]
    ex = d / "exports"
    defects = _read_csv(d / "expected/defects.csv")
    assert set(defects["table"]) == {"departments", "catalog", "exchanges", "updates", "officers", "requests"}
    sp = specs("2026-10")
    load = json.loads((d / "expected/load.json").read_text(encoding="utf-8"))
    catalog_codes = None
    for r in defects.itertuples():
        s = sp[r.table]
        header = next(h for c, h, _ in s["columns"] if c == r.column)
        first = load["sources"][r.table]["first_row"]
        if s["fmt"] == "csv":
            text = (ex / r.file).read_bytes().decode(s["encoding"])
            lines = text.splitlines()
            hdr = lines[first - 2].split(",")
            value = lines[int(r.row) - 1].split(",")[hdr.index(header)]
            keys = [ln.split(",")[hdr.index(header)] for ln in lines[first - 1:int(r.row) - 1]]
        else:
            frame = pd.read_excel(ex / r.file, sheet_name=r.sheet, header=None, dtype=object, engine="calamine")
            hdr = frame.iloc[first - 2].tolist()
            value = frame.iloc[int(r.row) - 1, hdr.index(header)]
            keys = frame.iloc[first - 1:int(r.row) - 1, hdr.index(header)].tolist()
        if catalog_codes is None:
            cat = pd.read_excel(ex / "政务信息资源目录.xlsx", sheet_name="信息资源", header=2, dtype=str,
                                engine="calamine")
            catalog_codes = {_norm(c) for c in cat["*资源代码"].dropna()}
        if r.column in ("交换流水号", "申请编号"):                              # duplicate key
            assert _norm(value) in {_norm(k) for k in keys}
        elif r.column == "信息资源代码" and r.table != "catalog":               # unknown reference
            assert _norm(value) not in catalog_codes
        elif r.column == "信息资源代码":                                        # bad form
            assert not re.fullmatch(r"\d{6,}/\d+", _norm(value))
        elif r.column == "部门代码":
            v = _norm(value)
            assert len(v) == 18 and set(v) <= set(USCC_CHARS) and uscc_check(v[:17]) != v[17]
        elif r.column == "使用部门":
            deps = pd.read_excel(ex / "部门名录.xlsx", header=3, engine="calamine")
            assert _norm(value) not in {_norm(x) for x in deps["单位名称"]}
        else:                                                                 # unreadable date text
            assert isinstance(value, str) and not re.search(r"\d{4}.\d{1,2}.\d{1,2}", value)


def test_valid_codes_everywhere_else(runs):
    deps = pd.read_excel(runs["a"] / "exports/部门名录.xlsx", header=3, dtype=str, engine="calamine")
    codes = [_norm(c) for c in deps["统一社会信用代码"]]
    good = [c for c in codes if uscc_check(c[:17]) == c[17]]
    assert len(good) == len(codes) - 1
    assert all(c.startswith("114401") or c[:2] in ("12", "13") for c in codes)


def test_load_counts_match_files(runs):
    d = runs["a"]
    load = json.loads((d / "expected/load.json").read_text(encoding="utf-8"))
    defects = _read_csv(d / "expected/defects.csv")
    sp = specs("2026-10")
    assert load["period"] == "2026-10" and load["as_of"] == "2026-10-31"
    for table, s in sp.items():
        first = load["sources"][table]["first_row"]
        if s["fmt"] == "csv":
            lines = (d / "exports" / s["file"]).read_bytes().decode(s["encoding"]).splitlines()[first - 1:]
            rows = [ln for ln in lines if ln.strip(",") and not ln.startswith("合计")]
            n = len(rows)
        else:
            fr = pd.read_excel(d / "exports" / s["file"], sheet_name=s["sheet"], header=None, engine="calamine")
            body = fr.iloc[first - 1:].dropna(how="all")
            n = int((body.iloc[:, 0].astype(str) != "合计").sum())
        dups = int(((defects.table == table) & defects.column.isin(["交换流水号", "申请编号"])).sum())
        assert load[table] == n - dups, table


def test_period_guard(tmp_path):
    with pytest.raises(ValueError, match="YYYY-MM"):
        generate(tmp_path / "x", period="2027-01")


def test_other_period_still_scoped(tmp_path):
    generate(tmp_path / "nov", seed=2, period="2026-11")
    f = _read_csv(tmp_path / "nov/expected/findings.csv")
    # no quarter's 10th working day falls in November: 19-3 is not checked; every other rule still fires
    assert "GZ165-19-3" not in set(f["rule_id"])
    assert sorted(set(f["rule_id"]) | {"GZ165-19-3"}) == RULE_IDS
    ex = f[f.rule_id.isin(["GZ165-16-1", "GZ165-20-2"]) & f.key.str.startswith("JH")]
    assert ex["key"].str[2:8].eq("202611").all()


def test_scale_builder_small_and_deterministic():
    from fixtures.scale import build_scale
    p0, p1 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    a = build_scale(5, p0, p1, n_cat=2000, n_ex=20000, n_up=5000)
    b = build_scale(5, p0, p1, n_cat=2000, n_ex=20000, n_up=5000)
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    assert len(a["departments"]) == 100 and len(a["catalog"]) == 2000 and len(a["exchanges"]) == 20000
    assert a["catalog"]["信息资源代码"].is_unique and a["exchanges"]["交换流水号"].is_unique
    f, _ = oracle.expected(a, (p0, p1), p1)
    assert len(set(f["rule_id"])) >= 25
