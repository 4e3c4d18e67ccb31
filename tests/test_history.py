"""History: statuses across two periods, resolved list, re-run replaces, concurrency, schema version."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3
from datetime import date

import pandas as pd
import pytest

from checker.errors import UsageError
from checker.history import SCHEMA_VERSION, History
from checker.model import (FINDING_COLUMNS, RESOLVED_COLUMNS, STATUS_NEW, STATUS_PERSISTING, STATUS_WAIVED,
                           TREND_COLUMNS, Period)


def fnd(*keys, status=None):
    rows = [(r, "一般", d, None, "catalog", "c.xlsx", "信息资源", 5, k, f"{r} {k}") for r, d, k in keys]
    f = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    f["status"] = status
    return f


def card(**scores):
    return pd.DataFrame({"department": list(scores), "score": list(scores.values()),
                         "grade": ["良好"] * len(scores), "rank": range(1, len(scores) + 1)})


def run(db, label, findings, scorecard):
    p = Period.parse(label)
    with History.open(db) as h, h.transaction():
        cmp = h.compare(p, findings)
        h.record(p, p.end, cmp.findings, scorecard, "gz165", "1")
        return cmp, h.trends(p)


A = ("GZ165-10-1", "市公安局", "101001001/000001")
B = ("GZ165-10-1", "市公安局", "101001001/000002")
C = ("GZ165-17-1", "市民政局", "市民政局")


def test_first_period_all_new(tmp_path):
    cmp, trends = run(tmp_path / "h.db", "2026-09", fnd(A, B), card(市公安局=80.0, 市民政局=95.5))
    assert list(cmp.findings["status"]) == [STATUS_NEW, STATUS_NEW]
    assert list(cmp.findings["since"]) == ["2026-09", "2026-09"]
    assert cmp.previous_period is None and len(cmp.resolved) == 0
    assert list(cmp.resolved.columns) == RESOLVED_COLUMNS
    assert list(trends.columns) == TREND_COLUMNS and len(trends) == 2


def test_two_periods_statuses_resolved_trends(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-08", fnd(A), card(市公安局=70.0))
    run(db, "2026-09", fnd(A, B), card(市公安局=80.0, 市民政局=90.0))
    cmp, trends = run(db, "2026-10", fnd(A, C), card(市公安局=85.0, 市民政局=60.0))
    assert cmp.previous_period == "2026-09"
    assert list(cmp.findings["status"]) == [STATUS_PERSISTING, STATUS_NEW]
    assert list(cmp.findings["since"]) == ["2026-08", "2026-10"]     # unbroken run since August
    assert cmp.resolved[["rule_id", "department", "key"]].values.tolist() == [list(B)]
    assert cmp.resolved.loc[0, "since"] == "2026-09"
    assert trends["period"].tolist() == ["2026-08", "2026-09", "2026-09", "2026-10", "2026-10"]
    assert trends.loc[trends["period"] == "2026-10", "score"].tolist() == [85.0, 60.0]


def test_broken_run_restarts_since(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-08", fnd(A), card())
    run(db, "2026-09", fnd(B), card())
    cmp, _ = run(db, "2026-10", fnd(A), card())
    assert cmp.findings.loc[0, "status"] == STATUS_NEW and cmp.findings.loc[0, "since"] == "2026-10"


def test_waived_keeps_status_and_counts_as_found(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-09", fnd(A, status=STATUS_WAIVED), card())
    cmp, _ = run(db, "2026-10", fnd(A), card())
    assert cmp.findings.loc[0, "status"] == STATUS_PERSISTING and cmp.findings.loc[0, "since"] == "2026-09"
    cmp, _ = run(db, "2026-11", fnd(A, status=STATUS_WAIVED), card())
    assert cmp.findings.loc[0, "status"] == STATUS_WAIVED


def test_rerun_replaces_period_and_later_period_compares_with_latest_before(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-09", fnd(A, B), card(市公安局=50.0))
    run(db, "2026-10", fnd(A), card(市公安局=60.0))
    run(db, "2026-09", fnd(C), card(市民政局=99.0))      # re-run September with corrected inputs
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT rule_id, key FROM findings WHERE period='2026-09'").fetchall() == [(C[0], C[2])]
        assert c.execute("SELECT department FROM scores WHERE period='2026-09'").fetchall() == [("市民政局",)]
        assert c.execute("SELECT count(*) FROM periods").fetchone()[0] == 2
    cmp, _ = run(db, "2026-10", fnd(A), card())
    assert cmp.findings.loc[0, "status"] == STATUS_NEW            # A was not in the re-run September
    assert cmp.resolved["key"].tolist() == [C[2]]


def test_months_and_quarters_are_separate_series(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-Q2", fnd(A), card(市公安局=1.0))
    cmp, trends = run(db, "2026-09", fnd(A), card(市公安局=2.0))
    assert cmp.previous_period is None and trends["period"].tolist() == ["2026-09"]
    cmp, trends = run(db, "2026-Q3", fnd(A), card(市公安局=3.0))
    assert cmp.previous_period == "2026-Q2" and cmp.findings.loc[0, "status"] == STATUS_PERSISTING
    assert trends["period"].tolist() == ["2026-Q2", "2026-Q3"]


def test_failed_transaction_rolls_back(tmp_path):
    db = tmp_path / "h.db"
    run(db, "2026-09", fnd(A), card())
    p = Period.parse("2026-09")
    with pytest.raises(RuntimeError):
        with History.open(db) as h, h.transaction():
            h.record(p, p.end, fnd(B), card())
            raise RuntimeError("render failed")
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT key FROM findings").fetchall() == [(A[2],)]


def test_schema_version_checks(tmp_path):
    db = tmp_path / "h.db"
    History.open(db).close()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UsageError, match="更新版本"):
        History.open(db)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(UsageError, match="不是 sharecheck 的历史库"):
        History.open(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="不是 sharecheck 的历史库"):
        History.open(junk)
    with pytest.raises(UsageError, match="文件夹不存在"):
        History.check(tmp_path / "nope" / "h.db")
    assert not (tmp_path / "nope").exists()


def test_locked_database_gives_chinese_error(tmp_path, monkeypatch):
    import checker.history as hist
    db = tmp_path / "h.db"
    History.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(hist, "BUSY_TIMEOUT_MS", 50)
    try:
        with History.open(db) as h:
            with pytest.raises(UsageError, match=r"正被另一次运行占用，请稍后重试"):
                with h.transaction():
                    pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _writer(args):
    db, label, n = args
    keys = [("GZ165-19-2", f"部门{i % 7}", f"{label}-{i}") for i in range(n)]
    run(db, label, fnd(*keys), card(**{f"部门{i}": float(i) for i in range(7)}))
    return label


def test_concurrent_writers_do_not_corrupt(tmp_path):
    db = str(tmp_path / "h.db")
    labels = [f"2026-{m:02d}" for m in range(1, 9)] * 2        # every month written twice, at the same time
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        done = pool.map(_writer, [(db, lb, 300) for lb in labels])
    assert sorted(done) == sorted(labels)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per = dict(c.execute("SELECT period, count(*) FROM findings GROUP BY period").fetchall())
        assert per == {lb: 300 for lb in set(labels)}
        assert c.execute("SELECT count(*) FROM scores").fetchone()[0] == 8 * 7
