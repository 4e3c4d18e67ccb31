import numpy as np
import pandas as pd

from checker.text import (is_missing, is_missing1, nfkc_strip, nfkc_strip1, norm_code, norm_code1, norm_header,
                          norm_name, norm_name1)


def test_nfkc_strip_full_width_spaces_and_empty():
    s = pd.Series(["\u3000 市公安局 \u3000", "", "   ", None, np.nan, "ＡＢＣ１２", 12.0, 3.5])
    out = nfkc_strip(s)
    assert out.tolist() == ["市公安局", None, None, None, None, "ABC12", "12", "3.5"]
    assert out.dtype == object


def test_norm_code_removes_inner_whitespace_and_upper_cases():
    s = pd.Series([" ９１３５ ０１００m000100y43 ", "101001001 / 000012", "a\u3000b\tc\nd"])
    assert norm_code(s).tolist() == ["91350100M000100Y43", "101001001/000012", "ABCD"]
    assert norm_code1(" ｘ１ ") == "X1"


def test_norm_name_keeps_case_removes_whitespace():
    assert norm_name(pd.Series(["市 政务服务\u3000数据管理局", "Ab c"])).tolist() == ["市政务服务数据管理局", "Abc"]
    assert norm_name1(None) is None


def test_is_missing_placeholders():
    vals = ["", None, "/", "-", "—", "——", "－", "无", "暂无", "N/A", "n/a", "NA", " 无 ", "《居民身份证法》第十九条",
            "无条件", "0"]
    got = is_missing(pd.Series(vals, dtype=object)).tolist()
    assert got == [True] * 13 + [False, False, False]
    assert is_missing1("暂无") and not is_missing1("见附件")


def test_scalars_and_header():
    assert nfkc_strip1("\u3000x\u3000") == "x"
    assert norm_header("* 部门\n名称 ") == "部门名称"
    assert norm_header("＊发布日期") == "发布日期"


def test_categorical_normalisation_equals_plain():
    """The categorical form of norm_code/norm_name holds exactly the plain values (merged after normalisation)."""
    import pandas as pd
    from checker.text import norm_code, norm_name
    raw = pd.Series([" ab1", "AB1", "ａｂ１", None, "", "x y", "XY", "—"] * 700, dtype=object)
    for fn in (norm_code, norm_name):
        plain, cat = fn(raw), fn(raw, categorical=True)
        assert isinstance(cat.dtype, pd.CategoricalDtype)
        assert cat.astype(object).where(cat.notna(), None).tolist() == plain.tolist()
        assert len(cat.cat.categories) == plain.dropna().nunique()
    empty = pd.Series([None, ""] * 5, dtype=object)
    assert norm_code(empty, categorical=True).isna().all()


from hypothesis import given, settings, strategies as st  # noqa: E402

from checker.text import _scalar_to_text, as_text  # noqa: E402

_CELLS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=5),
                   st.floats(allow_nan=True, allow_infinity=False, width=64))


@settings(max_examples=60, deadline=None)
@given(st.lists(_CELLS, min_size=0, max_size=300), st.integers(0, 200))
def test_as_text_bulk_conversion_matches_cell_by_cell(cells, n_ints):
    """The by-type bulk path of mixed object columns (Parquet/Excel numbers and booleans) gives exactly the text
    a cell-by-cell conversion gives (True is TRUE, never 1; 12.0 is 12)."""
    cells = cells + list(range(n_ints)) + [1.5, 2.0] * (n_ints // 2) + [True] * (n_ints // 3)
    s = pd.Series(cells, dtype=object)
    assert as_text(s).tolist() == [_scalar_to_text(v) for v in cells]
