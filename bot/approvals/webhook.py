"""`POST /webhooks/mlflow`: MLflow 3 model-registry webhooks, verified, deduplicated, and turned
into promotion requests when a new version asks for one.

MLflow signs each delivery (mlflow/webhooks/delivery.py) with the webhook's secret:
`X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{body}")>`,
with `X-MLflow-Delivery-Id` (a UUID) and `X-MLflow-Timestamp` (Unix seconds). The body is
`{"entity", "action", "timestamp", "data"}`. Register the webhook in MLflow with the same
secret as SWITCHBOARD_WEBHOOK_SECRET.

Asking for a promotion from MLflow: give the new model version the tag
`switchboard.promote_to` = an alias (e.g. `champion`) when you register it. The
`model_version.created` delivery then opens a promotion request from the service account
`mlflow` (surface `mlflow_webhook`); approvers are chosen by ops.yml as for `/ops promote`, and
since `mlflow` is nobody's Slack id, every approver may decide. Other events are acknowledged
and ignored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.db import session_scope
from bot.store.models import HandledEvent

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-MLflow-Signature"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
SIGNATURE_VERSION = "v1"
MAX_AGE_SECONDS = 300  # older (or further in the future) deliveries are refused: replay window
MAX_BODY_BYTES = 256 * 1024  # MLflow payloads are a few kB
PROMOTE_TAG = "switchboard.promote_to"
REQUESTER = "mlflow"
SURFACE = "mlflow_webhook"


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The X-MLflow-Signature value MLflow sends for this delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


@dataclass(frozen=True)
class Rejected:
    status: int
    message: str


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: float) -> str | Rejected:
    """The delivery id of an authentic, fresh delivery, or why it is refused (401)."""
    lower = {k.lower(): v for k, v in headers.items()}
    delivery = lower.get(DELIVERY_HEADER.lower(), "").strip()
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "").strip()
    given = lower.get(SIGNATURE_HEADER.lower(), "").strip()
    if not (delivery and stamp and given):
        return Rejected(401, f"missing {SIGNATURE_HEADER}, {DELIVERY_HEADER} or {TIMESTAMP_HEADER}")
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_AGE_SECONDS:
        return Rejected(401, f"{TIMESTAMP_HEADER} is not within {MAX_AGE_SECONDS} s of now")
    expected = sign(secret, delivery, stamp, body)
    # MLflow sends one signature; accept a space-separated list as Standard Webhooks does.
    if not any(hmac.compare_digest(expected, part) for part in given.split()):
        return Rejected(401, "signature does not match (check SWITCHBOARD_WEBHOOK_SECRET)")
    return delivery


@dataclass(frozen=True)
class PromotionAsked:
    model: str
    version: str
    alias: str
    reason: str


def parse(body: bytes) -> dict[str, Any] | Rejected:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejected(400, f"body is not JSON: {exc}")
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return Rejected(400, "body must be an MLflow webhook object with entity, action and data")
    return payload


def promotion_asked(payload: dict[str, Any]) -> PromotionAsked | None:
    """A `model_version.created` whose tags ask for an alias; None for anything else."""
    if (payload.get("entity"), payload.get("action")) != ("model_version", "created"):
        return None
    data = payload["data"]
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    alias = str(tags.get(PROMOTE_TAG) or "").strip().lower()
    name, version = str(data.get("name") or ""), str(data.get("version") or "")
    if not (alias and name and version):
        return None
    said = str(data.get("description") or "").strip()
    reason = said or f"version {version} registered in MLflow with {PROMOTE_TAG}={alias}"
    return PromotionAsked(model=name, version=version, alias=alias, reason=reason[:1000])


def first_delivery(engine: Engine, delivery_id: str) -> bool:
    """Record the delivery id; False if it was seen before (by this or another replica)."""
    try:
        with session_scope(engine) as session:
            session.add(HandledEvent(event_id=f"mlflow:{delivery_id}"[:64], handled_at=time.time()))
        return True
    except IntegrityError:
        return False


def forget_delivery(engine: Engine, delivery_id: str) -> None:
    """Let MLflow's retry of a delivery we failed to handle be handled."""
    with session_scope(engine) as session:
        row = session.get(HandledEvent, f"mlflow:{delivery_id}"[:64])
        if row is not None:
            session.delete(row)


async def _read(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(code: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=code)


async def open_promotion(services: dict[str, Any], asked: PromotionAsked) -> dict[str, Any]:
    from bot.commands.approvals import routed  # the same path as /ops promote

    service = services.get("approvals")
    if service is None:
        return {"status": "ignored", "reason": "approvals are not set up (no ops.yml)"}
    made = await service.request_promotion(
        requester=REQUESTER,
        model=asked.model,
        version=asked.version,
        alias=asked.alias,
        reason=asked.reason,
        surface=SURFACE,
    )
    reply = await routed(services, made)
    if hasattr(made, "id"):
        return {"status": "requested", "request_id": made.id}
    return {"status": "refused", "reason": reply.text}


def mlflow_router(services: dict[str, Any]) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/mlflow")
    async def mlflow_webhook(request: Request) -> JSONResponse:
        settings, engine = services["settings"], services["engine"]
        if settings.switchboard_webhook_secret is None:
            return _answer(503, error="SWITCHBOARD_WEBHOOK_SECRET is not set")
        body = await _read(request)
        if body is None:
            return _answer(413, error=f"payload larger than {MAX_BODY_BYTES} bytes")
        checked = verify(
            secret=settings.secret("switchboard_webhook_secret"),
            headers=dict(request.headers),
            body=body,
            now=time.time(),
        )
        if isinstance(checked, Rejected):
            log.warning("mlflow_webhook.rejected", reason=checked.message)
            return _answer(checked.status, error=checked.message)
        payload = parse(body)
        if isinstance(payload, Rejected):
            return _answer(payload.status, error=payload.message)
        if not await asyncio.to_thread(first_delivery, engine, checked):
            return _answer(200, status="duplicate", delivery_id=checked)
        asked = promotion_asked(payload)
        if asked is None:
            return _answer(200, status="ignored")
        try:
            result = await open_promotion(services, asked)
        except Exception:
            log.exception("mlflow_webhook.failed", delivery_id=checked)
            await asyncio.to_thread(forget_delivery, engine, checked)
            return _answer(500, error="could not open the request; MLflow will retry")
        log.info("mlflow_webhook.handled", delivery_id=checked, **result)
        return _answer(200, **result)

    return router
