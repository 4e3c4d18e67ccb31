"""The condition language of rule files: a whitelisted subset of Python expressions.

A condition is parsed with :mod:`ast` and only these nodes are accepted: names (columns of the rule's view),
constants (text, numbers, booleans, ``None``), lists/tuples of constants, comparisons (``== != < <= > >= in
not in``), ``and``/``or``/``not``, and calls of the functions in :data:`FUNCTIONS`. ``${name}`` is a rule
parameter. Everything is compiled into closures that work on whole pandas Series (no row loops, no ``eval``).
Rejections raise :class:`checker.errors.PackError` with a Chinese message naming the file.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import PackError
from ..text import is_missing as _text_is_missing
from ..text import norm_key as _norm_key

EMPTY_TEXT = "（空）"
_PARAM_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")


def is_missing(s: pd.Series) -> pd.Series:
    """Empty or a placeholder (inputs.md "Missing"), as ``checker.text.is_missing`` defines it.

    Evaluated on the distinct values only, then spread with ``isin`` (a 1M-row column has few distinct texts)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = pd.Series(s.cat.categories.astype(object))
        cm = np.append(is_missing(cats).to_numpy(dtype=bool), True)   # code -1 (NaN) is missing
        return pd.Series(cm[s.cat.codes.to_numpy()], index=s.index)
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return s.isna().astype(bool)
    na = s.isna()
    uniq = pd.unique(s[~na].astype(object))
    if len(uniq) == 0:
        return na.astype(bool)
    um = _text_is_missing(pd.Series(uniq, dtype=object)).to_numpy(dtype=bool)
    return (na | s.isin(uniq[um])).astype(bool)


@dataclass
class Env:
    """What a compiled expression sees at run time."""

    frame: pd.DataFrame
    params: dict[str, Any]
    codelists: dict[str, Any]
    calendar: Any = None
    period: Any = None
    as_of: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self):
        return self.frame.index


# ----------------------------------------------------------------------------------------- value helpers
def to_bool(v: Any, index) -> pd.Series:
    """Boolean Series with missing/NA as False."""
    if isinstance(v, pd.Series):
        if v.dtype == bool:
            return v
        if v.dtype == object:
            v = v.where(v.notna(), False)
            return v.astype(bool)
        return v.astype("boolean").fillna(False).astype(bool)
    ok = False if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v)
    return pd.Series(ok, index=index, dtype=bool)


def as_series(v: Any, index) -> pd.Series:
    if isinstance(v, pd.Series):
        return v
    return pd.Series([v] * len(index), index=index, dtype=object)


def fmt_value(v: Any, index, kind: str | None = None) -> pd.Series:
    """Vectorised text of a value for messages and keys; missing → （空）."""
    if not isinstance(v, pd.Series):
        if isinstance(v, (list, tuple)):
            v = "、".join(str(x) for x in v)
        elif isinstance(v, bool):
            v = "是" if v else "否"
        elif isinstance(v, datetime):
            v = v.strftime("%Y-%m-%d %H:%M:%S" if kind == "datetime" else "%Y-%m-%d")
        elif isinstance(v, date):
            v = v.strftime("%Y-%m-%d")
        elif isinstance(v, float) and v.is_integer():
            v = str(int(v))
        elif v is None:
            v = EMPTY_TEXT
        return pd.Series(str(v), index=index, dtype=object)
    s = v
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S" if kind == "datetime" else "%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype("boolean").map({True: "是", False: "否"})
    elif pd.api.types.is_integer_dtype(s.dtype):
        out = s.astype("Int64").astype("string")
    elif pd.api.types.is_float_dtype(s.dtype):
        out = s.round(1).astype("string").str.replace(r"\.0$", "", regex=True)
    else:
        out = s.astype("string")
    return out.fillna(EMPTY_TEXT).astype(object)


# ----------------------------------------------------------------------------------------- functions
@dataclass(frozen=True)
class Func:
    name: str
    arity: tuple[int, int | None]        # min, max (None = any)
    const_first: bool                    # first argument must be a text constant (a codelist / param name)
    doc: str
    impl: Callable


def _f_missing(env, x):
    return is_missing(as_series(x, env.index))


def _f_in_period(env, x):
    s = pd.to_datetime(as_series(x, env.index)).dt.normalize()
    start = pd.Timestamp(env.period.start)
    end = min(pd.Timestamp(env.period.end), pd.Timestamp(env.as_of))
    return ((s >= start) & (s <= end)).fillna(False).astype(bool)


def _f_wd(env, a, b):
    return env.calendar.wd(as_series(a, env.index), as_series(b, env.index))


