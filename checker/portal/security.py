"""Passwords, API tokens, CSRF tokens and login throttling.

- Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); a hash made with older parameters
  is upgraded at the next login.
- API tokens: 32 random bytes, shown once; the database keeps only their SHA-256.
- CSRF: a synchronizer token kept in the signed session, compared with ``secrets.compare_digest``.
- Throttling: after ``MAX_FAILURES`` failed logins for one account (or ``MAX_IP_FAILURES`` from one address)
  within ``WINDOW_S``, further attempts are refused until ``WINDOW_S`` after the last failure.
"""
from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import store

MAX_FAILURES = 5
MAX_IP_FAILURES = 20
WINDOW_S = 15 * 60
MIN_PASSWORD = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(pw_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(pw_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(pw_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(pw_hash)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    """Why a new password is refused (Chinese), or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码太短：至少 {MIN_PASSWORD} 个字符"
    if password.strip() != password:
        return "密码首尾不能是空格"
    return None


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_token() -> str:
    return "sc_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return secrets.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def throttled(data: store.DataDir, login: str, ip: str) -> int:
    """Seconds the caller must wait before trying again (0: may try now)."""
    now = time.time()
    by_login, by_ip, newest = store.failures_since(data, login, ip, now - WINDOW_S)
    if by_login >= MAX_FAILURES or by_ip >= MAX_IP_FAILURES:
        return max(1, int(newest + WINDOW_S - now))
    return 0
