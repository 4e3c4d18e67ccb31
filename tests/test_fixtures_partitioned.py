"""issue 11 item 6: `python -m fixtures.generate --scale --exchanges N --parts K` writes a partitioned month whose
expected findings (computed part by part) equal the oracle's on the whole month."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from fixtures import generate as gen
from fixtures import oracle
from fixtures.generate import _period
from fixtures.partitioned import EXCHANGE_FOLDER, _tables_without_exchanges

SMALL = dict(n_cat=3000, n_up=5000)


def _read_parts(folder, fmt):
    files = sorted(folder.iterdir())
    if fmt == "parquet":
        frames = [pd.read_parquet(f) for f in files]
    else:
        frames = [pd.read_csv(f, dtype=str, keep_default_na=False).replace("", None) for f in files]
    ex = pd.concat(frames, ignore_index=True)
    if fmt == "csv":
        ex["交换时间"] = pd.to_datetime(ex["交换时间"])
        ex["是否涉密"] = ex["是否涉密"].eq("是")
    ex["_order"] = range(len(ex))
    return files, ex


@pytest.mark.parametrize("fmt,parts", [("parquet", 31), ("csv", 4)])
def test_parts_and_expected_findings(tmp_path, monkeypatch, fmt, parts):
    from fixtures import partitioned
    monkeypatch.setattr(partitioned, "_tables_without_exchanges",
                        lambda seed, p0, p1, n_cat, n_up: _tables_without_exchanges(seed, p0, p1, **SMALL))
    n = 60_000
    res = partitioned.generate_partitioned(tmp_path, n, parts, seed=3, part_format=fmt)
    folder = tmp_path / "exports" / EXCHANGE_FOLDER
    files, ex = _read_parts(folder, fmt)
    assert len(files) == parts == res["parts"]
    assert files[0].name == f"2026-10-01.{fmt}"
    if parts == 31:
        assert [f.stem for f in files] == [f"2026-10-{d:02d}" for d in range(1, 32)]
    assert len(ex) == n
    assert ex["交换流水号"].is_unique and ex["交换时间"].is_monotonic_increasing
    assert ex["交换时间"].min() >= pd.Timestamp("2026-10-01") and ex["交换时间"].max() < pd.Timestamp("2026-11-01")
    load = json.loads((tmp_path / "expected" / "load.json").read_text("utf-8"))
    assert sum(load["exchange_parts"].values()) == n and load["exchanges"] == n
    # the whole month checked at once by the oracle gives the same findings as the part-by-part expected
    p0, p1 = _period("2026-10")
    t = _tables_without_exchanges(3, p0, p1, **SMALL)
    t["exchanges"] = ex
    want, want_p = oracle.expected(t, (p0, p1), p1)
    got = pd.read_csv(tmp_path / "expected" / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(got, want.fillna("").astype(str).reset_index(drop=True), check_dtype=False)
    by_rule = want["rule_id"].value_counts()
    for rule in ("GZ165-16-1", "GZ165-REQ-3"):
        assert by_rule.get(rule, 0) > 0, rule
    assert (tmp_path / "exports" / "政务信息资源目录.xlsx").exists()
    assert not list((tmp_path / "exports").glob("交换日志*.parquet"))      # only the folder holds the log


def test_cli_refuses_bad_parts(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        gen.main(["--scale", "--exchanges", "10", "--parts", "40", "--out", str(tmp_path)])
    assert e.value.code == 2 and "--parts 须在 1 到 31" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gen.main(["--scale", "--exchanges", "10", "--out", str(tmp_path)])
    assert "同时给出" in capsys.readouterr().err