def _f_hours(env, a, b):
    a, b = pd.to_datetime(as_series(a, env.index)), pd.to_datetime(as_series(b, env.index))
    return (b - a).dt.total_seconds() / 3600.0


def _table_param(params: dict, name: str):
    """The rule parameter ``name`` when its value is a table (mapping or list), else None."""
    value = params.get(name)
    return value if isinstance(value, (dict, list)) else None


def _mapping(env, name):
    """A code list by name: a rule's table parameter wins over codelists.yaml, so that a table of numbers
    (e.g. GZ165-18-1's cycle days) can be changed with --params like any deadline."""
    value = _table_param(env.params, name)
    return value if value is not None else env.codelists[name]


def _f_codelist(env, name):
    return _mapping(env, name)


def _joined(mapping: dict) -> dict:
    return {k: ("、".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in mapping.items()}


def _f_lookup(env, name, x):
    mapping = _mapping(env, name)
    out = as_series(x, env.index).map(_joined(mapping))
    if mapping and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in mapping.values()):
        return out.astype("Float64")
    return out.astype(object)


def _f_pair_in(env, name, k, v):
    """True where value v is one of the codelist's values for key k ('*' allows any value)."""
    mapping = _mapping(env, name)
    k, v = as_series(k, env.index), as_series(v, env.index)
    pairs = sorted(f"{a}\x1f{b}" for a, vals in mapping.items() for b in (vals or []))
    any_keys = sorted(a for a, vals in mapping.items() if "*" in (vals or []))
    pair = k.astype("string") + "\x1f" + v.astype("string")
    return (pair.isin(pairs).fillna(False) | k.isin(any_keys)).astype(bool)


def _f_labels(env, *args):
    out = pd.Series("", index=env.index, dtype=object)
    for cond, text in zip(args[0::2], args[1::2]):
        c = to_bool(cond, env.index)
        out = out + pd.Series(np.where(c.to_numpy(), str(text) + "、", ""), index=env.index, dtype=object)
    return out.str.rstrip("、").astype(object)


def _f_date(env, x):
    return fmt_value(x, env.index, "date")


def _f_datetime(env, x):
    return fmt_value(x, env.index, "datetime")


def _f_param(env, name):
    return env.params[name]


def _f_norm(env, x):
    """rules.md "Key": a free-text value as keys write it (NFKC, trimmed, every inner space removed)."""
    s = as_series(x, env.index)
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s
    return _norm_key(s.astype(object)).astype(object)


def _f_cites(env, x, levels):
    """True where the 、-joined levels x (e.g. 依据层级) name at least one of ``levels`` (a list or parameter)."""
    s = as_series(x, env.index).astype(object)
    wanted = set(map(str, levels if isinstance(levels, (list, tuple)) else [levels]))
    parts = s.where(s.notna(), "").astype(str).str.split("、")
    return parts.map(lambda p: bool(wanted.intersection(p))).astype(bool)


def _f_lacks(env, x, wanted):
    """The items of ``wanted`` (a list or parameter) that the 、-joined x does not name, 、-joined ('' if none)."""
    s = as_series(x, env.index).astype(object)
    items = [str(w) for w in (wanted if isinstance(wanted, (list, tuple)) else [wanted])]
    parts = s.where(s.notna(), "").astype(str).str.split("、")
    return parts.map(lambda p: "、".join(w for w in items if w not in p)).astype(object)


FUNCTIONS: dict[str, Func] = {f.name: f for f in [
    Func("missing", (1, 1), False, "missing(x)：为空或占位符（/ - — 无 暂无 N/A）", _f_missing),
    Func("in_period", (1, 1), False, "in_period(x)：x 的日历日期在审计期间内且不晚于核查日", _f_in_period),
    Func("wd", (2, 2), False, "wd(a, b)：a 之后至 b（含）的工作日数", _f_wd),
    Func("hours", (2, 2), False, "hours(a, b)：b − a 的小时数", _f_hours),
    Func("codelist", (1, 1), True, "codelist('名称')：codelists.yaml 中的代码表（用于 in）", _f_codelist),
    Func("lookup", (2, 2), True, "lookup('名称', x)：按代码表把 x 映射为值（多个值用“、”连接）", _f_lookup),
    Func("pair_in", (3, 3), True, "pair_in('名称', k, v)：v 是否为代码表中 k 对应的值之一（* 表示任意）",
         _f_pair_in),
    Func("labels", (2, None), False, "labels(条件1, '文字1', 条件2, '文字2', …)：列出成立条件的文字，用“、”连接",
         _f_labels),
    Func("date", (1, 1), False, "date(x)：日期文字 YYYY-MM-DD", _f_date),
    Func("datetime", (1, 1), False, "datetime(x)：日期时间文字 YYYY-MM-DD HH:MM:SS", _f_datetime),
    Func("norm", (1, 1), False, "norm(x)：键中的文字（NFKC、去首尾及中间空格，规则说明“Key”）", _f_norm),
    Func("param", (1, 1), True, "param('名称') 或 ${名称}：本规则的参数", _f_param),
    Func("cites", (2, 2), False, "cites(依据层级, ${levels})：依据层级中至少有一个在列表中", _f_cites),
    Func("lacks", (2, 2), False, "lacks(x, ${list})：列表中 x（用“、”连接）没有的项，用“、”连接", _f_lacks),
]}

