"""The portal's data folder and database.

Layout of DIR (created on first start)::

    DIR/portal.db        users, API tokens, runs, login failures, audit log (SQLite, WAL)
    DIR/queue.db         the run queue (huey's SQLite storage)
    DIR/history.db       the history (整改跟踪) shared by every run, as ``sharecheck run --history``
    DIR/secret.key       the key that signs session cookies (mode 0600)
    DIR/waivers/         the current 豁免 file used by later runs
    DIR/runs/<id>/       one folder per run: inputs/, out/ (the reports), portal/ (extracts for the pages)

Every connection is short-lived (one request or one job step); SQLite in WAL mode lets the pages read while a
run records its stage.
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

ROLES = ("auditor", "department", "admin")
ROLE_TITLES = {"auditor": "审计人员", "department": "部门用户", "admin": "管理员"}
RUN_STATUSES = ("draft", "queued", "running", "done", "failed", "interrupted")
STATUS_TITLES = {"draft": "待预检确认", "queued": "排队中", "running": "运行中", "done": "已完成", "failed": "失败",
                 "interrupted": "已中断"}

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id          INTEGER PRIMARY KEY,
    login       TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    department  TEXT,               -- the 部门名称 or 部门代码 given when the user was created
    dept_code   TEXT,               -- the 部门代码 (given, or learnt from the first published run)
    pw_hash     TEXT NOT NULL,
    must_change INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    session_gen INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    digest      TEXT NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is shown once
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY,
    period       TEXT NOT NULL,
    as_of        TEXT,
    status       TEXT NOT NULL,
    stage        TEXT,
    error        TEXT,
    counts       TEXT,              -- JSON: the manifest's counts
    pack         TEXT,
    pack_version TEXT,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    published_at TEXT,
    published_by TEXT,
    rerun_of     INTEGER,
    options      TEXT               -- JSON: waivers/params file names used
);
CREATE INDEX IF NOT EXISTS runs_period ON runs(period);
CREATE TABLE IF NOT EXISTS login_failures (
    login       TEXT NOT NULL,
    ip          TEXT NOT NULL,
    ts          REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id          INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    login       TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL,      -- ok / denied / failed
    ip          TEXT,
    detail      TEXT
);
"""

AUDIT_TITLES = {"login": "登录", "login_failed": "登录失败", "logout": "退出", "upload": "上传", "precheck": "预检",
                "run": "开始运行", "rerun": "重新运行", "run_done": "运行完成", "run_failed": "运行失败",
                "publish": "发布", "download": "下载", "view": "查看", "waivers": "更新豁免清单",
                "user_add": "新建用户", "user_disable": "停用用户", "user_enable": "启用用户", "passwd": "修改密码",
                "token": "生成令牌", "login_throttled": "登录受限"}


