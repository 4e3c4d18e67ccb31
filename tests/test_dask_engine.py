"""Issue 11, items 2, 3 and 7: the Dask engine writes the pandas engine's bytes, on a real LocalCluster with two
worker processes and through an external ``dask scheduler`` with ``dask worker`` processes; a worker killed
mid-run has its work redone or fails the run with one line and nothing written."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed", reason="dask/distributed not installed (setup.cfg install_requires)")

from checker import dask_engine  # noqa: E402
from checker.errors import SharecheckError  # noqa: E402
from checker.pipeline import STAGES, run  # noqa: E402

from .test_multipart import split_sample  # noqa: E402

DASK = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))


def _month(tmp_path: Path) -> Path:
    """The sample month: exchanges in three CSV parts (columns reordered in one), updates in two Parquet parts."""
    m = tmp_path / "m"
    split_sample(m)
    up = pd.read_excel(m / "数据更新记录.xlsx", dtype=str, header=None)
    (m / "数据更新记录.xlsx").unlink()
    at = int(up.index[up.eq("资源代码").any(axis=1)][0])           # (a title row above the header)
    head, body = up.iloc[at].tolist(), up.iloc[at + 1:]
    (m / "数据更新记录").mkdir()
    half = len(body) // 2
    for i, part in enumerate((body.iloc[:half], body.iloc[half:])):
        pd.DataFrame(part.to_numpy(), columns=head).to_parquet(m / "数据更新记录" / f"part-{i}.parquet",
                                                               row_group_size=37)
    return m


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_same_outputs(a: Path, b: Path, engine: str = "dask") -> None:
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb) and len(fa) >= 6
    for name in fa:
        if name == "manifest.json":
            ma, mb = json.loads(fa[name]), json.loads(fb[name])
            assert "engine" not in ma and mb.pop("engine") == engine
            assert ma == mb
        else:
            assert fa[name] == fb[name], name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The split month and the pandas engine's outputs for it (once for the module)."""
    base = tmp_path_factory.mktemp("month")
    m = _month(base)
    run([str(m)], "2026-10", out=base / "pandas")
    return m, base / "pandas"


@pytest.fixture
def month(reference, tmp_path):
    m, out = reference
    shutil.copytree(out, tmp_path / "pandas")
    shutil.copytree(m, tmp_path / "m")
    return tmp_path / "m"


def test_local_cluster_two_processes_byte_identical(month, tmp_path, monkeypatch):
    monkeypatch.setattr(dask_engine, "LOCAL_WORKERS", 2)
    # 50-row slices of the Parquet parts (row groups of 37 rows: slices cross row groups)
    run([str(month)], "2026-10", out=tmp_path / "dask", engine="dask", partition_rows=50)
    assert_same_outputs(tmp_path / "pandas", tmp_path / "dask")
    ref = json.loads((tmp_path / "pandas" / "manifest.json").read_text("utf-8"))
    parts = [i for i in ref["inputs"] if i["table"] == "updates"]
    assert [p["path"] for p in parts] == ["数据更新记录/part-0.parquet", "数据更新记录/part-1.parquet"]


def test_bad_part_on_a_worker_is_the_same_one_line_error(month, tmp_path, monkeypatch):
    monkeypatch.setattr(dask_engine, "LOCAL_WORKERS", 2)
    p = month / "交换日志" / "2026-10-02.csv"
    pd.read_csv(p, dtype=str, keep_default_na=False).drop(columns=["时间"]).to_csv(p, index=False)
    errs = []
    for engine in ("pandas", "dask"):
        with pytest.raises(SharecheckError) as e:
            run([str(month)], "2026-10", out=tmp_path / engine / "x", engine=engine)
        errs.append((type(e.value), str(e.value)))
        assert not (tmp_path / engine / "x").exists()
    assert errs[0] == errs[1] and "2026-10-02.csv" in errs[0][1]


