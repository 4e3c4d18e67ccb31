"""Issue 8, A8: the fuzzing harness in the suite (tests/fuzz_harness.py).

The normal suite runs a short, fixed budget (derandomized: the same few cases every time, a few seconds);
``make fuzz`` runs a long random one (``FUZZ_EXAMPLES``, default 300). A failing input is written to
``FUZZ_FAILURES`` (default ``bench/out/fuzz-failures``) so that it can be turned into a regression test.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzz_harness import check_outcome, mutated_export, run_bounded, run_case
from .hostile import ROOT, xlsx_far_cell

LONG = os.environ.get("FUZZ_LONG") == "1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300" if LONG else "3"))
FAILURES = Path(os.environ.get("FUZZ_FAILURES", ROOT / "bench" / "out" / "fuzz-failures"))


def _keep(name: str, data: bytes, why: str) -> Path:
    FAILURES.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = FAILURES / f"{digest}-{name}"
    path.write_bytes(data)
    path.with_name(path.name + ".txt").write_text(why, encoding="utf-8")
    return path


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=mutated_export())
def test_fuzzed_exports_end_cleanly_within_the_memory_limit(tmp_path_factory, case):
    name, data = case
    tmp = tmp_path_factory.mktemp("fuzz")
    problem, _ = run_case(tmp, name, data)
    if problem:
        kept = _keep(name, data, problem)
        pytest.fail(f"{name} (kept as {kept}): {problem}")


def test_the_harness_sees_aborts_and_enforces_the_memory_limit(tmp_path):
    """A check that cannot fail is no check: an abort is a failure, the memory limit is real, and the hostile
    sheet that used to abort (exit 134) now ends in one line."""
    from .fuzz_harness import _abort_child, _allocate_child
    o = run_bounded([], tmp_path, target=_abort_child)
    assert o.code == -6 and check_outcome(o, tmp_path / "out").startswith("exit -6")
    assert run_bounded([], tmp_path, target=_allocate_child).code == 97         # MemoryError under the limit
    p = xlsx_far_cell(tmp_path / "部门名录.xlsx", "XFD1048576", quote="'")
    problem, outcome = run_case(tmp_path / "case", "部门名录.xlsx", p.read_bytes())
    assert problem is None and outcome.code == 2 and "使用区域过大" in outcome.stderr, (problem, outcome)


def test_found_by_the_fuzzer_a_csv_cut_inside_a_character_is_one_line(tmp_path):
    """pyarrow reported the undecodable row through sys.unraisablehook: 「Exception ignored in …」 and a
    traceback on stderr before the 错误 line."""
    from .hostile import SAMPLE
    data = (SAMPLE / "数据异议.csv").read_bytes()
    cut = max(i for i, b in enumerate(data) if b >= 0xE0) + 1            # inside the last 3-byte character
    problem, outcome = run_case(tmp_path, "数据异议.csv", data[:cut])
    assert problem is None, problem
    assert outcome.code == 2 and "数据异议.csv" in outcome.stderr


def test_found_by_the_fuzzer_a_damaged_xls_panics_calamine_quietly(tmp_path):
    """A damaged .xls makes calamine panic: the PanicException was caught, but Rust's panic message (and with
    RUST_BACKTRACE=1 a 70-frame backtrace) went to stderr before the 错误 line."""
    from .hostile import SAMPLE
    data = (SAMPLE / "目录变更记录.xls").read_bytes()
    damaged = data[:4648] + b"\x00" + data[4648 + 64:]
    (tmp_path / "probe").mkdir()
    problem, outcome = run_case(tmp_path / "probe", "目录变更记录.xls", damaged)
    assert problem is None, problem
    assert outcome.code == 2 and "目录变更记录.xls" in outcome.stderr and "panicked" not in outcome.stderr
