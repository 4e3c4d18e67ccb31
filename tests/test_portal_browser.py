"""The portal in a real browser: Debian's Chromium driven by Playwright, against a real ``sharecheck serve``.

Screenshots of every page go to ``test-output/screenshots/``. Without Chromium or Playwright the module is
skipped with the reason (``make install`` installs both where it can).
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from tests.portal_helpers import server  # noqa: F401 - the module's server fixture
from tests.portal_helpers import zip_bomb
from tests.portal_helpers import DEPTS, PASSWORDS, ROOT, SAMPLE, start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("浏览器测试需要 Debian 的 Chromium（apt-get install -y --no-install-recommends chromium "
                "fonts-wqy-microhei），本机没有 /usr/bin/chromium", allow_module_level=True)
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:        # pragma: no cover - make install brings it
    pytest.skip(f"浏览器测试需要 playwright（pip install playwright==1.65.2）：{exc}", allow_module_level=True)

SHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def chromium_browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page, server, user: str) -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")


def test_auditor_upload_run_publish_and_department_download(server, chromium_browser, tmp_path):
    ctx = chromium_browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = ctx.new_page()
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    shot(page, "01-login")
    login(page, server, "aud")
    expect(page).to_have_url(re.compile(r"/runs$"))

    page.goto(server.url + "/runs/new")
    shot(page, "02-new-run")
    page.fill("input[name=period]", "2026-10")
    page.set_input_files("input[name=files]", [str(p) for p in sorted(SAMPLE.iterdir())])
    page.click("text=上传并预检")
    expect(page.locator("h1")).to_contain_text("预检")
    expect(page.locator("body")).to_contain_text("识别到的表")
    expect(page.locator("body")).to_contain_text("交换日志_202610.csv")
    expect(page.locator("body")).to_contain_text("输入问题：16 条")
    shot(page, "03-precheck")
    page.click("text=开始运行")
    expect(page.locator("h1")).to_contain_text("运行")
    shot(page, "04-run-progress")
    expect(page.locator(".meta")).to_contain_text("已完成", timeout=120_000)
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("#scorecard + .chartbox + table tbody tr")).to_have_count(23)
    shot(page, "05-run-done")

    # findings filtered by one department
    run_url = page.url
    page.goto(run_url + "/findings")
    page.select_option("select[name=department]", DEPTS["minzheng"])
    page.click("text=筛选")
    cells = page.locator("table.findings tbody tr td:nth-child(3)").all_inner_texts()
    assert cells and set(cells) == {DEPTS["minzheng"]}
    shot(page, "06-findings-filtered")
    page.goto(run_url + "/departments/" + DEPTS["minzheng"])
    expect(page.locator("h1")).to_contain_text(DEPTS["minzheng"])
    shot(page, "07-department-drilldown")

    page.goto(run_url)
    page.click("text=发布给各部门")
    expect(page.locator("h1 .badge")).to_contain_text("已发布")
    with page.expect_download() as dl:
        page.click(f"text=部门报告/{DEPTS['minzheng']}_2026-10.xlsx")
    assert dl.value.suggested_filename == f"{DEPTS['minzheng']}_2026-10.xlsx"
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb["问题明细"].iter_rows(values_only=True))
    col = list(rows[0]).index("部门")
    assert len(rows) > 1 and {r[col] for r in rows[1:] if r and r[0]} == {DEPTS["minzheng"]}

    page.goto(server.url + "/runs")
    expect(page.locator("body")).to_contain_text("本期当前结果")
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "08-history")
    page.goto(server.url + "/waivers")
    shot(page, "09-waivers")
    page.click("text=退出")
    expect(page).to_have_url(re.compile(r"/login"))

    # the department user sees its own report, and cannot fetch another department's
    login(page, server, "minzheng")
    expect(page).to_have_url(re.compile(r"/dept$"))
    expect(page.locator("body")).to_contain_text("2026-10")
    shot(page, "10-department-home")
    with page.expect_download() as dl:
        page.click("text=下载本部门报告")
    assert dl.value.suggested_filename == f"{DEPTS['minzheng']}_2026-10.xlsx"
    rid = re.search(r"/runs/(\d+)", run_url)[1]
    resp = page.goto(f"{server.url}/runs/{rid}/files/部门报告/{DEPTS['gongan']}_2026-10.xlsx")
    assert resp.status == 403
    expect(page.locator("body")).to_contain_text("只能下载本部门")
    shot(page, "11-department-denied")
    resp = page.goto(f"{server.url}/runs/{rid}")
    assert resp.status == 403
    ctx.close()


def test_hostile_upload_is_a_failed_run_with_the_message_on_the_page(server, chromium_browser, tmp_path):
    bomb = zip_bomb(tmp_path / "导出.zip")
    ctx = chromium_browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = ctx.new_page()
    login(page, server, "aud")
    page.goto(server.url + "/runs/new")
    page.fill("input[name=period]", "2026-10")
    page.set_input_files("input[name=files]", [str(bomb)])
    page.click("text=上传并预检")
    expect(page.locator(".error")).to_contain_text("疑似压缩炸弹")
    shot(page, "12-hostile-upload")
    rid = re.search(r"/runs/(\d+)", page.url)[1]
    page.goto(f"{server.url}/runs/{rid}")
    expect(page.locator(".meta")).to_contain_text("失败")
    expect(page.locator(".error")).to_contain_text("疑似压缩炸弹")
    ctx.close()


def test_admin_pages(server, chromium_browser):
    ctx = chromium_browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = ctx.new_page()
    login(page, server, "admin1")
    page.goto(server.url + "/admin/users")
    page.fill("input[name=login]", "weijian")
    page.select_option("select[name=role]", "department")
    page.fill("input[name=department]", "广州市卫生健康委员会")
    page.click("button:has-text('创建')")
    expect(page.locator(".notice")).to_contain_text("一次性密码")
    shot(page, "13-users")
    page.goto(server.url + "/admin/audit")
    expect(page.locator("body")).to_contain_text("登录")
    shot(page, "14-audit-log")
    # an auditor cannot open the admin pages
    ctx.close()
    ctx = chromium_browser.new_context()
    page = ctx.new_page()
    login(page, server, "aud")
    assert page.goto(server.url + "/admin/users").status == 403
    ctx.close()
