"""The portal's FastAPI application: server-rendered pages (Chinese, usable without JavaScript) and the JSON API.

Permissions (re-read from the database on every request):
    auditor     new runs, pre-check, run pages, downloads, publish, history, waivers
    admin       everything an auditor may, plus users and the audit log
    department  its own published results and only its own 部门报告/<部门>_<期间>.xlsx

Pages use a signed session cookie (HttpOnly, SameSite=Lax, Secure with ``https_only``) and a CSRF token on every
form plus an Origin check; the API uses ``Authorization: Bearer <token>`` only (no cookies, so no CSRF).
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware

from .. import __version__
from ..model import Period
from ..pipeline import parse_as_of
from ..errors import SharecheckError
from . import charts, jobs, security, store

HERE = Path(__file__).parent
INPUT_EXTS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".parquet", ".zip")
WAIVER_EXTS = (".xlsx", ".csv")
PARAM_EXTS = (".yaml", ".yml")
CALENDAR_EXTS = (".xlsx", ".csv")
PAGE_SIZE = 200
UPLOAD_PATHS = ("/runs/new", "/api/runs", "/waivers")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
# report.html is self-contained (inline script and style); served in a sandbox it gets an opaque origin and can
# neither read the portal's cookies nor call it
REPORT_CSP = ("sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
              "img-src data:; frame-ancestors 'none'")


@dataclass
class Settings:
    data: store.DataDir
    https_only: bool = False
    max_upload: int = 500 * 1024 ** 2
    limits: jobs.Limits | None = None
    start_worker: bool = True


class LoginRequired(Exception):
    pass


class Denied(Exception):
    def __init__(self, message: str = "没有权限访问此页面", status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


class TooLarge(Exception):
    pass


# ---------------------------------------------------------------------------------------------------- middleware
class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])]
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin"), (b"cache-control", b"no-store")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = dict(message, headers=headers)
            await send(message)
        await self.app(scope, receive, send_with_headers)


class UploadLimit:
    """Refuse a request body larger than ``limit`` while it streams in (413), before it is parsed or stored."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        limit = self.limit if scope["path"] in UPLOAD_PATHS else 1024 ** 2
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > limit:
                return await _too_large(scope, send, limit)
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)
        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge:
            if not started:
                await _too_large(scope, send, limit)


async def _too_large(scope, send, limit: int) -> None:
    mb = limit // 1024 ** 2
    api = scope["path"].startswith("/api/")
    body = (json.dumps({"error": f"上传内容超过上限 {mb} MB"}, ensure_ascii=False) if api else
            f"<!doctype html><meta charset='utf-8'><title>上传过大</title><p>上传内容超过上限 {mb} MB："
            "请拆分后分批上传，或请管理员调大上限（sharecheck serve --max-upload-mb）。</p>").encode("utf-8")
    ctype = b"application/json" if api else b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------------------------------- helpers
def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def clean_name(name: str | None) -> str | None:
    """The base name of an uploaded file, without control characters; None when nothing usable is left."""
    if not name:
        return None
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().lstrip(".")
    if not base or base in ("..",) or len(base.encode("utf-8")) > 200:
        return None
    return base


