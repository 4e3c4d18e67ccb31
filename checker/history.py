"""History (整改跟踪): a SQLite file keeping every run's findings and scores by period.

Schema version in ``PRAGMA user_version`` (``SCHEMA_VERSION``). A run:

    with History.open(path) as h:          # checks/creates the schema
        with h.transaction():              # BEGIN IMMEDIATE (busy timeout; Chinese error when locked)
            cmp = h.compare(period, findings)      # statuses, since, resolved, previous period
            h.record(period, as_of, cmp.findings, scorecard)   # replaces the period's record
            trends = h.trends(period)
        # COMMIT on leaving without error, ROLLBACK otherwise

Periods are compared with periods of the same kind (months with months, quarters with quarters): the
previous period is the latest recorded one of the same kind that starts before this one.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from .errors import UsageError
from .model import (RESOLVED_COLUMNS, STATUS_NEW, STATUS_PERSISTING, STATUS_RESOLVED, STATUS_WAIVED,
                    TREND_COLUMNS, Period)

SCHEMA_VERSION = 1
_TABLES = ("periods", "findings", "scores")     # every table of _SCHEMA
BUSY_TIMEOUT_MS = 30_000
POLL_MS = 200                 # one slice of the wait for another run's write transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS periods (
    period      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,           -- 'M' month, 'Q' quarter
    start       TEXT NOT NULL,           -- ISO date
    "end"       TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    pack        TEXT,
    pack_version TEXT,
    findings    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    period      TEXT NOT NULL REFERENCES periods(period),
    rule_id     TEXT NOT NULL,
    department  TEXT NOT NULL,
    key         TEXT NOT NULL,
    message     TEXT,
    severity    TEXT,
    status      TEXT,
    since       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_period ON findings(period);
CREATE TABLE IF NOT EXISTS scores (
    period      TEXT NOT NULL REFERENCES periods(period),
    department  TEXT NOT NULL,
    score       REAL,
    grade       TEXT,
    rank        INTEGER,
    PRIMARY KEY (period, department)
);
"""


def _busy_text(p: Path) -> str:
    waited = f"（已等待 {BUSY_TIMEOUT_MS / 1000:g} 秒仍未释放）" if BUSY_TIMEOUT_MS >= 1000 else ""
    return f"历史库 {p} 正被另一次运行占用，请稍后重试{waited}"


_SQLITE_MAGIC = b"SQLite format 3\x00"