@pytest.fixture
def cluster(tmp_path):
    """``dask scheduler`` and ``dask worker`` (two processes) on 127.0.0.1, as separate processes."""
    if not os.path.exists(DASK):
        pytest.skip("the dask command line (dask scheduler / dask worker) is not installed")
    sf = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sf)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        for _ in range(300):
            if sf.exists() and sf.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sf.read_text())["address"]
        procs.append(subprocess.Popen([DASK, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client
        with Client(address, timeout="20s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_external_scheduler_and_workers(month, tmp_path, cluster, monkeypatch):
    # the input named relative to the client's folder, as auditors type it: the workers' folder is their own
    monkeypatch.chdir(month.parent)
    run(["m"], "2026-10", out=tmp_path / "dask", engine="dask", scheduler=cluster, partition_rows=60)
    assert_same_outputs(tmp_path / "pandas", tmp_path / "dask")


def test_worker_killed_mid_run_is_redone_or_fails_cleanly(month, tmp_path, cluster):
    from distributed import Client
    with Client(cluster, timeout="20s") as c:
        pids = sorted(c.run(os.getpid).values())
    stage: list[str] = []
    killed: list[bool] = []

    def killer():
        # kill one worker process as soon as the loading stage runs on the cluster
        with Client(cluster, timeout="20s") as c:
            for _ in range(2000):
                if stage and stage[-1] != STAGES[0]:
                    killed.append(False)
                    return
                if any(c.processing().values()):
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(not stage or stage[-1] == STAGES[0])
                    return
                time.sleep(0.005)
        killed.append(False)

    t = threading.Thread(target=killer)
    t.start()
    out = tmp_path / "dask"
    try:
        # 10-row slices of the Parquet parts: over a hundred tasks, so that the kill lands while they run
        run([str(month)], "2026-10", out=out, engine="dask", scheduler=cluster, partition_rows=10,
            progress=stage.append)
    except SharecheckError as exc:                           # the run failed: one line, nothing written
        assert "\n" not in str(exc) and "Dask" in str(exc)
        assert not out.exists()
    else:                                                     # Dask redid the lost work: the same bytes
        assert_same_outputs(tmp_path / "pandas", out)
    t.join()
    assert killed == [True], "the worker was not killed while the parts were being read"


@pytest.mark.parametrize("args, words", [
    (["--scheduler", "tcp://127.0.0.1:1"], "只用于 dask 引擎"),
    (["--engine", "dask", "--partition-rows", "0"], "正整数"),
    (["--engine", "dask", "--scheduler", "127.0.0.1:8786"], "tcp://"),
    (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], "无法连接 Dask 调度器"),
])
def test_engine_options_misused_one_line_nothing_written(tmp_path, args, words, capsys):
    from checker.cli import main
    from checker.dask_engine import DaskEngine
    DaskEngine.connect_timeout = "2s"
    sample = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "exports"
    code = main(["run", str(sample), "--period", "2026-10", "--out", str(tmp_path / "o"), "-q", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0]
    assert not (tmp_path / "o").exists()


def _with_duplicates(m: Path) -> None:
    """Duplicate keys of every kind the loader knows, in the split month: the third part as Parquet holding
    twice a key of the first part (the second copy repeats the first within the part), a key of the first part
    once, and one of its own keys again far down (across the slices a small ``--partition-rows`` cuts it into)."""
    ex = m / "交换日志"
    first = pd.read_csv(ex / "2026-10-01.csv", dtype=str, keep_default_na=False)
    last = pd.read_csv(ex / "2026-10-03.csv", dtype=str, keep_default_na=False)
    (ex / "2026-10-03.csv").unlink()
    pd.concat([last.iloc[:10], first.iloc[[3]], last.iloc[10:], first.iloc[[3, 7]], last.iloc[[2]]],
              ignore_index=True).to_parquet(ex / "2026-10-03.parquet", row_group_size=37)


def test_duplicate_keys_within_and_across_parts_and_slices_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(dask_engine, "LOCAL_WORKERS", 2)
    m = _month(tmp_path)
    _with_duplicates(m)
    run([str(m)], "2026-10", out=tmp_path / "pandas")
    run([str(m)], "2026-10", out=tmp_path / "dask", engine="dask", partition_rows=20)
    assert_same_outputs(tmp_path / "pandas", tmp_path / "dask")
    d = pd.read_excel(tmp_path / "dask" / "审计报告_2026-10.xlsx", sheet_name="输入问题", dtype=str,
                      engine="calamine")
    dup = d[d["问题"].str.contains("重复") & (d["文件"] == "交换日志/2026-10-03.parquet")]
    # row 12 and a later row hold the first part's row 5 (the later one repeats row 12, within the part); the
    # part's own row 4 comes again at its end
    assert dup["问题"].str.contains("交换日志/2026-10-01.csv 第 5 行", regex=False).sum() == 1
    assert dup["问题"].str.contains("（保留第 12 行）", regex=False).sum() == 1
    assert dup["问题"].str.contains("（保留第 4 行）", regex=False).sum() == 1
    assert dup["问题"].str.contains("交换日志/2026-10-01.csv 第 9 行", regex=False).sum() == 1
    assert len(dup) == 4


@pytest.mark.parametrize("pack", ["hz-draft", "gd-trial"])
def test_other_packs_same_bytes(pack, month, tmp_path, monkeypatch):
    """Packs with a scope that excludes records and rules that require optional columns run unchanged."""
    monkeypatch.setattr(dask_engine, "LOCAL_WORKERS", 2)
    run([str(month)], "2026-10", pack=pack, out=tmp_path / "p")
    run([str(month)], "2026-10", pack=pack, out=tmp_path / "d", engine="dask", partition_rows=40)
    assert_same_outputs(tmp_path / "p", tmp_path / "d")


def test_missing_calendar_same_error_on_both_engines(month, tmp_path, monkeypatch):
    monkeypatch.setattr(dask_engine, "LOCAL_WORKERS", 2)
    p = month / "交换日志" / "2026-10-02.csv"
    errs = []
    for engine in ("pandas", "dask"):
        with pytest.raises(SharecheckError) as e:
            run([str(month)], "2027-01", out=tmp_path / "o" / engine, engine=engine)
        errs.append((type(e.value).__name__, str(e.value)))
        assert not (tmp_path / "o" / engine).exists()
    assert errs[0] == errs[1] and "2027" in errs[0][1] and p.exists()
