"""findings.csv, scorecard.csv (UTF-8 with BOM) and manifest.json.

The CSVs carry a BOM so that Excel opens them directly, and Excel executes a field such as ``=HYPERLINK(…)``
or ``+cmd|' /C calc'!A0`` (an audited department controls 交换流水号, 申请编号 and its own name). Following
OWASP's CSV-injection guidance, a text field starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
gets a leading ``'`` (Excel shows the text, not a formula); a number (``-3``, ``-0.5``) is left as it is.
Fields holding the delimiter, a quote or a line break are quoted (RFC 4180). The waivers reader accepts a key
with or without that ``'``.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import model
from ..model import Report
from . import common as cm

FINDINGS_CSV_COLUMNS = ["rule_id", "severity", "department", "input", "sheet", "row", "key", "message", "status"]
CSV_LINE_END = "\r\n"   # RFC 4180; the same bytes on every platform


FORMULA_START = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_FORMULA_START_RE = re.compile(FORMULA_START)
_NUMBER_RE = re.compile(_NUMBER)


def formula_safe(values: pd.Series) -> pd.Series:
    """Text fields a spreadsheet would take for a formula get a leading ``'``; numbers and other values are
    unchanged (vectorised)."""
    s = values.astype(object)
    is_text = s.map(type).eq(str).to_numpy(dtype=bool)
    if not is_text.any():
        return values
    txt = s[is_text]
    # the two patterns once per distinct text (departments, rules, files repeat a lot; issue 10)
    codes, uniq = pd.factorize(txt.to_numpy(dtype=object))
    risky = np.array([_FORMULA_START_RE.search(u) is not None and _NUMBER_RE.match(u) is None for u in uniq],
                     dtype=bool)[codes]
    if not risky.any():
        return values
    out = s.copy()
    idx = txt.index[risky]
    out.loc[idx] = "'" + txt[risky]
    return out


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for c in safe.columns:
        if safe[c].dtype == object:
            safe[c] = formula_safe(safe[c])
    safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator=CSV_LINE_END)
    return path


def findings_csv_frame(report: Report) -> pd.DataFrame:
    f = cm.findings_frame(report)
    out = f[FINDINGS_CSV_COLUMNS].copy()
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("Int64")
    return out


def write_findings_csv(report: Report, out_dir: Path) -> Path:
    return _csv(findings_csv_frame(report), Path(out_dir) / "findings.csv")


# findings.parquet (issue 11 item 2): every finding, FINDING_COLUMNS then the columns of findings.csv not among
# them, typed (text as UTF-8 strings, row as int64 with nulls). Same inputs -> same bytes (for one pyarrow
# version, whose name is in the file's created_by): no pandas metadata, no times, fixed row groups, zstd.
FINDINGS_PARQUET_COLUMNS = model.FINDING_COLUMNS + [c for c in FINDINGS_CSV_COLUMNS if c not in model.FINDING_COLUMNS]
PARQUET_ROW_GROUP = 1_000_000
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3


def findings_parquet_table(report: Report):
    import pyarrow as pa
    f = cm.findings_frame(report)
    arrays, fields = [], []
    for c in FINDINGS_PARQUET_COLUMNS:
        s = f[c] if c in f.columns else pd.Series([None] * len(f), index=f.index, dtype=object)
        if c == "row":
            v = pd.to_numeric(s, errors="coerce").astype("Int64")
            arrays.append(pa.array(v.to_numpy(dtype="int64", na_value=0), type=pa.int64(),
                                   mask=v.isna().to_numpy(dtype=bool)))
            fields.append(pa.field(c, pa.int64()))
        else:
            s = s.astype(object)
            na = s.isna().to_numpy(dtype=bool)
            txt = s.where(na, s.astype(str)) if len(s) else s
            arrays.append(pa.array(txt.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
            fields.append(pa.field(c, pa.string()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_findings_parquet(report: Report, out_dir: Path) -> Path:
    import pyarrow.parquet as pq
    path = Path(out_dir) / "findings.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pq.write_table(findings_parquet_table(report), tmp, row_group_size=PARQUET_ROW_GROUP,
                   compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL,
                   use_dictionary=True, write_statistics=True, version="2.6", data_page_version="1.0",
                   store_schema=False)
    tmp.replace(path)
    return path


def write_overflow_csvs(report: Report, out_dir: Path) -> list[Path]:
    """pending.csv / defects.csv, the full lists of 待办 / 输入问题, written only when the workbook cannot hold
    them all (issue 11 item 4); a month under the limit gets neither."""
    from .xlsxkit import sheet_capacity
    out = []
    for name, frame, cols in [("pending.csv", report.result.pending, model.PENDING_COLUMNS),
                              ("defects.csv", report.load.defects, model.DEFECT_COLUMNS)]:
        n = 0 if frame is None else len(frame)
        if sheet_capacity(n) < n:
            g = frame.reindex(columns=cols).copy()
            g["row"] = pd.to_numeric(g["row"], errors="coerce").astype("Int64")
            out.append(_csv(g, Path(out_dir) / name))
    return out


def scorecard_csv_frame(report: Report) -> pd.DataFrame:
    sc = cm.scorecard_frame(report)
    dims, rules = cm.scorecard_columns(report)
    out = sc[["department", "score", "grade", "rank"] + dims + rules].copy()
    out["rank"] = pd.to_numeric(out["rank"], errors="coerce").astype("Int64")
    for c in ["score"] + dims + rules:
        v = pd.to_numeric(out[c], errors="coerce")
        out[c] = v.map(lambda x: "" if pd.isna(x) else f"{x:.1f}")
    return out


def write_scorecard_csv(report: Report, out_dir: Path) -> Path:
    return _csv(scorecard_csv_frame(report), Path(out_dir) / "scorecard.csv")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_jsonable(x) for x in v), key=str)
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, datetime)):
        return None if pd.isna(v) else cm.fmt_datetime(v)
    if isinstance(v, date):
        return v.isoformat()
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _scoring(pack: dict[str, Any]) -> dict[str, Any]:
    """The scoring parameters used (pack.yaml): dimension weights and rules, scored severities, grades, policies."""
    dims = []
    for d in pack.get("dimensions") or []:
        if not isinstance(d, dict):
            continue
        item = {"name": d.get("name"), "weight": d.get("weight"), "rules": list(d.get("rules") or [])}
        if d.get("rule_weights"):
            item["rule_weights"] = d.get("rule_weights")
        dims.append(item)
    return {"dimensions": dims,
            "scored_severities": list(pack.get("scored_severities") or ["严重", "一般"]),
            "grades": list(pack.get("grades") or []),
            "policies": list(pack.get("policies") or [])}


def _by_grade(report: Report) -> dict[str, int]:
    """Departments per grade, in the pack's grade order (best first), then any other grade (无法评分)."""
    g = cm.scorecard_frame(report)["grade"].dropna().astype(str)
    vc = g.value_counts()
    order = [str(x.get("grade")) for x in sorted((report.pack or {}).get("grades") or [],
                                                   key=lambda x: -float(x.get("min", 0)))]
    out = {k: int(vc.get(k, 0)) for k in order}
    for k in sorted(set(vc.index) - set(order)):
        out[k] = int(vc[k])
    return out


