import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from checker.codes import (ID_WEIGHTS, USCC_ALPHABET, id_card_valid, id_check_digit, resource_code_valid,
                           uscc_check_char, uscc_valid)

SPEC_USCC = ["91350100M000100Y43", "91110000600037341L", "91440300568520498A"]


def test_spec_examples_valid():
    assert uscc_valid(pd.Series(SPEC_USCC)).all()
    for c in SPEC_USCC:
        assert uscc_check_char(c[:17]) == c[17]


def test_uscc_invalid_forms():
    vals = ["91350100M000100Y44", "91350100M000100Y4", "91350100M0001000Y43", "91350100I000100Y43", None, "",
            "９１３５０１００Ｍ０００１００Ｙ４３", " 91350100m000100y43 "]
    assert uscc_valid(pd.Series(vals, dtype=object)).tolist() == [False, False, False, False, False, False, True,
                                                                   True]


def test_uscc_check_char_rejects_bad_body():
    with pytest.raises(ValueError):
        uscc_check_char("9135010OM000100Y4")   # letter O not allowed


def test_id_card_examples():
    # 11010519491231002X is the standard's worked example; the others computed independently below
    body = "44010619900307123"
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS.tolist()))
    check = "10X98765432"[total % 11]
    vals = ["11010519491231002X", "11010519491231002x", body + check, body + ("0" if check != "0" else "1"),
            "110105491231002", "11010519491332002X", "1101051949123100AX", None]
    assert id_card_valid(pd.Series(vals, dtype=object)).tolist() == [True, True, True, False, True, False, False,
                                                                      False]
    assert id_check_digit("11010519491231002") == "X"
    assert not id_card_valid(pd.Series(["110105491231002"]), allow_15=False).iloc[0]


def test_resource_code_form():
    vals = ["101001001/000012", "101001/1", " 3 01001001 / 12 ", "401001001/000012", "10100/000012",
            "101001001-000012", "101001001/", "１０１００１００１/０００１２", None]
    assert resource_code_valid(pd.Series(vals, dtype=object)).tolist() == [True, True, True, False, False, False,
                                                                           False, True, False]


body17 = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@settings(max_examples=200, deadline=None)
@given(body17)
def test_uscc_generated_bodies_validate(body):
    assert uscc_valid(pd.Series([body + uscc_check_char(body)])).iloc[0]


@settings(max_examples=100, deadline=None)
@given(body17, st.integers(0, 17), st.integers(1, 30))
def test_uscc_any_single_substitution_detected(body, pos, shift):
    # weights 1..28 are all nonzero mod 31 (31 is prime), so changing one character of the body changes the sum
    # mod 31 and thus the check character; changing the check character itself obviously breaks it.
    code = body + uscc_check_char(body)
    chars = list(code)
    chars[pos] = USCC_ALPHABET[(USCC_ALPHABET.index(chars[pos]) + shift) % 31]
    assert not uscc_valid(pd.Series(["".join(chars)])).iloc[0]


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=__import__("datetime").date(1900, 1, 1), max_value=__import__("datetime").date(2100, 12, 31)), st.text("0123456789", min_size=6, max_size=6),
       st.text("0123456789", min_size=3, max_size=3), st.integers(0, 16), st.integers(1, 9))
def test_id_generated_and_single_digit_change(birth, area, seq, pos, shift):
    body = area + birth.strftime("%Y%m%d") + seq
    code = body + id_check_digit(body)
    assert id_card_valid(pd.Series([code])).iloc[0]
    # weights mod 11 are nonzero and 11 is prime: any single digit change in the body is detected
    # (unless it also makes the birth date impossible, which is also invalid)
    chars = list(code)
    chars[pos] = str((int(chars[pos]) + shift) % 10)
    assert not id_card_valid(pd.Series(["".join(chars)])).iloc[0]
