"""The child process that does one pre-check or one run, so that a crash, a hang or a hostile file never takes
the server down. The parent (``jobs``) starts it with a memory limit and kills it at the time limit.

    python -m checker.portal.child precheck DATA_DIR RUN_ID
    python -m checker.portal.child run DATA_DIR RUN_ID

It calls ``checker.pipeline`` directly (never the CLI) and writes, under ``DIR/runs/<id>/portal/``:
``precheck.json`` or ``result.json`` (what the pages show), ``pending.csv``, ``defects.csv``, ``not_checked.csv``,
``skipped.csv``, and on failure ``error.json`` with the one-line message. Exit 0 done, 2 refused input,
3 internal error (traceback in ``portal/debug.log``, mode 0600, never shown to the user).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import InputError, SharecheckError
from . import store

ZIP_MAX_MEMBERS = 5000
ZIP_MAX_TOTAL = 4 * 1024 ** 3          # bytes unpacked from all zips of one run
ZIP_MAX_RATIO = 200                    # a member this much larger than its compressed size ...
ZIP_RATIO_FLOOR = 50 * 1024 ** 2       # ... and larger than this is a zip bomb
DATA_EXTS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".parquet")
PREPARED = ".prepared"


def _job(data: store.DataDir, run_id: int) -> dict:
    return json.loads((data.run_dir(run_id) / "job.json").read_text(encoding="utf-8"))


def _safe_member(name: str) -> PurePosixPath | None:
    """A zip member's path made safe: no absolute path, no '..', no hidden parts; None to skip it."""
    p = PurePosixPath(name.replace("\\", "/"))
    parts = [x for x in p.parts if x not in ("", ".", "/")]
    if not parts or any(x == ".." or x.startswith(".") or x.startswith("~$") or x == "__MACOSX" for x in parts):
        return None
    return PurePosixPath(*parts)


def extract_zip(zpath: Path, dest: Path, budget: list[int]) -> list[str]:
    """Unpack the data files of one zip into ``dest``, refusing bombs; returns notes for the pre-check."""
    shown = zpath.name
    notes: list[str] = []
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"不是有效的 zip 压缩包（{type(exc).__name__}）", file=shown,
                         hint="请重新压缩后上传，或直接上传导出文件") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            raise InputError(f"压缩包中有 {len(infos)} 个文件，超过上限 {ZIP_MAX_MEMBERS}", file=shown,
                             hint="请只压缩本月的导出文件")
        for info in infos:
            if info.is_dir():
                continue
            rel = _safe_member(info.filename)
            if rel is None:
                name = info.filename.replace("\\", "/")
                if ".." in name.split("/") or name.startswith("/"):
                    notes.append(f"{shown} 中的 {name[:200]} 指向压缩包以外的位置，已跳过")
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:      # a symbolic link
                notes.append(f"{shown} 中的 {rel} 是符号链接，已跳过")
                continue
            ext = rel.suffix.lower()
            if ext == ".zip":
                notes.append(f"{shown} 中的 {rel} 是压缩包，未解压：请解压后直接上传")
                continue
            if ext not in DATA_EXTS:
                notes.append(f"{shown} 中的 {rel} 不是可读取的导出文件（{ext or '无扩展名'}），已跳过")
                continue
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > ZIP_RATIO_FLOOR and ratio > ZIP_MAX_RATIO:
                raise InputError(f"其中的 {rel} 解压后 {info.file_size // 1024 ** 2} MB，压缩比 {ratio:.0f} 倍，"
                                 "疑似压缩炸弹，已拒绝", file=shown, hint="请上传未压缩的导出文件或正常的压缩包")
            if info.file_size > budget[0]:
                raise InputError(f"压缩包解压后超过 {ZIP_MAX_TOTAL // 1024 ** 3} GB 上限（其中的 {rel}）", file=shown,
                                 hint="请分批上传，或直接上传导出文件")
            target = dest / Path(*rel.parts)
            if target.exists():
                raise InputError(f"其中的 {rel} 与已上传的文件同名", file=shown, hint="请重命名其中一个后重新上传")
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > info.file_size or written > budget[0]:     # headers that lie
                            raise InputError(f"其中的 {rel} 解压后的大小与压缩包记录不符，疑似压缩炸弹，已拒绝",
                                             file=shown, hint="请上传未压缩的导出文件或正常的压缩包")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise InputError(f"其中的 {rel} 无法解压（{type(exc).__name__}）", file=shown,
                                 hint="请重新压缩后上传") from None
            budget[0] -= written
    return notes


