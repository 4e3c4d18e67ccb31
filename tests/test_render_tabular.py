"""findings.csv, scorecard.csv and manifest.json."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from checker.render import write
from tests.demo_report import make_report


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    o = tmp_path_factory.mktemp("t")
    r = make_report(200)
    r.result.findings.loc[0, "key"] = "=1+1"
    write(r, o, ["csv", "json"])
    return r, o


def _read(p):
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def test_findings_csv(out):
    r, o = out
    rows = _read(o / "findings.csv")
    assert rows[0] == ["rule_id", "severity", "department", "input", "sheet", "row", "key", "message", "status"]
    f = r.result.findings
    assert len(rows) == len(f) + 1
    assert [x[6] for x in rows[1:]] == ["'" + k if k.startswith(("=", "+", "-", "@")) else k for k in f["key"]]
    assert rows[1][6] == "'=1+1"                    # formula-safe (issue 8, D): Excel shows the text
    assert [x[5] for x in rows[1:]] == ["" if pd.isna(v) else str(int(v)) for v in f["row"]]
    assert "" in [x[5] for x in rows[1:]]
    assert [x[8] for x in rows[1:]] == f["status"].tolist()
    assert b"\r\n" in (o / "findings.csv").read_bytes()


def test_scorecard_csv(out):
    r, o = out
    rows = _read(o / "scorecard.csv")
    dims = ["目录管理", "平台共享", "数据提供", "共享服务"]
    rules = [c for c in r.scorecard.columns if c.startswith("GZ165-")]
    assert rows[0] == ["department", "score", "grade", "rank"] + dims + rules
    assert len(rows) == len(r.scorecard) + 1
    assert [x[0] for x in rows[1:]] == r.scorecard["department"].tolist()
    assert [float(x[1]) for x in rows[1:]] == r.scorecard["score"].tolist()
    assert "" in [x[7] for x in rows[1:]]             # 不适用 -> empty


def test_manifest(out):
    r, o = out
    text = (o / "manifest.json").read_text("utf-8")
    m = json.loads(text)
    assert set(m) >= {"period", "as_of", "pack", "parameters", "inputs", "rules_run", "rules_not_checked", "counts"}
    assert m["period"] == "2026-10" and m["as_of"] == "2026-10-31"
    assert m["pack"] == {"pack": "gz165", "version": r.pack["version"], "title": r.pack["title"]}
    assert m["parameters"]["GZ165-08-2"] == {"limit_wd": 15}
    assert {"path", "sheet", "table", "rows", "sha256"} == set(m["inputs"][0])
    assert "GZ165-DIS-1" not in m["rules_run"] and len(m["rules_run"]) == len(r.rules) - 1
    assert m["rules_not_checked"][0]["rule_id"] == "GZ165-DIS-1"
    f = r.result.findings
    assert m["counts"]["findings"] == len(f)
    assert m["counts"]["by_severity"]["严重"] == int((f["severity"] == "严重").sum())
    assert m["counts"]["by_status"]["已豁免"] == int((f["status"] == "已豁免").sum())
    assert "广州" in text                               # ensure_ascii=False
    assert text == json.dumps(m, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def test_deterministic(tmp_path):
    a = write(make_report(50), tmp_path / "a", ["csv", "json", "html"])
    b = write(make_report(50), tmp_path / "b", ["csv", "json", "html"])
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
