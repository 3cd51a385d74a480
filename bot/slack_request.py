"""Checking a request to Slack's one request URL before bolt sees it.

bolt parses the body (form fields, the `payload` JSON) before it checks the signature, and logs
a rejected request with its whole body. Here the signature is verified on the raw bytes first
(Slack's v0 scheme: HMAC-SHA256 of ``v0:{timestamp}:{body}``), the timestamp read as a bounded
ASCII integer, and the body's shape checked (UTF-8; a `payload` or JSON body is a JSON object):
whatever an outsider sends is answered 401 or 400, and logged as one line with its size and the
reason, never its content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from bot.webhooks.body import Rejected
from bot.webhooks.signing import MAX_AGE_SECONDS, fresh

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_LENGTH = len("v0=") + 64  # v0= and a hex SHA-256
# bolt checks the 5-minute window again a moment later, and logs the body of what it refuses:
# ours is a little narrower, so a request at the edge is refused here, never there.
MAX_AGE = MAX_AGE_SECONDS - 10


def expected_signature(secret: str, stamp: str, body: bytes) -> str:
    signed = b"v0:" + stamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(*, secret: str, headers: Mapping[str, str], body: bytes, now: float) -> Rejected | None:
    """None for an authentic, fresh request; else why it is refused (401)."""
    stamp = headers.get(TIMESTAMP_HEADER, "").strip()
    given = headers.get(SIGNATURE_HEADER, "").strip()
    if not (stamp and given):
        return Rejected(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not fresh(stamp, now=now, max_age=MAX_AGE):
        return Rejected(
            401, f"X-Slack-Request-Timestamp is not Unix seconds within {MAX_AGE} s of now"
        )
    if len(given) != SIGNATURE_LENGTH or not given.isascii():
        return Rejected(401, "X-Slack-Signature is not v0=<hex>")
    if not hmac.compare_digest(expected_signature(secret, stamp, body), given):
        return Rejected(401, "signature does not match")
    return None


def _json_object(text: str, what: str) -> Rejected | None:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return Rejected(400, f"{what} is not JSON")
    if not isinstance(value, dict):
        return Rejected(400, f"{what} is not a JSON object")
    # Every Events API body and interaction payload Slack sends names its `type`.
    if not isinstance(value.get("type"), str):
        return Rejected(400, f"{what} has no type")
    return None


def malformed(body: bytes, content_type: str) -> Rejected | None:
    """Why a signed body is not something Slack sends (400), or None: UTF-8, and a JSON object
    with a `type` where JSON is expected (bolt reads the fields of any JSON it is given)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected(400, "body is not UTF-8")
    # As bolt reads it (slack_bolt.request.internals.parse_body).
    if content_type.lower().startswith("application/json") or text.startswith("{"):
        return _json_object(text, "body")
    payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
    return None if payload is None else _json_object(payload, "payload")
