"""`pip install .` (not editable) installs sharecheck with every rule pack and the report templates as package data.

The wheel is built from a copy of the working tree, installed into a fresh venv with ``--no-deps`` (the
dependencies come from this project's venv through a ``.pth`` file, so nothing is downloaded), and the installed
``sharecheck`` runs the sample month from a folder outside the repository.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                ".hypothesis", "scale", "out", "审计结果")


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(tmp / "dist"), str(src)], tmp)
    wheel = next((tmp / "dist").glob("sharecheck-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout.strip())
    # the dependencies (pandas, …) from this venv; .pth files *inside* it (the editable install) are not processed
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {"tmp": tmp, "wheel": wheel, "venv": venv, "py": py, "site": site, "env": env}


def test_the_wheel_carries_every_pack_and_the_report_templates(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for pack_dir in sorted(p for p in (ROOT / "rules").iterdir() if (p / "pack.yaml").is_file()):
        for f in sorted(pack_dir.glob("*.yaml")):
            assert f"checker/packs/{pack_dir.name}/{f.name}" in names, f
    for f in ("report.html.j2", "report.css", "report.js"):
        assert f"checker/reports/{f}" in names


def test_the_installed_package_finds_its_data_in_site_packages_not_in_the_repository(installed):
    code = ("import checker, checker.engine.resources as r; from checker.engine import load_pack; "
            "p = load_pack('gz165'); print(checker.__file__); print(r.packs_dir()); print(r.reports_dir()); "
            "print(len(p.rules))")
    out = _run([str(installed["py"]), "-c", code], installed["tmp"], installed["env"]).stdout.split("\n")
    site = str(installed["site"])
    assert out[0].startswith(site) and out[1].startswith(site) and out[2].startswith(site), out
    assert out[3] == "31"


def test_the_installed_sharecheck_runs_the_sample_month(installed):
    out = installed["tmp"] / "结果"
    cli = installed["venv"] / "bin" / "sharecheck"
    res = _run([str(cli), "run", str(ROOT / "fixtures" / "sample" / "exports"), "--period", "2026-10",
                "--out", str(out), "--format", "xlsx", "--format", "html", "--format", "csv", "--format", "json"],
               installed["tmp"], installed["env"])
    assert "报告已写入" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pack"]["pack"] == "gz165" and len(manifest["rules_run"]) == 31
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        got = sorted((r["rule_id"], r["department"], r["key"]) for r in csv.DictReader(fh))
    with open(ROOT / "fixtures" / "sample" / "expected" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        want = sorted((r["rule_id"], r["department"], r["key"]) for r in csv.DictReader(fh))
    assert got and set(got) == set(want)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<style>" in html and "2026-10" in html
    assert (out / "审计报告_2026-10.xlsx").stat().st_size > 10_000


def test_the_installed_portal_serves_its_pages(installed):
    """`sharecheck serve` from the wheel finds its page templates and style sheet (package data)."""
    import time
    import httpx
    from tests.portal_helpers import free_port
    port = free_port()
    data = installed["tmp"] / "portal-data"
    proc = subprocess.Popen([str(installed["venv"] / "bin" / "sharecheck"), "serve", "--data", str(data),
                             "--port", str(port)], cwd=installed["tmp"], env=installed["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, page = time.time() + 30, None
        while time.time() < deadline and page is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200 and 'name="csrf_token"' in page.text
        css = httpx.get(f"http://127.0.0.1:{port}/static/portal.css")
        assert css.status_code == 200 and "font-family" in css.text
    finally:
        proc.send_signal(2)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "一次性密码" in out, out
