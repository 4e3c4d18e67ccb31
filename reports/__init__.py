"""The report templates (installed as the package ``checker.reports``; see setup.py)."""
