"""Check characters and code forms (codelists.md), vectorised with numpy over character codes.

Validators take a Series of already-normalised codes (``text.norm_code``) or raw text (they normalise themselves)
and return a bool Series (``False`` for empty values; callers decide whether empty is a defect).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .text import norm_code

# ---- 统一社会信用代码 (GB 32100-2015) ----------------------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"          # 31 characters: no I, O, S, V, Z
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_USCC_LUT = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_LUT[ord(_c)] = _i

# ---- 公民身份号码 (GB 11643-1999) ----------------------------------------------------------------------------------
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = "10X98765432"
_DIGIT_LUT = np.full(256, -1, dtype=np.int64)
for _i in range(10):
    _DIGIT_LUT[ord(str(_i))] = _i


def _char_matrix(codes: pd.Series, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of rows that are ASCII strings of ``length`` chars, uint8 matrix [n_ok, length] of those rows)."""
    s = codes.astype(object)
    ok = s.notna().to_numpy()
    ok = ok & s.str.len().eq(length).to_numpy(dtype=bool)
    ok = ok & s.str.fullmatch(r"[\x00-\x7f]*").eq(True).to_numpy(dtype=bool)
    if not ok.any():
        return ok, np.zeros((0, length), dtype=np.uint8)
    joined = "".join(s[ok].tolist()).encode("ascii")
    mat = np.frombuffer(joined, dtype=np.uint8).reshape(-1, length)
    return ok, mat


def _uscc_sum_check(values: np.ndarray) -> np.ndarray:
    """values: int matrix [n, 17] of alphabet indices -> check index [n]."""
    return (31 - (values @ USCC_WEIGHTS) % 31) % 31


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of a 17-character body (ValueError for a character outside the set)."""
    body = norm_code(pd.Series([first17])).iloc[0] or ""
    if len(body) != 17 or any(c not in USCC_ALPHABET for c in body):
        raise ValueError(f"统一社会信用代码本体应为 17 位代码字符：{first17!r}")
    vals = np.array([[USCC_ALPHABET.index(c) for c in body]], dtype=np.int64)
    return USCC_ALPHABET[int(_uscc_sum_check(vals)[0])]


def uscc_valid(series: pd.Series) -> pd.Series:
    """True where the value is an 18-character 统一社会信用代码 with a correct check character."""
    codes = norm_code(pd.Series(series, copy=False))
    ok, mat = _char_matrix(codes, 18)
    out = np.zeros(len(codes), dtype=bool)
    if mat.shape[0]:
        vals = _USCC_LUT[mat]                                  # [n, 18], -1 for characters outside the set
        chars_ok = (vals >= 0).all(axis=1)
        check = _uscc_sum_check(np.where(vals[:, :17] >= 0, vals[:, :17], 0))
        out[ok] = chars_ok & (check == vals[:, 17])
    return pd.Series(out, index=codes.index)


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (``0``–``9`` or ``X``) of the first 17 digits."""
    body = norm_code(pd.Series([first17])).iloc[0] or ""
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError(f"公民身份号码本体应为 17 位数字：{first17!r}")
    total = int(np.array([int(c) for c in body]) @ ID_WEIGHTS)
    return ID_CHECK_CHARS[total % 11]


def id_card_valid(series: pd.Series, allow_15: bool = True) -> pd.Series:
    """True for an 18-character 公民身份号码 with a correct check character (``x`` accepted as ``X``), a plausible
    birth date (YYYYMMDD at positions 7–14), and — when ``allow_15`` — for an old 15-digit number (all digits,
    YYMMDD birth date at 7–12; it has no check character). Decision: 15-digit numbers are valid *form*
    (they are still legal identifiers of people who never re-registered), so ``allow_15`` defaults to True."""
    codes = norm_code(pd.Series(series, copy=False))
    out = np.zeros(len(codes), dtype=bool)
    ok, mat = _char_matrix(codes, 18)
    if mat.shape[0]:
        digits = _DIGIT_LUT[mat[:, :17]]
        body_ok = (digits >= 0).all(axis=1)
        total = np.where(digits >= 0, digits, 0) @ ID_WEIGHTS
        expected = np.frombuffer(ID_CHECK_CHARS.encode("ascii"), dtype=np.uint8)[total % 11]
        birth = pd.to_datetime(pd.Series(codes[ok].str.slice(6, 14).to_numpy()), format="%Y%m%d", errors="coerce")
        out[ok] = body_ok & (expected == mat[:, 17]) & birth.notna().to_numpy()
    if allow_15:
        ok15, mat15 = _char_matrix(codes, 15)
        if mat15.shape[0]:
            digits = _DIGIT_LUT[mat15]
            all_digits = (digits >= 0).all(axis=1)
            birth = pd.to_datetime("19" + pd.Series(codes[ok15].str.slice(6, 12).to_numpy()), format="%Y%m%d",
                                   errors="coerce")
            out[ok15] = all_digits & birth.notna().to_numpy()
    return pd.Series(out, index=codes.index)


# ---- 信息资源代码: 分类码 "/" 顺序码 -------------------------------------------------------------------------------
# 分类码: 类 (1 digit: 1 基础, 2 主题, 3 部门) + 项 (2) + 目 (3) + optional 细目 (digits) -> at least 6 digits.
RESOURCE_CODE_PATTERN = r"[123]\d{5,}/\d+"


def resource_code_valid(series: pd.Series) -> pd.Series:
    """True for ``分类码/顺序码`` (e.g. ``101001001/000012``); the 类 digit must be 1, 2 or 3."""
    codes = norm_code(pd.Series(series, copy=False))
    res = codes.str.fullmatch(RESOURCE_CODE_PATTERN)
    return res.eq(True) & codes.str.fullmatch(r"[\x00-\x7f]*").eq(True)
