"""Legal-basis classifier (rules.md "Classifying a legal basis"), driven by a pack's ``legal_basis.yaml``.

The pattern tables, the levels, the sufficient levels and the worked examples live in each pack's
``legal_basis.yaml`` (read the installed packs' headers for the method); this module holds none of them. Everything is vectorised with ``Series.str`` regexes: one ``extractall`` per citation kind, then a
group-by per text.
"""
from __future__ import annotations

import re
import unicodedata
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .errors import PackError
from .text import is_missing

__all__ = ["classify_basis", "load_table"]
RESULT_COLUMNS = ["level", "sufficient", "citations", "grades"]

_HAN = r"\u4e00-\u9fff"
_TITLE_RE = r"《[^《》]+》"
# a title directly followed by its own number in brackets: 《人口信息管理规定》（公安部令第XX号）
# and/or preceded by its issuer: 公安部关于印发《…规定》的通知, 广州市人民政府印发的《…》
_TITLE_TAIL_RE = (rf"(?:(?P<pre>[{_HAN}]{{2,40}}?)(?:关于)?(?:印发|发布|颁布)的?)?"
                  r"(?P<text>《[^《》]+》)(?:\((?P<tail>[^()《》]{1,80}?)(?:\)|$))?")
_PRC_RE = (rf"中华人民共和国[{_HAN}〈〉]{{1,24}}?(?:法典|(?<![办方])法(?:实施条例)?(?![规律院人官])|条例)")
_ORDER_RE = rf"[{_HAN}]{{1,20}}令第[0-9Xx一二三四五六七八九十百千零〇]+号"
_DOC_RE = rf"[{_HAN}]{{1,16}}\[\d{{4}}\]第?(?:\d+|[Xx]+)号?"   # 号 is sometimes left out; XX号 = not yet known
_INTERNAL_RE = (rf"(?:本|我)(?:部门|单位|局|委|办|厅|中心|机关|院|所)[{_HAN}]{{0,12}}?(?:制度|规定|办法|规程|细则|规范|要求)"
                rf"|内部[{_HAN}]{{0,10}}?(?:制度|规定|办法|规程|规范|要求)")
_VERBS_RE = r"^.*(?:根据|依据|依照|按照|参照|遵照|参见|详见|执行|符合)"
_JOIN_RE = r"^.*(?:及|与|或|以及)"


class _Table:
    """The compiled tables of one legal_basis.yaml."""

    def __init__(self, data: dict[str, Any], source: str):
        def need(key):
            if key not in data:
                raise PackError(f"法律依据分类表 {source} 缺少「{key}」")
            return data[key]

        self.source = source
        self.classes: dict[str, dict[str, str]] = need("classes")
        self.levels: list[str] = list(need("levels"))
        self.sufficient = set(need("sufficient_levels"))
        for c, spec in self.classes.items():
            spec.setdefault("grade", spec.get("level"))     # the citation's legal force (packs.md §2.4)
            if spec.get("level") not in self.levels:
                raise PackError(f"法律依据分类表 {source}：类别「{c}」的 level「{spec.get('level')}」不在 levels 中")
        subst = {
            "places": "|".join(re.escape(p) for p in sorted(need("places"), key=len, reverse=True)),
            "ministries": "|".join(re.escape(p) for p in sorted(need("ministries"), key=len, reverse=True)),
            "local_doc": "|".join(re.escape(p) for p in sorted(need("local_doc_prefixes"), key=len, reverse=True)),
        }
        self.title_rules = self._rules(need("title_rules"), subst, "title_rules")
        self.order_rules = self._rules(need("order_rules"), subst, "order_rules")
        self.doc_rules = self._rules(need("doc_rules"), subst, "doc_rules")
        # an unbracketed local regulation: 广东省政务公开条例(…通过) (packs.md §7 reading 15)
        self.local_reg_re = (f"(?:{subst['places']})[{_HAN}]{{1,30}}?条例"
                             if "地方性法规" in self.classes else None)
        laws = sorted(need("national_laws"), key=len, reverse=True)
        self.known_re = "(?:" + "|".join(re.escape(x) for x in laws) + ")(?![规律院人官务定])"   # not 公司法务
        self.examples = list(data.get("examples") or [])
        self.rank = {lv: i for i, lv in enumerate(self.levels)}

    def _rules(self, rules, subst, name) -> list[tuple[str, str]]:
        out = []
        for i, r in enumerate(rules or []):
            cls, pat = r.get("class"), r.get("pattern")
            if cls not in self.classes:
                raise PackError(f"法律依据分类表 {self.source}：{name} 第 {i + 1} 条的类别「{cls}」未在 classes 中定义")
            for k, v in subst.items():
                pat = pat.replace("{" + k + "}", v)
            try:
                re.compile(pat)
            except re.error as exc:
                raise PackError(f"法律依据分类表 {self.source}：{name} 第 {i + 1} 条的正则表达式有误（{exc}）") from None
            out.append((cls, pat))
        if not out or out[-1][1] != ".":
            out.append(("待核实", "."))   # whatever the table says, every citation gets a class
            if "待核实" not in self.classes:
                self.classes["待核实"] = {"level": "无法识别", "label": "待核实"}
        return out

    @staticmethod
    def apply(rules: list[tuple[str, str]], s: pd.Series) -> pd.Series:
        """First matching rule's class for each string of ``s``."""
        out = pd.Series(None, index=s.index, dtype=object)
        todo = pd.Series(True, index=s.index)
        for cls, pat in rules:
            with warnings.catch_warnings():   # groups in a pattern are fine here
                warnings.simplefilter("ignore", UserWarning)
                hit = todo & s.str.contains(pat, regex=True)
            out[hit] = cls
            todo &= ~hit
            if not todo.any():
                break
        return out


