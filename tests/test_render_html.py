"""report.html: self-contained, escaped, filters, limits."""
from __future__ import annotations

import re

import pytest

from checker.render import html as rhtml
from checker.render import write
from tests.demo_report import make_report


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    r = make_report(300)
    r.result.findings.loc[0, "message"] = "<script>alert(1)</script>"
    p = write(r, tmp_path_factory.mktemp("h"), ["html"])[0]
    return r, p.read_text("utf-8")


def test_self_contained(page):
    _, t = page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", t)
    assert "<link" not in t
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", t)
    assert "@import" not in t
    assert t.count("<script>") == 1 and "<script src" not in t


def test_escaped(page):
    _, t = page
    assert "<script>alert(1)</script>" not in t
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in t


def test_filters_and_content(page):
    r, t = page
    for col in ["d", "r", "s", "t", "q"]:
        assert f'data-col="{col}"' in t
    f = r.result.findings
    assert t.count('<tr data-r="') == len(f)
    for d in r.scorecard["department"]:
        assert f"<option>{d}</option>" in t
    assert "<svg" in t and "<rect" in t and "<polyline" in t     # score bars and trend lines
    assert "@media print" in t
    for h in ["部门评分", "规则汇总", "问题明细", "待办", "输入问题", "未检查", "豁免", "整改跟踪"]:
        assert f"{h}" in t


def test_no_trend_without_history(tmp_path):
    t = write(make_report(30, history=False, waivers=False), tmp_path, ["html"])[0].read_text("utf-8")
    assert "<polyline" not in t and 'id="waivers"' not in t


def test_large_reports_are_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(rhtml, "MAX_HTML_FINDINGS", 50)
    r = make_report(120)
    t = write(r, tmp_path, ["html"])[0].read_text("utf-8")
    assert t.count('<tr data-r="') == 50
    assert "另有 70 个问题未列出" in t
    # the most severe come first
    sev = re.findall(r'<tr data-r="[^"]*" data-s="([^"]*)"', t)
    order = {"严重": 0, "一般": 1, "提示": 2}
    assert [order[s] for s in sev] == sorted(order[s] for s in sev)
