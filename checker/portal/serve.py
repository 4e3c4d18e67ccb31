"""``sharecheck serve`` and ``sharecheck user``: the portal's command-line side.

``serve`` runs the web server (uvicorn) and the run worker (huey, one thread) in one process; Ctrl-C (SIGINT) or
SIGTERM stops both: the worker is told to stop, a run in progress has its child process killed and is marked
``interrupted``, and uvicorn closes its connections.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import UsageError
from . import security, store
from .jobs import Limits
from .web import Settings, create_app, is_code, normalise_department, user_problem


def open_data(data_dir: str | Path, create: bool = True) -> store.DataDir:
    """The data folder, set up if ``create`` (serve, user add); other commands refuse a folder that is not one."""
    p = Path(data_dir)
    if not create and not (p / "portal.db").is_file():
        raise UsageError(f"{p} 不是审计门户的数据文件夹（其中没有 portal.db）：请检查 --data 的路径"
                         "（数据文件夹由 sharecheck serve 或 sharecheck user add 建立）")
    if p.exists() and not p.is_dir():
        raise UsageError(f"数据文件夹 {p} 已存在且不是文件夹：请换一个位置")
    try:
        return store.DataDir(p).setup()
    except PermissionError:
        raise UsageError(f"数据文件夹 {p} 没有写入权限：请检查权限，或换一个位置") from None
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"数据文件夹 {p} 中的 portal.db 无法打开（{exc}）：请从备份恢复") from None


def first_admin(data: store.DataDir) -> tuple[str, str] | None:
    """On a fresh data folder, an ``admin`` account with a one-time password (changed at first login)."""
    if store.count_users(data):
        return None
    pw = security.new_password()
    store.add_user(data, "admin", "admin", security.hash_password(pw), must_change=True)
    store.audit(data, "user_add", login="(serve)", target="admin", detail="首次启动创建的管理员")
    return "admin", pw


def serve(data_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, https_only: bool = False,
          max_upload_mb: int = 500, run_timeout_min: float = 60, memory_gb: float = 8.0,
          echo=print) -> None:
    import uvicorn
    data = open_data(data_dir)
    created = first_admin(data)
    if created:
        echo(f"已创建管理员账号 {created[0]}，一次性密码：{created[1]}（首次登录后须修改；只显示这一次）")
    settings = Settings(data=data, https_only=https_only, max_upload=int(max_upload_mb) * 1024 ** 2,
                        limits=Limits(run_timeout_s=max(1, round(run_timeout_min * 60)), memory_bytes=int(memory_gb * 1024 ** 3)))
    app = create_app(settings)
    echo(f"审计门户已启动：http://{host}:{port}/ （数据文件夹 {data.root}；按 Ctrl-C 停止）")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False,
                            timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:     # uvicorn re-raises the Ctrl-C it handled, once it has shut down: a normal stop
        pass
    except OSError as exc:
        raise UsageError(f"无法在 {host}:{port} 上启动（{exc.strerror or exc}）：端口可能已被占用，请用 --port 换一个"
                         ) from None
    echo("审计门户已停止。")


# ---------------------------------------------------------------------------------------------------- users
def user_add(data_dir, login: str, role: str, password: str, department: str | None = None) -> None:
    data = open_data(data_dir)
    department = normalise_department(department)
    problem = user_problem(login, role, department)
    if problem:
        raise UsageError(problem)
    problem = security.password_problem(password)
    if problem:
        raise UsageError(problem)
    if store.get_user(data, login=login):
        raise UsageError(f"用户 {login} 已存在：修改密码请用 sharecheck user passwd {login}")
    store.add_user(data, login, role, security.hash_password(password), department=department,
                   dept_code=department if department and is_code(department) else None)
    store.audit(data, "user_add", login="(命令行)", target=login, detail=role)


def _existing(data: store.DataDir, login: str) -> dict:
    u = store.get_user(data, login=login)
    if u is None:
        raise UsageError(f"用户 {login} 不存在：用 sharecheck user list 查看全部用户")
    return u


def user_list(data_dir) -> list[dict]:
    return store.list_users(open_data(data_dir, create=False))


def user_disable(data_dir, login: str, enable: bool = False) -> None:
    data = open_data(data_dir, create=False)
    u = _existing(data, login)
    store.update_user(data, u["id"], disabled=0 if enable else 1)
    store.bump_session(data, u["id"])
    if not enable:
        store.revoke_tokens(data, u["id"])      # a re-enabled user needs a new token
    store.audit(data, "user_enable" if enable else "user_disable", login="(命令行)", target=login)


def user_passwd(data_dir, login: str, password: str) -> None:
    data = open_data(data_dir, create=False)
    u = _existing(data, login)
    problem = security.password_problem(password)
    if problem:
        raise UsageError(problem)
    store.update_user(data, u["id"], pw_hash=security.hash_password(password), must_change=0)
    store.bump_session(data, u["id"])
    store.audit(data, "passwd", login="(命令行)", target=login)


def user_token(data_dir, login: str) -> str:
    data = open_data(data_dir, create=False)
    u = _existing(data, login)
    if u["disabled"]:
        raise UsageError(f"用户 {login} 已停用：先用 sharecheck user enable {login} 启用")
    token = security.new_token()
    store.add_token(data, u["id"], security.token_digest(token))
    store.audit(data, "token", login="(命令行)", target=login)
    return token
