"""Reading a request body without trusting its size: one limit for Slack's events and every webhook."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class BodyTooLarge(Exception):
    """The body is over the endpoint's limit; answer 413 without reading the rest."""


class BodyTooSlow(Exception):
    """The body did not arrive within the endpoint's deadline; answer 408."""


async def read_limited(request: Request, limit: int, *, timeout: float | None = None) -> bytes:
    """The request body, refusing more than `limit` bytes without reading it all into memory,
    and a body that has not arrived within `timeout` seconds (BodyTooSlow)."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTooSlow from None
    return b"".join(chunks)


@dataclass(frozen=True)
class Rejected:
    """Why a delivery is refused, and the HTTP status that says so."""

    status: int
    message: str


def json_object(body: bytes, *, shape: str = "a JSON object") -> dict[str, Any] | Rejected:
    """The body as a JSON object, or a 400 saying why it is not one (`shape`: what the sender
    should have sent, for the message)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejected(400, f"body is not JSON: {exc}")
    except RecursionError:
        return Rejected(400, "body is not JSON we read: nested too deeply")
    if not isinstance(payload, dict):
        return Rejected(400, f"body must be {shape}")
    return payload


def answer(code: int, **body: Any) -> JSONResponse:
    """A webhook's JSON answer."""
    return JSONResponse(body, status_code=code)