_CMP = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
}


class Compiler:
    """Compiles one expression for one view. ``where`` names the file and field for error messages."""

    def __init__(self, columns: set[str] | list[str], params: dict[str, Any], codelists: dict[str, Any],
                 where: str, view: str):
        self.columns = set(columns)
        self.params = params
        self.codelists = codelists
        self.where = where
        self.view = view
        self.used: set[str] = set()        # columns the compiled expressions read

    def err(self, text: str, expr: str) -> PackError:
        return PackError(f"{self.where}：表达式「{expr}」{text}")

    def compile(self, expr: Any) -> Callable[[Env], Any]:
        if isinstance(expr, bool) or isinstance(expr, (int, float)) and not isinstance(expr, bool):
            return lambda env, v=expr: v
        if not isinstance(expr, str) or not expr.strip():
            raise PackError(f"{self.where}：应为一个条件表达式（文字），实际为「{expr!r}」")
        src = _PARAM_RE.sub(lambda m: f"param('{m[1]}')", expr.strip())
        if "$" in src:
            raise self.err("中的参数引用写法不对：应为 ${参数名}", expr)
        try:
            tree = ast.parse(src, mode="eval")
        except SyntaxError as e:
            raise self.err(f"无法解析（语法错误：第 {e.offset or 0} 个字符附近）", expr) from None
        return self._node(tree.body, expr)

    # each _node returns a closure env -> value
    def _node(self, n: ast.AST, expr: str):
        if isinstance(n, ast.Constant):
            if not isinstance(n.value, (str, int, float, bool, type(None))):
                raise self.err(f"中的常量「{n.value!r}」不允许", expr)
            return lambda env, v=n.value: v
        if isinstance(n, (ast.List, ast.Tuple)):
            vals = []
            for e in n.elts:
                if not isinstance(e, ast.Constant) or not isinstance(e.value, (str, int, float, bool)):
                    raise self.err("中的列表只能包含常量", expr)
                vals.append(e.value)
            return lambda env, v=tuple(vals): list(v)
        if isinstance(n, ast.Name):
            name = n.id
            if name in ("True", "False", "None"):
                return lambda env, v={"True": True, "False": False, "None": None}[name]: v
            if name not in self.columns:
                near = ", ".join(sorted(c for c in self.columns if not c.startswith("_"))[:60])
                raise self.err(f"中的列「{name}」在视图 {self.view} 中不存在（可用列：{near}）", expr)
            self.used.add(name)
            return lambda env, c=name: env.frame[c]
        if isinstance(n, ast.BoolOp):
            parts = [self._node(v, expr) for v in n.values]
            if isinstance(n.op, ast.And):
                def f(env, parts=parts):
                    out = to_bool(parts[0](env), env.index)
                    for p in parts[1:]:
                        out = out & to_bool(p(env), env.index)
                    return out
            else:
                def f(env, parts=parts):
                    out = to_bool(parts[0](env), env.index)
                    for p in parts[1:]:
                        out = out | to_bool(p(env), env.index)
                    return out
            return f
        if isinstance(n, ast.UnaryOp):
            inner = self._node(n.operand, expr)
            if isinstance(n.op, ast.Not):
                return lambda env, i=inner: ~to_bool(i(env), env.index)
            if isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Constant):
                return lambda env, i=inner: -i(env)
            raise self.err(f"中的运算「{type(n.op).__name__}」不允许", expr)
        if isinstance(n, ast.Compare):
            left = self._node(n.left, expr)
            steps = []
            for op, right in zip(n.ops, n.comparators):
                r = self._node(right, expr)
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not (isinstance(right, (ast.List, ast.Tuple))
                            or (isinstance(right, ast.Call) and isinstance(right.func, ast.Name)
                                and right.func.id in ("codelist", "param"))):
                        raise self.err("中 in 的右边应为常量列表、codelist('名称') 或参数", expr)
                    steps.append((op, r))
                elif type(op) in _CMP:
                    steps.append((op, r))
                else:
                    raise self.err(f"中的比较「{type(op).__name__}」不允许", expr)

            def f(env, left=left, steps=steps):
                out = None
                a = left(env)
                for op, r in steps:
                    b = r(env)
                    if isinstance(op, (ast.In, ast.NotIn)):
                        vals = list(b.keys()) if isinstance(b, dict) else list(b)
                        res = as_series(a, env.index).isin(vals)
                        res = to_bool(res, env.index)
                        if isinstance(op, ast.NotIn):
                            res = ~res
                    else:
                        res = _CMP[type(op)](a, b)
                        res = to_bool(res, env.index)
                    out = res if out is None else (out & res)
                    a = b
                return out
            return f
        if isinstance(n, ast.Call):
            if not isinstance(n.func, ast.Name):
                raise self.err("中只能调用函数名（不允许属性访问或方法调用）", expr)
            fname = n.func.id
            fn = FUNCTIONS.get(fname)
            if fn is None:
                raise self.err(f"中的函数「{fname}」未知（可用函数：{', '.join(sorted(FUNCTIONS))}）", expr)
            if n.keywords:
                raise self.err(f"中的函数 {fname} 不接受命名参数", expr)
            lo, hi = fn.arity
            if len(n.args) < lo or (hi is not None and len(n.args) > hi):
                want = f"{lo}" if lo == hi else f"至少 {lo}"
                raise self.err(f"中的函数 {fname} 需要 {want} 个参数，实际 {len(n.args)} 个", expr)
            if fname == "labels" and len(n.args) % 2:
                raise self.err("中的 labels 需要成对的（条件, '文字'）参数", expr)
            args = []
            for i, a in enumerate(n.args):
                if i == 0 and fn.const_first:
                    if not (isinstance(a, ast.Constant) and isinstance(a.value, str)):
                        raise self.err(f"中的函数 {fname} 的第一个参数应为带引号的名称", expr)
                    name = a.value
                    if fname == "param":
                        if name not in self.params:
                            raise self.err(f"引用了未定义的参数「{name}」（本规则参数：{', '.join(sorted(self.params)) or '无'}）", expr)
                    elif name not in self.codelists and _table_param(self.params, name) is None:
                        raise self.err(f"引用了未知的代码表「{name}」（本规则的表格型参数或 codelists.yaml 中有：{', '.join(sorted(self.codelists))}）", expr)
                    args.append(lambda env, v=name: v)
                else:
                    args.append(self._node(a, expr))

            def f(env, fn=fn, args=args):
                return fn.impl(env, *[a(env) for a in args])
            return f
        raise self.err(f"中的语法「{type(n).__name__}」不允许（只允许列名、常量、比较、and/or/not、in 列表和规定的函数）", expr)

    # ------------------------------------------------------------------------------------- templates
    def template(self, text: Any, display: bool = False) -> Callable[[Env], pd.Series]:
        """A message/key template: literal text with {expression} placeholders, rendered vectorised.

        ``display`` (messages, not keys): a placeholder that is a bare column name quotes the input's own spelling
        where the loader kept one (schema.DISPLAY_PREFIX, issue 8 C4); keys always use the normalised value."""
        if not isinstance(text, str):
            raise PackError(f"{self.where}：模板应为文字，实际为「{text!r}」")
        pieces: list[Any] = []
        pos = 0
        src = _PARAM_RE.sub(lambda m: "{param('" + m[1] + "')}", text)
        for m in _PLACEHOLDER_RE.finditer(src):
            if m.start() > pos:
                pieces.append(src[pos:m.start()])
            piece = self.compile(m[1])
            name = m[1].strip()
            if display and name.isidentifier() and name in self.columns:
                piece = _as_typed(piece, name)
            pieces.append(piece)
            pos = m.end()
        if pos < len(src):
            pieces.append(src[pos:])
        rest = "".join(p for p in pieces if isinstance(p, str))
        if "{" in rest or "}" in rest:
            raise PackError(f"{self.where}：模板「{text}」中的花括号不成对")

        def render(env, pieces=pieces):
            out = pd.Series("", index=env.index, dtype=object)
            for p in pieces:
                if isinstance(p, str):
                    out = out + p
                else:
                    out = out + fmt_value(p(env), env.index)
            return out
        return render


def _as_typed(get: Callable[[Env], Any], name: str) -> Callable[[Env], Any]:
    """The column's value, or the input's own spelling of it where the loader kept one (issue 8 C4)."""
    from ..schema import DISPLAY_PREFIX
    twin = DISPLAY_PREFIX + name

    def f(env):
        v = get(env)
        if twin not in env.frame.columns or not isinstance(v, pd.Series):
            return v
        own = env.frame[twin]
        return v.astype(object).where(own.isna().to_numpy(), own.to_numpy())
    return f
