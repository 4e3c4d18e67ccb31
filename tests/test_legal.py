"""Legal-basis classifier (GZ165-10-5): every example of the pack's table, and properties."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.errors import PackError
from checker.engine.resources import packs_dir
from checker.legal import classify_basis as _classify

GZ165_TABLE = packs_dir() / "gz165" / "legal_basis.yaml"


def classify_basis(texts, table=GZ165_TABLE):
    return _classify(texts, table)


with open(GZ165_TABLE, encoding="utf-8") as fh:
    TABLE = yaml.safe_load(fh)
EXAMPLES = TABLE["examples"]


def test_table_has_enough_examples_of_every_level():
    levels = [e["level"] for e in EXAMPLES]
    assert len(EXAMPLES) >= 40
    for lv in ["法律", "行政法规", "党中央国务院政策", "不足", "无法识别"]:
        assert levels.count(lv) >= 5, lv


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e["text"] for e in EXAMPLES])
def test_example(ex):
    r = classify_basis(pd.Series([ex["text"]]))
    assert r.loc[0, "level"] == ex["level"], r.loc[0, "citations"]
    assert bool(r.loc[0, "sufficient"]) == (ex["level"] in ("法律", "行政法规", "党中央国务院政策"))


def test_batch_equals_one_by_one_and_keeps_index():
    texts = pd.Series([e["text"] for e in EXAMPLES], index=[f"r{i}" for i in range(len(EXAMPLES))])
    r = classify_basis(texts)
    assert list(r.columns) == ["level", "sufficient", "citations", "grades"]
    assert list(r.index) == list(texts.index)
    assert r["level"].tolist() == [e["level"] for e in EXAMPLES]
    assert r["sufficient"].dtype == bool


def test_missing_and_placeholders_give_none():
    r = classify_basis(pd.Series([None, "", "  ", "无", "/", "N/A", float("nan")]))
    assert r["level"].tolist() == [None] * 7
    assert not r["sufficient"].any()
    assert (r["citations"] == "").all()


def test_citations_listed_strongest_first_with_class():
    r = classify_basis(pd.Series(["《广州市信息化促进条例》；《中华人民共和国统计法》第九条；国办函〔2019〕45号"]))
    assert r.loc[0, "citations"] == ("《中华人民共和国统计法》（法律）；国办函[2019]45号（待核实）；"
                                     "《广州市信息化促进条例》（地方性法规、规章或规范性文件）")


def test_empty_series():
    r = classify_basis(pd.Series([], dtype=object))
    assert r.empty and list(r.columns) == ["level", "sufficient", "citations", "grades"]


def test_bad_table_is_pack_error(tmp_path):
    bad = dict(TABLE)
    bad["title_rules"] = [{"class": "法律", "pattern": "(unclosed"}]
    p = tmp_path / "legal_basis.yaml"
    p.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError, match="title_rules 第 1 条"):
        classify_basis(pd.Series(["《统计法》"]), table=p)


# ---------------------------------------------------------------- properties
SUFFICIENT = [e["text"] for e in EXAMPLES if e["level"] in ("法律", "行政法规", "党中央国务院政策")
              and "；" not in e["text"]]
_filler = st.text(alphabet=st.sampled_from(list("的数据共享管理办法规定条例广州市省局部门内部制度涉及隐私，；、 第十九条")),
                  max_size=30)
_any_text = st.one_of(st.sampled_from([e["text"] for e in EXAMPLES]), _filler)


@settings(max_examples=80, deadline=None)
@given(_any_text, st.sampled_from(SUFFICIENT), st.booleans())
def test_adding_a_sufficient_citation_makes_it_sufficient(text, cite, before):
    combined = f"{cite}；{text}" if before else f"{text}；{cite}"
    r = classify_basis(pd.Series([combined]))
    assert bool(r.loc[0, "sufficient"]), (combined, r.loc[0, "citations"])


BRACKETS = [("〔", "〕"), ("[", "]"), ("［", "］"), ("(", ")"), ("（", "）"), ("【", "】")]
DOCS = [e["text"] for e in EXAMPLES if "〔" in e["text"]]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DOCS), st.sampled_from(BRACKETS))
def test_bracket_style_does_not_change_class(text, br):
    other = text.replace("〔", br[0]).replace("〕", br[1])
    r = classify_basis(pd.Series([text, other]))
    assert r.loc[0, "level"] == r.loc[1, "level"]
    assert r.loc[0, "citations"] == r.loc[1, "citations"]


def test_repeated_texts_classified_once_give_each_row_its_own_result():
    """classify_basis classifies each distinct (text, as written) pair once: every row still gets what it would
    get alone, with its own spelling quoted, on its own index."""
    from checker.legal import _classify as one_by_one
    base = [e["text"] for e in EXAMPLES[:10]] + ["粤府办〔2019〕1号", "中办发[2019]1号"]
    texts = pd.Series([base[i % 12] for i in range(60)] + [None, float("nan"), ""],
                      index=[f"r{i}" for i in range(63)], dtype=object)
    shown = texts.copy()
    shown.iloc[::5] = shown.iloc[::5].map(lambda t: t.replace("2019", "２０１９") if isinstance(t, str) else t)
    for sh in (None, shown):
        got = _classify(texts, GZ165_TABLE, sh)
        alone = pd.concat([one_by_one(texts.iloc[[i]], GZ165_TABLE, None if sh is None else sh.iloc[[i]])
                           for i in range(len(texts))])
        pd.testing.assert_frame_equal(got, alone)
        if sh is None:
            plain = got
    assert got.loc["r0", "level"] == got.loc["r12", "level"]
    assert "２０１９" in got.loc["r10", "citations"] and "２０１９" not in got.loc["r22", "citations"]
    assert plain.loc["r10", "level"] == got.loc["r10", "level"]