def _identical_inputs(report: Report) -> dict[str, Any]:
    """Parts of an event table given twice (same SHA-256), counted once (issue 11); absent when there are none."""
    same = [{"path": i["path"], "sheet": i.get("sheet") or "", "same_as": i["duplicate_of"], "sha256": i["sha256"]}
            for i in (report.load.inputs or []) if i.get("duplicate_of")]
    return {"identical_inputs": sorted(same, key=lambda d: (d["path"], d["sheet"]))} if same else {}


def manifest(report: Report) -> dict[str, Any]:
    f = cm.findings_frame(report)
    pack = report.pack or {}
    rules = cm.rules_frame(report)
    nc_ids = cm.not_checked_ids(report)
    nc = report.result.not_checked
    not_checked = []
    if nc is not None and len(nc):
        for rid, miss, why in zip(nc["rule_id"], nc["missing_inputs"], nc["reason"]):
            not_checked.append({"rule_id": rid, "missing_inputs": _jsonable(miss), "reason": why})
        not_checked.sort(key=lambda d: str(d["rule_id"]))
    inputs = [{k: _jsonable(i.get(k)) for k in ["path", "sheet", "table", "rows", "sha256"]}
              for i in (report.load.inputs or [])]
    inputs.sort(key=lambda d: (str(d["table"]), str(d["path"]), str(d["sheet"])))
    by_rule = f["rule_id"].value_counts() if len(f) else pd.Series(dtype=int)
    counts = {
        "findings": int(len(f)),
        "by_severity": cm.severity_counts(f),
        "by_status": cm.status_counts(f),
        "by_rule": {str(k): int(by_rule[k]) for k in sorted(by_rule.index.astype(str))},
        "pending": int(0 if report.result.pending is None else len(report.result.pending)),
        "input_defects": int(0 if report.load.defects is None else len(report.load.defects)),
        "departments": int(len(cm.scorecard_frame(report))),
        "by_grade": _by_grade(report),
    }
    if report.waivers is not None:
        w = cm.waivers_frame(report)
        counts["waivers"] = {"total": int(len(w)), "expired": int((w["expired_text"] == "已过期").sum()),
                             "covering_nothing": int(w["flag"].fillna("").str.startswith("未覆盖任何问题").sum())}
    if report.resolved is not None:
        counts["resolved"] = int(len(report.resolved))
    return _jsonable({
        "period": report.period.label,
        "period_start": report.period.start,
        "period_end": report.period.end,
        "as_of": report.as_of,
        "previous_period": report.previous_period,
        "pack": {"pack": pack.get("pack"), "version": pack.get("version"), "title": pack.get("title")},
        **_pack_chain(pack),
        "parameters": report.params or {},
        "scoring": _scoring(pack),
        "inputs": inputs,
        **_identical_inputs(report),
        **({"engine": pack["engine"]} if pack.get("engine") else {}),
        "rules_run": [r for r in rules["rule_id"].astype(str) if r not in nc_ids],
        "rules_not_checked": not_checked,
        "counts": counts,
        **_overflow(report, f),
    })


