"""A real ``sharecheck serve`` on 127.0.0.1 for the portal tests, and a small client for it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample" / "exports"
PASSWORDS = {"aud": "auditor-pass-1", "admin1": "admin-pass-123", "minzheng": "dept-pass-123",
             "gongan": "dept-pass-456"}
DEPTS = {"minzheng": "广州市民政局", "gongan": "广州市公安局"}


def zip_bomb(path: Path) -> Path:
    """A 2 MB zip holding one 1 GiB CSV of zeros (a compression ratio of about 1000)."""
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("交换日志.csv", "w", force_zip64=True) as f:
            block = b"0" * (1 << 20)
            for _ in range(1024):
                f.write(block)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sharecheck(*args: str, input: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "checker.cli", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@dataclass
class Server:
    data: Path
    port: int
    proc: subprocess.Popen | None = None
    log: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.log = self.data.parent / f"serve-{self.port}-{time.time_ns()}.log"
        fh = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "checker.cli", "serve", "--data", str(self.data),
                                      "--port", str(self.port), *self.extra], stdout=fh, stderr=subprocess.STDOUT,
                                     cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(encoding='utf-8')}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text(encoding='utf-8')}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log else ""

    def api(self, login: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[login]}"},
                            timeout=60)

    def submit(self, login: str = "aud", files=None, period: str = "2026-10", **fields) -> int:
        paths = list(files) if files is not None else sorted(SAMPLE.iterdir())
        with self.api(login) as c:
            handles = [("files", (p.name, p.read_bytes())) for p in paths]
            r = c.post("/api/runs", data={"period": period, **fields}, files=handles)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def wait(self, run_id: int, login: str = "aud", timeout: float = 180, until=("done", "failed", "interrupted")
             ) -> dict:
        deadline = time.time() + timeout
        with self.api(login) as c:
            while time.time() < deadline:
                j = c.get(f"/api/runs/{run_id}").json()
                if j["status"] in until:
                    return j
                time.sleep(0.3)
        raise AssertionError(f"run {run_id} did not finish: {j}")


def make_users(data: Path) -> dict[str, str]:
    """The test users, made through the real ``sharecheck user`` commands; returns login -> API token."""
    roles = {"aud": ("auditor", None), "admin1": ("admin", None), "minzheng": ("department", DEPTS["minzheng"]),
             "gongan": ("department", DEPTS["gongan"])}
    tokens = {}
    for login, (role, dept) in roles.items():
        args = ["user", "add", login, "--role", role, "--data", str(data)]
        if dept:
            args += ["--department", dept]
        r = sharecheck(*args, input=PASSWORDS[login] + "\n")
        assert r.returncode == 0, r.stderr
        t = sharecheck("user", "token", login, "--data", str(data))
        assert t.returncode == 0, t.stderr
        tokens[login] = t.stdout.strip()
    return tokens


def start_server(tmp: Path, *extra: str) -> Server:
    data = tmp / "portal-data"
    tokens = make_users(data)
    return Server(data=data, port=free_port(), tokens=tokens, extra=extra).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server for the module's tests (imported by the test modules)."""
    s = start_server(tmp_path_factory.mktemp("portal"))
    yield s
    s.stop()
