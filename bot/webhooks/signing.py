"""Checking a signed delivery: HMAC-SHA256 over what the sender signed, compared in constant time,
within a replay window around its timestamp."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

MAX_AGE_SECONDS = 300  # older (or further in the future) deliveries are refused: replay window


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hmac_sha256_base64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def fresh(stamp: str, *, now: float, max_age: float = MAX_AGE_SECONDS) -> bool:
    """Whether a Unix-seconds timestamp header is within `max_age` of `now` (either way)."""
    return stamp.isdigit() and abs(now - int(stamp)) <= max_age


def matches(expected: str, given: Iterable[str]) -> bool:
    """Whether any of the signatures given is the expected one (constant-time comparisons)."""
    return any(hmac.compare_digest(expected, part) for part in given)
