"""The fuzzing harness (issue 8, A8): hypothesis strategies that mutate real exports, and a bounded runner.

Each case copies the sample month's 部门名录 and 信息资源目录 (fixtures/sample/exports), replaces or adds one
mutated export, and runs the real command ``sharecheck run … --format csv --format json`` in a child process
forked from a clean fork server (modules preloaded, no threads), with its address space capped
(``hostile.MEMORY_LIMIT``, 2.5 GB). The outcome must be one of:

- exit 0 (or 1) with findings.csv and manifest.json written;
- exit 2 with exactly one line ``错误：…`` on stderr and nothing written under --out.

Anything else (a signal such as SIGABRT from a Rust allocation failure, exit 3 「内部错误」, a traceback, a
hang) fails, and the failing input is kept for the report. ``tests/test_fuzz.py`` runs a short budget in the
normal suite; ``make fuzz`` runs a long one (``FUZZ_EXAMPLES``).
"""
from __future__ import annotations

import io
import multiprocessing as mp
import os
import re
import resource
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from .hostile import MEMORY_LIMIT, SAMPLE

CASE_TIMEOUT = 120          # seconds; a hang guard, not a timing assertion
BASE_FILES = ("部门名录.xlsx", "政务信息资源目录.xlsx")
SOURCES = ("部门名录.xlsx", "政务信息资源目录.xlsx", "数据更新记录.xlsx", "共享责任人员.ods", "目录变更记录.xls",
           "共享申请.csv", "数据异议.csv", "交换日志_202610.csv")


# ---------------------------------------------------------------------------------------------- the runner
def _child(argv: list[str], cwd: str, out_path: str, err_path: str) -> None:       # pragma: no cover - child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.chdir(cwd)
    os.environ["CI"] = "1"
    os.environ.pop("SHARECHECK_DEBUG", None)
    fd_out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    import sys
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8", line_buffering=True)
    from checker.cli import main
    try:
        code = main(argv)
    except BaseException:                       # noqa: BLE001 - what escapes main is the failure we look for
        import traceback
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 98)


_CTX = None


def _context():
    """A forkserver context with the checker preloaded: every case is a fork of a clean, thread-free process."""
    global _CTX
    if _CTX is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["checker.cli", "checker.pipeline", "checker.load", "checker.engine",
                                    "checker.render", "pandas", "pyarrow", "pyarrow.csv", "python_calamine",
                                    "openpyxl", "tests.fuzz_harness"])
        _CTX = ctx
    return _CTX


@dataclass
class Outcome:
    code: int | None            # exit status; negative: killed by that signal; None: hang
    stdout: str
    stderr: str


def _allocate_child(argv, cwd, out_path, err_path) -> None:        # pragma: no cover - child
    """For the harness's own test: a child that asks for more memory than the limit allows."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    try:
        bytearray(MEMORY_LIMIT + 2**30)
    except MemoryError:
        os._exit(97)
    os._exit(0)


def _abort_child(argv, cwd, out_path, err_path) -> None:           # pragma: no cover - child
    """For the harness's own test: a native abort (what a Rust allocation failure does)."""
    os.abort()


