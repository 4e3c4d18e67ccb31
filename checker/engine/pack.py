"""Loading a rule pack: ``rules/<pack>/pack.yaml`` + ``codelists.yaml`` + one ``<RULE-ID>.yaml`` per rule.

Rule files are data (``yaml.safe_load``); every expression is compiled by :mod:`checker.engine.lang` at load
time, so a typo is a :class:`PackError` before any input is read.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from ..errors import PackError
from ..model import META_COLUMNS, RULE_INFO_COLUMNS, SEVERITIES, TABLES, TABLE_TITLES
import sys

from .derivations import REGISTRY as DERIVATIONS
from .derive import TABLE_COLUMNS, base_table, column_source, view_args as view_arg_defaults, view_builder, view_columns, views
from .lang import Compiler
from .packspec import resolve
from .resources import DEFAULT_PACK, packs_dir

RULE_FIELDS_REQUIRED = ["id", "article", "article_text", "title", "explanation", "severity", "dimension", "inputs"]
RULE_FIELDS_OPTIONAL = ["params", "examples", "checks", "notes", "legal_basis", "derivations", "based_on",
                        "requires_columns"]
CHECK_FIELDS = ["view", "view_args", "scope", "skip", "when", "deadline", "key", "department", "counterpart",
                "input", "row", "message", "pending_message", "severity_cases", "out_of_scope_reason", "name"]
DEADLINE_FIELDS = ["event", "action", "limit", "unit"]
DEADLINE_UNITS = {"工作日": "wd", "小时": "hours"}
# columns a deadline adds to its view (usable in messages and severity cases)
DEADLINE_COLUMNS = ["已完成", "滞后", "滞后时长", "期限", "到期", "核查日"]
_PARAM_REF = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


def table_label(name: str) -> str:
    return f"{TABLE_TITLES.get(name, name)}（{name}）"


@dataclass
class Deadline:
    event: str
    action: str
    limit: Any            # int/float or a param name resolved at run time
    unit: str             # "wd" | "hours"


@dataclass
class Check:
    view: str
    view_args: dict[str, Any]
    scope: Callable | None
    skips: list[tuple[Callable, str]]
    when: Callable | None
    deadline: Deadline | None
    key: Callable
    department: str
    counterpart: str | None
    input: str
    row: str | None                 # None: the finding is about a missing record (row empty)
    messages: list[tuple[Callable | None, Callable]]
    pending_message: Callable | None
    severity_cases: list[tuple[Callable, str]]
    out_of_scope_reason: str | None
    columns: list[str] = field(default_factory=list)   # view columns this check reads (for narrow subsets)
    # the columns that decide which records are checked and which are findings (scope, skips, when, department);
    # the rest (key, messages, severity cases) are read for the findings only
    decide_columns: list[str] = field(default_factory=list)
    derivations: list[str] = field(default_factory=list)   # the derivations whose columns it reads


@dataclass
class Rule:
    id: str
    path: Path
    data: dict[str, Any]
    params: dict[str, Any]
    checks: list[Check]

    @property
    def inputs(self) -> list[str]:
        return list(self.data["inputs"])

    @property
    def severity(self) -> str:
        return self.data["severity"]

    @property
    def derivations(self) -> list[str]:
        """The derivations the rule file names (``derivations:``), in its order."""
        return list(self.data.get("derivations") or [])


@dataclass
class Scope:
    """A pack's scope (packs.md): the departments whose findings and checked units are kept, and per table the
    records left out before any rule runs."""
    departments_text: str
    departments: Callable | None
    exclude: dict[str, Callable]
    exclude_text: dict[str, str]


@dataclass
class Pack:
    root: Path
    manifest: dict[str, Any]
    codelists: dict[str, Any]
    rules: list[Rule]
    params_file: str | None = None
    legal_basis: tuple[Path, ...] | None = None   # the legal-basis classifier tables (parent first)
    derivation_params: dict[str, dict[str, Any]] = field(default_factory=dict)   # pack.yaml derivations
    chain: list[dict[str, Any]] = field(default_factory=list)       # this pack, then its parents: pack/version/status
    sources: dict[str, Any] = field(default_factory=dict)            # rule id -> packspec.RuleSource
    scope: "Scope | None" = None
    differences: list[dict[str, Any]] = field(default_factory=list)  # values that differ from the parent

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def rule_info(self) -> pd.DataFrame:
        rows = [{"rule_id": r.id, "article": r.data["article"], "article_text": _prose(r.data["article_text"]),
                 "title": _prose(r.data["title"]), "explanation": _prose(r.data["explanation"]),
                 "severity": r.data["severity"], "dimension": r.data["dimension"],
                 "inputs": "、".join(r.inputs)} for r in self.rules]
        return pd.DataFrame(rows, columns=RULE_INFO_COLUMNS)

    def param_info(self) -> dict[str, dict[str, dict[str, str]]]:
        """Per rule and parameter, the rule file's ``label``, ``unit`` and ``description`` (those given)."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for r in self.rules:
            for name, spec in (r.data.get("params") or {}).items():
                if isinstance(spec, dict):
                    info = {k: str(spec[k]) for k in ("label", "unit", "description") if spec.get(k) is not None}
                    if info:
                        out.setdefault(r.id, {})[name] = info
        return out

    def param_labels(self) -> dict[str, dict[str, str]]:
        """Per rule and parameter, its display name: 「label（unit）」 (parameters with a label only)."""
        out: dict[str, dict[str, str]] = {}
        for rid, params in self.param_info().items():
            for name, info in params.items():
                if info.get("label"):
                    unit = f"（{info['unit']}）" if info.get("unit") else ""
                    out.setdefault(rid, {})[name] = info["label"] + unit
        return out

    def params_used(self) -> dict[str, dict[str, Any]]:
        return {r.id: dict(r.params) for r in self.rules}

    def subset(self, rule_ids: list[str]) -> "Pack":
        keep = [r for r in self.rules if r.id in set(rule_ids)]
        return Pack(self.root, self.manifest, self.codelists, keep, self.params_file, self.legal_basis,
                    self.derivation_params, self.chain, self.sources, self.scope,
                    [d for d in self.differences if d["rule_id"] in set(rule_ids)])

    def pack_data(self) -> dict[str, Any]:
        """What the derivations read from the pack besides the code lists."""
        return {"legal_basis": self.legal_basis, "derivations": self.derivation_params}


