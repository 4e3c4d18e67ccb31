"""issue 10: readers._line_kinds (mixed encodings, issue 8 A5) tells GB18030 lines by a byte no UTF-8 text holds and
checks the sequences of the other lines only; it must give exactly what the whole-buffer check gave."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from checker.load import readers


def _whole_buffer(part: bytes):                # the former implementation, every byte checked
    arr = np.frombuffer(part, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if not len(ends) or ends[-1] != len(arr) - 1:
        ends = np.append(ends, len(arr))
    starts = np.concatenate([[0], ends[:-1] + 1])
    hi = arr >= 0x80
    n = len(starts)
    if not hi.any():
        return starts, ends, np.zeros(n, bool), np.zeros(n, bool)
    cont = (arr & 0xC0) == 0x80
    lead2 = (arr >= 0xC2) & (arr <= 0xDF)
    lead3 = (arr & 0xF0) == 0xE0
    lead4 = (arr >= 0xF0) & (arr <= 0xF4)
    need = np.zeros(len(arr), dtype=bool)
    need[1:] |= (lead2 | lead3 | lead4)[:-1]
    need[2:] |= (lead3 | lead4)[:-2]
    need[3:] |= lead4[:-3]
    err = (arr == 0xC0) | (arr == 0xC1) | (arr >= 0xF5) | (cont != need)
    hi_lines = np.logical_or.reduceat(hi, starts)
    err_lines = np.logical_or.reduceat(err, starts)
    return starts, ends, hi_lines & ~err_lines, hi_lines & err_lines


PIECES = [b"abc", b",", "广州".encode("utf-8"), "广州".encode("gb18030"), "市局".encode("gb18030"), b"\xe4", b"\xe4\xb8",
          "😀".encode("utf-8"), b"\xf0", b"\x80", b"\xc2\xa0", b"\xc0\xaf", b"\xc1", b"\xed\xa0\x80", b"\xff", b"\xf5",
          b"\r", b"", "é".encode("latin-1"), b"\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=60), st.booleans())
def test_line_kinds_equal_the_whole_buffer_check(pieces, final_newline):
    part = b"".join(pieces) + (b"\n" if final_newline else b"")
    if not part:
        return
    for got, want in zip(readers._line_kinds(part), _whole_buffer(part)):
        assert got.tolist() == want.tolist()


def test_line_kinds_on_a_mostly_gb18030_buffer():
    rng = np.random.default_rng(3)
    lines = []
    for i in range(3000):
        text = "广州市越秀区卫生健康局" if i % 3 else "数据"
        enc = "utf-8" if i % 97 == 0 else "gb18030"
        tail = [b"", b"\xe4", b"\xf0\x9f"][int(rng.integers(0, 3))] if i % 13 == 0 else b""
        lines.append(f"JH{i},{text}".encode(enc) + tail)
    part = b"\n".join(lines) + b"\n"
    for got, want in zip(readers._line_kinds(part), _whole_buffer(part)):
        assert got.tolist() == want.tolist()