def prepare_inputs(data: store.DataDir, run_id: int) -> list[str]:
    """Unpack the run's zips into ``inputs/`` once (idempotent); returns notes for the pre-check page."""
    rd = data.run_dir(run_id)
    inputs = rd / "inputs"
    inputs.mkdir(exist_ok=True)
    done = rd / PREPARED
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    notes: list[str] = []
    budget = [ZIP_MAX_TOTAL]
    for z in sorted((rd / "zips").glob("*")) if (rd / "zips").is_dir() else []:
        notes += extract_zip(z, inputs, budget)
    done.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    return notes


def _frame_records(frame, limit: int | None = None) -> list[dict]:
    import pandas as pd
    if frame is None or not len(frame):
        return []
    f = frame.head(limit) if limit else frame
    f = f.astype("object").where(pd.notna(f), None)
    out = []
    for rec in f.to_dict("records"):
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rec.items()})
    return out


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def precheck(data: store.DataDir, run_id: int) -> dict:
    """What ``sharecheck validate`` shows, as data."""
    from ..model import TABLE_TITLES
    from ..pipeline import load, require_tables
    rd = data.run_dir(run_id)
    notes = prepare_inputs(data, run_id)
    cwd = os.getcwd()
    os.chdir(rd)                        # inputs are named relative to the run folder: no machine path shown
    try:
        lr = load(["inputs"])
    finally:
        os.chdir(cwd)
    missing = None
    try:
        require_tables(lr, ["上传的文件"])
    except SharecheckError as exc:
        missing = str(exc)
    d = lr.defects
    res = {"inputs": [{"table": i.get("table"), "title": TABLE_TITLES.get(i.get("table"), "未识别"),
                       "path": _shown(i.get("path")), "sheet": i.get("sheet") or "", "rows": i.get("rows"),
                       "note": i.get("note") or ""} for i in lr.inputs],
           "absent": [{"table": t, "title": TABLE_TITLES[t]} for t in TABLE_TITLES if t not in lr.tables],
           "defects": [dict(r, file=_shown(r.get("file"))) for r in _frame_records(d, 500)],
           "defects_total": 0 if d is None else int(len(d)),
           "missing_required": missing, "notes": notes}
    _write_json(rd / "portal" / "precheck.json", res)
    return res


def _shown(path) -> str:
    """A path under the run's inputs/ as the auditor uploaded it."""
    t = str(path or "")
    return t[len("inputs/"):] if t.startswith("inputs/") else t