def _ext(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _period_error(period: str, as_of: str) -> tuple[str | None, str | None]:
    """(normalised period, error): the period and as_of checked as the pipeline checks them."""
    try:
        p = Period.parse(period)
        parse_as_of(as_of or None, p)
        return p.label, None
    except SharecheckError as exc:        # worded for fields, not flags, below the CLI
        return None, " ".join(str(exc).split())


def name_key(text: str | None) -> str:
    """A department name as compared: NFKC, no white space (full-width brackets or a stray space still match)."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split())


def own_departments(user: dict, departments: list[dict]) -> list[dict]:
    """The departments of a run that are the user's: by 部门代码 wherever the run's 部门名录 gives the user's code;
    by name (or a code given as the department) where it does not."""
    code = user.get("dept_code")
    if code and any(d.get("code") == code for d in departments):
        return [d for d in departments if d.get("code") == code]
    given = name_key(user.get("department"))
    if not given:
        return []
    return [d for d in departments if given == name_key(d.get("name")) or given == (d.get("code") or "")]


@functools.lru_cache(maxsize=16)
def _csv_cached(path: str, mtime: float):
    import pandas as pd
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def read_csv(path: Path):
    import pandas as pd
    if not path.exists():
        return pd.DataFrame()
    return _csv_cached(str(path), path.stat().st_mtime)


def _records(frame, limit: int | None = None) -> list[dict]:
    if frame is None or not len(frame):
        return []
    return (frame.head(limit) if limit else frame).to_dict("records")


# ---------------------------------------------------------------------------------------------------- the app
def create_app(settings: Settings) -> FastAPI:
    data = settings.data.setup()
    limits = settings.limits or jobs.Limits()
    queue = jobs.Queue(data, limits)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    from ..model import TABLE_TITLES
    env.globals.update(version=__version__, TABLE_TITLES=TABLE_TITLES, STATUS_TITLES=store.STATUS_TITLES, ROLE_TITLES=store.ROLE_TITLES,
                       AUDIT_TITLES=store.AUDIT_TITLES, quote=quote)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        interrupted = store.mark_interrupted(data)
        for rid in interrupted:
            store.audit(data, "run_failed", "failed", target=f"run:{rid}", detail="服务重启：运行被中断")
        if settings.start_worker:
            queue.start_worker()
        yield
        if settings.start_worker:
            for rid in queue.stop_worker():
                store.update_run(data, rid, status="interrupted", stage=None, finished_at=store.now_text(),
                                 error="服务停止时本次运行尚未完成：请点击「重新运行」")

    app = FastAPI(title="sharecheck 审计门户 API", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.queue, app.state.data = queue, data
    app.add_middleware(SessionMiddleware, secret_key=data.secret(), session_cookie="sharecheck_session",
                       max_age=8 * 3600, same_site="lax", https_only=settings.https_only)
    app.add_middleware(UploadLimit, limit=settings.max_upload)
    app.add_middleware(SecurityHeaders)

    # ------------------------------------------------------------------------------------------------ auth
    def session_user(request: Request) -> dict | None:
        uid = request.session.get("uid")
        if uid is None:
            return None
        u = store.get_user(data, user_id=int(uid))
        if u is None or u["disabled"] or u["session_gen"] != request.session.get("gen"):
            request.session.clear()
            return None
        return u

    def page_user(request: Request, *roles: str) -> dict:
        u = session_user(request)
        if u is None:
            raise LoginRequired()
        if u["must_change"] and request.url.path != "/password":
            raise _Redirect("/password")
        if roles and u["role"] not in roles:
            store.audit(data, "view", "denied", login=u["login"], target=request.url.path, ip=_client_ip(request))
            raise Denied()
        return u

    def api_user(request: Request, *roles: str) -> dict:
        auth = request.headers.get("authorization", "")
        m = re.fullmatch(r"Bearer\s+(\S+)", auth.strip())
        u = store.user_of_token(data, security.token_digest(m[1])) if m else None
        if u is None or u["disabled"]:
            raise Denied("未提供有效的 API 令牌（Authorization: Bearer <令牌>）", 401)
        if roles and u["role"] not in roles:
            store.audit(data, "view", "denied", login=u["login"], target=request.url.path, ip=_client_ip(request))
            raise Denied("该令牌的用户没有此权限")
        return u

    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = security.new_csrf()
            request.session["csrf"] = tok
        return tok

    def same_origin(request: Request) -> bool:
        host = request.headers.get("host", "")
        origin = request.headers.get("origin")
        if origin is not None:
            return origin != "null" and urlsplit(origin).netloc == host
        ref = request.headers.get("referer")
        return ref is None or urlsplit(ref).netloc == host

    def check_form(request: Request, form) -> None:
        if not same_origin(request) or not security.csrf_ok(request.session.get("csrf"), form.get("csrf_token")):
            raise Denied("表单已过期或来源不对（CSRF 校验失败）：请刷新页面后重试", 400)

    async def posted(request: Request, *roles: str) -> tuple[dict, Any]:
        """The user (with one of ``roles``) and the form of a page POST, CSRF and Origin checked."""
        u = page_user(request, *roles)
        form = await request.form()
        check_form(request, form)
        return u, form

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        u = ctx.pop("user", None)
        if u is None:
            u = session_user(request)
        html = env.get_template(name).render(request=request, user=u, csrf=csrf_token(request),
                                             flash=request.session.pop("flash", None), **ctx)
        return HTMLResponse(html, status_code=status)

    def flash(request: Request, text: str) -> None:
        request.session["flash"] = text

    class _Redirect(Exception):
        def __init__(self, url: str):
            self.url = url

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc):
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)

    @app.exception_handler(_Redirect)
    async def _redirect(_request: Request, exc):
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return render(request, "error.html", status=exc.status, title="无法访问", message=exc.message)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _exc):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "请求的参数不对：运行编号应为整数"}, status_code=422)
        return render(request, "error.html", status=404, title="页面不存在", message="您要找的页面或文件不存在。")

    @app.exception_handler(404)
    async def _not_found(request: Request, _exc):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "不存在"}, status_code=404)
        return render(request, "error.html", status=404, title="页面不存在", message="您要找的页面或文件不存在。")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc):
        import logging
        logging.getLogger("sharecheck.portal").exception("internal error on %s", request.url.path)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "内部错误：请联系管理员"}, status_code=500)
        return HTMLResponse("<!doctype html><meta charset='utf-8'><p>内部错误：请联系管理员。</p>", status_code=500)

    def get_run_or_404(run_id: int) -> dict:
        r = store.get_run(data, run_id)
        if r is None:
            raise Denied("运行不存在", 404)
        return r

    # ------------------------------------------------------------------------------------------------ static
    @app.get("/static/portal.css", include_in_schema=False)
    def css():
        return FileResponse(HERE / "static" / "portal.css", media_type="text/css")

    # ------------------------------------------------------------------------------------------------ login
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        u = page_user(request)
        return RedirectResponse("/dept" if u["role"] == "department" else "/runs", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/"):
        return render(request, "login.html", next=next if next.startswith("/") and not next.startswith("//")
                      else "/", error=None)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        nxt = str(form.get("next") or "/")
        nxt = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"
        ip = _client_ip(request)
        check_form(request, form)
        wait = security.throttled(data, username, ip)
        if wait:
            store.audit(data, "login_throttled", "denied", login=username, ip=ip)
            return render(request, "login.html", status=429, next=nxt,
                          error=f"登录失败次数过多，请 {max(1, -(-wait // 60))} 分钟后再试")
        u = store.get_user(data, login=username)
        ok = u is not None and not u["disabled"] and security.verify_password(u["pw_hash"], password)
        if not ok:
            if u is None:
                security.verify_password(security.hash_password("x" * 12), password)   # same time either way
            store.record_failure(data, username, ip)
            store.audit(data, "login_failed", "denied", login=username, ip=ip)
            return render(request, "login.html", status=401, next=nxt, error="用户名或密码不对，或账号已停用")
        if security.needs_rehash(u["pw_hash"]):
            store.update_user(data, u["id"], pw_hash=security.hash_password(password))
        store.clear_failures(data, username)
        request.session.clear()                        # a new session at login (no fixation)
        request.session.update(uid=u["id"], gen=u["session_gen"], csrf=security.new_csrf())
        store.audit(data, "login", login=username, ip=ip)
        return RedirectResponse("/password" if u["must_change"] else nxt, status_code=303)

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        form = await request.form()
        check_form(request, form)
        u = session_user(request)
        request.session.clear()
        if u:
            store.audit(data, "logout", login=u["login"], ip=_client_ip(request))
        return RedirectResponse("/login", status_code=303)

    @app.get("/password", include_in_schema=False)
    def password_page(request: Request):
        u = page_user(request)
        return render(request, "password.html", user=u, error=None)

    @app.post("/password", include_in_schema=False)
    async def password_change(request: Request):
        u, form = await posted(request)
        old, new, again = (str(form.get(k) or "") for k in ("old_password", "new_password", "new_password2"))
        error = None
        if not security.verify_password(u["pw_hash"], old):
            error = "原密码不对"
        elif new != again:
            error = "两次输入的新密码不一致"
        elif new == old:
            error = "新密码不能与原密码相同"
        else:
            error = security.password_problem(new)
        if error:
            return render(request, "password.html", status=400, user=u, error=error)
        store.update_user(data, u["id"], pw_hash=security.hash_password(new), must_change=0)
        store.bump_session(data, u["id"])
        fresh = store.get_user(data, user_id=u["id"])
        request.session.clear()
        request.session.update(uid=u["id"], gen=fresh["session_gen"], csrf=security.new_csrf())
        store.audit(data, "passwd", login=u["login"], ip=_client_ip(request))
        flash(request, "密码已修改")
        return RedirectResponse("/", status_code=303)

    # ------------------------------------------------------------------------------------------------ uploads
    async def save_upload(request: Request, form, who: str) -> tuple[int | None, str | None]:
        """Create a draft run from a multipart form: (run id, error)."""
        period_in = str(form.get("period") or "").strip()
        as_of = str(form.get("as_of") or "").strip()
        if len(period_in) > 20 or len(as_of) > 20:
            return None, "「审计期间」或「基准日」格式不对：期间如 2026-10 或 2026-Q4，基准日如 2026-10-31"
        if not period_in:
            return None, "请填写「审计期间」，如 2026-10 或 2026-Q4"
        period, err = _period_error(period_in, as_of)
        if err:
            return None, err
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not files:
            return None, "请选择要上传的导出文件（可多选，或一个 zip 压缩包）"
        names: list[str] = []
        for f in files:
            name = clean_name(f.filename)
            if name is None:
                return None, f"文件名「{f.filename}」无法使用：请重命名后上传"
            if _ext(name) not in INPUT_EXTS:
                return None, (f"文件 {name} 的格式「{_ext(name) or '无扩展名'}」不支持：可上传 "
                              + "、".join(INPUT_EXTS))
            if name in names:
                return None, f"上传了两个同名文件 {name}：请重命名其中一个"
            names.append(name)
        extras: dict[str, tuple[UploadFile, str]] = {}
        for field, title, exts in (("waivers", "豁免文件", WAIVER_EXTS), ("params", "参数文件", PARAM_EXTS),
                                   ("calendar", "工作日历文件", CALENDAR_EXTS)):
            f = form.get(field)
            if isinstance(f, UploadFile) and f.filename:
                name = clean_name(f.filename)
                if name is None or _ext(name) not in exts:
                    return None, f"{title}「{f.filename}」格式不对：应为 {'、'.join(exts)}"
                extras[field] = (f, name)
        options = {k: n for k, (_f, n) in extras.items()}
        use_current = "waivers" not in extras and form.get("use_current_waivers", "1") == "1"
        current = data.current_waivers() if use_current else None
        if current is not None:
            options["waivers"] = current.name + "（当前豁免清单）"
        rid = store.add_run(data, period, as_of or None, who, options=options)
        rd = data.run_dir(rid)
        for sub in ("inputs", "zips", "options", "portal"):
            (rd / sub).mkdir(parents=True, exist_ok=True)
        for f, name in zip(files, names):
            target = rd / ("zips" if _ext(name) == ".zip" else "inputs") / name
            with open(target, "wb") as out:
                await _copy(f, out)
        job = {"period": period, "as_of": as_of or None}
        for field, (f, name) in extras.items():        # kept under the name given: messages name that file
            (rd / "options" / field).mkdir()
            with open(rd / "options" / field / name, "wb") as out:
                await _copy(f, out)
            job[field] = f"options/{field}/{name}"
        if current is not None:
            (rd / "options" / "waivers").mkdir()
            shutil.copyfile(current, rd / "options" / "waivers" / current.name)
            job["waivers"] = f"options/waivers/{current.name}"
        (rd / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        store.audit(data, "upload", login=who, target=f"run:{rid}", ip=_client_ip(request),
                    detail="、".join(names)[:400])
        return rid, None

    # ------------------------------------------------------------------------------------------------ runs
    @app.get("/runs/new", include_in_schema=False)
    def new_run_page(request: Request):
        u = page_user(request, "auditor", "admin")
        return render(request, "new_run.html", user=u, error=None, current_waivers=data.current_waivers(),
                      max_mb=settings.max_upload // 1024 ** 2, form={})

    @app.post("/runs/new", include_in_schema=False)
    async def new_run(request: Request):
        u, form = await posted(request, "auditor", "admin")
        rid, error = await save_upload(request, form, u["login"])
        if error:
            return render(request, "new_run.html", status=400, user=u, error=error,
                          current_waivers=data.current_waivers(), max_mb=settings.max_upload // 1024 ** 2,
                          form={k: str(form.get(k) or "") for k in ("period", "as_of")})
        from starlette.concurrency import run_in_threadpool
        _pc, pc_error = await run_in_threadpool(jobs.precheck, data, rid, limits)
        if pc_error:       # a file that cannot be read at all: the run ends here, with the message on its page
            store.update_run(data, rid, status="failed", error=pc_error, finished_at=store.now_text())
        store.audit(data, "precheck", "failed" if pc_error else "ok", login=u["login"], target=f"run:{rid}",
                    ip=_client_ip(request), detail=pc_error)
        return RedirectResponse(f"/runs/{rid}/precheck", status_code=303)

    @app.get("/runs/{run_id}/precheck", include_in_schema=False)
    def precheck_page(request: Request, run_id: int):
        u = page_user(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        pc = jobs.prechecked(data, run_id)
        err_file = data.run_dir(run_id) / "portal" / "error.json"
        error = None
        if pc is None and err_file.exists():
            error = json.loads(err_file.read_text(encoding="utf-8")).get("error")
        return render(request, "precheck.html", user=u, run=r, pc=pc, error=error)

    @app.post("/runs/{run_id}/start", include_in_schema=False)
    async def start_run(request: Request, run_id: int):
        u, form = await posted(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        if r["status"] == "draft":
            queue.enqueue(run_id)
            store.audit(data, "run", login=u["login"], target=f"run:{run_id}", ip=_client_ip(request))
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    @app.post("/runs/{run_id}/rerun", include_in_schema=False)
    async def rerun(request: Request, run_id: int):
        u, form = await posted(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        if r["status"] not in ("done", "failed", "interrupted"):
            raise Denied("这次运行尚未结束，不能重新运行", 409)
        new_id = clone_run(r, u["login"])
        store.audit(data, "rerun", login=u["login"], target=f"run:{new_id}", ip=_client_ip(request),
                    detail=f"重新运行 run:{run_id}")
        queue.enqueue(new_id)
        return RedirectResponse(f"/runs/{new_id}", status_code=303)

    def clone_run(r: dict, who: str) -> int:
        new_id = store.add_run(data, r["period"], r["as_of"], who, rerun_of=r["id"], options=r["options"])
        src, dst = data.run_dir(r["id"]), data.run_dir(new_id)
        dst.mkdir(parents=True)
        for sub in ("inputs", "zips", "options"):
            if (src / sub).is_dir():
                shutil.copytree(src / sub, dst / sub, symlinks=True)
        for f in ("job.json", child_prepared()):
            if (src / f).exists():
                shutil.copyfile(src / f, dst / f)
        (dst / "portal").mkdir(exist_ok=True)
        return new_id

    def child_prepared() -> str:
        from .child import PREPARED
        return PREPARED

    @app.get("/runs/{run_id}", include_in_schema=False)
    def run_page(request: Request, run_id: int):
        u = page_user(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        if r["status"] == "draft":
            return RedirectResponse(f"/runs/{run_id}/precheck", status_code=303)
        res = jobs.results_of(data, run_id) if r["status"] == "done" else None
        ctx: dict[str, Any] = {"run": r, "res": res, "files": [], "chart": None}
        if res:
            ranked = sorted(res["departments"], key=lambda d: (d["rank"] is None, d["rank"] or 0, d["name"]))
            ctx["chart"] = charts.score_bars([{"name": d["name"], "score": d["score"], "grade": d["grade"]}
                                              for d in ranked if d["score"] is not None or d["rank"] is not None])
            ctx["ranked"] = ranked
            ctx["files"] = list(jobs.run_files(data, run_id))
            portal = data.run_dir(run_id) / "portal"
            ctx["pending"] = _records(read_csv(portal / "pending.csv"), 500)
            ctx["defects"] = _records(read_csv(portal / "defects.csv"), 500)
            ctx["defects_total"] = len(read_csv(portal / "defects.csv"))
            ctx["not_checked"] = _records(read_csv(portal / "not_checked.csv"))
            ctx["skipped"] = _records(read_csv(portal / "skipped.csv"))
        return render(request, "run.html", user=u, **ctx)

    @app.get("/runs/{run_id}/findings", include_in_schema=False)
    def findings_page(request: Request, run_id: int, department: str = "", rule: str = "", severity: str = "",
                      status: str = "", page: int = 1):
        u = page_user(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        f = read_csv(data.run_dir(run_id) / "out" / "findings.csv")
        options = {c: sorted(set(f[c])) if c in f.columns else [] for c in ("department", "rule_id", "severity",
                                                                           "status")}
        sel = f
        for col, val in (("department", department), ("rule_id", rule), ("severity", severity), ("status", status)):
            if val and col in sel.columns:
                sel = sel[sel[col] == val]
        total = len(sel)
        page = max(1, page)
        rows = _records(sel.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
        return render(request, "findings.html", user=u, run=r, rows=rows, total=total, page=page,
                      pages=max(1, -(-total // PAGE_SIZE)), options=options,
                      sel={"department": department, "rule": rule, "severity": severity, "status": status})

    @app.get("/runs/{run_id}/departments/{name}", include_in_schema=False)
    def department_page(request: Request, run_id: int, name: str):
        u = page_user(request, "auditor", "admin")
        r = get_run_or_404(run_id)
        res = jobs.results_of(data, run_id) or {"departments": []}
        dept = next((d for d in res["departments"] if d["name"] == name), None)
        if dept is None:
            raise Denied("该部门不在这次运行的结果中", 404)
        sc = read_csv(data.run_dir(run_id) / "out" / "scorecard.csv")
        row = sc[sc["department"] == name].to_dict("records")[0] if len(sc) and (sc["department"] == name).any() \
            else {}
        f = read_csv(data.run_dir(run_id) / "out" / "findings.csv")
        rows = _records(f[f["department"] == name]) if len(f) else []
        return render(request, "department.html", user=u, run=r, dept=dept, score_row=row, rows=rows)

    @app.post("/runs/{run_id}/publish", include_in_schema=False)
    async def publish_page(request: Request, run_id: int):
        u, form = await posted(request, "auditor", "admin")
        do_publish(request, run_id, u)
        flash(request, "已发布：各部门现在可以看到本期结果并下载本部门报告")
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    def do_publish(request: Request, run_id: int, u: dict) -> None:
        r = get_run_or_404(run_id)
        if r["status"] != "done":
            raise Denied("只有已完成的运行可以发布", 409)
        store.publish_run(data, run_id, u["login"])
        res = jobs.results_of(data, run_id) or {"departments": []}
        by_name = {name_key(d["name"]): d for d in res["departments"]}
        for usr in store.list_users(data):      # a user created with a name learns its 部门代码 here, once
            if usr["role"] == "department" and not usr["dept_code"]:
                d = by_name.get(name_key(usr["department"]))
                if d and d.get("code"):
                    store.update_user(data, usr["id"], dept_code=d["code"])
        store.audit(data, "publish", login=u["login"], target=f"run:{run_id}", ip=_client_ip(request),
                    detail=f"期间 {r['period']}")

    # ------------------------------------------------------------------------------------------------ files
    def serve_file(request: Request, u: dict, run_id: int, path: str) -> Response:
        r = get_run_or_404(run_id)
        allowed = jobs.run_files(data, run_id) if r["status"] == "done" else {}
        target = allowed.get(path)
        ip = _client_ip(request)
        if u["role"] == "department":
            res = jobs.results_of(data, run_id) or {"departments": []}
            own = [d["file"] for d in own_departments(u, res["departments"]) if d.get("file")]
            if not r["published_at"] or path not in own:
                store.audit(data, "download", "denied", login=u["login"], target=f"run:{run_id}/{path}"[:300], ip=ip)
                raise Denied("只能下载本部门已发布的报告")
        if target is None:
            raise Denied("文件不存在", 404)
        store.audit(data, "download", login=u["login"], target=f"run:{run_id}/{path}", ip=ip)
        name = PurePosixPath(path).name
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        headers = {"content-disposition": disposition}
        media = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".csv": "text/csv; charset=utf-8", ".json": "application/json", ".zip": "application/zip",
                 ".parquet": "application/octet-stream", ".html": "text/html; charset=utf-8"}.get(
                     target.suffix.lower(), "application/octet-stream")
        if target.suffix.lower() == ".html" and request.query_params.get("view") == "1":
            headers = {"content-security-policy": REPORT_CSP}
        return FileResponse(target, media_type=media, headers=headers)

    @app.get("/runs/{run_id}/files/{path:path}", include_in_schema=False)
    def file_page(request: Request, run_id: int, path: str):
        return serve_file(request, page_user(request), run_id, path)

    # ------------------------------------------------------------------------------------------------ history
    @app.get("/runs", include_in_schema=False)
    def history_page(request: Request):
        u = page_user(request, "auditor", "admin")
        runs = store.list_runs(data)
        current = store.current_runs(data)
        trend = trend_data(request.query_params.getlist("dept"))
        return render(request, "history.html", user=u, runs=runs, current=current, **trend)

    def trend_data(picked: list[str]) -> dict:
        import sqlite3 as _sq
        if not data.history.exists():
            return {"trend_chart": None, "trend_depts": [], "picked": []}
        try:
            conn = _sq.connect(f"file:{data.history}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute("SELECT s.period, s.department, s.score, s.grade FROM scores s JOIN periods p "
                                    "ON p.period = s.period WHERE p.kind = 'M' ORDER BY p.start, s.department"
                                    ).fetchall()
            finally:
                conn.close()
        except _sq.Error:
            return {"trend_chart": None, "trend_depts": [], "picked": []}
        periods = list(dict.fromkeys(r[0] for r in rows))
        if not periods:
            return {"trend_chart": None, "trend_depts": [], "picked": []}
        scores: dict[str, dict[str, float | None]] = {}
        grades: dict[str, str | None] = {}
        for p, d, s, g in rows:
            scores.setdefault(d, {})[p] = s
            if p == periods[-1]:
                grades[d] = g
        latest = {d: v.get(periods[-1]) for d, v in scores.items() if periods[-1] in v}
        prev = {d: v.get(periods[-2]) for d, v in scores.items()} if len(periods) > 1 else {}
        names = sorted(scores)
        chosen = [d for d in picked if d in scores] or charts.default_followed(latest, prev, grades)
        series = {d: [scores[d].get(p) for p in periods] for d in chosen}
        return {"trend_chart": charts.trend_lines(periods, series), "trend_depts": names, "picked": chosen,
                "default_pick": not [d for d in picked if d in scores]}

    # ------------------------------------------------------------------------------------------------ waivers
    @app.get("/waivers", include_in_schema=False)
    def waivers_page(request: Request):
        u = page_user(request, "auditor", "admin")
        return render(request, "waivers.html", user=u, current=data.current_waivers(), usage=waiver_usage(),
                      source=waiver_source(), error=None)

    def waiver_source() -> list[str] | None:
        p = data.waivers_dir / "来源.txt"
        return p.read_text(encoding="utf-8").splitlines()[:3] if p.exists() else None

    def waiver_usage() -> dict | None:
        """Waivers as the newest finished run that used them applied them (expired and unused flagged)."""
        for r in store.list_runs(data):
            if r["status"] == "done" and r["options"].get("waivers"):
                f = read_csv(data.run_dir(r["id"]) / "portal" / "waivers.csv")
                return {"run": r, "rows": _records(f)}
        return None

    @app.post("/waivers", include_in_schema=False)
    async def waivers_upload(request: Request):
        u, form = await posted(request, "auditor", "admin")
        f = form.get("file")
        name = clean_name(f.filename) if isinstance(f, UploadFile) and f.filename else None
        error = None
        if name is None:
            error = "请选择豁免文件（.xlsx 工作表「豁免」或 .csv）"
        elif _ext(name) not in WAIVER_EXTS:
            error = f"豁免文件格式「{_ext(name)}」不支持：应为 .xlsx 或 .csv"
        if error is None:
            staged = data.waivers_dir / f".upload{_ext(name)}"
            with open(staged, "wb") as out:
                await _copy(f, out)
            from starlette.concurrency import run_in_threadpool
            error = await run_in_threadpool(check_waivers, staged)
            if error is None:
                for old in data.waivers_dir.glob("当前豁免.*"):
                    old.unlink()
                os.replace(staged, data.waivers_dir / f"当前豁免{_ext(name)}")
                (data.waivers_dir / "来源.txt").write_text(f"{name}\n{u['login']}\n{store.now_text()}\n",
                                                          encoding="utf-8")
                store.audit(data, "waivers", login=u["login"], ip=_client_ip(request), detail=name)
                flash(request, f"豁免清单已更新（{name}），之后的运行将使用它")
                return RedirectResponse("/waivers", status_code=303)
            staged.unlink(missing_ok=True)
        return render(request, "waivers.html", status=400, user=u, current=data.current_waivers(),
                      usage=waiver_usage(), source=waiver_source(), error=error)

    def check_waivers(path: Path) -> str | None:
        """Validate a waivers file in a child process (it is a user file like any export)."""
        import subprocess
        import sys
        code = ("import sys\nfrom checker.waivers import read_waivers\nfrom checker.engine import load_pack\n"
                "from checker.errors import SharecheckError\n"
                "ids=list(load_pack('gz165').rule_info()['rule_id'])\n"
                "try:\n    read_waivers(sys.argv[1], ids)\nexcept SharecheckError as e:\n"
                "    print(' '.join(str(e).split())); sys.exit(2)\n")
        try:
            p = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                               preexec_fn=jobs._preexec(limits.memory_bytes))
        except subprocess.TimeoutExpired:
            return "豁免文件读取超时：请检查文件"
        if p.returncode == 0:
            return None
        msg = p.stdout.strip().splitlines()[-1] if p.returncode == 2 and p.stdout.strip() else "豁免文件无法读取"
        return msg.replace(str(path), "上传的豁免文件")

    # ------------------------------------------------------------------------------------------------ departments
    @app.get("/dept", include_in_schema=False)
    def dept_home(request: Request):
        u = page_user(request, "department")
        items = []
        for r in store.published_runs(data):
            res = jobs.results_of(data, r["id"]) or {"departments": []}
            mine = next(iter(own_departments(u, res["departments"])), None)
            if mine:
                f = read_csv(data.run_dir(r["id"]) / "out" / "findings.csv")
                rows = _records(f[f["department"] == mine["name"]]) if len(f) else []
                items.append({"run": r, "dept": mine, "rows": rows})
        return render(request, "dept_home.html", user=u, items=items)

    # ------------------------------------------------------------------------------------------------ admin
    @app.get("/admin/users", include_in_schema=False)
    def users_page(request: Request):
        u = page_user(request, "admin")
        return render(request, "users.html", user=u, users=store.list_users(data), error=None, new_password=None)

    @app.post("/admin/users", include_in_schema=False)
    async def users_add(request: Request):
        u, form = await posted(request, "admin")
        login_ = str(form.get("login") or "").strip()
        role = str(form.get("role") or "")
        dept = normalise_department(form.get("department"))
        error = user_problem(login_, role, dept)
        if error:
            return render(request, "users.html", status=400, user=u, users=store.list_users(data), error=error,
                          new_password=None)
        pw = security.new_password()
        store.add_user(data, login_, role, security.hash_password(pw), department=dept,
                       dept_code=dept if dept and is_code(dept) else None, must_change=True)
        store.audit(data, "user_add", login=u["login"], target=login_, ip=_client_ip(request), detail=role)
        return render(request, "users.html", user=u, users=store.list_users(data), error=None,
                      new_password=(login_, pw))

    @app.post("/admin/users/{user_id}/{action}", include_in_schema=False)
    async def users_toggle(request: Request, user_id: int, action: str):
        u, form = await posted(request, "admin")
        target = store.get_user(data, user_id=user_id)
        if target is None or action not in ("disable", "enable"):
            raise Denied("用户不存在", 404)
        if target["id"] == u["id"]:
            raise Denied("不能停用自己的账号", 400)
        store.update_user(data, user_id, disabled=int(action == "disable"))
        store.bump_session(data, user_id)
        if action == "disable":
            store.revoke_tokens(data, user_id)
        store.audit(data, "user_" + action, login=u["login"], target=target["login"], ip=_client_ip(request))
        return RedirectResponse("/admin/users", status_code=303)

    @app.get("/admin/audit", include_in_schema=False)
    def audit_page(request: Request, page: int = 1, action: str = ""):
        u = page_user(request, "admin")
        page = max(1, page)
        rows = store.audit_log(data, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, action=action or None)
        return render(request, "audit.html", user=u, rows=rows, page=page, action=action)

    # ------------------------------------------------------------------------------------------------ API
    @app.get("/api/health", tags=["api"], summary="服务状态")
    def api_health():
        return {"status": "ok", "version": __version__}

    @app.post("/api/runs", tags=["api"], status_code=202, summary="上传导出文件并开始运行（审计人员）")
    async def api_create(request: Request):
        u = api_user(request, "auditor", "admin")
        form = await request.form()
        rid, error = await save_upload(request, form, u["login"])
        if error:
            return JSONResponse({"error": error}, status_code=400)
        queue.enqueue(rid)
        store.audit(data, "run", login=u["login"], target=f"run:{rid}", ip=_client_ip(request), detail="API")
        return JSONResponse({"id": rid}, status_code=202)

    @app.get("/api/runs", tags=["api"], summary="全部运行（审计人员）")
    def api_list(request: Request):
        api_user(request, "auditor", "admin")
        return [run_json(r) for r in store.list_runs(data)]

    def run_json(r: dict) -> dict:
        return {"id": r["id"], "period": r["period"], "as_of": r["as_of"], "status": r["status"],
                "stage": r["stage"], "error": r["error"], "counts": r["counts"] or {},
                "files": list(jobs.run_files(data, r["id"])) if r["status"] == "done" else [],
                "published": bool(r["published_at"]), "pack": r["pack"], "pack_version": r["pack_version"],
                "created_by": r["created_by"], "created_at": r["created_at"], "finished_at": r["finished_at"]}

    @app.get("/api/runs/{run_id}", tags=["api"], summary="一次运行的状态")
    def api_run(request: Request, run_id: int):
        u = api_user(request)
        r = get_run_or_404(run_id)
        if u["role"] == "department":
            res = jobs.results_of(data, run_id) or {"departments": []}
            mine = own_departments(u, res["departments"])
            if not r["published_at"] or not mine:
                raise Denied("只能查看本部门已发布的结果")
            return {"id": r["id"], "period": r["period"], "status": r["status"], "stage": None, "error": None,
                    "counts": {}, "files": [d["file"] for d in mine if d.get("file")]}
        return run_json(r)

    @app.get("/api/runs/{run_id}/files/{path:path}", tags=["api"], summary="下载一个输出文件")
    def api_file(request: Request, run_id: int, path: str):
        return serve_file(request, api_user(request), run_id, path)

    @app.post("/api/runs/{run_id}/publish", tags=["api"], summary="发布（审计人员）")
    def api_publish(request: Request, run_id: int):
        u = api_user(request, "auditor", "admin")
        do_publish(request, run_id, u)
        return {"id": run_id, "published": True}

    return app


def is_code(text: str) -> bool:
    """A 统一社会信用代码 (18 characters of digits and capitals) rather than a 部门名称."""
    return bool(re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", text))


def normalise_department(text: str | None) -> str | None:
    """A department as given for a user: a code in capitals (codes are written in either case), a name as is."""
    t = unicodedata.normalize("NFKC", str(text or "")).strip()
    if not t:
        return None
    return t.upper() if re.fullmatch(r"[0-9A-Za-z]{18}", t) else t


def code_problem(code: str) -> str | None:
    from ..codes import uscc_check_char
    if not is_code(code):
        return f"部门代码「{code}」含有统一社会信用代码中不用的字符（I O Z S V）：请核对"
    if uscc_check_char(code[:17]) != code[17]:
        return f"部门代码「{code}」的校验位不对（应为 {uscc_check_char(code[:17])}）：请核对"
    return None


def user_problem(login: str, role: str, department: str | None) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", login or ""):
        return "用户名只能包含字母、数字和 _ . @ -，长度 2–64"
    if role not in store.ROLES:
        return f"角色应为 {'、'.join(store.ROLES)}"
    if role == "department" and not department:
        return "部门用户必须指定部门（部门名称或部门代码）"
    if role != "department" and department:
        return "只有部门用户可以指定部门"
    if department and re.fullmatch(r"[0-9A-Z]{18}", department):
        return code_problem(department)
    return None


async def _copy(upload: UploadFile, out) -> None:
    await upload.seek(0)
    while True:
        chunk = await upload.read(1 << 20)
        if not chunk:
            break
        out.write(chunk)
