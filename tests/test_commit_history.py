"""Issue 8 B: the commit into --out is all or nothing, re-runs delete only what the previous run wrote, staging
folders of killed runs are cleaned, the history lock is held only for the short record step, later periods are
re-statused, history errors say what is wrong, and the debug log is private.

Real runs of the committed sample (fixtures/sample/exports), in-process; the kill -9 case is a subprocess.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from checker import pipeline
from checker.errors import UsageError
from checker.history import History
from checker.model import Period

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample" / "exports"
FAST = ["csv", "json"]            # quick; the cases about 部门报告/ ask for dept_xlsx


def tree(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` (files by content hash, folders and links by kind), not following links."""
    out = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def stages(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".sharecheck-"))


@lru_cache(maxsize=4)
def _small_report(as_of: str):
    """A small report (3 departments, the real pack) for the commit cases: only the commit is under test."""
    from datetime import date
    from tests.demo_report import DEPARTMENTS, make_report
    r = make_report(30, departments=DEPARTMENTS[:3], history=False, waivers=False)
    r.as_of = date.fromisoformat(as_of)
    return r


def first_run(out: Path, as_of="2026-10-30", formats=FAST, **kw):
    """Write reports into ``out`` the way a run does: a real run with a history, else the commit of a small report
    (``pipeline._render``, the step a run ends with)."""
    if kw:
        return pipeline.run([SAMPLE], "2026-10", as_of=as_of, out=out, formats=formats, **kw)
    return pipeline._render(_small_report(as_of), Path(out), formats)


DEPT = ["dept_xlsx", "json"]


# ------------------------------------------------------------------------------------------------ B1
def test_commit_is_all_or_nothing_when_a_target_is_a_folder(tmp_path):
    out = tmp_path / "o"
    first_run(out)
    # a target that cannot be replaced (works as root too): a folder where the last report file goes
    (out / "manifest.json").unlink()
    (out / "manifest.json").mkdir()
    (out / "manifest.json" / "我的.txt").write_text("x", encoding="utf-8")
    before = tree(out)
    with pytest.raises(UsageError) as e:
        first_run(out, as_of="2026-10-31")           # other contents: every report would change
    msg = str(e.value)
    assert "manifest.json" in msg and "不是文件" in msg and "未作任何改动" in msg and ".sharecheck-" not in msg
    assert tree(out) == before                        # nothing moved in, nothing removed
    assert stages(tmp_path) == []


def _chattr(flag: str, path: Path) -> bool:
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def test_commit_is_all_or_nothing_when_a_target_is_immutable(tmp_path):
    """An immutable file (chattr +i: refused even to root) stands for a workbook open in Excel."""
    out = tmp_path / "o"
    first_run(out)
    target = out / "manifest.json"                    # written last: the old code had moved every other file
    if not _chattr("+i", target):
        pytest.skip("chattr +i is not available on this file system")
    try:
        before = tree(out)
        with pytest.raises(UsageError) as e:
            first_run(out, as_of="2026-10-31")
        assert "manifest.json" in str(e.value) and "无法替换" in str(e.value)
        assert tree(out) == before
        assert stages(tmp_path) == []
    finally:
        _chattr("-i", target)


def test_failure_after_the_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "o"
    db = tmp_path / "h.db"
    first_run(out, history=db)
    before = tree(out)
    real = pipeline._Staged.swap

    def swap_then_fail(self):
        real(self)
        raise OSError(28, "No space left on device")   # e.g. the history commit failed after the swap
    monkeypatch.setattr(pipeline._Staged, "swap", swap_then_fail)
    with pytest.raises(OSError):
        first_run(out, as_of="2026-10-31", history=db)
    assert tree(out) == before
    with sqlite3.connect(db) as c:                    # the record rolled back with the reports
        assert c.execute("SELECT as_of FROM periods").fetchall() == [("2026-10-30",)]
    assert stages(tmp_path) == []