_FOLD_SPACE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")


def _prose(text: Any) -> str:
    """Chinese prose from a folded YAML scalar: drop the spaces folding put between two CJK characters."""
    return _FOLD_SPACE.sub("", str(text).strip())


# ----------------------------------------------------------------------------------------- loading
# A user's YAML (--params) may not use aliases: eight nested aliases in a 414-byte file expand to tens of millions
# of values (a "billion laughs"). The file itself is bounded too.
MAX_USER_YAML_BYTES = 1024 * 1024
SHOWN_VALUE_CHARS = 60


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``, also in merge keys ``<<: *name``)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(event.start_mark)
        return super().compose_node(parent, index)


class _AliasRefused(Exception):
    def __init__(self, mark):
        super().__init__("alias")
        self.mark = mark


def shown_value(v: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A value as echoed in a message: bounded in length whatever its size (never the whole of a big structure)."""
    import reprlib
    if isinstance(v, str):
        text = v
    elif isinstance(v, (dict, list, tuple, set)):
        r = reprlib.Repr()
        r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset, r.maxstring, r.maxother = 2, 4, 4, 4, 4, 20, 20
        text = r.repr(v)
    else:
        text = str(v)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


_C_SAFE_LOADER = getattr(yaml, "CSafeLoader", None)


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` through libyaml where PyYAML has it (the installed packs' 49 files: 0.04 s instead of
    0.29 s, each run); a file libyaml refuses is parsed again by the pure loader, which words the error as before."""
    if _C_SAFE_LOADER is not None:
        try:
            return yaml.load(text, Loader=_C_SAFE_LOADER)  # noqa: S506 - the safe loader, in C
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _read_yaml(path: Path, what: str = "规则包文件", user: bool = False) -> Any:
    try:
        if user and path.stat().st_size > MAX_USER_YAML_BYTES:
            raise PackError(f"{what} {path} 过大（上限 {MAX_USER_YAML_BYTES // 1024} KiB），请只写出要修改的参数")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError(f"{what} {path} 不存在") from None
    except UnicodeDecodeError:
        raise PackError(f"{what} {path} 不是 UTF-8 文本（请另存为 UTF-8 编码）") from None
    except OSError as e:
        raise PackError(f"{what} {path} 无法读取（{e.strerror or type(e).__name__}）：请确认路径正确且有读取权限") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        if user:
            return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
        return _safe_load(text)
    except _AliasRefused as e:
        raise PackError(f"{what} {path} 第 {e.mark.line + 1} 行使用了 YAML 别名（*…）：{what}中不允许别名"
                        "（可被用来构造巨大的数据），请直接写出每个取值") from None
    except (yaml.YAMLError, json.JSONDecodeError, RecursionError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise PackError(f"{what} {path} {where}格式错误（YAML/JSON 无法解析），请检查缩进和冒号") from None


def _param_value(spec: Any) -> Any:
    if isinstance(spec, dict):
        if "value" not in spec:
            raise KeyError("value")
        return spec["value"]
    return spec


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


# The largest number a --params override may set. Every numeric parameter of a rule is a count of days, working
# days or hours; beyond ~100 years a deadline means "never" and date arithmetic overflows (pandas timestamps end
# in 2262), which used to crash the run instead of naming the parameter.
PARAM_MAX = 100_000


def _check_range(pwhere: str, rule_id: str, name: str, value: Any) -> None:
    """Numeric overrides (also inside a table parameter) must be 0 … PARAM_MAX: they are counts of days/hours. (A
    negative deadline limit is left to the deadline check, which names the params file too.)"""
    items = value.items() if isinstance(value, dict) else [(None, value)]
    for key, v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        what = f"「{name}」" if key is None else f"「{name}」中「{shown_value(key)}」"
        if v != v or v > PARAM_MAX or (v < 0 and key is not None):
            raise PackError(f"{pwhere}：规则 {rule_id} 的参数{what}应在 0 到 {PARAM_MAX} 之间，实际为「{shown_value(v)}」")


def _type_name(v: Any) -> str:
    return {bool: "是/否", int: "整数", float: "数值", str: "文字", list: "列表", dict: "映射"}.get(type(v), type(v).__name__)


def load_codelists(name_or_path: str | Path = DEFAULT_PACK) -> dict[str, Any]:
    """The code lists of a pack, without loading its rules."""
    return load_pack(name_or_path).codelists


def load_pack(name_or_path: str | Path = DEFAULT_PACK, params_file: str | Path | None = None) -> Pack:
    """Load a pack by name (installed) or folder, resolving ``extends`` / ``based_on`` / ``overrides`` / ``drop``."""
    res = resolve(name_or_path)
    root, manifest, codelists = res.root, res.manifest, res.codelists
    dim_of = {rid: d["name"] for d in res.dimensions for rid in d["rules"]}
    files = {s.id: s.path for s in res.rules}
    overrides = _read_params(params_file, files) if params_file else {}
    rules = []
    for s in res.rules:
        data = copy.deepcopy(s.data)
        pack_params = data.pop("_pack_params", None)
        rules.append(_load_rule(s.path, dim_of, codelists, overrides.get(s.id, {}), manifest,
                                f"参数文件 {params_file}" if params_file else "参数文件", data=data,
                                pack_params=pack_params, department=s.department,
                                pack_where=f"{root / 'pack.yaml'} 的 overrides"))
    legal = tuple(res.legal_basis) or None
    dparams = manifest.get("derivations") or {}
    _check_derivation_data(root, rules, codelists, legal, dparams)
    pack = Pack(root, manifest, codelists, rules, str(params_file) if params_file else None, legal, dparams)
    pack.chain = res.chain
    pack.sources = {s.id: s for s in res.rules}
    pack.scope = _compile_scope(root, manifest.get("scope"))
    pack.differences = _differences(res, rules)
    return pack


def _compile_scope(root: Path, scope: Any) -> "Scope | None":
    if not scope:
        return None
    where = f"{root / 'pack.yaml'} 的 scope"
    if not isinstance(scope, dict) or set(scope) - {"departments", "exclude", "include_dispatched", "note"}:
        raise PackError(f"{where}：应包含 departments（部门条件），可选 exclude（各表排除记录的条件）")
    dept_fn = None
    if scope.get("departments"):
        comp = Compiler(list(TABLE_COLUMNS["departments"]), {}, {}, where, "departments")
        dept_fn = comp.compile(str(scope["departments"]))
    exclude = {}
    for table, cond in (scope.get("exclude") or {}).items():
        if table not in TABLES:
            raise PackError(f"{where}：exclude 中的表「{table}」未知（可用：{', '.join(TABLES)}）")
        exclude[table] = Compiler(list(TABLE_COLUMNS[table]), {}, {}, where, table).compile(str(cond))
    return Scope(str(scope.get("departments") or ""), dept_fn, exclude,
                 {t: str(c) for t, c in (scope.get("exclude") or {}).items()})


def _differences(res, rules: list[Rule]) -> list[dict[str, Any]]:
    """Every value the pack sets differently from its parent (or from the rule it is based on)."""
    out: list[dict[str, Any]] = []
    parent = {s.id: s for s in (res.parent.rules if res.parent is not None else [])}
    for r in rules:
        src = res.rules[[s.id for s in res.rules].index(r.id)]
        if src.origin == "inherited" and r.id in parent:
            old = parent[r.id].data
            for name, spec in (old.get("params") or {}).items():
                ov = _param_value(spec)
                if r.params.get(name) != ov and name in (res.overrides.get(r.id, {}).get("params") or {}):
                    out.append({"rule_id": r.id, "what": "参数", "name": name, "old": ov, "new": r.params[name]})
            if old.get("severity") != r.severity:
                out.append({"rule_id": r.id, "what": "严重程度", "name": "severity", "old": old.get("severity"),
                            "new": r.severity})
            if src.department and src.department != parent[r.id].department:
                olddept = parent[r.id].department or ", ".join(dict.fromkeys(
                    str(c.get("department")) for c in (old.get("checks") or [old])))
                out.append({"rule_id": r.id, "what": "归属部门", "name": "department", "old": olddept,
                            "new": src.department})
        elif src.origin == "based_on":
            out.append({"rule_id": r.id, "what": "沿用", "name": "based_on", "old": src.based_on, "new": r.id})
    return out


def _check_derivation_data(root: Path, rules: list[Rule], codelists: dict, legal: Path | None,
                           dparams: Any) -> None:
    """The pack holds what its rules' derivations read: code lists, the classifier table, their parameters."""
    where = root / "pack.yaml"
    if not isinstance(dparams, dict):
        raise PackError(f"{where}：derivations 应为「派生名称: {{参数: 值}}」的映射")
    for name in dparams:
        if name not in DERIVATIONS:
            raise PackError(f"{where}：derivations 中的派生「{name}」未知（可用：{', '.join(sorted(DERIVATIONS))}）")
    used: set[str] = set()
    todo = [d for r in rules for c in r.checks for d in c.derivations]
    while todo:
        n = todo.pop()
        if n not in used:
            used.add(n)
            todo += list(DERIVATIONS[n].needs) + list(DERIVATIONS[n].uses)
    for n in sorted(used):
        d = DERIVATIONS[n]
        miss = [c for c in d.codelists if c not in codelists]
        if miss:
            raise PackError(f"{root / 'codelists.yaml'}：缺少代码表「{'、'.join(miss)}」（派生 {n} 读取它）")
        if d.classifier and legal is None:
            raise PackError(f"规则包 {root}：缺少法律依据分类表 legal_basis.yaml（派生 {n} 读取它）")
        check = getattr(sys.modules[d.module], "check_params", None)
        if d.params and check is not None:
            problems = check({**d.params, **(dparams.get(n) or {})}, str(where))
            if problems:
                raise PackError(problems[0])


def _read_params(params_file, files) -> dict[str, dict[str, Any]]:
    path = Path(params_file)
    data = _read_yaml(path, "参数文件", user=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PackError(f"参数文件 {path}：应为「规则编号: {{参数: 值}}」的形式")
    for rid, vals in data.items():
        if rid not in files:
            raise PackError(f"参数文件 {path}：规则「{shown_value(rid)}」不存在（规则编号如 {next(iter(files), '')}）",
                            field="参数文件", cli_hint="sharecheck rules 列出全部规则")
        if not isinstance(vals, dict):
            raise PackError(f"参数文件 {path}：规则 {rid} 下应为「参数: 值」")
    return {rid: dict(v) for rid, v in data.items()}


def _load_rule(path: Path, dim_of, codelists, override: dict, manifest, pwhere: str = "参数文件",
               data: dict | None = None, pack_params: dict | None = None, department: str | None = None,
               pack_where: str = "pack.yaml 的 overrides") -> Rule:
    """One rule from its raw data (read from ``path`` when not given). ``pack_params`` / ``department``: an
    extending pack's overrides of an inherited rule; ``override``: the --params file's values."""
    if data is None:
        data = _read_yaml(path)
    where = f"规则文件 {path.name}"
    if not isinstance(data, dict):
        raise PackError(f"{where}：内容应为字段映射")
    for f in RULE_FIELDS_REQUIRED:
        if f not in data or data[f] in (None, "", []):
            raise PackError(f"{where}：缺少必填字段「{f}」")
    unknown = sorted(set(data) - set(RULE_FIELDS_REQUIRED) - set(RULE_FIELDS_OPTIONAL) - set(CHECK_FIELDS))
    if unknown:
        raise PackError(f"{where}：未知字段「{'、'.join(unknown)}」（可能是拼写错误）")
    if data["id"] != path.stem:
        raise PackError(f"{where}：id「{data['id']}」与文件名不一致")
    if data["severity"] not in SEVERITIES:
        raise PackError(f"{where}：严重程度「{data['severity']}」无效，应为 {'/'.join(SEVERITIES)}")
    if data["dimension"] != dim_of[data["id"]]:
        raise PackError(f"{where}：维度「{data['dimension']}」与 pack.yaml 中的「{dim_of[data['id']]}」不一致")
    inputs = data["inputs"]
    if not isinstance(inputs, list) or any(t not in TABLES for t in inputs):
        bad = [t for t in (inputs if isinstance(inputs, list) else [inputs]) if t not in TABLES]
        raise PackError(f"{where}：inputs 中的表「{'、'.join(map(str, bad))}」未知（可用：{', '.join(TABLES)}）")

    params: dict[str, Any] = {}
    for name, spec in (data.get("params") or {}).items():
        try:
            params[name] = _param_value(spec)
        except KeyError:
            raise PackError(f"{where}：参数「{name}」缺少 value（默认值）") from None
    for layer, lwhere in ((pack_params or {}, pack_where), (override, pwhere)):
        _apply_params(params, layer, data["id"], lwhere)

    raw_checks = data.get("checks")
    if raw_checks is None:
        raw_checks = [{k: data[k] for k in CHECK_FIELDS if k in data}]
    elif not isinstance(raw_checks, list) or not raw_checks:
        raise PackError(f"{where}：checks 应为非空列表")
    if department:
        raw_checks = [_attribute(c, department, data, pack_where) for c in raw_checks]
    # a value a check rejects may come from the --params file: say so, or the auditor edits the wrong file
    cwhere = f"{where}（参数值来自{pwhere}）" if override else where
    checks = [_load_check(c, f"{cwhere}" + (f" 第 {i + 1} 项检查" if len(raw_checks) > 1 else ""), params,
                          codelists, inputs) for i, c in enumerate(raw_checks)]
    for req in data.get("requires_columns") or []:
        t, _, col = str(req).partition(".")
        if t not in inputs or col not in TABLE_COLUMNS.get(t, {}):
            raise PackError(f"{where}：requires_columns 中的「{req}」应为 inputs 中一张表的列，如 catalog.关联审批事项")
    named = data.get("derivations") or []
    if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
        raise PackError(f"{where}：derivations 应为派生名称的列表，如 [approval]")
    unknown = [n for n in named if n not in DERIVATIONS]
    if unknown:
        raise PackError(f"{where}：derivations 中的派生「{'、'.join(unknown)}」未知"
                        f"（可用：{', '.join(sorted(DERIVATIONS))}）",
                        cli_hint="sharecheck explain 规则编号 显示各派生的说明")
    used = [d for c in checks for d in c.derivations]
    missing = [d for d in dict.fromkeys(used) if d not in named]
    if missing:
        cols = {d: [col for c in checks for col, src in column_source(c.view).items()
                    if src == d and col in c.columns] for d in missing}
        what = "；".join(f"「{d}」（" + ("视图 " + d if not cols[d] else "列 " + "、".join(dict.fromkeys(cols[d])))
                        + "）" for d in missing)
        raise PackError(f"{where}：规则读取派生 {what}，但 derivations 未列出：请在 derivations 中加入"
                        f"「{'、'.join(missing)}」")
    return Rule(data["id"], path, data, params, checks)


def _apply_params(params: dict[str, Any], override: dict, rule_id: str, pwhere: str) -> None:
    """Set parameter values from an override layer, each checked against the rule's default."""
    for name, value in override.items():
        if name not in params:
            raise PackError(f"{pwhere}：规则 {rule_id} 没有参数「{shown_value(name)}」（可用：{', '.join(sorted(params)) or '无'}）")
        if not _type_ok(params[name], value):
            raise PackError(f"{pwhere}：规则 {rule_id} 的参数「{name}」应为{_type_name(params[name])}，"
                            f"实际为「{shown_value(value)}」")
        _check_range(pwhere, rule_id, name, value)
        if isinstance(params[name], dict):
            # a table parameter (e.g. cycle days): the override changes only the entries it names
            # a mapping of lists (e.g. 细目 → 职能类别) takes new keys; a table of numbers only its own entries
            open_keys = all(isinstance(v, list) for v in params[name].values())
            bad = [k for k, v in value.items() if (not isinstance(v, list) if open_keys and k not in params[name]
                                                   else k not in params[name] or not _type_ok(params[name][k], v))]
            if bad:
                raise PackError(f"{pwhere}：规则 {rule_id} 的参数「{name}」中「{shown_value('、'.join(map(str, bad)))}」无效"
                                f"（可用：{'、'.join(map(str, params[name]))}，值的类型与默认值相同）")
            value = {**params[name], **value}
        params[name] = value


def _attribute(c: dict, column: str, data: dict, where: str) -> dict:
    """An override ``department: COLUMN``: the check's findings go to that column's department. A derived
    「归属COLUMN」 (the column's department when it is in 部门名录, else the 提供部门) is used where the view has it."""
    if not isinstance(c, dict) or not c.get("view") or c["view"] not in views():
        return c
    cols = view_columns(c["view"])
    target = f"归属{column}" if f"归属{column}" in cols else column if column in cols else None
    if target is None:
        raise PackError(f"{where}：规则 {data.get('id')} 的视图 {c['view']} 没有列「{column}」，不能改为按它归属部门")
    src = column_source(c["view"]).get(target)
    if src and src not in (data.get("derivations") or []):
        data["derivations"] = list(data.get("derivations") or []) + [src]
    return {**c, "department": target}


def _resolve(value: Any, params: dict, where: str, what: str) -> Any:
    if isinstance(value, str):
        m = _PARAM_REF.match(value.strip())
        if m:
            if m[1] not in params:
                raise PackError(f"{where}：{what} 引用了未定义的参数「{m[1]}」")
            return ("param", m[1])
    return value


def _load_check(c: dict, where: str, params: dict, codelists: dict, inputs: list[str]) -> Check:
    if not isinstance(c, dict):
        raise PackError(f"{where}：检查定义应为字段映射")
    unknown = sorted(set(c) - set(CHECK_FIELDS))
    if unknown:
        raise PackError(f"{where}：未知字段「{'、'.join(unknown)}」（可能是拼写错误）")
    for f in ("view", "key", "department", "message"):
        if f not in c or c[f] in (None, ""):
            raise PackError(f"{where}：缺少必填字段「{f}」")
    view = c["view"]
    if view not in views():
        raise PackError(f"{where}：视图「{view}」未知（可用视图：{', '.join(views())}）")
    if base_table(view) not in inputs:
        raise PackError(f"{where}：视图 {view} 读取 {base_table(view)}，但 inputs 未列出该表")
    view_args = {}
    for k, v in (c.get("view_args") or {}).items():
        if k not in view_arg_defaults(view):
            raise PackError(f"{where}：视图 {view} 没有参数「{k}」")
        view_args[k] = _resolve(v, params, where, f"view_args.{k}")
    cols = view_columns(view)
    deadline = None
    if c.get("deadline") is not None:
        d = c["deadline"]
        if not isinstance(d, dict):
            raise PackError(f"{where}：deadline 应包含 event、action、limit、unit")
        miss = [f for f in DEADLINE_FIELDS if f not in d]
        bad = sorted(set(d) - set(DEADLINE_FIELDS))
        if miss or bad:
            raise PackError(f"{where}：deadline " + (f"缺少「{'、'.join(miss)}」" if miss else f"有未知字段「{'、'.join(bad)}」"))
        for f in ("event", "action"):
            if d[f] not in cols:
                raise PackError(f"{where}：deadline.{f} 的列「{d[f]}」在视图 {view} 中不存在")
        if d["unit"] not in DEADLINE_UNITS:
            raise PackError(f"{where}：deadline.unit「{d['unit']}」无效，应为 工作日 或 小时")
        limit = _resolve(d["limit"], params, where, "deadline.limit")
        lv = params[limit[1]] if isinstance(limit, tuple) else limit
        if isinstance(lv, bool) or not isinstance(lv, (int, float)) or lv < 0 \
                or (DEADLINE_UNITS[d["unit"]] == "wd" and not isinstance(lv, int)):
            raise PackError(f"{where}：deadline.limit 应为非负{'整数' if d['unit'] == '工作日' else '数值'}"
                            f"（{d['unit']}），实际为「{lv!r}」")
        deadline = Deadline(d["event"], d["action"], limit, DEADLINE_UNITS[d["unit"]])
        cols = cols + DEADLINE_COLUMNS
    elif c.get("when") is None:
        raise PackError(f"{where}：缺少必填字段「when」（或 deadline）")
    comp = Compiler(cols, params, codelists, where, view)
    for f in ("department", "counterpart", "row"):
        if c.get(f) is not None and c[f] not in cols:
            raise PackError(f"{where}：{f} 的列「{c[f]}」在视图 {view} 中不存在")
    inp = c.get("input", base_table(view))
    if inp not in TABLES:
        raise PackError(f"{where}：input「{inp}」不是已知的表")
    scope_fn = comp.compile(c["scope"]) if c.get("scope") is not None else None
    when_fn = comp.compile(c["when"]) if c.get("when") is not None else None
    skips = []
    for s in c.get("skip") or []:
        if not isinstance(s, dict) or "when" not in s or "reason" not in s:
            raise PackError(f"{where}：skip 的每一项应包含 when 和 reason")
        skips.append((comp.compile(s["when"]), str(s["reason"])))
    deciding = set(comp.used) | {c["department"]}
    msgs = c["message"]
    if isinstance(msgs, str):
        messages = [(None, comp.template(msgs, display=True))]
    elif isinstance(msgs, list) and msgs:
        messages = []
        for m in msgs:
            if not isinstance(m, dict) or "text" not in m:
                raise PackError(f"{where}：message 列表的每一项应包含 text（可选 when）")
            messages.append((comp.compile(m["when"]) if m.get("when") is not None else None, comp.template(m["text"], display=True)))
    else:
        raise PackError(f"{where}：message 应为文字模板或 {{when, text}} 列表")
    sev_cases = []
    for s in c.get("severity_cases") or []:
        if not isinstance(s, dict) or "when" not in s or s.get("severity") not in SEVERITIES:
            raise PackError(f"{where}：severity_cases 的每一项应包含 when 和 severity（{'/'.join(SEVERITIES)}）")
        sev_cases.append((comp.compile(s["when"]), s["severity"]))
    pend = None
    if c.get("pending_message") is not None:
        if deadline is None:
            raise PackError(f"{where}：pending_message 只用于 deadline 规则")
        pend = comp.template(c["pending_message"], display=True)
    key_fn = comp.template(c["key"])
    row_col = c["row"] if "row" in c else "_row"          # `row: ~`: the finding is about a missing record
    used = set(comp.used) | {c["department"]} | ({row_col} if row_col else set()) | set(META_COLUMNS)
    if c.get("counterpart"):
        used.add(c["counterpart"])
    if deadline is not None:
        used |= {deadline.event, deadline.action}
    view_cols = view_columns(view)
    check_cols = [col for col in view_cols if col in used]
    source = column_source(view)
    builder = view_builder(view)
    derivs = ([builder.name] if builder is not None else []) + [source[col] for col in check_cols if col in source]
    return Check(
        derivations=list(dict.fromkeys(derivs)),
        columns=check_cols, decide_columns=[col for col in view_cols if col in deciding],
        view=view, view_args=view_args,
        scope=scope_fn,
        skips=skips,
        when=when_fn,
        deadline=deadline, key=key_fn, department=c["department"],
        counterpart=c.get("counterpart"), input=inp, row=row_col, messages=messages,
        pending_message=pend, severity_cases=sev_cases, out_of_scope_reason=c.get("out_of_scope_reason"))