def now_text() -> str:
    return datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "portal.db"

    @property
    def queue(self) -> Path:
        return self.root / "queue.db"

    @property
    def history(self) -> Path:
        return self.root / "history.db"

    @property
    def secret_file(self) -> Path:
        return self.root / "secret.key"

    @property
    def waivers_dir(self) -> Path:
        return self.root / "waivers"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: int) -> Path:
        return self.runs_dir / str(int(run_id))

    def setup(self) -> "DataDir":
        """Create the folder, the database and the session key (idempotent)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.waivers_dir, self.runs_dir):
            d.mkdir(exist_ok=True)
        if not self.secret_file.exists():
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        finally:
            conn.close()
        return self

    def secret(self) -> str:
        return self.secret_file.read_text().strip()

    def current_waivers(self) -> Path | None:
        files = sorted(p for p in self.waivers_dir.glob("当前豁免.*") if p.is_file())
        return files[0] if files else None


@contextmanager
def connect(data: DataDir) -> Iterator[sqlite3.Connection]:
    """A short-lived connection; commits on success."""
    conn = sqlite3.connect(data.db, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------- users
def get_user(data: DataDir, *, login: str | None = None, user_id: int | None = None) -> dict | None:
    with connect(data) as c:
        if login is not None:
            r = c.execute("SELECT * FROM users WHERE login = ?", (login,)).fetchone()
        else:
            r = c.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return dict(r) if r else None


def list_users(data: DataDir) -> list[dict]:
    with connect(data) as c:
        return [dict(r) for r in c.execute("SELECT * FROM users ORDER BY login")]


def count_users(data: DataDir) -> int:
    with connect(data) as c:
        return int(c.execute("SELECT COUNT(*) FROM users").fetchone()[0])


def add_user(data: DataDir, login: str, role: str, pw_hash: str, department: str | None = None,
             dept_code: str | None = None, must_change: bool = False) -> int:
    with connect(data) as c:
        cur = c.execute("INSERT INTO users (login, role, department, dept_code, pw_hash, must_change, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (login, role, department, dept_code, pw_hash, int(must_change), now_text()))
        return int(cur.lastrowid)


def update_user(data: DataDir, user_id: int, **fields: Any) -> None:
    allowed = {"pw_hash", "must_change", "disabled", "dept_code", "session_gen"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"not updatable: {bad}")
    sets = ", ".join(f"{k} = ?" for k in fields)
    with connect(data) as c:
        c.execute(f"UPDATE users SET {sets} WHERE id = ?", (*fields.values(), user_id))


def bump_session(data: DataDir, user_id: int) -> None:
    """Invalidate every session of the user (password change, disabled)."""
    with connect(data) as c:
        c.execute("UPDATE users SET session_gen = session_gen + 1 WHERE id = ?", (user_id,))


def revoke_tokens(data: DataDir, user_id: int) -> int:
    with connect(data) as c:
        return c.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,)).rowcount


# ---------------------------------------------------------------------------------------------------- tokens
def add_token(data: DataDir, user_id: int, digest: str) -> None:
    with connect(data) as c:
        c.execute("INSERT INTO tokens (user_id, digest, created_at) VALUES (?, ?, ?)", (user_id, digest, now_text()))


def user_of_token(data: DataDir, digest: str) -> dict | None:
    with connect(data) as c:
        r = c.execute("SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = ?",
                      (digest,)).fetchone()
    return dict(r) if r else None


# ---------------------------------------------------------------------------------------------------- runs
def add_run(data: DataDir, period: str, as_of: str | None, created_by: str, status: str = "draft",
            rerun_of: int | None = None, options: dict | None = None) -> int:
    with connect(data) as c:
        cur = c.execute("INSERT INTO runs (period, as_of, status, created_by, created_at, rerun_of, options) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (period, as_of, status, created_by, now_text(), rerun_of,
                         json.dumps(options or {}, ensure_ascii=False)))
        return int(cur.lastrowid)


def get_run(data: DataDir, run_id: int) -> dict | None:
    with connect(data) as c:
        r = c.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _run_row(r) if r else None


def _run_row(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["counts"] = json.loads(d["counts"]) if d.get("counts") else {}
    d["options"] = json.loads(d["options"]) if d.get("options") else {}
    return d


def list_runs(data: DataDir, include_drafts: bool = False) -> list[dict]:
    q = "SELECT * FROM runs" + ("" if include_drafts else " WHERE status != 'draft'") + " ORDER BY period DESC, id DESC"
    with connect(data) as c:
        return [_run_row(r) for r in c.execute(q)]


def update_run(data: DataDir, run_id: int, **fields: Any) -> None:
    allowed = {"status", "stage", "error", "counts", "pack", "pack_version", "started_at", "finished_at",
               "published_at", "published_by", "as_of", "period", "options"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"not updatable: {bad}")
    vals = [json.dumps(v, ensure_ascii=False) if k in ("counts", "options") and v is not None else v
            for k, v in fields.items()]
    sets = ", ".join(f"{k} = ?" for k in fields)
    with connect(data) as c:
        c.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*vals, run_id))


def publish_run(data: DataDir, run_id: int, by: str) -> None:
    """Publish a run; a published run of the same period is replaced (departments see one run per period)."""
    with connect(data) as c:
        period = c.execute("SELECT period FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        c.execute("UPDATE runs SET published_at = NULL, published_by = NULL WHERE period = ? AND id != ?",
                  (period, run_id))
        c.execute("UPDATE runs SET published_at = ?, published_by = ? WHERE id = ?", (now_text(), by, run_id))


def current_runs(data: DataDir) -> dict[str, int]:
    """period -> the id of its current run: the newest finished one (it is what the history DB holds)."""
    with connect(data) as c:
        rows = c.execute("SELECT period, MAX(id) FROM runs WHERE status = 'done' GROUP BY period").fetchall()
    return {r[0]: int(r[1]) for r in rows}


def published_runs(data: DataDir) -> list[dict]:
    with connect(data) as c:
        return [_run_row(r) for r in c.execute(
            "SELECT * FROM runs WHERE published_at IS NOT NULL AND status = 'done' ORDER BY period DESC")]


def mark_interrupted(data: DataDir) -> list[int]:
    """At start: runs left 'running' by a worker that died are 'interrupted'."""
    with connect(data) as c:
        ids = [int(r[0]) for r in c.execute("SELECT id FROM runs WHERE status = 'running'")]
        c.execute("UPDATE runs SET status = 'interrupted', stage = NULL, finished_at = ?, "
                  "error = '服务在运行过程中停止，本次运行未完成：请点击「重新运行」' WHERE status = 'running'",
                  (now_text(),))
    return ids


# ---------------------------------------------------------------------------------------------------- audit log
def audit(data: DataDir, action: str, outcome: str = "ok", login: str | None = None, target: str | None = None,
          ip: str | None = None, detail: str | None = None) -> None:
    with connect(data) as c:
        c.execute("INSERT INTO audit (ts, login, action, target, outcome, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (now_text(), login, action, target, outcome, ip, (detail or "")[:500] or None))


def audit_log(data: DataDir, limit: int = 200, offset: int = 0, action: str | None = None) -> list[dict]:
    q, args = "SELECT * FROM audit", []
    if action:
        q += " WHERE action = ?"
        args.append(action)
    q += " ORDER BY id DESC LIMIT ? OFFSET ?"
    with connect(data) as c:
        return [dict(r) for r in c.execute(q, (*args, limit, offset))]


# ---------------------------------------------------------------------------------------------------- throttling
def record_failure(data: DataDir, login: str, ip: str) -> None:
    with connect(data) as c:
        c.execute("INSERT INTO login_failures (login, ip, ts) VALUES (?, ?, ?)", (login, ip, time.time()))
        c.execute("DELETE FROM login_failures WHERE ts < ?", (time.time() - 86400,))


def failures_since(data: DataDir, login: str, ip: str, since: float) -> tuple[int, int, float]:
    """(failures for this login, failures from this ip, time of the newest) since ``since``."""
    with connect(data) as c:
        by_login = c.execute("SELECT COUNT(*), MAX(ts) FROM login_failures WHERE login = ? AND ts >= ?",
                             (login, since)).fetchone()
        by_ip = c.execute("SELECT COUNT(*), MAX(ts) FROM login_failures WHERE ip = ? AND ts >= ?",
                          (ip, since)).fetchone()
    newest = max(by_login[1] or 0, by_ip[1] or 0)
    return int(by_login[0]), int(by_ip[0]), float(newest)


def clear_failures(data: DataDir, login: str) -> None:
    with connect(data) as c:
        c.execute("DELETE FROM login_failures WHERE login = ?", (login,))