def test_new_out_folder_appears_complete_or_not_at_all(tmp_path, monkeypatch):
    out = tmp_path / "a" / "b" / "o"

    def broken(report, out_dir, formats=None):
        (Path(out_dir) / "审计报告_2026-10.xlsx").write_bytes(b"half")
        raise OSError(28, "No space left on device", str(Path(out_dir) / "部门报告" / "x.xlsx"))
    import checker.render as render
    monkeypatch.setattr(render, "write", broken)
    with pytest.raises(UsageError) as e:
        first_run(out)
    msg = str(e.value)
    # B6: the error names --out (and the file under it), never the hidden staging folder
    assert str(out) in msg and "磁盘空间不足" in msg and ".sharecheck-" not in msg
    assert str(out / "部门报告" / "x.xlsx") in msg
    assert not (tmp_path / "a").exists()


# ------------------------------------------------------------------------------------------------ B2
def test_rerun_never_follows_a_link_out_of_out(tmp_path):
    out = tmp_path / "o"
    first_run(out, formats=DEPT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "广州市公安局_2026-10.xlsx").write_bytes(b"not ours")
    (elsewhere / "别人的_2026-10.xlsx").write_bytes(b"not ours either")
    shutil.rmtree(out / "部门报告")
    (out / "部门报告").symlink_to(elsewhere, target_is_directory=True)
    before, outside = tree(out), tree(elsewhere)
    with pytest.raises(UsageError) as e:
        first_run(out, as_of="2026-10-31", formats=DEPT)
    assert "链接" in str(e.value) and "部门报告" in str(e.value)
    assert tree(elsewhere) == outside and tree(out) == before


def test_rerun_removes_only_what_the_previous_manifest_lists(tmp_path):
    out = tmp_path / "o"
    first_run(out, formats=DEPT)
    listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert "manifest.json" in listed and "部门报告/广州市公安局_2026-10.xlsx" in listed
    own = out / "部门报告" / "审计组自己的_2026-10.xlsx"        # named like ours, not listed: kept
    own.write_bytes(b"mine")
    gone = out / "部门报告" / "已撤销的部门_2026-10.xlsx"         # listed by the previous run: removed
    gone.write_bytes(b"old")
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m["outputs"].append("部门报告/已撤销的部门_2026-10.xlsx")
    m["outputs"].append("../outside.txt")                       # never outside --out
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    first_run(out, as_of="2026-10-31", formats=DEPT)
    assert own.read_bytes() == b"mine" and not gone.exists() and (tmp_path / "outside.txt").exists()


def test_out_given_as_a_link_is_written_where_it_points(tmp_path):
    real = tmp_path / "share" / "2026-10"
    real.mkdir(parents=True)
    link = tmp_path / "o"
    link.symlink_to(real, target_is_directory=True)
    first_run(link)
    assert link.is_symlink() and (real / "findings.csv").is_file()
    first_run(link, as_of="2026-10-31")
    assert link.is_symlink() and os.path.realpath(link) == str(real)


# ------------------------------------------------------------------------------------------------ B3
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_staging_folders_are_cleaned_safely(tmp_path):
    host = pipeline._host_tag()
    dead = tmp_path / f".sharecheck-{host}-{_dead_pid()}-abc123"
    live = tmp_path / f".sharecheck-{host}-{os.getpid()}-def456"         # a run still writing
    foreign_young = tmp_path / ".sharecheck-otherhost-1-xyz"            # another machine, just now
    foreign_old = tmp_path / ".sharecheck-otherhost-2-old"
    legacy_old = tmp_path / ".sharecheck-k2j3h4"                        # an older version's name, a day old
    for d in (dead, live, foreign_young, foreign_old, legacy_old):
        (d / "new").mkdir(parents=True)
        (d / "new" / "审计报告_2026-10.xlsx").write_bytes(b"half")
    target = tmp_path / "keep"
    target.mkdir()
    (target / "x").write_text("x", encoding="utf-8")
    (tmp_path / f".sharecheck-{host}-{_dead_pid()}-link").symlink_to(target, target_is_directory=True)
    day_ago = time.time() - 2 * 86400
    for d in (foreign_old, legacy_old):
        os.utime(d, (day_ago, day_ago))
    first_run(tmp_path / "o")
    left = stages(tmp_path)
    assert live.name in left and foreign_young.name in left
    assert dead.name not in left and foreign_old.name not in left and legacy_old.name not in left
    assert (target / "x").exists()                                     # a link is never followed


