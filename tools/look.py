"""Visual check of the report files (not part of the tests).

    .venv/bin/python tools/look.py [OUT_DIR] [--findings N]
    .venv/bin/python tools/look.py OUT_DIR --from 审计结果/2026-10 [--department 广州市公安局]

Writes a synthetic report (tests/demo_report.py) to OUT_DIR (default /tmp/sharecheck_look) — or, with --from,
copies the files of a real run — then renders
the auditors' workbook and one department workbook to PDF (LibreOffice) and PNG pages (poppler), and the
HTML page to PNG (headless Chromium). Needs Debian packages libreoffice-calc, poppler-utils, chromium.
Look at the PNGs under OUT_DIR/look/.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checker.render import write  # noqa: E402
from tests.demo_report import make_report  # noqa: E402


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="/tmp/sharecheck_look")
    ap.add_argument("--findings", type=int, default=400)
    ap.add_argument("--pages", type=int, default=4, help="PNG pages per workbook")
    ap.add_argument("--from", dest="src", help="the --out folder of a real run to look at instead of a demo")
    ap.add_argument("--department", help="the department workbook to render (default: the first)")
    a = ap.parse_args()
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    if a.src:
        shutil.copytree(a.src, out)
    else:
        write(make_report(a.findings), out)
    look = out / "look"
    look.mkdir()
    depts = sorted((out / "部门报告").glob("*.xlsx"))
    if a.department:
        depts = [p for p in depts if p.name.startswith(a.department + "_")] or depts
    books = [sorted(out.glob("审计报告_*.xlsx"))[0], depts[0]]
    for i, b in enumerate(books):
        tmp = look / f"book{i}.xlsx"
        shutil.copy(b, tmp)          # ASCII names for the command-line tools
        run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(look), str(tmp)])
        run(["pdftoppm", "-png", "-r", "60", "-l", str(a.pages), str(look / f"book{i}.pdf"), str(look / f"book{i}")])
    print("workbooks:", *[b.name for b in books])
    for name, size in [("html", "1366,2400"), ("html_narrow", "900,1600")]:
        run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--hide-scrollbars", f"--window-size={size}", f"--screenshot={look / (name + '.png')}",
             (out / "report.html").as_uri()])
    run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-pdf-header-footer", f"--print-to-pdf={look / 'html_print.pdf'}", (out / "report.html").as_uri()])
    run(["pdftoppm", "-png", "-r", "50", "-l", "2", str(look / "html_print.pdf"), str(look / "html_print")])
    for p in sorted(look.glob("*.png")):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
