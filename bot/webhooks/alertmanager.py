"""`POST /webhooks/alertmanager`: Alertmanager's webhook (payload version 4) into incidents.

Alertmanager cannot sign a webhook; it authenticates the ways its receiver's `http_config` can:
`authorization: {type: Bearer, credentials_file: ...}` or `basic_auth: {username, password}`.
ops.yml `incidents.alertmanager.auth` names the environment variables holding the expected
token or user and password; the header is compared in constant time, and a wrong or missing one
is answered 401.

Each alert becomes an `AlertEvent` keyed by its fingerprint, or, where the route its labels match
says `group_by: alertmanager_group`, by the payload's `groupKey` (one incident per group, its
alerts listed as instances, with "+N more" for `truncatedAlerts`). Alertmanager resends firing
alerts every `repeat_interval` and an HA pair sends duplicates: the same alert with the same
`startsAt` changes nothing. An alert missing from a later payload stays as it was; only
`status: resolved` resolves. The answer (200) comes after the incidents are committed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.incidents.alerts import AlertEvent, AlertStatus, Link, Severity
from bot.incidents.routing import route
from bot.incidents.service import GROUP_TRUNCATED
from bot.ops_config import OpsConfig
from bot.ops_config.incidents import AlertmanagerAuth
from bot.services import Services
from bot.settings import Settings
from bot.webhooks.body import BodyTooLarge, BodyTooSlow, Rejected, answer, json_object, read_limited
from bot.webhooks.heartbeats import heard

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024  # a group of a few thousand alerts
SOURCE = "alertmanager"
SHAPE = "an Alertmanager webhook payload (version 4) with alerts"
KEY_MAX = 200


def authorized(auth: AlertmanagerAuth, header: str | None) -> Rejected | None:
    """None when the Authorization header carries the configured bearer token or basic auth."""
    if not header:
        return Rejected(401, "missing Authorization header (set http_config in Alertmanager)")
    scheme, _, given = header.strip().partition(" ")
    scheme = scheme.lower()
    if auth.bearer_env and scheme == "bearer":
        expected = Settings.secret_env(auth.bearer_env)
        if expected is None:
            return Rejected(503, f"{auth.bearer_env} is not set")
        if hmac.compare_digest(given.strip().encode(), expected.encode()):
            return None
        return Rejected(401, "bearer token does not match")
    if auth.username_env and auth.password_env and scheme == "basic":
        user, password = (
            Settings.secret_env(auth.username_env),
            Settings.secret_env(auth.password_env),
        )
        if user is None or password is None:
            return Rejected(503, f"{auth.username_env} or {auth.password_env} is not set")
        try:
            decoded = base64.b64decode(given.strip(), validate=True)
        except (binascii.Error, ValueError):
            return Rejected(401, "basic auth is not base64")
        name, _, secret = decoded.partition(b":")
        same_user = hmac.compare_digest(name, user.encode())
        same_password = hmac.compare_digest(secret, password.encode())
        if same_user and same_password:
            return None
        return Rejected(401, "basic auth does not match")
    return Rejected(401, "wrong Authorization scheme for incidents.alertmanager.auth")


def _time(value: Any, where: str) -> datetime | None | Rejected:
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if not isinstance(value, str):
        return Rejected(400, f"{where} must be an RFC 3339 time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return Rejected(400, f"{where} must be an RFC 3339 time, got {value[:40]!r}")


def _strings(value: Any, where: str) -> dict[str, str] | Rejected:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return Rejected(400, f"{where} must be an object of strings")
    return {str(k): v for k, v in value.items()}


def _severity(labels: dict[str, str]) -> Severity:
    said = labels.get("severity", "").lower()
    aliases = {"page": "critical", "high": "error", "medium": "warning", "low": "info"}
    said = aliases.get(said, said)
    return Severity(said) if said in Severity.__members__ else Severity.warning


def _key(prefix: str, value: str) -> str:
    if len(prefix) + len(value) <= KEY_MAX:
        return prefix + value
    return prefix + hashlib.sha256(value.encode()).hexdigest()


def events_of(payload: dict[str, Any], config: OpsConfig) -> list[AlertEvent] | Rejected:
    """The payload's alerts as events, or a 400 naming the first field that is wrong."""
    version = payload.get("version")
    if version is not None and str(version) != "4":
        return Rejected(400, f'version must be "4", got {str(version)[:10]!r}')
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        return Rejected(400, "alerts must be a list")
    group_key = payload.get("groupKey")
    if group_key is not None and not isinstance(group_key, str):
        return Rejected(400, "groupKey must be a string")
    truncated = payload.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or truncated < 0:
        return Rejected(400, "truncatedAlerts must be a non-negative integer")
    common = _strings(payload.get("commonLabels"), "commonLabels")
    if isinstance(common, Rejected):
        return common
    external = payload.get("externalURL")
    events: list[AlertEvent] = []
    for n, item in enumerate(alerts):
        where = f"alerts[{n}]"
        if not isinstance(item, dict):
            return Rejected(400, f"{where} must be an object")
        status = item.get("status")
        if status not in ("firing", "resolved"):
            return Rejected(400, f"{where}.status must be firing or resolved")
        fingerprint = item.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint.strip():
            return Rejected(400, f"{where}.fingerprint must be a non-empty string")
        labels = _strings(item.get("labels"), f"{where}.labels")
        if isinstance(labels, Rejected):
            return labels
        notes = _strings(item.get("annotations"), f"{where}.annotations")
        if isinstance(notes, Rejected):
            return notes
        starts = _time(item.get("startsAt"), f"{where}.startsAt")
        ends = _time(item.get("endsAt"), f"{where}.endsAt")
        if isinstance(starts, Rejected):
            return starts
        if isinstance(ends, Rejected):
            return ends
        links: list[Link] = []
        if isinstance(item.get("generatorURL"), str) and item["generatorURL"]:
            links.append(Link("Source", item["generatorURL"]))
        if notes.get("runbook_url"):
            links.append(Link("Runbook", notes["runbook_url"]))
        if isinstance(external, str) and external:
            links.append(Link("Alertmanager", external.rstrip("/") + "/#/alerts"))
        name = labels.get("alertname", "alert")
        event = AlertEvent(
            source=SOURCE,
            dedup_key=_key("alertmanager:", fingerprint.strip()),
            status=AlertStatus(status),
            title=notes.get("summary") or name,
            severity=_severity(labels),
            summary=notes.get("description", ""),
            labels=labels,
            links=links,
            starts_at=starts,
            ends_at=ends,
            instance=None,
        )
        if group_key and route(config, event).group_by == "alertmanager_group":
            grouped = {**common, GROUP_TRUNCATED: str(truncated)} if truncated else dict(common)
            event = AlertEvent(
                source=SOURCE,
                dedup_key=_key("alertmanager-group:", group_key),
                status=event.status,
                title=(common.get("alertname") or name) + " (group)",
                severity=_severity(common or labels),
                summary=notes.get("description", ""),
                labels=grouped,
                links=links,
                starts_at=starts,
                ends_at=ends,
                instance=fingerprint.strip(),
            )
        events.append(event)
    return events