def diagnose(p: Path, exc: BaseException | None = None) -> str:
    """What is really wrong with a history file, in one Chinese sentence (issue 8 B6): read-only, disk full,
    locked, truncated (cut short by an interrupted copy), not a database at all, or damaged inside."""
    text = str(exc or "").lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        return (f"历史库 {p} 只能读、不能写入（文件或所在磁盘为只读，或没有写入权限）：请检查文件权限，"
                "或把历史库换到一个可写入的位置；文件本身没有损坏")
    if "disk is full" in text or "database or disk is full" in text or "no space" in text:
        return (f"历史库 {p} 无法写入：磁盘空间不足（或数据库已达大小上限）。请清理磁盘后重试；"
                "本次运行未写入任何记录，文件本身没有损坏")
    if "locked" in text or "busy" in text:
        return _busy_text(p)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(100)
    except OSError as e:
        return f"历史库 {p} 无法读取（{e.strerror or e}）：请检查路径和权限"
    if size == 0:
        return f"历史库 {p} 是一个空文件：请删除它（sharecheck 会重新创建），或换一个文件名"
    if not head.startswith(_SQLITE_MAGIC[:min(len(head), len(_SQLITE_MAGIC))]):
        return (f"历史库 {p} 不是 sharecheck 的历史库（不是 SQLite 数据库文件）：请检查历史库的路径，"
                "或换一个文件名")
    if len(head) >= 32:
        page = int.from_bytes(head[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(head[28:32], "big")
        if page >= 512 and pages and size < page * pages:
            return (f"历史库 {p} 不完整：文件只有 {size} 字节，应有 {page * pages} 字节（复制或下载时被中断？）。"
                    "请从备份或原处重新复制完整的文件；不要删除它，否则以前各期的记录会丢失")
    if len(head) < 100:
        return (f"历史库 {p} 不完整：文件只有 {size} 字节，连数据库文件头都不全（复制时被中断？）。"
                "请从备份或原处重新复制完整的文件")
    return (f"历史库 {p} 已损坏（{exc}）：请从备份恢复；如没有备份，可换一个文件名重新开始记录"
            "（旧文件请保留，以便维护人员修复）")


def _kind(p: Period) -> str:
    return "Q" if "Q" in p.label else "M"


@dataclass
class Comparison:
    findings: pd.DataFrame           # input findings + status (新增/持续/已豁免 kept) + since
    resolved: pd.DataFrame           # RESOLVED_COLUMNS
    previous_period: str | None


class History:
    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path, self.conn = path, conn

    # -- opening --------------------------------------------------------------------------------
    @staticmethod
    def check(path: str | Path) -> None:
        """Validate an existing history file without creating or changing anything (before a run)."""
        p = Path(path)
        if p.is_dir():
            raise UsageError(f"历史库 {p} 是一个文件夹：请给出一个 .db 文件的路径")
        if not p.exists():
            if not p.parent.exists():
                raise UsageError(f"历史库 {p} 所在的文件夹不存在：请先创建该文件夹或换一个路径")
            return
        conn = History._connect(p, readonly=True)
        try:
            History._check_version(p, conn)
        finally:
            conn.close()

    @staticmethod
    def _connect(p: Path, readonly: bool = False) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True,
                                       timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            else:
                conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            return conn
        except sqlite3.Error as exc:
            raise UsageError(f"无法打开历史库 {p}（{exc}）：请检查路径和权限") from None

    @staticmethod
    def _check_version(p: Path, conn: sqlite3.Connection) -> int:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise UsageError(diagnose(p, exc)) from None
        if version > SCHEMA_VERSION:
            raise UsageError(f"历史库 {p} 由更新版本的 sharecheck 创建（结构版本 {version}，本程序支持 "
                             f"{SCHEMA_VERSION}）：请升级 sharecheck")
        if version == 0 and tables:
            raise UsageError(f"历史库 {p} 不是 sharecheck 的历史库（含其他数据表）：请换一个文件名")
        missing = [t for t in _TABLES if t not in tables]
        if version >= 1 and missing:
            # a damaged or hand-edited file: without this the run crashed (exit 3) when recording the period
            raise UsageError(f"历史库 {p} 已损坏（缺少数据表 {'、'.join(missing)}）：请从备份恢复，"
                             "或换一个文件名重新开始记录")
        return version

    @classmethod
    def open(cls, path: str | Path) -> "History":
        p = Path(path)
        cls.check(p)
        conn = cls._connect(p)
        try:
            version = cls._check_version(p, conn)
            if version < SCHEMA_VERSION:
                with cls._immediate(p, conn):
                    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                        for stmt in _SCHEMA.split(";"):
                            if stmt.strip():
                                conn.execute(stmt)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return cls(p, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------------
    @staticmethod
    @contextmanager
    def _immediate(p: Path, conn: sqlite3.Connection) -> Iterator[None]:
        # Wait for another run's write transaction in short slices, so Ctrl-C is honoured while waiting
        # (one long sqlite busy wait would hold the interpreter for the whole BUSY_TIMEOUT_MS).
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        slice_ms = max(1, min(BUSY_TIMEOUT_MS, POLL_MS))
        conn.execute(f"PRAGMA busy_timeout = {slice_ms}")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    busy = "locked" in str(exc) or "busy" in str(exc)
                    if busy and time.monotonic() < deadline:
                        continue
                    if busy:
                        raise UsageError(_busy_text(p)) from None
                    raise UsageError(diagnose(p, exc)) from None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise UsageError(diagnose(p, exc)) from None

    @contextmanager
    def transaction(self) -> Iterator["History"]:
        """One write transaction (BEGIN IMMEDIATE): compare, record and trends see one consistent state."""
        with self._immediate(self.path, self.conn):
            yield self

    @contextmanager
    def snapshot(self) -> Iterator["History"]:
        """A read transaction (no write lock): the queries inside see one consistent state while other runs
        may still record. Used to compare and to read trends before rendering (issue 8 B4)."""
        self.conn.execute("BEGIN DEFERRED")
        try:
            yield self
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    # -- queries --------------------------------------------------------------------------------
    def periods(self) -> list[str]:
        return [r[0] for r in self.conn.execute('SELECT period FROM periods ORDER BY start, "end", period')]

    def previous_period(self, period: Period) -> str | None:
        row = self.conn.execute(
            "SELECT period FROM periods WHERE kind = ? AND start < ? ORDER BY start DESC LIMIT 1",
            (_kind(period), period.start.isoformat())).fetchone()
        return row[0] if row else None

    def pack_of(self, period: str) -> str | None:
        """The pack a recorded period was checked with (None for a record made before packs were recorded)."""
        row = self.conn.execute("SELECT pack FROM periods WHERE period = ?", (period,)).fetchone()
        return row[0] if row else None

    def _findings_of(self, period: str) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT rule_id, department, key, message, severity, status, since FROM findings "
            "WHERE period = ? ORDER BY rule_id, department, key", self.conn, params=(period,))

    def compare(self, period: Period, findings: pd.DataFrame, not_checked: Iterable[str] = ()) -> Comparison:
        """Statuses against the previous recorded period. Waived findings keep 已豁免 (and get ``since``).

        ``not_checked``: rules this period could not check (an input missing). Their findings of the previous
        period are not 已整改 — nobody looked — so they are left out of ``resolved``.
        """
        f = findings.copy()
        if "status" not in f.columns:
            f["status"] = None
        prev = self.previous_period(period)
        key_cols = ["rule_id", "department", "key"]
        fk = f[key_cols].astype("object").where(f[key_cols].notna(), "").astype(str)
        if prev is None:
            before = pd.DataFrame(columns=["rule_id", "department", "key", "message", "severity", "status",
                                           "since"])
        else:
            before = self._findings_of(prev)
        if len(before):
            b = before.drop_duplicates(key_cols)[key_cols + ["since"]]
            m = fk.reset_index(drop=True).merge(b, on=key_cols, how="left")
            since = m["since"].to_numpy()
            seen = pd.notna(since)
        else:
            since = pd.Series([None] * len(f), dtype="object").to_numpy()
            seen = pd.Series(False, index=range(len(f))).to_numpy()
        waived = (f["status"] == STATUS_WAIVED).to_numpy()
        status = pd.Series(STATUS_NEW, index=f.index, dtype="object")
        status[seen] = STATUS_PERSISTING
        status[waived] = STATUS_WAIVED
        f["status"] = status
        f["since"] = pd.Series(since, index=f.index, dtype="object").where(seen, period.label)
        if len(before):
            now = fk.drop_duplicates().assign(_now=True)
            r = before.drop_duplicates(key_cols).merge(now, on=key_cols, how="left")
            gone = r["_now"].isna() & ~r["rule_id"].isin(list(not_checked))
            resolved = r[gone][RESOLVED_COLUMNS].reset_index(drop=True)
        else:
            resolved = pd.DataFrame({c: pd.Series(dtype="object") for c in RESOLVED_COLUMNS})
        return Comparison(findings=f, resolved=resolved, previous_period=prev)

    def record(self, period: Period, as_of: date, findings: pd.DataFrame, scorecard: pd.DataFrame | None,
               pack: str | None = None, pack_version: str | None = None) -> None:
        """Replace the period's record. Call inside ``transaction()``."""
        p = period.label
        c = self.conn
        c.execute("DELETE FROM findings WHERE period = ?", (p,))
        c.execute("DELETE FROM scores WHERE period = ?", (p,))
        c.execute("DELETE FROM periods WHERE period = ?", (p,))
        c.execute('INSERT INTO periods (period, kind, start, "end", as_of, pack, pack_version, findings) '
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (p, _kind(period), period.start.isoformat(), period.end.isoformat(), as_of.isoformat(),
                   pack, pack_version, int(len(findings))))
        if len(findings):
            cols = ["rule_id", "department", "key", "message", "severity", "status", "since"]
            fr = findings.reindex(columns=cols).astype("object")
            fr = fr.where(fr.notna(), None)
            for col in ("department", "key"):
                fr[col] = fr[col].fillna("").astype(str)
            fr["since"] = fr["since"].fillna(p).astype(str)
            c.executemany("INSERT INTO findings (period, rule_id, department, key, message, severity, status, "
                          "since) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          [(p, *t) for t in fr.itertuples(index=False, name=None)])
        if scorecard is not None and len(scorecard):
            sc = scorecard.reindex(columns=["department", "score", "grade", "rank"]).astype("object")
            sc = sc.where(sc.notna(), None)
            rows = [(p, d, None if s is None else float(s), g, None if r is None else int(r))
                    for d, s, g, r in sc.itertuples(index=False, name=None)]
            c.executemany("INSERT OR REPLACE INTO scores (period, department, score, grade, rank) "
                          "VALUES (?, ?, ?, ?, ?)", rows)

    def trends(self, period: Period, current: pd.DataFrame | None = None) -> pd.DataFrame:
        """TREND_COLUMNS over every recorded period of the same kind up to and including ``period``.

        ``current`` (a scorecard): this run's scores for ``period``, used instead of what is recorded for it, so
        that the trends can be read before the period is recorded (the same rows ``record`` would write)."""
        if current is None:
            t = pd.read_sql_query(
                "SELECT s.period AS period, s.department AS department, s.score AS score, s.grade AS grade "
                "FROM scores s JOIN periods p ON p.period = s.period WHERE p.kind = ? AND p.start <= ? "
                "ORDER BY p.start, s.department", self.conn, params=(_kind(period), period.start.isoformat()))
            t["score"] = t["score"].astype("Float64")
            return t[TREND_COLUMNS].reset_index(drop=True)
        t = pd.read_sql_query(
            "SELECT s.period AS period, s.department AS department, s.score AS score, s.grade AS grade, "
            "p.start AS start FROM scores s JOIN periods p ON p.period = s.period "
            "WHERE p.kind = ? AND p.start < ? ORDER BY p.start, s.department", self.conn,
            params=(_kind(period), period.start.isoformat()))
        t["score"] = pd.to_numeric(t["score"], errors="coerce").astype("Float64")
        if len(current):
            sc = current.reindex(columns=["department", "score", "grade"]).astype("object")
            sc = sc.drop_duplicates("department", keep="last")     # INSERT OR REPLACE keeps the last row
            cur = pd.DataFrame({"period": period.label, "department": sc["department"].astype(str).to_numpy(),
                                "score": pd.to_numeric(sc["score"], errors="coerce").astype("Float64").to_numpy(),
                                "grade": sc["grade"].where(sc["grade"].notna(), None).to_numpy(),
                                "start": period.start.isoformat()})
            cur = cur.sort_values("department", kind="mergesort")
            t = pd.concat([t, cur], ignore_index=True) if len(t) else cur
        t["score"] = t["score"].astype("Float64")
        return t[TREND_COLUMNS].reset_index(drop=True)

    def restatus_later(self, period: Period) -> tuple[list[str], int]:
        """After recording ``period``, recompute 新增/持续 and ``since`` of every later recorded period of the
        same kind, in order (issue 8 B5): each against its previous period as the history now stands.
        Returns (the later periods, how many of their findings changed status or since). Call inside
        ``transaction()``."""
        later = [r[0] for r in self.conn.execute(
            "SELECT period FROM periods WHERE kind = ? AND start > ? ORDER BY start, period",
            (_kind(period), period.start.isoformat()))]
        changed = 0
        key_cols = ["rule_id", "department", "key"]
        for label in later:
            lp = Period.parse(label)
            prev = self.previous_period(lp)
            cur = pd.read_sql_query(
                "SELECT rowid AS rid, rule_id, department, key, status, since FROM findings WHERE period = ?",
                self.conn, params=(label,))
            if not len(cur):
                continue
            before = self._findings_of(prev) if prev else pd.DataFrame(columns=key_cols + ["since"])
            b = before.drop_duplicates(key_cols)[key_cols + ["since"]].rename(columns={"since": "_prev_since"})
            m = cur.merge(b, on=key_cols, how="left")
            seen = m["_prev_since"].notna()
            open_ = m["status"].isin([STATUS_NEW, STATUS_PERSISTING])
            status = m["status"].where(~open_, pd.Series(STATUS_NEW, index=m.index).where(~seen, STATUS_PERSISTING))
            since = m["_prev_since"].where(seen, label)          # as compare(): every finding, waived too
            diff = (status != m["status"]) | (since.astype(str) != m["since"].astype(str))
            if diff.any():
                rows = [(st, si, int(rid)) for st, si, rid in
                        zip(status[diff].tolist(), since[diff].astype(str).tolist(), m.loc[diff, "rid"].tolist())]
                self.conn.executemany("UPDATE findings SET status = ?, since = ? WHERE rowid = ?", rows)
                changed += int(diff.sum())
        return later, changed


__all__ = ["History", "Comparison", "SCHEMA_VERSION", "STATUS_RESOLVED"]
