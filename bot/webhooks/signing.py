"""Checking a signed delivery: HMAC-SHA256 over what the sender signed, compared in constant time,
within a replay window around its timestamp."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

MAX_AGE_SECONDS = 300  # older (or further in the future) deliveries are refused: replay window
MAX_STAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hmac_sha256_base64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def unix_seconds(stamp: str) -> int | None:
    """A timestamp header as Unix seconds: ASCII digits only (`²` passes `str.isdigit()`), at
    most MAX_STAMP_DIGITS of them (a 4,000-digit int overflows float arithmetic); else None."""
    if not (0 < len(stamp) <= MAX_STAMP_DIGITS and stamp.isascii() and stamp.isdigit()):
        return None
    return int(stamp)


def fresh(stamp: str, *, now: float, max_age: float = MAX_AGE_SECONDS) -> bool:
    """Whether a Unix-seconds timestamp header is within `max_age` of `now` (either way)."""
    seconds = unix_seconds(stamp)
    return seconds is not None and abs(now - seconds) <= max_age


def matches(expected: str, given: Iterable[str]) -> bool:
    """Whether any of the signatures given is the expected one (constant-time comparisons)."""
    return any(part.isascii() and hmac.compare_digest(expected, part) for part in given)
