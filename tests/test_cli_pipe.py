"""`sharecheck rules | head`: a reader that stops early is not a failure (exit 1 means --fail-on hit)."""
from __future__ import annotations

import errno
import io
import sys

from checker import cli


class _ClosedPipe(io.TextIOBase):
    encoding = "utf-8"

    def write(self, s):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_closed_pipe_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli.main(["rules"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_real_failures_still_exit_nonzero(capsys):
    assert cli.main(["explain", "GZ165-99-9"]) == 2
    assert "GZ165-99-9" in capsys.readouterr().err
