"""Build script. The rule packs (``rules/``) and the report templates (``reports/``) stay at the top of the
repository and ship as the package data of ``checker.packs`` and ``checker.reports`` (setup.cfg
``[options.package_data]``), so a non-editable ``pip install .`` carries them. Everything else is in setup.cfg."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["checker", "checker.*"]) + ["checker.packs", "checker.reports"],
    package_dir={"checker.packs": "rules", "checker.reports": "reports"},
)