def _read_data(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError:
        raise PackError(f"法律依据分类表 {path} 无法读取") from None
    except yaml.YAMLError as exc:
        raise PackError(f"法律依据分类表 {path} 不是有效的 YAML（{exc}）") from None
    if not isinstance(data, dict):
        raise PackError(f"法律依据分类表 {path} 的内容应为映射（键: 值）")
    return data


@lru_cache(maxsize=8)
def _load_cached(path: str) -> _Table:
    return _Table(_read_data(path), path)


@lru_cache(maxsize=8)
def _load_merged(paths: tuple[str, ...]) -> _Table:
    """A pack's table merged over its parent's, entry by entry: a mapping (classes) key by key, anything else
    (lists of patterns, level sets) replaced."""
    if len(paths) == 1:
        return _load_cached(paths[0])
    data: dict = {}
    for p in paths:
        for k, v in _read_data(p).items():
            data[k] = {**data[k], **v} if isinstance(v, dict) and isinstance(data.get(k), dict) else v
    return _Table(data, " + ".join(paths))


def load_table(path: str | Path | tuple | list) -> _Table:
    """The compiled classifier table of one pack (its legal_basis.yaml, or the chain of them, parent first)."""
    if isinstance(path, (tuple, list)):
        return _load_merged(tuple(str(p) for p in path))
    return _load_cached(str(path))


def normalise(texts: pd.Series) -> pd.Series:
    """NFKC, no whitespace, document years in ASCII square brackets."""
    s = texts.astype(object).where(texts.notna(), None).astype("string")
    s = s.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return s.str.replace(r"[\[〔【(]\s*(\d{4})\s*[\]〕】)]", r"[\1]", regex=True)


def _extract(s: pd.Series, pattern: str) -> pd.DataFrame:
    """(row, n, text) of every match, row = positional index of ``s``."""
    if s.empty:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"),
                             "text": pd.Series(dtype=object)})
    m = s.str.extractall(f"(?P<text>{pattern})")
    if m.empty:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"),
                             "text": pd.Series(dtype=object)})
    m = m.reset_index()
    return pd.DataFrame({"row": m.iloc[:, 0].to_numpy(), "n": m["match"].to_numpy(),
                         "text": m["text"].astype(object).to_numpy()})