def test_kill_9_while_rendering_leaves_out_untouched_and_the_next_run_cleans_up(tmp_path):
    out = tmp_path / "o"
    first_run(out)
    before = tree(out)
    script = (
        "import os, sys\n"
        "import checker.render as render\n"
        "real = render.write\n"
        "def dying(report, out_dir, formats=None):\n"
        "    real(report, out_dir, formats)\n"
        "    os.kill(os.getpid(), 9)\n"
        "render.write = dying\n"
        "from checker.cli import main\n"
        f"sys.exit(main(['run', {str(SAMPLE)!r}, '--period', '2026-10', '--as-of', '2026-10-31', '--out', "
        f"{str(out)!r}, '-q', '--format', 'csv', '--format', 'json']))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == -9
    assert tree(out) == before
    assert len(stages(tmp_path)) == 1                                  # what a kill -9 leaves behind
    first_run(out, as_of="2026-10-31")
    assert stages(tmp_path) == []


# ------------------------------------------------------------------------------------------------ B4
def test_history_lock_is_not_held_while_rendering(tmp_path, monkeypatch):
    """Another run records the previous period while this one renders: it is not blocked, and this run's
    statuses take its record into account (rendered again)."""
    import checker.history as hist
    import checker.render as render
    monkeypatch.setattr(hist, "BUSY_TIMEOUT_MS", 300)      # the old code held the lock: the other run failed
    db = tmp_path / "h.db"
    real = render.write
    calls = []

    def other_run_records_meanwhile(report, out_dir, formats=None):
        if not calls:
            f = report.result.findings
            with History.open(db) as h, h.transaction():   # another process would do exactly this
                sep = Period.parse("2026-09")
                h.record(sep, sep.end, f.assign(status="新增", since="2026-09"), report.scorecard, "gz165", "x")
        calls.append(1)
        return real(report, out_dir, formats)
    monkeypatch.setattr(render, "write", other_run_records_meanwhile)
    o = pipeline.run([SAMPLE], "2026-10", out=tmp_path / "o", formats=["csv", "json"], history=db)
    assert len(calls) == 2                                   # rendered again after the other run recorded
    st = pd.read_csv(tmp_path / "o" / "findings.csv", encoding="utf-8-sig", dtype=str)["status"]
    open_ = st[st != "已豁免"]
    assert len(open_) and (open_ == "持续").all()             # against the 2026-09 just recorded
    assert o.report.previous_period == "2026-09"
    with sqlite3.connect(db) as c:
        assert {r[0] for r in c.execute("SELECT DISTINCT status FROM findings WHERE period='2026-10'")} <= {
            "持续", "已豁免"}


def test_the_lock_is_held_only_for_the_record_step(tmp_path, monkeypatch):
    import checker.render as render
    db = tmp_path / "h.db"
    real = render.write
    seen = []

    def probe(report, out_dir, formats=None):
        c = sqlite3.connect(db, timeout=0.1)
        try:
            c.execute("BEGIN IMMEDIATE")                     # would fail if this run held the write lock
            c.execute("ROLLBACK")
            seen.append("free")
        finally:
            c.close()
        return real(report, out_dir, formats)
    monkeypatch.setattr(render, "write", probe)
    pipeline.run([SAMPLE], "2026-10", out=tmp_path / "o", formats=["csv"], history=db)
    assert seen == ["free"]


# ------------------------------------------------------------------------------------------------ B5
def test_recording_an_earlier_period_restatuses_the_later_ones(tmp_path, capsys):
    from checker.cli import main
    db = tmp_path / "h.db"
    assert main(["run", str(SAMPLE), "--period", "2026-10", "--out", str(tmp_path / "o10"), "--history", str(db),
                 "--format", "csv", "-q"]) == 0
    with sqlite3.connect(db) as c:
        assert {r[0] for r in c.execute("SELECT status FROM findings WHERE period='2026-10'")} <= {"新增", "已豁免"}
    capsys.readouterr()
    assert main(["run", str(SAMPLE), "--period", "2026-09", "--out", str(tmp_path / "o09"), "--history", str(db),
                 "--format", "csv", "-q"]) == 0
    err = capsys.readouterr().err
    assert "2026-10" in err and "已过时" in err and "请重跑 2026-10" in err
    with sqlite3.connect(db) as c:
        sep = {tuple(r) for r in c.execute("SELECT rule_id, department, key FROM findings WHERE period='2026-09'")}
        rows = c.execute("SELECT rule_id, department, key, status, since FROM findings WHERE period='2026-10' "
                         "AND status != '已豁免'").fetchall()
    assert sep and rows
    for rid, dept, key, status, since in rows:
        if (rid, dept, key) in sep:
            assert (status, since) == ("持续", "2026-09")
        else:
            assert (status, since) == ("新增", "2026-10")
    assert any(r[3] == "持续" for r in rows)


def test_restatus_later_keeps_waived_and_chains_since(tmp_path):
    from tests.test_history import A, B, card, fnd, run
    db = tmp_path / "h.db"
    run(db, "2026-08", fnd(A), card(市公安局=70.0))
    run(db, "2026-10", fnd(A, B, status=["已豁免", None]), card(市公安局=80.0))
    with History.open(db) as h, h.transaction():
        sep = Period.parse("2026-09")
        cmp = h.compare(sep, fnd(A, B))
        h.record(sep, sep.end, cmp.findings, card(市公安局=75.0))
        later, changed = h.restatus_later(sep)
    assert later == ["2026-10"] and changed == 1          # A: since unchanged (2026-08); B: 新增 -> 持续
    with sqlite3.connect(db) as c:
        got = dict(((k, (st, si)) for k, st, si in
                    c.execute("SELECT key, status, since FROM findings WHERE period='2026-10'")))
    assert got == {A[2]: ("已豁免", "2026-08"), B[2]: ("持续", "2026-09")}


# ------------------------------------------------------------------------------------------------ B6
def _recorded_db(tmp_path) -> Path:
    from tests.test_history import A, B, card, fnd, run
    db = tmp_path / "h.db"
    for label in ("2026-06", "2026-07", "2026-08", "2026-09"):
        run(db, label, fnd(A, B), card(市公安局=70.0, 市民政局=80.0))
    return db


def test_truncated_history_is_called_incomplete_not_delete_it(tmp_path):
    db = _recorded_db(tmp_path)
    data = db.read_bytes()
    assert len(data) >= 8192
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(UsageError) as e:
        first_run(tmp_path / "o", history=db)
    msg = str(e.value)
    assert "不完整" in msg and "删除后重新生成" not in msg and "备份" in msg
    db.write_bytes(data[:60])                                    # not even a whole header
    with pytest.raises(UsageError) as e:
        History.check(db)
    assert "不完整" in str(e.value) and "删除后重新生成" not in str(e.value)


def test_not_a_database_is_named_as_such(tmp_path):
    db = tmp_path / "h.db"
    db.write_bytes("部门名称,部门代码\n".encode("utf-8") * 50)
    with pytest.raises(UsageError) as e:
        History.check(db)
    assert "不是 sharecheck 的历史库" in str(e.value) and "损坏" not in str(e.value)
    assert "删除" not in str(e.value)                # it may be a file of the auditor given by mistake


def test_read_only_history_is_not_called_damaged(tmp_path):
    db = _recorded_db(tmp_path)
    if not _chattr("+i", db):
        pytest.skip("chattr +i is not available on this file system")
    try:
        with pytest.raises(UsageError) as e:
            first_run(tmp_path / "o", history=db)
    finally:
        _chattr("-i", db)
    msg = str(e.value)
    assert "只能读" in msg and "损坏" in msg and "没有损坏" in msg and "可能已损坏" not in msg
    assert not (tmp_path / "o").exists()


def test_full_disk_history_says_so(tmp_path, monkeypatch):
    db = _recorded_db(tmp_path)
    real = History._connect

    def tiny(p, readonly=False):
        conn = real(p, readonly)
        if not readonly:   # the database cannot grow: SQLite says "database or disk is full", like a full disk
            n = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {n}")
        return conn
    monkeypatch.setattr(History, "_connect", staticmethod(tiny))
    with pytest.raises(UsageError) as e:
        first_run(tmp_path / "o", history=db)
    msg = str(e.value)
    assert "磁盘空间不足" in msg and "可能已损坏" not in msg
    assert not (tmp_path / "o").exists()


def test_out_holding_the_current_folder_is_swapped_file_by_file(tmp_path, monkeypatch):
    """`sharecheck run . --out .`: the folder cannot be exchanged (the shell would be left in the old one), so the
    files are swapped one by one and every move is undone on failure."""
    out = tmp_path / "o"
    first_run(out, formats=DEPT)
    monkeypatch.chdir(out)
    inode = os.stat(".").st_ino
    before = tree(out)
    real = os.rename
    calls = []

    def failing(a, b, *k, **kw):
        calls.append(1)
        if len(calls) == 7:
            raise OSError(28, "No space left on device", str(b))
        return real(a, b, *k, **kw)
    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(UsageError) as e:
        first_run(Path("."), as_of="2026-10-31", formats=DEPT)
    assert "磁盘空间不足" in str(e.value)
    monkeypatch.setattr(os, "rename", real)
    assert tree(out) == before and os.stat(".").st_ino == inode
    first_run(Path("."), as_of="2026-10-31", formats=DEPT)
    assert os.stat(".").st_ino == inode and tree(out) != before
    assert json.loads(Path("manifest.json").read_text(encoding="utf-8"))["as_of"] == "2026-10-31"
    assert stages(tmp_path) == []


def test_a_history_that_keeps_moving_is_rendered_under_the_lock_at_last(tmp_path, monkeypatch):
    """Another run records during every lock-free rendering: after HISTORY_RETRIES the run renders while
    holding the lock, so it always finishes, with statuses against what is recorded."""
    import checker.render as render
    monkeypatch.setattr(pipeline, "HISTORY_RETRIES", 1)
    db = tmp_path / "h.db"
    real = render.write
    calls = []

    def other_runs_keep_recording(report, out_dir, formats=None):
        calls.append(1)
        if len(calls) == 1:                              # the lock-free attempt: someone records 2026-09
            f = report.result.findings
            with History.open(db) as h, h.transaction():
                sep = Period.parse("2026-09")
                h.record(sep, sep.end, f.assign(status="新增", since="2026-09"), report.scorecard, "gz165", "x")
        return real(report, out_dir, formats)
    monkeypatch.setattr(render, "write", other_runs_keep_recording)
    o = pipeline.run([SAMPLE], "2026-10", out=tmp_path / "o", formats=["csv"], history=db)
    assert len(calls) == 2 and o.report.previous_period == "2026-09"
    st = pd.read_csv(tmp_path / "o" / "findings.csv", encoding="utf-8-sig", dtype=str)["status"]
    assert set(st) <= {"持续", "已豁免"}
