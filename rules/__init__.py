"""The installed rule packs, one folder per pack (installed as the package ``checker.packs``; see setup.py)."""