def alertmanager_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/alertmanager")
    async def alertmanager_webhook(request: Request) -> JSONResponse:
        config, incidents = services.ops_config, services.incidents
        if config is None or incidents is None:
            return answer(503, error="incidents are not set up (no ops.yml)")
        auth = config.incidents.alertmanager.auth
        if auth is None:
            return answer(503, error="incidents.alertmanager.auth is not configured in ops.yml")
        refused = authorized(auth, request.headers.get("authorization"))
        if refused is not None:
            log.warning("alertmanager_webhook.rejected", reason=refused.message)
            headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
            return JSONResponse({"error": refused.message}, refused.status, headers=headers)
        try:
            body = await read_limited(
                request, MAX_BODY_BYTES, timeout=services.settings.switchboard_body_timeout
            )
        except BodyTooLarge:
            return answer(413, error=f"payload larger than {MAX_BODY_BYTES} bytes")
        except BodyTooSlow:
            return answer(408, error="request body too slow")
        payload = json_object(body, shape=SHAPE)
        if isinstance(payload, Rejected):
            return answer(payload.status, error=payload.message)
        events = events_of(payload, config)
        if isinstance(events, Rejected):
            return answer(events.status, error=events.message)
        events = await heard(services, "alertmanager", events)
        try:
            result = await incidents.ingest(events)
        except Exception:
            log.exception("alertmanager_webhook.failed")
            return answer(503, error="could not store the alerts; Alertmanager will retry")
        return answer(200, status="accepted", **result.summary())

    return router