def _extract_titles(s: pd.Series) -> pd.DataFrame:
    """(row, n, text, tail, pre) of every 《title》: tail = the text of a bracket right after it, pre = the words
    before a 印发/发布/颁布 right before it (the issuer); NaN when absent."""
    cols = {"row": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"), "text": pd.Series(dtype=object),
            "tail": pd.Series(dtype=object), "pre": pd.Series(dtype=object)}
    if s.empty:
        return pd.DataFrame(cols)
    m = s.str.extractall(_TITLE_TAIL_RE)
    if m.empty:
        return pd.DataFrame(cols)
    m = m.reset_index()
    return pd.DataFrame({"row": m.iloc[:, 0].to_numpy(), "n": m["match"].to_numpy(),
                         "text": m["text"].astype(object).to_numpy(), "tail": m["tail"].astype(object).to_numpy(),
                         "pre": m["pre"].astype(object).to_numpy()})


def _number_class(tails: pd.Series, tb: _Table) -> pd.Series:
    """Class of the order (…令第N号) or document number (<prefix>[YYYY]N号) a bracket holds; None if neither."""
    out = pd.Series(None, index=tails.index, dtype=object)
    has = tails.notna()
    if not has.any():
        return out
    tx = tails[has].astype(str)
    order = tx.str.extract(f"({_ORDER_RE})", expand=False)
    ok = order.notna()
    if ok.any():
        o = order[ok].str.replace(_VERBS_RE, "", regex=True).str.replace(_JOIN_RE, "", regex=True)
        out[o.index] = _Table.apply(tb.order_rules, o).to_numpy()
    doc = tx[~ok].str.extract(f"({_DOC_RE})", expand=False).dropna()
    if len(doc):
        doc = doc.str.replace(_VERBS_RE, "", regex=True).str.replace(r"^.*(?:及|与|或|和|、)", "", regex=True)
        prefix = doc.str.replace(r"\[\d{4}\]第?(?:\d+|[Xx]+)号?$", "", regex=True)
        out[prefix.index] = _Table.apply(tb.doc_rules, prefix).to_numpy()
    return out


def _as_written(raw: str, cite: str) -> str:
    """The stretch of ``raw`` that reads as ``cite`` once normalised (NFKC, no whitespace, ``[YYYY]``), or ``cite``
    itself when it is not one stretch of it. Quoted citations show the input's own 〔2020〕 and full-width digits
    (issue 8 C4); the classifier works on the normalised text."""
    chars: list[str] = []
    owner: list[int] = []
    for i, ch in enumerate(raw):
        for x in unicodedata.normalize("NFKC", ch):
            if not x.isspace():
                chars.append(x)
                owner.append(i)
    flat = _YEAR_BRACKETS.sub(r"[\1]", "".join(chars))      # one character for one: offsets still hold
    k = flat.find(cite) if cite else -1
    if k < 0:
        return cite
    return raw[owner[k]:owner[k + len(cite) - 1] + 1]


_YEAR_BRACKETS = re.compile(r"[\[〔【(](\d{4})[\]〕】)]")


def classify_basis(texts: pd.Series, table: str | Path | tuple, shown: pd.Series | None = None) -> pd.DataFrame:
    """Classify 共享依据 texts with the classifier table ``table`` (a pack's legal_basis.yaml). Returns a frame on the same index with columns

    - ``level``: one of the table's ``levels`` (the strongest recognised citation; 无法识别 only when nothing
      recognisable is cited); ``None`` for an empty or placeholder text;
    - ``sufficient`` (bool): level is one of the table's ``sufficient_levels``;
    - ``grades`` (str): the legal force of every recognised citation (the classes' ``grade``: 法律, 行政法规,
      地方性法规, 地方政府规章, 部门规章, 规范性文件, …), strongest first, joined with ``、``; rules choose which suffice;
    - ``citations`` (str): the recognised citations with their class, strongest first, joined with ``；``,
      e.g. ``《中华人民共和国统计法》（法律）；《广州市信息化促进条例》（地方性法规、规章或规范性文件）``.

    ``shown``: the texts as the input wrote them (same index); citations then quote them as written.

    A text's class depends on that text alone, and a catalog repeats a few hundred citations over thousands of
    rows: each distinct (text, shown) pair is classified once and the result spread to its rows.
    """
    texts = pd.Series(texts, copy=False)
    codes = pd.factorize(texts.astype(object), use_na_sentinel=False)[0]
    if shown is not None:
        shown = pd.Series(shown, copy=False)
        other = pd.factorize(shown.astype(object), use_na_sentinel=False)[0]
        codes = codes.astype(np.int64) * (int(other.max(initial=0)) + 1) + other
    _u, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    if len(first) == len(texts):
        return _classify(texts, table, shown)
    res = _classify(texts.iloc[first], table, None if shown is None else shown.iloc[first])
    return res.iloc[inverse.ravel()].set_axis(texts.index)


