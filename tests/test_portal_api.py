"""The portal's JSON API and its security, against a real ``sharecheck serve`` on 127.0.0.1."""
from __future__ import annotations

import io
import re
import signal
import time
import zipfile

import httpx
import openpyxl
import pytest

from tests.portal_helpers import server  # noqa: F401 - the module's server fixture
from tests.portal_helpers import zip_bomb
from tests.portal_helpers import DEPTS, PASSWORDS, SAMPLE, Server, free_port, sharecheck, start_server


@pytest.fixture(scope="module")
def sample_run(server):
    rid = server.submit()
    j = server.wait(rid)
    assert j["status"] == "done", j
    return rid


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    r = sharecheck("run", str(SAMPLE), "--period", "2026-10", "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return out


def test_health(server):
    r = httpx.get(server.url + "/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_run_json_and_findings_equal_the_command_line(server, sample_run, cli_out):
    with server.api("aud") as c:
        j = c.get(f"/api/runs/{sample_run}").json()
        assert set(j) >= {"id", "period", "status", "stage", "error", "counts", "files"}
        assert j["period"] == "2026-10" and j["status"] == "done" and j["error"] is None
        assert j["counts"]["findings"] == 100 and j["counts"]["departments"] == 23
        assert "findings.csv" in j["files"] and "审计报告_2026-10.xlsx" in j["files"]
        assert "部门报告/广州市民政局_2026-10.xlsx" in j["files"]
        for name in ("findings.csv", "scorecard.csv"):
            r = c.get(f"/api/runs/{sample_run}/files/{name}")
            assert r.status_code == 200
            assert r.content == (cli_out / name).read_bytes(), name
        # the reports name the inputs as uploaded: no path of the server's data folder
        manifest = c.get(f"/api/runs/{sample_run}/files/manifest.json").text
        assert str(server.data) not in manifest and "runs/" not in manifest


def test_department_token_gets_only_its_own_published_workbook(server, sample_run):
    own = "部门报告/广州市民政局_2026-10.xlsx"
    other = ["部门报告/广州市公安局_2026-10.xlsx", "findings.csv", "审计报告_2026-10.xlsx", "report.html",
             "manifest.json", "scorecard.csv", "部门报告_2026-10.zip"]
    with server.api("minzheng") as dept, server.api("aud") as aud:
        # before publication: nothing, not even its own
        assert dept.get(f"/api/runs/{sample_run}/files/{own}").status_code == 403
        assert dept.get(f"/api/runs/{sample_run}").status_code == 403
        assert dept.post(f"/api/runs/{sample_run}/publish").status_code == 403
        assert aud.post(f"/api/runs/{sample_run}/publish").status_code == 200
        r = dept.get(f"/api/runs/{sample_run}/files/{own}")
        assert r.status_code == 200
        wb = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
        rows = list(wb["问题明细"].iter_rows(values_only=True))
        header = list(rows[0])
        depts = {row[header.index("部门")] for row in rows[1:] if row and row[0]}
        assert depts == {DEPTS["minzheng"]}
        for path in other:
            assert dept.get(f"/api/runs/{sample_run}/files/{path}").status_code == 403, path
        assert dept.get(f"/api/runs/{sample_run}").json()["files"] == [own]
        # no upload for a department
        up = dept.post("/api/runs", data={"period": "2026-10"},
                       files=[("files", ("部门名录.xlsx", (SAMPLE / "部门名录.xlsx").read_bytes()))])
        assert up.status_code == 403
    # the user was created with a name; publication taught it its 部门代码
    listing = sharecheck("user", "list", "--data", str(server.data)).stdout
    assert re.search(r"minzheng\s+部门用户\s+广州市民政局\s+[0-9A-Z]{18}", listing), listing
    # every denial is in the audit log
    import sqlite3
    conn = sqlite3.connect(server.data / "portal.db")
    denied = conn.execute("SELECT COUNT(*) FROM audit WHERE login = 'minzheng' AND outcome = 'denied'").fetchone()[0]
    conn.close()
    assert denied >= len(other) + 3


def test_bad_tokens_and_paths(server, sample_run):
    assert httpx.get(f"{server.url}/api/runs/{sample_run}").status_code == 401
    r = httpx.get(f"{server.url}/api/runs/{sample_run}", headers={"Authorization": "Bearer sc_forged"})
    assert r.status_code == 401 and "令牌" in r.json()["error"]
    with server.api("aud") as c:
        for path in ("..%2F..%2Fportal.db", "%2e%2e/job.json", "../job.json", "portal/result.json",
                     "/etc/passwd", "inputs/部门名录.xlsx"):
            assert c.get(f"/api/runs/{sample_run}/files/{path}").status_code in (404, 422), path
        assert c.get("/api/runs/99999").status_code == 404


def test_api_upload_refusals(server):
    with server.api("aud") as c:
        r = c.post("/api/runs", data={"period": "2026-13"},
                   files=[("files", ("部门名录.xlsx", (SAMPLE / "部门名录.xlsx").read_bytes()))])
        assert r.status_code == 400 and "期间" in r.json()["error"]
        r = c.post("/api/runs", data={"period": "2026-10"}, files=[("files", ("evil.exe", b"MZ"))])
        assert r.status_code == 400 and "不支持" in r.json()["error"]
        r = c.post("/api/runs", data={"period": "2026-10", "as_of": "2026-11-05"},
                   files=[("files", ("部门名录.xlsx", (SAMPLE / "部门名录.xlsx").read_bytes()))])
        assert r.status_code == 400 and "基准日" in r.json()["error"] and "--as-of" not in r.json()["error"]


def test_zip_bomb_fails_the_run_and_the_server_stays_up(server, tmp_path):
    bomb = zip_bomb(tmp_path / "导出.zip")
    rid = server.submit(files=[bomb])
    assert httpx.get(server.url + "/api/health").status_code == 200
    j = server.wait(rid)
    assert j["status"] == "failed" and "压缩炸弹" in j["error"] and j["files"] == []
    assert httpx.get(server.url + "/api/health").status_code == 200
    assert not (server.data / "runs" / str(rid) / "out").exists()


def test_zip_of_exports_runs_like_the_files(server, tmp_path, sample_run):
    z = tmp_path / "十月导出.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(SAMPLE.iterdir()):
            zf.write(p, f"2026-10/{p.name}")
        zf.writestr("../../escape.csv", "x")           # a path that tries to leave the folder is skipped
    rid = server.submit(files=[z])
    j = server.wait(rid)
    assert j["status"] == "done", j
    with server.api("aud") as c:
        a = c.get(f"/api/runs/{rid}/files/findings.csv").content
        b = c.get(f"/api/runs/{sample_run}/files/findings.csv").content
    # same findings; statuses are compared with the history of the same period, so only the status may differ
    strip = lambda t: [line.rsplit(",", 1)[0] for line in t.decode("utf-8-sig").splitlines()]  # noqa: E731
    assert strip(a) == strip(b)
    assert not (server.data / "runs" / "escape.csv").exists() and not (server.data / "escape.csv").exists()


def test_hostile_workbook_is_a_failed_run_with_one_line(server, tmp_path):
    bad = tmp_path / "部门名录.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    rid = server.submit(files=[bad])
    j = server.wait(rid)
    assert j["status"] == "failed"
    assert "部门名录.xlsx" in j["error"] and "\n" not in j["error"] and "Traceback" not in j["error"]
    assert httpx.get(server.url + "/api/health").status_code == 200


def _login(client: httpx.Client, user: str, password: str, csrf: bool = True) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    form = {"username": user, "password": password}
    if csrf:
        form["csrf_token"] = token
    return client.post("/login", data=form, headers={"Origin": str(client.base_url).rstrip("/")})


def test_form_login_needs_the_csrf_token(server):
    with httpx.Client(base_url=server.url, follow_redirects=False) as c:
        r = _login(c, "aud", PASSWORDS["aud"], csrf=False)
        assert r.status_code == 400 and "CSRF" in r.text
        assert c.get("/runs").status_code == 303                          # still not logged in
        r = _login(c, "aud", PASSWORDS["aud"])
        assert r.status_code == 303 and "sharecheck_session" in r.headers.get("set-cookie", "")
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert c.get("/runs").status_code == 200
        # a form posted from another site is refused even with the right token
        page = c.get("/runs/new").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        r = c.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 400
        assert c.get("/runs").status_code == 200


def test_pages_send_security_headers(server):
    r = httpx.get(server.url + "/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src" not in csp


def test_login_is_throttled_after_repeated_failures(server):
    with httpx.Client(base_url=server.url) as c:
        for _ in range(5):
            assert _login(c, "gongan", "wrong-password").status_code == 401
        r = _login(c, "gongan", PASSWORDS["gongan"])
        assert r.status_code == 429 and "次数过多" in r.text
    import sqlite3
    conn = sqlite3.connect(server.data / "portal.db")
    n = conn.execute("SELECT COUNT(*) FROM audit WHERE login = 'gongan' AND action = 'login_failed'").fetchone()[0]
    conn.close()
    assert n == 5


def test_upload_cap_is_enforced_while_streaming(tmp_path):
    s = start_server(tmp_path, "--max-upload-mb", "1")
    try:
        big = b"a" * (3 * 1024 ** 2)

        def chunks():
            yield (b'--xyz\r\nContent-Disposition: form-data; name="period"\r\n\r\n2026-10\r\n--xyz\r\n'
                   b'Content-Disposition: form-data; name="files"; filename="x.csv"\r\n\r\n')
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]
            yield b"\r\n--xyz--\r\n"
        with s.api("aud") as c:
            # no Content-Length: the cap must hold on the stream itself
            r = c.post("/api/runs", content=chunks(),
                       headers={"content-type": "multipart/form-data; boundary=xyz"})
            assert r.status_code == 413 and "上限" in r.json()["error"]
            r = c.post("/api/runs", data={"period": "2026-10"}, files=[("files", ("交换日志.csv", big))])
            assert r.status_code == 413
        assert not any((s.data / "runs").iterdir())
    finally:
        s.stop()


def _children_of(pid: int) -> list[int]:
    from pathlib import Path
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    from pathlib import Path
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def test_restart_marks_an_unfinished_run_interrupted_and_keeps_the_queue(tmp_path):
    s = start_server(tmp_path)
    first = s.submit()
    second = s.submit()
    s.wait(first, until=("running",), timeout=60)
    children = _children_of(s.proc.pid)
    s.proc.send_signal(signal.SIGKILL)                  # the worker dies mid-run
    s.proc.wait()
    s.proc = None
    deadline = time.time() + 2                          # its run's child process dies with it
    while any(_alive(c) for c in children) and time.time() < deadline:
        time.sleep(0.1)
    assert children and not any(_alive(c) for c in children)
    s.port = free_port()
    s.start()
    try:
        j = s.wait(first, timeout=30)
        assert j["status"] == "interrupted" and "重新运行" in j["error"]
        assert s.wait(second)["status"] == "done"       # the queued run survived the restart
        c, token = _page_client(s, "aud")
        assert "重新运行" in c.get(f"/runs/{first}").text
        r = c.post(f"/runs/{first}/rerun", data={"csrf_token": token}, headers={"Origin": s.url})
        assert r.status_code == 303
        again = int(r.headers["location"].rsplit("/", 1)[1])
        assert again > second and s.wait(again)["status"] == "done"
    finally:
        code = s.stop(signal.SIGINT)
    assert code == 0 and "已停止" in s.output()


def test_user_commands(tmp_path):
    data = str(tmp_path / "d")
    r = sharecheck("user", "add", "x1", "--role", "department", "--data", data, input="long-enough-pw\n")
    assert r.returncode == 2 and "部门用户必须指定部门" in r.stderr
    r = sharecheck("user", "add", "x1", "--role", "auditor", "--data", data, input="short\n")
    assert r.returncode == 2 and "密码太短" in r.stderr
    assert sharecheck("user", "add", "x1", "--role", "auditor", "--data", data, input="long-enough-pw\n"
                      ).returncode == 0
    r = sharecheck("user", "add", "x1", "--role", "auditor", "--data", data, input="long-enough-pw\n")
    assert r.returncode == 2 and "已存在" in r.stderr
    assert sharecheck("user", "disable", "x1", "--data", data).returncode == 0
    r = sharecheck("user", "token", "x1", "--data", data)
    assert r.returncode == 2 and "已停用" in r.stderr
    assert "已停用" in sharecheck("user", "list", "--data", data).stdout
    r = sharecheck("user", "passwd", "nobody", "--data", data, input="long-enough-pw\n")
    assert r.returncode == 2 and "不存在" in r.stderr
    import sqlite3
    h = sqlite3.connect(tmp_path / "d" / "portal.db").execute("SELECT pw_hash FROM users").fetchone()[0]
    assert h.startswith("$argon2id$")


def test_first_start_creates_admin_with_one_time_password(tmp_path):
    s = Server(data=tmp_path / "fresh", port=free_port()).start()
    try:
        m = re.search(r"管理员账号 admin，一次性密码：(\S+)（", s.output())
        assert m, s.output()
        with httpx.Client(base_url=s.url) as c:
            r = _login(c, "admin", m[1])
            assert r.status_code == 303 and r.headers["location"] == "/password"
            assert c.get("/runs", follow_redirects=False).headers["location"] == "/password"
    finally:
        s.stop()
    for sub in ("portal.db", "queue.db", "secret.key", "runs", "waivers"):
        assert (tmp_path / "fresh" / sub).exists(), sub
    assert (tmp_path / "fresh" / "secret.key").stat().st_mode & 0o077 == 0


def _page_client(server, user: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=server.url, follow_redirects=False, timeout=60)
    assert _login(c, user, PASSWORDS[user]).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/waivers").text)[1]
    return c, token


def test_waivers_page_replaces_the_file_later_runs_use(tmp_path):
    s = start_server(tmp_path)
    try:
        c, token = _page_client(s, "aud")
        origin = {"Origin": s.url}
        bad = "规则编号,部门,记录,理由,批准人,有效期至\nGZ165-99-9,广州市农业农村局,,x,张三,2026-12-31\n"
        r = c.post("/waivers", data={"csrf_token": token}, headers=origin,
                   files={"file": ("豁免.csv", bad.encode("utf-8"))})
        assert r.status_code == 400 and "第 2 行" in r.text and "GZ165-99-9" in r.text
        assert "没有豁免清单" in c.get("/waivers").text
        good = ("规则编号,部门,记录,理由,批准人,有效期至\n"
                "GZ165-08-1,广州市农业农村局,,新设部门，目录编制中,张三,2026-12-31\n"
                "GZ165-08-1,广州市黄埔区教育局,,已过期的豁免,张三,2026-01-31\n"
                "GZ165-REQ-3,广州市残疾人联合会,,没有对应问题,李四,2026-12-31\n")
        r = c.post("/waivers", data={"csrf_token": token}, headers=origin,
                   files={"file": ("十月豁免.csv", good.encode("utf-8"))})
        assert r.status_code == 303
        rid = s.submit()
        assert s.wait(rid)["status"] == "done"
        with s.api("aud") as api:
            f = api.get(f"/api/runs/{rid}/files/findings.csv").text
        waived = [line for line in f.splitlines() if line.endswith(",已豁免")]
        assert len(waived) == 1 and "广州市农业农村局" in waived[0]
        page = c.get("/waivers").text
        assert re.search(r"当前：<strong>当前豁免\.csv</strong>（上传文件 十月豁免\.csv，aud，", page), page
        assert "已过期" in page and "未使用" in page and f"运行 {rid}" in page
    finally:
        s.stop()


def test_a_run_over_its_time_limit_is_stopped_and_failed(tmp_path):
    s = start_server(tmp_path, "--run-timeout-min", "0.02")      # 1 s: less than the sample needs
    try:
        rid = s.submit()
        j = s.wait(rid, timeout=60)
        assert j["status"] == "failed" and "运行超时" in j["error"] and "1 秒" in j["error"]
        assert not (s.data / "runs" / str(rid) / "out").exists()
        assert httpx.get(s.url + "/api/health").status_code == 200
    finally:
        s.stop()


def test_a_renamed_department_keeps_access_through_its_code(tmp_path):
    s = start_server(tmp_path)
    try:
        first = s.submit()
        assert s.wait(first)["status"] == "done"
        with s.api("aud") as aud:
            assert aud.post(f"/api/runs/{first}/publish").status_code == 200
        # next period the department is renamed in 部门名录; its 部门代码 stays
        renamed = tmp_path / "renamed"
        renamed.mkdir()
        for p in SAMPLE.iterdir():
            (renamed / p.name).write_bytes(p.read_bytes())
        wb = openpyxl.load_workbook(renamed / "部门名录.xlsx")
        hits = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value == DEPTS["minzheng"]:
                        cell.value = "广州市民政局（更名）"
                        hits += 1
        assert hits == 1
        wb.save(renamed / "部门名录.xlsx")
        second = s.submit(files=sorted(renamed.iterdir()), period="2026-11")
        assert s.wait(second)["status"] == "done"
        with s.api("aud") as aud:
            assert aud.post(f"/api/runs/{second}/publish").status_code == 200
        with s.api("minzheng") as dept:
            files = dept.get(f"/api/runs/{second}").json()["files"]
            assert files == ["部门报告/广州市民政局（更名）_2026-11.xlsx"]
            assert dept.get(f"/api/runs/{second}/files/{files[0]}").status_code == 200
            assert dept.get(f"/api/runs/{first}/files/部门报告/{DEPTS['minzheng']}_2026-10.xlsx").status_code == 200
        # a department user created with another department's name sees nothing of it
        with s.api("gongan") as other:
            assert other.get(f"/api/runs/{second}/files/{files[0]}").status_code == 403
        # publishing a re-run of 2026-10 replaces what the department sees for that period
        third = s.submit()
        assert s.wait(third)["status"] == "done"
        own = f"部门报告/{DEPTS['minzheng']}_2026-10.xlsx"
        with s.api("aud") as aud, s.api("minzheng") as dept:
            assert dept.get(f"/api/runs/{third}/files/{own}").status_code == 403       # not yet published
            assert aud.post(f"/api/runs/{third}/publish").status_code == 200
            assert dept.get(f"/api/runs/{third}/files/{own}").status_code == 200
            assert dept.get(f"/api/runs/{first}/files/{own}").status_code == 403
            assert dept.get(f"/api/runs/{second}/files/{files[0]}").status_code == 200  # other periods stay
    finally:
        s.stop()


def test_messages_name_files_as_uploaded_and_say_what_a_zip_skipped(server, tmp_path):
    bad_waivers = "规则编号,部门,记录,理由,批准人,有效期至\nGZ165-99-9,广州市农业农村局,,x,张三,2026-12-31\n"
    with server.api("aud") as c:
        files = [("files", (p.name, p.read_bytes())) for p in sorted(SAMPLE.iterdir())]
        files.append(("waivers", ("十月豁免.csv", bad_waivers.encode("utf-8"))))
        r = c.post("/api/runs", data={"period": "2026-10"}, files=files)
        rid = r.json()["id"]
    j = server.wait(rid)
    assert j["status"] == "failed" and "文件 十月豁免.csv，第 2 行" in j["error"] and "options/" not in j["error"]
    z = tmp_path / "导出.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../部门名录.xlsx", (SAMPLE / "部门名录.xlsx").read_bytes())
        zf.writestr("政务信息资源目录.xlsx", (SAMPLE / "政务信息资源目录.xlsx").read_bytes())
    j = server.wait(server.submit(files=[z]))
    assert j["status"] == "failed" and "部门名录" in j["error"]
    assert "导出.zip 中的 ../部门名录.xlsx 指向压缩包以外的位置，已跳过" in j["error"]


def test_user_command_details(tmp_path):
    data = str(tmp_path / "d")
    r = sharecheck("user", "list", "--data", str(tmp_path / "typo"))
    assert r.returncode == 2 and "不是审计门户的数据文件夹" in r.stderr and not (tmp_path / "typo").exists()
    r = sharecheck("user", "add", "lc", "--role", "department", "--department", "11440100mb2c33355f", "--data", data,
                   input="long-enough-pw\n")
    assert r.returncode == 0, r.stderr
    assert "11440100MB2C33355F" in sharecheck("user", "list", "--data", data).stdout
    r = sharecheck("user", "add", "bad", "--role", "department", "--department", "114401170072112212",
                   "--data", data, input="long-enough-pw\n")
    assert r.returncode == 2 and "校验位不对" in r.stderr
    help_text = sharecheck("serve", "--help").stdout
    assert "1–65535" in help_text and "<=" not in help_text


def test_disabling_revokes_tokens_and_bad_paths_are_chinese(server):
    with server.api("gongan") as c:
        assert c.get("/api/health").status_code == 200
    assert sharecheck("user", "disable", "gongan", "--data", str(server.data)).returncode == 0
    assert sharecheck("user", "enable", "gongan", "--data", str(server.data)).returncode == 0
    with server.api("gongan") as c:
        assert c.get("/api/runs/1").status_code == 401           # the old token stays revoked
    server.tokens["gongan"] = sharecheck("user", "token", "gongan", "--data", str(server.data)).stdout.strip()
    r = httpx.get(server.url + "/runs/abc", follow_redirects=True)
    assert r.status_code == 404 and "页面不存在" in r.text
    with server.api("aud") as c:
        r = c.get("/api/runs/abc")
        assert r.status_code == 422 and "运行编号" in r.json()["error"]
        r = c.post("/api/runs", data={"period": "2" * 5000}, files=[("files", ("a.csv", b"x"))])
        assert r.status_code == 400 and len(r.json()["error"]) < 200
