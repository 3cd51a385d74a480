"""`POST /webhooks/generic/{source}`: any system's alert as signed JSON, into incidents.

Signing (the secret per source is in the environment variable ops.yml names in
`incidents.generic.<source>.secret_env`):

    X-Switchboard-Timestamp: <Unix seconds>
    X-Switchboard-Signature: v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>

A timestamp more than 300 s from now is refused (replay window). The body:

    {"title": "Checkout latency high",         required
     "dedup_key": "checkout-latency",           required (or "fingerprint"): the incident key
     "status": "trigger",                       trigger (default) or resolve
     "severity": "critical",                    critical, error, warning (default) or info
     "summary": "p99 1.8 s over 10 min",        optional
     "instance": "eu-west-1",                   optional: one of several within the key
     "labels": {"team": "data-eng"},            optional strings: route it (team, service,
                                                pipeline, model)
     "links": [{"title": "Runbook", "url": "https://..."}]}   optional

Answers: 200 after the incident is committed; the same delivery again (same timestamp and
signature) is 200 `duplicate` and changes nothing; 401 bad or stale signature; 404 unknown
source; 400 naming the field; 413 over 256 kB.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.incidents.alerts import AlertEvent, AlertStatus, Link, Severity
from bot.services import Services
from bot.settings import Settings
from bot.webhooks.body import BodyTooLarge, BodyTooSlow, Rejected, answer, json_object, read_limited
from bot.webhooks.heartbeats import heard
from bot.webhooks.signing import MAX_AGE_SECONDS, fresh, hmac_sha256, matches

log = structlog.get_logger(__name__)

TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
SIGNATURE_HEADER = "X-Switchboard-Signature"
VERSION = "v0"
MAX_BODY_BYTES = 256 * 1024
SHAPE = "a JSON object with title, dedup_key and status"
STATUSES = {"trigger": AlertStatus.firing, "resolve": AlertStatus.resolved}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Switchboard-Signature value for a body sent at `timestamp`."""
    signed = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}={hmac_sha256(secret, signed).hex()}"


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: float) -> str | Rejected:
    """A delivery id (hash of the signature) for an authentic, fresh delivery, or a 401."""
    lower = {k.lower(): v for k, v in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "").strip()
    given = lower.get(SIGNATURE_HEADER.lower(), "").strip()
    if not (stamp and given):
        return Rejected(401, f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    if not fresh(stamp, now=now):
        return Rejected(401, f"{TIMESTAMP_HEADER} is not within {MAX_AGE_SECONDS} s of now")
    if not matches(sign(secret, stamp, body), given.split()):
        return Rejected(401, "signature does not match")
    return hashlib.sha256(f"{stamp}:{given}".encode()).hexdigest()[:54]


def _str(payload: dict[str, Any], key: str, *, required: bool = False) -> str | Rejected | None:
    value = payload.get(key)
    if value is None:
        return Rejected(400, f"{key} is required") if required else None
    if not isinstance(value, str) or (required and not value.strip()):
        return Rejected(400, f"{key} must be a non-empty string")
    return value.strip()


def event_of(source: str, payload: dict[str, Any]) -> AlertEvent | Rejected:
    """The body as an event, or a 400 naming the field that is wrong."""
    title = _str(payload, "title", required=True)
    if isinstance(title, Rejected):
        return title
    key_name = "dedup_key" if "dedup_key" in payload else "fingerprint"
    key = _str(payload, key_name, required=True)
    if isinstance(key, Rejected):
        return Rejected(400, "dedup_key (or fingerprint) is required and must be a string")
    status = payload.get("status", "trigger")
    if status not in STATUSES:
        return Rejected(400, "status must be trigger or resolve")
    severity = payload.get("severity", "warning")
    if severity not in Severity.__members__:
        return Rejected(400, "severity must be critical, error, warning or info")
    summary = _str(payload, "summary")
    instance = _str(payload, "instance")
    for name, value in (("summary", summary), ("instance", instance)):
        if isinstance(value, Rejected):
            return Rejected(400, f"{name} must be a string")
    labels = payload.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        return Rejected(400, "labels must be an object of strings")
    links_given = payload.get("links", [])
    if not isinstance(links_given, list):
        return Rejected(400, "links must be a list of {title, url}")
    links: list[Link] = []
    for n, item in enumerate(links_given):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("url"), str)
            and item["url"].startswith(("http://", "https://"))
        ):
            return Rejected(400, f"links[{n}].url must be an http(s) URL")
        links.append(Link(str(item.get("title") or "Link"), item["url"]))
    assert isinstance(key, str) and isinstance(title, str)
    return AlertEvent(
        source=f"generic:{source}",
        dedup_key=f"generic:{source}:{key}",
        status=STATUSES[status],
        title=title,
        severity=Severity(severity),
        summary=summary if isinstance(summary, str) else "",
        labels={**labels, "severity": severity} if "severity" in payload else dict(labels),
        links=links,
        instance=instance if isinstance(instance, str) else None,
    )


def generic_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/generic/{source}")
    async def generic_webhook(source: str, request: Request) -> JSONResponse:
        config, incidents = services.ops_config, services.incidents
        if config is None or incidents is None:
            return answer(503, error="incidents are not set up (no ops.yml)")
        declared = config.incidents.generic.get(source)
        if declared is None:
            return answer(
                404, error=f"unknown source {source[:64]!r} (incidents.generic in ops.yml)"
            )
        secret = Settings.secret_env(declared.secret_env)
        if secret is None:
            return answer(503, error=f"{declared.secret_env} is not set")
        try:
            body = await read_limited(
                request, MAX_BODY_BYTES, timeout=services.settings.switchboard_body_timeout
            )
        except BodyTooLarge:
            return answer(413, error=f"payload larger than {MAX_BODY_BYTES} bytes")
        except BodyTooSlow:
            return answer(408, error="request body too slow")
        checked = verify(secret=secret, headers=dict(request.headers), body=body, now=time.time())
        if isinstance(checked, Rejected):
            log.warning("generic_webhook.rejected", source=source, reason=checked.message)
            return answer(checked.status, error=checked.message)
        payload = json_object(body, shape=SHAPE)
        if isinstance(payload, Rejected):
            return answer(payload.status, error=payload.message)
        event = event_of(source, payload)
        if isinstance(event, Rejected):
            return answer(event.status, error=event.message)
        events = await heard(services, f"generic:{source}", [event])
        if not events:  # a heartbeat only
            return answer(200, status="heartbeat")
        try:  # the delivery is recorded in the transaction that stores the alert
            result = await incidents.ingest(events, delivery=f"generic:{checked}")
        except Exception:
            log.exception("generic_webhook.failed", source=source)
            return answer(503, error="could not store the alert; send it again")
        if result.duplicate:
            return answer(200, status="duplicate")
        return answer(200, status="accepted", **result.summary())

    return router