def execute(data: store.DataDir, run_id: int) -> dict:
    """The run itself: ``checker.pipeline.run`` into ``out/``, then the extracts the pages read."""
    from ..pipeline import run
    from ..render import common as cm
    job = _job(data, run_id)
    rd = data.run_dir(run_id)
    prepare_inputs(data, run_id)

    def progress(stage: str) -> None:
        store.update_run(data, run_id, stage=stage)

    cwd = os.getcwd()
    os.chdir(rd)
    try:
        outcome = run(["inputs"], job["period"], as_of=job.get("as_of") or None, waivers=job.get("waivers"),
                      params=job.get("params"), calendar=job.get("calendar"), history=str(data.history),
                      out="out", progress=progress)
    finally:
        os.chdir(cwd)
    from ..pipeline import department_display, display_names
    report = display_names(outcome.report)        # departments as 部门名录 writes them, as in the reports
    shown = department_display(outcome.report)
    manifest = json.loads((rd / "out" / "manifest.json").read_text(encoding="utf-8"))
    files = sorted(str(p.relative_to(rd / "out")) for p in (rd / "out").rglob("*") if p.is_file())
    depts = cm.departments_of_report(report)
    stems = cm.unique_file_stems(depts)
    codes = {}
    dep = report.load.tables.get("departments")
    if dep is not None and "部门代码" in dep.columns:
        for name, code in zip(dep["部门名称"].astype("object"), dep["部门代码"].astype("object")):
            if isinstance(name, str) and isinstance(code, str) and code:
                codes.setdefault(name, code)
    sc = report.scorecard
    by_dept = {}
    if sc is not None and len(sc):
        for rec in _frame_records(sc[[c for c in ("department", "score", "grade", "rank") if c in sc.columns]]):
            by_dept[rec["department"]] = rec
    counted = outcome.counted()
    if shown and len(counted):
        d = counted["department"].astype(object)
        counted = counted.assign(department=d.map(shown).where(d.isin(shown.keys()), d))
    counts = counted.groupby(["department", "severity"]).size() if len(counted) else {}
    departments = []
    for name in depts:
        rel = f"部门报告/{stems[name]}_{report.period.label}.xlsx"
        s = by_dept.get(name, {})
        departments.append({"name": name, "code": codes.get(name), "file": rel if rel in files else None,
                            "score": s.get("score"), "grade": s.get("grade"), "rank": s.get("rank"),
                            "findings": {sev: int(counts.get((name, sev), 0)) if len(counted) else 0
                                         for sev in ("严重", "一般", "提示")}})
    portal = rd / "portal"
    res = report.result
    for name, frame in (("pending", res.pending), ("not_checked", res.not_checked), ("skipped", res.skipped),
                        ("defects", report.load.defects), ("trends", report.trends), ("resolved", report.resolved),
                        ("waivers", report.waivers)):
        if frame is not None:
            frame.to_csv(portal / f"{name}.csv", index=False, encoding="utf-8")
    result = {"period": report.period.label, "as_of": report.as_of.isoformat(), "counts": manifest.get("counts", {}),
              "pack": manifest.get("pack", {}), "files": files, "departments": departments,
              "rules_not_checked": manifest.get("rules_not_checked"), "previous_period": report.previous_period,
              "notices": [public_text(str(n)) for n in (getattr(outcome, "notices", None) or [])]}
    _write_json(portal / "result.json", result)
    if any(f.startswith("部门报告/") for f in files):
        _zip_department_workbooks(rd, report.period.label, [f for f in files if f.startswith("部门报告/")])
    return result


def _zip_department_workbooks(rd: Path, period: str, files: list[str]) -> Path:
    """One zip of every department workbook (fixed member times and order: the same run gives the same bytes)."""
    target = rd / "portal" / f"部门报告_{period}.zip"
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(files):
            info = zipfile.ZipInfo(f, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.flag_bits |= 0x800                       # UTF-8 names
            zf.writestr(info, (rd / "out" / f).read_bytes())
    os.replace(tmp, target)
    return target


_PRIVATE = ("options/waivers/", "options/params/", "options/calendar/", "inputs/")


def public_text(message: str) -> str:
    """A message as the auditor should read it: files named as uploaded, not by their place in the run folder."""
    for prefix in _PRIVATE:
        message = message.replace(prefix, "")
    return message


def _fail(rd: Path, message: str) -> None:
    message = public_text(message)
    done = rd / PREPARED
    notes = json.loads(done.read_text(encoding="utf-8")) if done.exists() else []
    if notes:       # what the unpacking skipped often explains a missing table
        message += "（另：" + "；".join(notes[:3]) + ("等" if len(notes) > 3 else "") + "）"
    _write_json(rd / "portal" / "error.json", {"error": " ".join(message.split())[:2000]})


def main(argv: list[str]) -> int:
    mode, data_dir, run_id = argv[0], argv[1], int(argv[2])
    data = store.DataDir(Path(data_dir))
    rd = data.run_dir(run_id)
    (rd / "portal").mkdir(parents=True, exist_ok=True)
    try:
        if mode == "precheck":
            precheck(data, run_id)
        elif mode == "run":
            if (rd / "out").exists():
                shutil.rmtree(rd / "out")
            execute(data, run_id)
        else:
            raise SystemExit(2)
        return 0
    except SharecheckError as exc:
        _fail(rd, str(exc))
        return 2
    except MemoryError:
        _fail(rd, "内存不足：输入过大，超出了本服务为一次运行设定的内存上限。请拆分输入文件，或请管理员调大上限")
        return 2
    except BaseException as exc:      # noqa: BLE001 - native readers raise pyo3's PanicException (a BaseException)
        log = rd / "portal" / "debug.log"
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
        except OSError:
            pass
        _fail(rd, f"内部错误（{type(exc).__name__}）：这是程序的问题，不是您数据的问题；请把运行编号 {run_id} "
                  "告诉管理员（调试信息在该运行的 portal/debug.log）")
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
