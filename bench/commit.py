"""Issue 8 B1/B4 timings on the committed sample: `python -m bench.commit`.

- the commit into an existing --out (carry the other files over, check targets, exchange the folders), against the
  rendering it follows;
- how long a run holds the history write lock, against the whole run (before issue 8 the lock was held while
  every report was rendered).

Wall-clock `time.perf_counter` on whatever machine runs it; nothing here is asserted by tests.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "sample" / "exports"


def main() -> None:
    from checker import pipeline
    from checker.history import History
    work = Path(tempfile.mkdtemp(prefix="sharecheck-bench-commit-"))
    try:
        out = work / "out"
        o = pipeline.run([SAMPLE], "2026-10", out=out)             # an existing --out with every report
        for i in range(200):                                       # and some files of the auditors' own
            (out / f"笔记{i:03d}.txt").write_text("x" * 1000, encoding="utf-8")
        t = time.perf_counter()
        staged = pipeline._stage(o.report, out, None)
        render = time.perf_counter() - t
        t = time.perf_counter()
        staged.swap()
        staged.finish()
        swap = time.perf_counter() - t
        staged.discard()
        n = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"render into the stage            {render:8.3f} s")
        print(f"commit (carry over {n} files, check, exchange) {swap:8.3f} s")

        db = work / "h.db"
        held: list[float] = []
        real = History.transaction

        def timed(self):
            from contextlib import contextmanager

            @contextmanager
            def cm():
                with real(self) as h:
                    t0 = time.perf_counter()
                    try:
                        yield h
                    finally:
                        held.append(time.perf_counter() - t0)
            return cm()
        History.transaction = timed
        try:
            for label in ("2026-09", "2026-10"):
                held.clear()
                t = time.perf_counter()
                pipeline.run([SAMPLE], label, out=work / label, history=db)
                total = time.perf_counter() - t
                print(f"run {label} with history: {total:6.2f} s, write lock held {sum(held):6.3f} s")
        finally:
            History.transaction = real
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