def _classify(texts: pd.Series, table: str | Path | tuple, shown: pd.Series | None) -> pd.DataFrame:
    """``classify_basis`` of every row of ``texts``."""
    tb = load_table(table)
    idx = texts.index
    n_all = len(texts)
    missing = is_missing(texts).to_numpy() if n_all else pd.Series(dtype=bool).to_numpy()
    pos = pd.RangeIndex(n_all)
    s = normalise(pd.Series(texts.to_numpy(), index=pos))[~missing]

    parts = []
    # a) titles
    t = _extract_titles(s)
    if len(t):
        inner = pd.Series(t["text"].str.slice(1, -1).to_numpy(), dtype=object)
        core = inner.str.replace(r"(\([^()]*\))+$", "", regex=True)
        cls = _Table.apply(tb.title_rules, core)
        # The number in brackets right after a title names its issuer: 《…规定》（公安部令第N号） is a departmental
        # rule, not a 行政法规; 《…办法》（国务院令第N号） is a 行政法规. It decides a title that the title alone
        # could only place by its ending (行政法规) or not at all (待核实).
        # Likewise the issuer named right before it: 公安部关于印发《…规定》的通知 is the ministry's.
        tail_cls = _number_class(pd.Series(t["tail"].to_numpy(), dtype=object), tb)
        pre = pd.Series(t["pre"].to_numpy(), dtype=object)
        pre_cls = pd.Series(None, index=pre.index, dtype=object)
        has_pre = pre.notna()
        if has_pre.any():
            who = (pre[has_pre].astype(str).str.replace(_VERBS_RE, "", regex=True)
                   .str.replace(_JOIN_RE, "", regex=True))
            pre_cls[who.index] = _Table.apply(tb.title_rules, who).to_numpy()
        level_of = lambda c: c.map(lambda x: tb.classes[x]["level"] if isinstance(x, str) else None)  # noqa: E731
        grade_of = lambda c: c.map(lambda x: tb.classes[x]["grade"] if isinstance(x, str) else None)  # noqa: E731
        for other in (pre_cls, tail_cls):          # the number wins over the issuer's name
            own, lv = level_of(cls), level_of(other)
            # a local 《…办法》/《…规定》 is placed by its own number or issuer when it has one (L126: the number decides)
            use = ((own == "无法识别") | ((own == "行政法规") & (lv == "不足")) | (grade_of(cls) == "地方未定")) \
                & other.notna() & (other != "待核实")
            cls = cls.where(~use, other)
        t["cls"] = cls.to_numpy()
        t = t.drop(columns=["tail", "pre"])
        t["kind"] = 0
        parts.append(t)
    rest = s.str.replace(_TITLE_RE, "|", regex=True)
    # b) unbracketed 中华人民共和国…法 / …条例
    p = _extract(rest, _PRC_RE)
    if len(p):
        p["cls"] = p["text"].str.endswith("条例").map({True: "行政法规", False: "法律"}).to_numpy()
        p["kind"] = 1
        parts.append(p)
    rest = rest.str.replace(_PRC_RE, "|", regex=True)
    # c) orders
    o = _extract(rest, _ORDER_RE)
    if len(o):
        o["text"] = o["text"].str.replace(_VERBS_RE, "", regex=True).str.replace(_JOIN_RE, "", regex=True)
        o["cls"] = _Table.apply(tb.order_rules, o["text"]).to_numpy()
        o["kind"] = 2
        parts.append(o)
    rest = rest.str.replace(_ORDER_RE, "|", regex=True)
    # d) document numbers: the class is read from the prefix
    d = _extract(rest, _DOC_RE)
    if len(d):
        d["text"] = (d["text"].str.replace(_VERBS_RE, "", regex=True)
                     .str.replace(r"^.*(?:及|与|或|和|、)", "", regex=True))
        prefix = d["text"].str.replace(r"\[\d{4}\]第?(?:\d+|[Xx]+)号?$", "", regex=True)
        d["cls"] = _Table.apply(tb.doc_rules, prefix).to_numpy()
        d["kind"] = 3
        parts.append(d)
    rest = rest.str.replace(_DOC_RE, "|", regex=True)
    # e) short names of national laws
    k = _extract(rest, tb.known_re)
    if len(k):
        k["cls"] = k["text"].str.endswith("条例").map({True: "行政法规", False: "法律"}).to_numpy()
        k["kind"] = 4
        parts.append(k)
    # e') unbracketed local regulations (《》 left out): a 地方性法规 (the internal-rule pass still sees the text)
    if tb.local_reg_re is not None:
        g = _extract(rest.str.replace(tb.known_re, "|", regex=True), tb.local_reg_re)
        if len(g):
            g["cls"] = "地方性法规"
            g["kind"] = 4
            parts.append(g)
    # f) internal rules
    i = _extract(rest, _INTERNAL_RE)
    if len(i):
        i["cls"] = "内部制度"
        i["kind"] = 5
        parts.append(i)

    level = pd.Series(None, index=pos, dtype=object)
    citations = pd.Series("", index=pos, dtype=object)
    grades = pd.Series("", index=pos, dtype=object)
    present = pos[~missing]
    level[present] = "无法识别"
    if parts:
        c = pd.concat(parts, ignore_index=True)
        lv = c["cls"].map(lambda x: tb.classes[x]["level"])
        c["rank"] = lv.map(tb.rank).astype("int64")
        c["level"] = lv
        c["cite"] = c["text"] + "（" + c["cls"].map(lambda x: tb.classes[x].get("label", x)) + "）"
        c = (c.sort_values(["row", "rank", "kind", "n"], kind="stable")
             .drop_duplicates(["row", "cite"]))
        if shown is not None:         # the few citations of the 不予共享 rows, quoted as the input wrote them
            own = pd.Series(shown, copy=False).astype(object).to_numpy()
            written = [_as_written(own[r], t) if isinstance(own[r], str) else t
                       for r, t in zip(c["row"].to_numpy(), c["text"].to_numpy())]
            c["cite"] = (pd.Series(written, index=c.index, dtype=object) + "（"
                         + c["cls"].map(lambda x: tb.classes[x].get("label", x)) + "）")
        # rules.md: "Text that cites nothing recognizable is unclassified" -- so an unplaceable citation decides the
        # level only when the text cites nothing else; 《广州市…》 plus an unknown 《…办法》 is 不足. (The listing
        # keeps the `levels` order: an unplaceable citation is shown before the insufficient ones, for review.)
        unknown = (c["level"] == "无法识别").astype("int64")
        best = (c.assign(_u=unknown.to_numpy()).sort_values(["row", "_u", "rank", "kind", "n"], kind="stable")
                .drop_duplicates("row"))
        level[best["row"].to_numpy()] = best["level"].to_numpy()
        joined = c.groupby("row", sort=True)["cite"].agg("；".join)
        citations[joined.index.to_numpy()] = joined.to_numpy()
        g = c.assign(grade=c["cls"].map(lambda x: tb.classes[x]["grade"])).drop_duplicates(["row", "grade"])
        gj = g.groupby("row", sort=True)["grade"].agg("、".join)
        grades[gj.index.to_numpy()] = gj.to_numpy()
    level = level.where(level.notna(), None)
    sufficient = level.isin(tb.sufficient).to_numpy(dtype=bool)
    return pd.DataFrame({"level": level.to_numpy(dtype=object), "sufficient": sufficient,
                         "citations": citations.to_numpy(dtype=object),
                         "grades": grades.where(pd.Series(level).notna().to_numpy(), None).to_numpy(dtype=object)},
                        index=idx)
