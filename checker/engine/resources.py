"""Where the installed rule packs and report templates are.

``rules/`` and ``reports/`` sit at the top of the repository and are installed as the packages ``checker.packs``
and ``checker.reports`` (setup.py ``package_dir``), both by ``pip install .`` and by the editable install. They are
found through the import system, never through the source tree, so a wheel carries them.
"""
from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path

from ..errors import PackError

# the pack a command uses when --pack is not given
DEFAULT_PACK = "gz165"


@lru_cache(maxsize=None)
def _package_dir(package: str, what: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise PackError(f"找不到{what}（Python 包 {package} 未安装）：请重新安装 sharecheck（开发时运行 make install）") from None
    return Path(str(root))


def packs_dir() -> Path:
    """The folder holding the installed packs (one sub-folder per pack)."""
    return _package_dir("checker.packs", "已安装的规则包")


def reports_dir() -> Path:
    """The folder holding the report templates (report.html.j2, report.css, report.js)."""
    return _package_dir("checker.reports", "报告模板")
