"""One Web API call in Slack's wire format, and what its answer means for the outbox.

The sender talks HTTP with httpx rather than through slack_sdk's AsyncWebClient because the
outbox's retries are durable (stored in the row) and must see every answer as it is: the
status code, Retry-After, and ``ok``/``error`` — no in-memory retry handler in between, no
exception types to translate. The request is what slack_sdk sends for chat.* methods: a
JSON body with ``Authorization: Bearer <token>`` POSTed to ``<base_url><method>``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

# Slack's own "try again later" errors (answered with HTTP 200 and ok=false).
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
MAX_RETRY_AFTER = 3600.0  # a bogus header must not park a channel for days
DEFAULT_RETRY_AFTER = 1.0  # a 429 without a usable Retry-After
# What the outbox stores of an answer (outbox_message.result_ts / result_channel columns).
TS_MAX, CHANNEL_MAX = 32, 64
# RFC 9110 delay-seconds are digits; a fraction is tolerated. float() alone would also take
# "nan", "inf", "1e309" and "1_0".
_DELAY_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")
# The outbox's name for a file upload (three calls, see bot.outbox.files), after slack_sdk's.
UPLOAD_METHOD = "files.uploadV2"


class Outcome(StrEnum):
    sent = "sent"
    rate_limited = "rate_limited"  # 429: wait Retry-After, the channel is paused
    transient = "transient"  # 5xx, timeout, connection error: back off and retry
    permanent = "permanent"  # Slack refused the message for good


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reason: str  # short label for metrics: sent, rate_limited, timeout, connection, …
    error: str | None = None
    ts: str | None = None
    channel: str | None = None
    retry_after: float | None = None


def request_body(
    *,
    method: str,
    channel: str,
    payload: dict[str, Any],
    parent_ts: str | None,
    parent_channel: str | None,
) -> dict[str, Any]:
    """The JSON body: the payload plus channel, and thread_ts or ts taken from the parent.

    The parent's result channel wins over the queued one: a post addressed to a user id
    lands in a DM channel (D…), and replies and updates must name that channel (or carry it
    in the payload). An upload
    that names its own thread_ts goes there (the thread its parent was posted in); the
    parent then only orders it.
    """
    body = dict(payload)
    # A payload may name where the message lives (a DM's D… id) while it is queued under the
    # channel key that orders it (the user id the DM was first addressed to).
    body["channel"] = parent_channel or payload.get("channel") or channel
    if parent_ts is not None:
        if method in ("chat.update", "chat.delete"):
            body["ts"] = parent_ts
        elif not (method == UPLOAD_METHOD and payload.get("thread_ts")):
            body["thread_ts"] = parent_ts
    return body


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float:
    """Seconds to wait for a ``Retry-After`` value: delay-seconds or an HTTP-date (RFC 9110).

    Anything else — empty, negative, ``nan``, ``inf``, ``1e309``, ``1_0``, garbage — is the
    default; the result is always finite and within [0, MAX_RETRY_AFTER], so it can be added to
    a stored time.
    """
    text = (value or "").strip()
    if _DELAY_SECONDS.fullmatch(text):
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:  # not a valid HTTP-date (those are always GMT)
        return DEFAULT_RETRY_AFTER
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _retry_after(response: httpx.Response) -> float:
    return retry_after_seconds(response.headers.get("Retry-After"))


def read_json(response: httpx.Response) -> dict[str, Any] | str:
    """The answer's JSON object, or why it cannot be read (not JSON, too deep, not an object)."""
    try:
        data = response.json()
    except RecursionError:
        return "answer is JSON nested too deep"
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return "answer is not JSON"
    if not isinstance(data, dict):
        return "answer is not a JSON object"
    return data


def _short_str(value: object, limit: int) -> str | None:
    """A ts or channel id from the answer, if it is one we can store; else None."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def interpret(response: httpx.Response) -> Answer:
    if response.status_code == 429:
        seconds = _retry_after(response)
        return Answer(
            Outcome.rate_limited,
            "rate_limited",
            f"HTTP 429, Retry-After {seconds:g}s",
            retry_after=seconds,
        )
    if response.status_code >= 500:
        return Answer(Outcome.transient, "server_error", f"HTTP {response.status_code}")
    if response.status_code != 200:
        return Answer(Outcome.permanent, "http_error", f"HTTP {response.status_code}")
    data = read_json(response)
    if isinstance(data, str):
        return Answer(Outcome.transient, "bad_response", data)
    if data.get("ok") is True:
        # Slack accepted it: whatever else the answer holds, a retry would post it twice. A ts
        # or channel we could not store is dropped (replies to it then fail, and say why).
        ts = _short_str(data.get("ts") or data.get("message_ts"), TS_MAX)  # postEphemeral
        return Answer(
            Outcome.sent, "sent", ts=ts, channel=_short_str(data.get("channel"), CHANNEL_MAX)
        )
    error = str(data.get("error") or "unknown_error")[:200]
    if error == "ratelimited":
        seconds = _retry_after(response)
        return Answer(Outcome.rate_limited, "rate_limited", error, retry_after=seconds)
    if error in TRANSIENT_ERRORS:
        return Answer(Outcome.transient, "slack_transient", error)
    return Answer(Outcome.permanent, "slack_error", error)


async def call(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    method: str,
    body: dict[str, Any],
    token: str | None,
) -> Answer:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = await post(client, base_url + method, content=content, headers=headers)
    return response if isinstance(response, Answer) else interpret(response)


async def post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response | Answer:
    """POST, or the Answer a timeout, connection error or unreadable answer means for the outbox."""
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        return Answer(Outcome.transient, "timeout", f"timeout: {type(exc).__name__}")
    except httpx.TransportError as exc:
        return Answer(Outcome.transient, "connection", f"connection: {type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:  # e.g. DecodingError: a body that is not the gzip it claims
        return Answer(Outcome.transient, "bad_response", f"unreadable answer: {type(exc).__name__}")
