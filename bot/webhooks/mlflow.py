"""`POST /webhooks/mlflow`: MLflow 3 model-registry webhooks, verified, deduplicated, and turned
into promotion requests as ops.yml `approvals.mlflow` says, asked by the person behind the version.

MLflow signs each delivery (mlflow/webhooks/delivery.py) with the webhook's secret:
`X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{body}")>`,
with `X-MLflow-Delivery-Id` (a UUID) and `X-MLflow-Timestamp` (Unix seconds). The body is
`{"entity", "action", "timestamp", "data"}`. Register the webhook in MLflow with the same
secret as SWITCHBOARD_WEBHOOK_SECRET, for the events below (UPPERCASE in MLflow's API).

Events that ask for a promotion (`data` as MLflow 3.17 sends it):
- `model_version.created` `{name, version, source, run_id, tags: {k: v}, description}` whose
  tags hold `approvals.mlflow.promote_tag` (default `switchboard.promote_to`): the tag's value
  is the alias asked for.
- `model_version_tag.set` `{name, version, key, value}` of that tag, set after registration.
- `model_version_alias.created` `{name, alias, version}` of an alias in `approvals.mlflow.on_alias`:
  `{challenger: champion}` asks to make each new challenger the champion.
A null `promote_tag` or an empty `on_alias` turns those off. Every other delivery is answered
200 `{"status": "ignored", "reason": ...}`.

Who asks: no payload names a user, so the version is read from the registry that has the model:
its `user_id` (hosted MLflow fills it; MLflow OSS never does), else the user of the run it was
registered from. `workspace.identities` maps that user to a Slack id, who becomes the requester
and so can never approve the request. An unmapped user asks as `mlflow:<user>`, an unknown one as
`mlflow`, and the request's reason says so: nobody is then excluded from approving it. Approvers
are chosen by ops.yml as for `/ops promote` (surface `mlflow_webhook`).

Retries: MLflow retries a 5xx with the same delivery id, timestamp and signature. A delivery that
failed is forgotten so its retry is handled (503 when the registry could not say who registered
the version). The service keeps one open request per model alias: a delivery asking for the very
promotion already open (a retry after a failure that came after the request existed, or the tag
set again) is answered 200 `{"status": "already_requested", "request_id"}`; an open request for
another version of that alias makes it `refused`, naming that request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.approvals.catalog import CatalogProblem, find_model
from bot.approvals.service import ApprovalService
from bot.approvals.types import PromotionSubject, Refused
from bot.delivery.approvals import ApprovalNotifier
from bot.ops_config import OpsConfig
from bot.ops_config.approvals import MlflowRequests
from bot.services import Services
from bot.webhooks.body import BodyTooLarge, BodyTooSlow, Rejected, answer, json_object, read_limited
from bot.webhooks.deliveries import first_delivery, forget_delivery
from bot.webhooks.signing import MAX_AGE_SECONDS, fresh, hmac_sha256_base64, matches
from integrations.errors import SourceError
from integrations.hub import Sources
from integrations.models import ModelVersion

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-MLflow-Signature"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
SIGNATURE_VERSION = "v1"
SENDER = "mlflow"  # the deliveries' key prefix in handled_event
SHAPE = "an MLflow webhook object with entity, action and data"
MAX_BODY_BYTES = 256 * 1024  # MLflow payloads are a few kB
REQUESTER = "mlflow"  # who asks when MLflow cannot say who registered the version
REQUESTER_MAX = 64  # approval_request.requester column
REASON_MAX = 1000
SURFACE = "mlflow_webhook"


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The X-MLflow-Signature value MLflow sends for this delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return f"{SIGNATURE_VERSION},{hmac_sha256_base64(secret, signed)}"


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: float) -> str | Rejected:
    """The delivery id of an authentic, fresh delivery, or why it is refused (401)."""
    lower = {k.lower(): v for k, v in headers.items()}
    delivery = lower.get(DELIVERY_HEADER.lower(), "").strip()
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "").strip()
    given = lower.get(SIGNATURE_HEADER.lower(), "").strip()
    if not (delivery and stamp and given):
        return Rejected(401, f"missing {SIGNATURE_HEADER}, {DELIVERY_HEADER} or {TIMESTAMP_HEADER}")
    if not fresh(stamp, now=now):
        return Rejected(401, f"{TIMESTAMP_HEADER} is not within {MAX_AGE_SECONDS} s of now")
    expected = sign(secret, delivery, stamp, body)
    # MLflow sends one signature; accept a space-separated list as Standard Webhooks does.
    if not matches(expected, given.split()):
        return Rejected(401, "signature does not match (check SWITCHBOARD_WEBHOOK_SECRET)")
    return delivery


@dataclass(frozen=True)
class PromotionAsked:
    model: str
    version: str
    alias: str
    reason: str  # why, in MLflow's terms; who asked is added once they are known


@dataclass(frozen=True)
class Ignored:
    reason: str


def parse(body: bytes) -> dict[str, Any] | Rejected:
    payload = json_object(body, shape=SHAPE)
    if isinstance(payload, Rejected) or isinstance(payload.get("data"), dict):
        return payload
    return Rejected(400, f"body must be {SHAPE}")


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value).strip() if isinstance(value, str | int) else ""


def promotion_asked(payload: dict[str, Any], rules: MlflowRequests) -> PromotionAsked | Ignored:
    """What promotion this delivery asks for under `rules`, or why it asks for none."""
    event = (str(payload.get("entity")), str(payload.get("action")))
    data: dict[str, Any] = payload["data"]
    name, version = _text(data, "name"), _text(data, "version")
    tag = rules.promote_tag
    if event == ("model_version", "created"):
        given = data.get("tags")
        tags: dict[str, Any] = given if isinstance(given, dict) else {}
        if tag is None:
            return Ignored("tag requests are off (approvals.mlflow.promote_tag is null)")
        alias = str(tags.get(tag) or "").strip().lower()
        if not alias:
            return Ignored(f"version {version} of {name} has no {tag} tag")
        said = _text(data, "description")
        why = said or f"v{version} registered in MLflow with {tag}={alias}"
    elif event == ("model_version_tag", "set"):
        if tag is None:
            return Ignored("tag requests are off (approvals.mlflow.promote_tag is null)")
        if _text(data, "key") != tag:
            return Ignored(f"tag {_text(data, 'key')!r} is not {tag}")
        alias = _text(data, "value").lower()
        if not alias:
            return Ignored(f"{tag} was set to nothing on version {version} of {name}")
        why = f"{tag}={alias} set on v{version} in MLflow"
    elif event == ("model_version_alias", "created"):
        was = _text(data, "alias").lower()
        if was not in rules.on_alias:
            listed = ", ".join(rules.on_alias) or "it is empty"
            return Ignored(f"alias {was!r} is not in approvals.mlflow.on_alias ({listed})")
        alias = rules.on_alias[was]
        why = (
            f"alias {was} set on v{version} in MLflow (approvals.mlflow.on_alias: {was} -> {alias})"
        )
    else:
        return Ignored(f"{event[0]}.{event[1]} events do not open requests")
    if not (name and version):
        return Ignored(f"{event[0]}.{event[1]} without a model name and version")
    return PromotionAsked(model=name, version=version, alias=alias, reason=why)


# -- who asks ------------------------------------------------------------------------------------
@runtime_checkable
class VersionAuthors(Protocol):
    """A registry that can say who registered a version (MlflowRegistry)."""

    async def get_version(self, name: str, version: str) -> ModelVersion | None: ...

    async def run_user(self, run_id: str) -> str | None: ...


@dataclass(frozen=True)
class Requester:
    id: str  # a Slack user id, or `mlflow[:<user>]` when nobody in Slack is known
    note: str  # how we know, added to the request's reason


async def registry_user(
    sources: Sources | None, model: str, version: str
) -> tuple[str, str] | None:
    """(MLflow user, how we know) behind a version, or None if the registry cannot say.

    Raises CatalogProblem when the registry could not be asked: opening the request as `mlflow`
    then would let its author approve it, so the delivery fails and MLflow retries it.
    """
    if sources is None:
        return None
    found = await find_model(sources, model)
    # The version was just created or changed: ask the adapter itself, not the read cache.
    registry = getattr(found.registry, "inner", found.registry) if found else None
    if not isinstance(registry, VersionAuthors):
        return None
    try:
        async with asyncio.timeout(sources.timeout):
            candidate = await registry.get_version(model, version)
            if candidate is None:
                return None
            if candidate.created_by:
                return candidate.created_by, "registered"
            run_user = await registry.run_user(candidate.run_id) if candidate.run_id else None
    except TimeoutError as exc:
        raise CatalogProblem(f"{model} v{version}: the registry timed out") from exc
    except SourceError as exc:
        raise CatalogProblem(str(exc)) from exc
    return (run_user, "logged the run of") if run_user else None


async def requester_of(
    config: OpsConfig, sources: Sources | None, asked: PromotionAsked, data: dict[str, Any]
) -> Requester:
    """The Slack user behind a delivery (`data.user_id` if MLflow ever sends one), else a label."""
    said = _text(data, "user_id")
    known = (said, "registered") if said else None
    known = known or await registry_user(sources, asked.model, asked.version)
    if known is None:
        return Requester(REQUESTER, "MLflow does not say who registered it")
    user, how = known
    where = f"MLflow user {user} {how} v{asked.version}"
    slack_id = config.workspace.slack_id(user)
    if slack_id:
        return Requester(slack_id, where)
    unmapped = f"{REQUESTER}:{user}"[:REQUESTER_MAX]
    return Requester(unmapped, f"{where} and has no Slack id in workspace.identities")


# -- opening the request --------------------------------------------------------------------------
def forget_cached(sources: Sources | None, model: str) -> None:
    """MLflow just told us `model` changed: drop cached registry answers about it, or the new
    version (or alias) would be unknown to the checks until the cache expires."""
    for registry in sources.registries.values() if sources else ():
        cache = getattr(registry, "cache", None)  # integrations.cache.CachedSource
        if cache is not None:
            cache.invalidate_where(
                lambda key: (
                    isinstance(key, tuple)
                    and key[:1] in (("get_model",), ("versions",))
                    and key[1:2] == (model,)
                )
            )


async def open_promotion(
    *,
    service: ApprovalService,
    config: OpsConfig,
    sources: Sources | None,
    notices: ApprovalNotifier | None,
    asked: PromotionAsked,
    data: dict[str, Any],
) -> dict[str, Any]:
    forget_cached(sources, asked.model)
    requester = await requester_of(config, sources, asked, data)
    made = await service.request_promotion(
        requester=requester.id,
        model=asked.model,
        version=asked.version,
        alias=asked.alias,
        reason=f"{asked.reason} ({requester.note})"[:REASON_MAX],
        surface=SURFACE,
    )
    if isinstance(made, Refused):
        already = await _already_requested(service, made, asked)
        return already or {"status": "refused", "reason": made.reason}
    if notices is not None:  # tell the approvers, as /ops promote does
        await notices.deliver_now(made.id)
    return {"status": "requested", "request_id": made.id, "requester": made.requester}


async def _already_requested(
    service: ApprovalService, refused: Refused, asked: PromotionAsked
) -> dict[str, Any] | None:
    """This very promotion is already open (a retry, or MLflow telling us twice); an open
    request for another version is a plain refusal."""
    if refused.open_request is None:
        return None
    other = await service.snapshot(refused.open_request)
    subject = other.subject if other else None
    if not isinstance(subject, PromotionSubject) or subject.version != asked.version:
        return None
    return {"status": "already_requested", "request_id": refused.open_request}


def mlflow_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/mlflow")
    async def mlflow_webhook(request: Request) -> JSONResponse:
        settings, engine = services.settings, services.engine
        if settings.switchboard_webhook_secret is None:
            return answer(503, error="SWITCHBOARD_WEBHOOK_SECRET is not set")
        try:
            body = await read_limited(
                request, MAX_BODY_BYTES, timeout=settings.switchboard_body_timeout
            )
        except BodyTooLarge:
            return answer(413, error=f"payload larger than {MAX_BODY_BYTES} bytes")
        except BodyTooSlow:
            return answer(408, error="request body too slow")
        checked = verify(
            secret=settings.secret("switchboard_webhook_secret"),
            headers=dict(request.headers),
            body=body,
            now=time.time(),
        )
        if isinstance(checked, Rejected):
            log.warning("mlflow_webhook.rejected", reason=checked.message)
            return answer(checked.status, error=checked.message)
        payload = parse(body)
        if isinstance(payload, Rejected):
            return answer(payload.status, error=payload.message)
        if not await asyncio.to_thread(first_delivery, engine, SENDER, checked):
            return answer(200, status="duplicate", delivery_id=checked)
        service, config = services.approvals, services.ops_config
        if service is None or config is None:
            return answer(200, status="ignored", reason="approvals are not set up (no ops.yml)")
        asked = promotion_asked(payload, config.approvals.mlflow)
        if isinstance(asked, Ignored):
            return answer(200, status="ignored", reason=asked.reason)
        try:
            result = await open_promotion(
                service=service,
                config=config,
                sources=services.sources,
                notices=services.approval_notices,
                asked=asked,
                data=payload["data"],
            )
        except CatalogProblem as exc:
            log.warning("mlflow_webhook.registry_unavailable", delivery_id=checked, error=str(exc))
            await asyncio.to_thread(forget_delivery, engine, SENDER, checked)
            return answer(
                503, error=f"could not ask the registry who registered it: {exc}; MLflow will retry"
            )
        except Exception:
            log.exception("mlflow_webhook.failed", delivery_id=checked)
            await asyncio.to_thread(forget_delivery, engine, SENDER, checked)
            return answer(500, error="could not open the request; MLflow will retry")
        log.info("mlflow_webhook.handled", delivery_id=checked, **result)
        return answer(200, **result)

    return router