def run_bounded(argv: list[str], cwd: Path, target=_child) -> Outcome:
    ctx = _context()
    out, err = cwd / ".stdout", cwd / ".stderr"
    p = ctx.Process(target=target, args=(argv, str(cwd), str(out), str(err)))
    p.start()
    p.join(CASE_TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
        code = None
    else:
        code = p.exitcode
    read = (lambda f: f.read_text(encoding="utf-8", errors="replace") if f.exists() else "")
    return Outcome(code, read(out), read(err))


def check_outcome(o: Outcome, out_dir: Path) -> str | None:
    """None when the outcome is acceptable, else what is wrong."""
    if o.code is None:
        return "hang"
    if o.code in (0, 1):
        missing = [f for f in ("findings.csv", "manifest.json") if not (out_dir / f).is_file()]
        return f"exit {o.code} without {missing}" if missing else None
    if o.code == 2:
        lines = [x for x in o.stderr.splitlines() if x.strip()]
        if len(lines) != 1 or not lines[0].startswith("错误：") or "Traceback" in o.stderr:
            return f"exit 2 but stderr is not one line 错误：…: {o.stderr[-1500:]!r}"
        if out_dir.exists() and any(out_dir.iterdir()):
            return "exit 2 but something was written under --out"
        return None
    return f"exit {o.code}: {o.stderr[-3000:]!r}"


def run_case(tmp: Path, name: str, data: bytes) -> tuple[str | None, Outcome]:
    """One case: the two required exports plus ``name`` (replacing one of them if it is one) holding ``data``."""
    case = tmp / "exports"
    if case.exists():
        shutil.rmtree(case)
    case.mkdir(parents=True)
    for f in BASE_FILES:
        shutil.copy(SAMPLE / f, case / f)
    (case / name).write_bytes(data)
    out = tmp / "out"
    if out.exists():
        shutil.rmtree(out)
    o = run_bounded(["run", "exports", "--period", "2026-10", "--out", "out", "--format", "csv", "--format",
                     "json", "-q"], tmp)
    return check_outcome(o, out), o


# ---------------------------------------------------------------------------------------------- strategies
_ATTR = re.compile(rb'(\s[\w:]+=)(["\'])([^"\']*)\2')
HOSTILE_VALUES = [b"XFD1048576", b"xfd1048576", b"AAA200000", b"1048576", b"999999999", b"-1", b"0", b"", b"A1:XFD1048576",
                  b"9000", b"11000", b"s", b"n", b"e", b"b", b"str", b"inlineStr", b"d", b"1e308", b"NaN",
                  b"\xef\xbf\xbf", b"&amp;", b"../../x.xml", b"/xl/sheet1.xml"]
CELL_TEXTS = ["=1+1", "@SUM(1)", "\x00", "\x1b[2J", "\u202e", "𠀀" * 60, "０１", "2026-13-45", "是/否", "填写说明：",
              "合计", "-", "NULL", " ", "\r\n", "99999999999999999999"]


def _member_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()


def _rezip(data: bytes, change) -> bytes:
    """Apply ``change(members: dict) -> dict`` to a zip and write it back."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members = change(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


@st.composite
def zip_mutation(draw, data: bytes) -> bytes:
    names = _member_names(data)
    xml = [n for n in names if n.endswith((".xml", ".rels"))] or names
    target = draw(st.sampled_from(sorted(xml)))
    kind = draw(st.sampled_from(["attribute", "quotes", "case", "truncate", "delete", "duplicate", "move",
                                 "cell_type", "repeat", "text", "bytes"]))

    def change(m: dict) -> dict:
        body = m[target]
        if kind == "attribute":
            attrs = list(_ATTR.finditer(body))
            if attrs:
                a = attrs[draw(st.integers(0, len(attrs) - 1))]
                value = draw(st.sampled_from(HOSTILE_VALUES))
                body = body[:a.start(3)] + value + body[a.end(3):]
        elif kind == "quotes":
            body = body.replace(b'"', b"'")
        elif kind == "case":
            body = re.sub(rb'(\sr=["\'])([A-Z]+)', lambda x: x.group(1) + x.group(2).lower(), body)
        elif kind == "truncate":
            body = body[:draw(st.integers(0, max(len(body) - 1, 0)))]
        elif kind == "delete":
            m = dict(m)
            del m[target]
            return m
        elif kind == "duplicate":
            m = dict(m)
            m[target.replace(".xml", "2.xml")] = body
        elif kind == "move":
            m = dict(m)
            del m[target]
            new = "xl/" + target.rsplit("/", 1)[-1]
            m[new] = body
            for k in list(m):
                if k.endswith(".rels") or k == "[Content_Types].xml":
                    m[k] = m[k].replace(target.split("/", 1)[-1].encode(), new.split("/", 1)[-1].encode())
            return m
        elif kind == "cell_type":
            body = re.sub(rb'\st="[a-zA-Z]+"', b' t="' + draw(st.sampled_from([b"n", b"b", b"e", b"d", b"str", b"s"]))
                          + b'"', body, count=draw(st.integers(1, 50)))
        elif kind == "repeat":
            body = re.sub(rb'(number-(?:rows|columns)-repeated=")\d+', lambda x: x.group(1)
                          + str(draw(st.sampled_from([2, 1000, 9000, 11000, 1048576]))).encode(), body)
            if b"repeated" not in body and b"<table:table-cell" in body:
                body = body.replace(b"<table:table-cell ", b'<table:table-cell table:number-columns-repeated="'
                                    + str(draw(st.sampled_from([2, 11000, 16384]))).encode() + b'" ', 1)
        elif kind == "text":
            t = draw(st.sampled_from(CELL_TEXTS)).encode("utf-8")
            body = re.sub(rb"<t>([^<]*)</t>", lambda x: b"<t>" + t + b"</t>", body, count=draw(st.integers(1, 5)))
        else:
            pos = draw(st.integers(0, max(len(body) - 1, 0)))
            body = body[:pos] + draw(st.binary(min_size=1, max_size=16)) + body[pos + 1:]
        m = dict(m)
        m[target] = body
        return m

    if draw(st.integers(0, 9)) == 0:                 # the container itself: cut or damaged
        pos = draw(st.integers(0, len(data) - 1))
        return data[:pos] + draw(st.binary(max_size=8))
    return _rezip(data, change)


@st.composite
def csv_mutation(draw, data: bytes) -> bytes:
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["encoding", "mixed", "control", "cut", "delimiters", "huge", "cell", "bytes",
                                 "quote", "empty"]))
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "encoding":
        enc = draw(st.sampled_from(["gb18030", "utf-16", "utf-8-sig", "latin-1", "big5"]))
        return text.encode(enc, errors="replace")
    if kind == "mixed":
        return "".join(lines[:i]).encode("gb18030") + "".join(lines[i:i + 1]).encode("utf-8") \
            + "".join(lines[i + 1:]).encode("gb18030")
    if kind == "control":
        lines[i] = lines[i].replace(",", "," + draw(st.sampled_from(["\x00", "\x1b[2J", "\x07", "\x7f", "\x85"])), 1)
    elif kind == "cut":
        return data[:draw(st.integers(0, len(data)))]
    elif kind == "delimiters":
        lines[i] = lines[i].replace(",", draw(st.sampled_from([";", "\t", "|", ",,", ""])))
    elif kind == "huge":
        lines[i] = lines[i].replace(",", "," + "甲" * draw(st.sampled_from([1000, 100000])), 1)
    elif kind == "cell":
        lines[i] = lines[i].replace(",", "," + draw(st.sampled_from(CELL_TEXTS)).replace("\r\n", " ") + ",", 1)
    elif kind == "quote":
        lines[i] = '"' + lines[i]
    elif kind == "empty":
        return b""
    else:
        raw = "".join(lines).encode("utf-8")
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        return raw[:pos] + draw(st.binary(min_size=1, max_size=16)) + raw[pos + 1:]
    return "".join(lines).encode("utf-8")


@st.composite
def mutated_export(draw) -> tuple[str, bytes]:
    """(file name, bytes): one of the sample's exports, mutated."""
    name = draw(st.sampled_from(SOURCES))
    data = (SAMPLE / name).read_bytes()
    if name.endswith((".xlsx", ".ods")):
        return name, draw(zip_mutation(data))
    if name.endswith(".csv"):
        return name, draw(csv_mutation(data))
    pos = draw(st.integers(0, len(data) - 1))                         # .xls (OLE2): damaged bytes
    return name, data[:pos] + draw(st.binary(min_size=1, max_size=64)) + data[pos + 64:]