def _overflow(report: Report, f: pd.DataFrame) -> dict[str, Any]:
    """The full lists (findings.csv, findings.parquet) and, only when a sheet could not hold its table, the rows
    the workbook left out per sheet (issue 11 item 4)."""
    from .xlsxkit import sheet_capacity
    out: dict[str, Any] = {"findings_files": ["findings.csv", "findings.parquet"]}
    cut = {}
    for sheet, n, where in [("问题明细", len(f), "findings.csv"),
                            ("待办", 0 if report.result.pending is None else len(report.result.pending), "pending.csv"),
                            ("输入问题", 0 if report.load.defects is None else len(report.load.defects), "defects.csv")]:
        if sheet_capacity(n) < n:
            cut[sheet] = {"rows": n, "in_workbook": sheet_capacity(n), "left_out": n - sheet_capacity(n),
                          "full_list": where}
    if cut:
        out["workbook_left_out"] = cut
    return out


def _pack_chain(pack: dict) -> dict[str, Any]:
    """The pack chain (this pack first: name, version, status), and when there are any, the values that differ
    from the parent pack and the scope's counts."""
    out: dict[str, Any] = {}
    if pack.get("chain"):
        out["pack_chain"] = [{"pack": c.get("pack"), "version": c.get("version"), "status": c.get("status")}
                             for c in pack["chain"]]
    if pack.get("differences"):
        out["pack_differences"] = pack["differences"]
    if pack.get("out_of_scope"):
        out["out_of_scope"] = {k: v for k, v in pack["out_of_scope"].items() if k != "in_scope"}
    return out


def write_manifest(report: Report, out_dir: Path) -> Path:
    path = Path(out_dir) / "manifest.json"
    text = json.dumps(manifest(report), ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    path.write_bytes(text.encode("utf-8"))
    return path
