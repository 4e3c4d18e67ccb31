"""Resolving a pack folder into one flat pack: ``extends``, ``based_on``, ``overrides``, ``drop``, dimension
amendments, and code lists / classifier tables merged over the parent's (spec: packs.md "The pack manifest").

The result (:class:`Resolved`) holds the raw rule data (YAML mappings) of every rule the pack runs, in order, with
the manifest fields the pack inherits, the pack chain (child first) and the differences from the parent. Compiling
the rules is :mod:`checker.engine.pack`'s job.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PackError
from ..model import SEVERITIES
from .resources import packs_dir

# manifest fields of a pack.yaml
MANIFEST_FIELDS = {"pack", "version", "title", "regulation", "effective_date", "status", "extends", "scope",
                   "overrides", "drop", "rules", "dimensions", "codelists", "legal_basis", "scored_severities",
                   "advisory_rules", "grades", "policies", "derivations", "city", "report_title", "notes", "id_prefix", "sources"}
# fields a child inherits from its parent unless it gives them
INHERITED = ("regulation", "effective_date", "scored_severities", "advisory_rules", "grades", "policies", "city", "report_title",
             "scope")
OVERRIDE_FIELDS = ("params", "department", "severity")
RESERVED_FILES = ("pack", "codelists", "legal_basis")
MAX_DEPTH = 4


@dataclass
class RuleSource:
    id: str
    path: Path                  # the file the rule's own text comes from
    data: dict[str, Any]
    pack: str                   # the pack that defines (or re-defines) it
    origin: str = "own"         # own / inherited / based_on
    based_on: str | None = None
    department: str | None = None   # overridden attribution column (the override's value)


@dataclass
class Resolved:
    root: Path
    manifest: dict[str, Any]
    codelists: dict[str, Any]
    legal_basis: list[Path]
    rules: list[RuleSource]
    dimensions: list[dict[str, Any]]
    chain: list[dict[str, Any]] = field(default_factory=list)      # child first: pack, version, status, title
    parent: "Resolved | None" = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def pack_root(name_or_path: str | Path, base: Path | None = None) -> Path:
    """The folder of a pack given by name (an installed pack) or by path (absolute, or relative to ``base``, the
    folder of the pack that names it, else to the working directory)."""
    text = str(name_or_path)
    p = Path(text)
    if p.suffix == ".yaml":
        p = p.parent
        text = str(p)
    if not p.is_absolute() and base is not None and (base / p / "pack.yaml").is_file():
        return (base / p).resolve()
    if p.is_dir() or "/" in text or "\\" in text or text.startswith("."):
        return p.resolve()
    return packs_dir() / text


def _read(path: Path, what: str = "规则包文件") -> Any:
    from .pack import _read_yaml
    return _read_yaml(path, what)


def _codelists_of(root: Path) -> dict[str, Any]:
    cl_path = root / "codelists.yaml"
    codelists = _read(cl_path) if cl_path.exists() else {}
    codelists = (codelists or {}).get("codelists", codelists or {})
    if not isinstance(codelists, dict):
        raise PackError(f"{cl_path}：应为「名称: 列表或映射」的集合")
    return codelists


def _rule_files(root: Path) -> dict[str, Path]:
    return {f.stem: f for f in sorted(root.glob("*.yaml")) if f.stem not in RESERVED_FILES}


def resolve(name_or_path: str | Path, base: Path | None = None, _seen: tuple[Path, ...] = ()) -> Resolved:
    root = pack_root(name_or_path, base)
    if not (root / "pack.yaml").exists():
        raise PackError(f"找不到规则包「{name_or_path}」：{root / 'pack.yaml'} 不存在（规则包应为已安装规则包的名称或一个文件夹）",
                        field="规则包", cli_hint="sharecheck packs 列出已安装的规则包")
    if root in _seen:
        raise PackError(f"{root / 'pack.yaml'}：extends 形成循环（{' → '.join(str(s.name) for s in _seen + (root,))}）")
    if len(_seen) >= MAX_DEPTH:
        raise PackError(f"{root / 'pack.yaml'}：extends 层数过多（最多 {MAX_DEPTH} 层）")
    where = root / "pack.yaml"
    manifest = _read(where)
    if not isinstance(manifest, dict):
        raise PackError(f"{where}：内容应为字段映射")
    unknown = sorted(set(manifest) - MANIFEST_FIELDS)
    if unknown:
        raise PackError(f"{where}：未知字段「{'、'.join(unknown)}」（可能是拼写错误）")
    for f in ("pack", "version", "title"):
        if not manifest.get(f):
            raise PackError(f"{where}：缺少必填字段「{f}」")
    if manifest.get("extends"):
        return _extend(root, manifest, _seen)
    return _standalone(root, manifest)


def _chain_entry(root: Path, m: dict) -> dict[str, Any]:
    return {"pack": str(m.get("pack")), "version": str(m.get("version")), "status": m.get("status"),
            "title": m.get("title"), "path": str(root)}


def _standalone(root: Path, manifest: dict) -> Resolved:
    where = root / "pack.yaml"
    if "dimensions" not in manifest or not isinstance(manifest["dimensions"], list):
        raise PackError(f"{where}：缺少 dimensions（评分维度列表）")
    for f in ("overrides", "drop"):
        if manifest.get(f):
            raise PackError(f"{where}：{f} 只用于扩展其他规则包的规则包（需要 extends）")
    files = _rule_files(root)
    dims = copy.deepcopy(manifest["dimensions"])
    order = [rid for d in dims for rid in (d.get("rules") or [])]
    for stem in files:
        if stem not in order:
            raise PackError(f"{files[stem]}：规则 {stem} 未列入 pack.yaml 的任何评分维度（dimensions.rules）")
    for rid in order:
        if rid not in files:
            raise PackError(f"{where}：列出了规则 {rid}，但没有规则文件 {root / (rid + '.yaml')}")
    rules = [_own_rule(files[rid], str(manifest["pack"]), None) for rid in order]
    # `codelists: PACK` / `legal_basis: PACK`: start from another pack's tables, this pack's files merged over them
    codelists, legal = {}, []
    for f, attr in (("codelists", "codelists"), ("legal_basis", "legal_basis")):
        if manifest.get(f):
            other = resolve(manifest[f], root)
            if attr == "codelists":
                codelists = dict(other.codelists)
            else:
                legal = list(other.legal_basis)
    codelists.update(_codelists_of(root))
    legal += [root / "legal_basis.yaml"] if (root / "legal_basis.yaml").is_file() else []
    m = dict(manifest)
    return Resolved(root, m, codelists, legal, rules, dims, [_chain_entry(root, m)])


def _find_rule(rule_id: str, parent: Resolved | None) -> tuple[Path, dict, str]:
    """The definition ``based_on`` names: a rule of the parent chain, else of an installed pack."""
    r = parent
    while r is not None:
        for s in r.rules:
            if s.id == rule_id:
                return s.path, s.data, s.pack
        r = r.parent
    if packs_dir().is_dir():
        for d in sorted(packs_dir().iterdir()):
            f = d / f"{rule_id}.yaml"
            if f.is_file() and (d / "pack.yaml").is_file():
                src = _own_rule(f, d.name, None)
                return src.path, src.data, d.name
    raise PackError(f"based_on「{rule_id}」：在上级规则包和已安装的规则包中都找不到这条规则")


def _own_rule(path: Path, pack: str, parent: Resolved | None) -> RuleSource:
    data = _read(path)
    if not isinstance(data, dict):
        raise PackError(f"规则文件 {path.name}：内容应为字段映射")
    base = data.get("based_on")
    if not base:
        return RuleSource(str(data.get("id", path.stem)), path, data, pack)
    _bpath, bdata, _bpack = _find_rule(str(base), parent)
    merged = copy.deepcopy(bdata)
    merged.pop("examples", None)
    params = dict(merged.get("params") or {})
    for name, spec in (data.get("params") or {}).items():
        old = params.get(name)
        if isinstance(old, dict) and "value" in old:
            # a bare value (also a table given as a mapping without `value`) keeps the base's label, unit, description
            params[name] = {**old, **spec} if isinstance(spec, dict) and "value" in spec else {**old, "value": spec}
        else:
            params[name] = spec
    for k, v in data.items():
        if k not in ("based_on", "params"):
            merged[k] = v
    merged["params"] = params
    if "examples" not in data:
        merged.pop("examples", None)
    return RuleSource(str(data.get("id", path.stem)), path, merged, pack, "based_on", str(base))


def _amend_dimensions(where: Path, parent_dims: list[dict], spec: Any) -> list[dict]:
    dims = copy.deepcopy(parent_dims)
    if spec is None:
        return dims
    if isinstance(spec, list):
        return copy.deepcopy(spec)
    if not isinstance(spec, dict):
        raise PackError(f"{where}：dimensions 应为维度列表，或「维度: {{add: [规则编号], weight: 权重}}」的修订")
    by_name = {d["name"]: d for d in dims}
    for name, amend in spec.items():
        if not isinstance(amend, dict) or set(amend) - {"add", "weight", "rule_weights"}:
            raise PackError(f"{where}：dimensions.{name} 应为 {{add: [规则编号], weight: 权重}}")
        if name not in by_name:
            by_name[name] = {"name": name, "weight": amend.get("weight", 0), "rules": []}
            dims.append(by_name[name])
        d = by_name[name]
        d["rules"] = list(d.get("rules") or []) + [r for r in (amend.get("add") or []) if r not in (d.get("rules") or [])]
        if "weight" in amend:
            d["weight"] = amend["weight"]
        if "rule_weights" in amend:
            d["rule_weights"] = {**(d.get("rule_weights") or {}), **amend["rule_weights"]}
    return dims


def _extend(root: Path, manifest: dict, seen: tuple[Path, ...]) -> Resolved:
    where = root / "pack.yaml"
    parent_name = manifest["extends"]
    if isinstance(parent_name, list):
        if len(parent_name) != 1:
            raise PackError(f"{where}：extends 只能是一个规则包（packs.md 决定 7：一层 extends）")
        parent_name = parent_name[0]
    parent = resolve(parent_name, root, seen + (root,))
    name = str(manifest["pack"])
    drop = manifest.get("drop") or []
    if not isinstance(drop, list):
        raise PackError(f"{where}：drop 应为规则编号的列表")
    parent_ids = [s.id for s in parent.rules]
    bad = [r for r in drop if r not in parent_ids]
    if bad:
        raise PackError(f"{where}：drop 中的规则「{'、'.join(map(str, bad))}」不是上级规则包 {parent.manifest['pack']} 的规则")
    overrides = manifest.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise PackError(f"{where}：overrides 应为「规则编号: {{params/department/severity}}」的映射")
    for rid, ov in overrides.items():
        if rid not in parent_ids:
            raise PackError(f"{where}：overrides 中的规则「{rid}」不是上级规则包 {parent.manifest['pack']} 的规则")
        if rid in drop:
            raise PackError(f"{where}：规则 {rid} 既在 drop 中又在 overrides 中")
        if not isinstance(ov, dict) or set(ov) - set(OVERRIDE_FIELDS):
            raise PackError(f"{where}：overrides.{rid} 只能包含 {'、'.join(OVERRIDE_FIELDS)}")
        if "severity" in ov and ov["severity"] not in SEVERITIES:
            raise PackError(f"{where}：overrides.{rid}.severity「{ov['severity']}」无效，应为 {'/'.join(SEVERITIES)}")
    rules: list[RuleSource] = []
    for s in parent.rules:
        if s.id in drop:
            continue
        data = copy.deepcopy(s.data)
        ov = overrides.get(s.id) or {}
        src = RuleSource(s.id, s.path, data, s.pack, "inherited", s.based_on, s.department)
        if "severity" in ov:
            data["severity"] = ov["severity"]
        if "params" in ov:
            if not isinstance(ov["params"], dict):
                raise PackError(f"{where}：overrides.{s.id}.params 应为「参数: 值」")
            data["_pack_params"] = dict(ov["params"])
        if "department" in ov:
            src.department = str(ov["department"])
        rules.append(src)
    files = _rule_files(root)
    own_ids = manifest.get("rules")
    if own_ids is None:
        own_ids = list(files)
    if not isinstance(own_ids, list):
        raise PackError(f"{where}：rules 应为本规则包规则编号的列表（规则文件 <编号>.yaml 与 pack.yaml 同目录）")
    for stem in files:
        if stem not in own_ids:
            raise PackError(f"{files[stem]}：规则 {stem} 未列入 pack.yaml 的 rules")
    for rid in own_ids:
        if rid not in files:
            raise PackError(f"{where}：rules 列出了 {rid}，但没有规则文件 {root / (str(rid) + '.yaml')}")
        if rid in parent_ids and rid not in drop:
            raise PackError(f"{where}：规则 {rid} 已由上级规则包提供：修改它请用 overrides，替换它请先 drop")
        rules.append(_own_rule(files[rid], name, parent))
    dims = _amend_dimensions(where, parent.dimensions, manifest.get("dimensions"))
    for d in dims:
        d["rules"] = [r for r in d.get("rules") or [] if r not in drop]
        if isinstance(d.get("rule_weights"), dict):
            d["rule_weights"] = {k: v for k, v in d["rule_weights"].items() if k not in drop}
    listed = [r for d in dims for r in d["rules"]]
    ids = [s.id for s in rules]
    missing = [r for r in ids if r not in listed]
    if missing:
        raise PackError(f"{where}：规则 {'、'.join(missing)} 未列入任何评分维度（dimensions: {{维度: {{add: [...]}}}}）")
    unknown = [r for r in listed if r not in ids]
    if unknown:
        raise PackError(f"{where}：评分维度列出了不存在的规则 {'、'.join(unknown)}")
    # the rules in dimension order (as a standalone pack), each inherited rule's dimension set from it
    dim_of = {r: d["name"] for d in dims for r in d["rules"]}
    by_id = {s.id: s for s in rules}
    ordered = [by_id[r] for d in dims for r in d["rules"]]
    for s in ordered:
        if s.origin == "inherited":
            s.data["dimension"] = dim_of[s.id]
    m = {k: copy.deepcopy(v) for k, v in parent.manifest.items() if k in INHERITED}
    m.update({k: v for k, v in manifest.items()})
    m["dimensions"] = dims
    if "policies" in m and m["policies"]:
        m["policies"] = [p for p in m["policies"] if (p.get("when") or {}).get("rule") not in drop]
    derivs = copy.deepcopy(parent.manifest.get("derivations") or {})
    for k, v in (manifest.get("derivations") or {}).items():
        derivs[k] = {**(derivs.get(k) or {}), **(v or {})}
    m["derivations"] = derivs
    codelists = {**parent.codelists, **_codelists_of(root)}
    legal = list(parent.legal_basis) + ([root / "legal_basis.yaml"] if (root / "legal_basis.yaml").is_file() else [])
    chain = [_chain_entry(root, manifest)] + parent.chain
    return Resolved(root, m, codelists, legal, ordered, dims, chain, parent, overrides, list(drop))
