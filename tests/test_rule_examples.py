"""Every rule file's `examples` run through the real engine (one parametrised test)."""
from __future__ import annotations

from collections import Counter

import pytest

from checker.calendar import Calendar
from checker.engine import load_pack
from checker.engine.examples import checked_units, run_example
from checker.engine.resources import packs_dir

PACK = load_pack("gz165")
PACKS = {d.name: load_pack(d.name) for d in sorted(packs_dir().iterdir()) if (d / "pack.yaml").is_file()}
CAL = Calendar.load()
# every example of every rule file of every installed pack (an inherited rule's examples run under each pack)
CASES = [(name, r.id, i) for name, p in PACKS.items() for r in p.rules
         for i, _ in enumerate(r.data.get("examples") or [])]


def test_every_rule_has_a_failing_example():
    assert len(PACK.rules) == 31
    for r in PACK.rules:
        exs = r.data.get("examples") or []
        assert any(ex.get("findings") for ex in exs), f"{r.id} has no example with a finding"


def test_every_rule_of_every_pack_has_an_example_asserting_checked_units():
    assert {"gz165", "hz-draft"} <= set(PACKS)
    for name, p in PACKS.items():
        for r in p.rules:
            exs = r.data.get("examples") or []
            assert any("checked" in ex for ex in exs), f"{name} {r.id} has no example with checked units"


@pytest.mark.parametrize("pack,rule_id,idx", CASES, ids=[f"{p}:{r}#{i}" for p, r, i in CASES])
def test_rule_example(pack, rule_id, idx):
    rule = PACKS[pack].rule(rule_id)
    ex = rule.data["examples"][idx]
    res = run_example(PACKS[pack], rule_id, ex, CAL)
    if ex.get("not_checked"):
        assert list(res.not_checked["rule_id"]) == [rule_id] and ex["not_checked"] in res.not_checked["reason"][0]
        return
    assert res.not_checked.empty, res.not_checked
    if "checked" in ex:
        assert checked_units(res, rule_id) == {str(k): int(v) for k, v in (ex["checked"] or {}).items()}, \
            res.checked
    want = [f if isinstance(f, dict) else {"key": f} for f in ex.get("findings") or []]
    assert Counter(res.findings["key"]) == Counter(w["key"] for w in want), res.findings[["key", "message"]]
    for w in want:
        m = res.findings["key"] == w["key"]
        for field in ("department", "severity", "counterpart"):
            if field in w:
                m &= res.findings[field] == w[field]
        assert m.any(), (w, res.findings)
    assert sorted(res.pending["key"]) == sorted(ex.get("pending") or [])
    if "skipped" in ex:
        reasons = res.skipped[~res.skipped["reason"].str.contains("审计期间")]
        assert int(reasons["count"].sum()) == ex["skipped"], res.skipped
    # messages are complete Chinese sentences naming values, never a template or a traceback
    for msg in list(res.findings["message"]) + list(res.pending["message"]):
        assert msg and "{" not in msg and "}" not in msg and "nan" not in msg.lower()
    assert (res.findings["rule_id"] == rule_id).all()
    # a finding names its source row, except one about a missing record (`row: ~`: 08-1, 17-1, 19-3)
    about_missing = all(c.row is None for c in rule.checks)
    assert (res.findings["row"].isna() if about_missing else res.findings["row"].notna()).all()
