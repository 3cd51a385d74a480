"""The FastAPI application: Slack's one request URL, the webhooks, health, readiness and metrics,
and the lifespan that migrates the database and starts the scheduler (outbox drain, heartbeat,
the services' jobs)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import ClientDisconnect

from bot import slack_request
from bot.commands.dispatch import CommandRouter
from bot.metrics import LATENCY, REQUESTS, classify
from bot.outbox import OutboxSender
from bot.router import build_router
from bot.server import client_gone
from bot.services import Services, build_services
from bot.settings import Settings, get_settings
from bot.slack_app import build_bolt_app
from bot.slack_client import make_web_client
from bot.store.db import readiness, upgrade
from bot.webhooks import webhook_router
from bot.webhooks.body import BodyTooLarge, BodyTooSlow, read_limited
from scheduler.runner import build_scheduler

log = structlog.get_logger(__name__)


def replica_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def open_socket_url(client: AsyncWebClient, app_token: str) -> str:
    """The Socket Mode URL for `app_token`, or a RuntimeError naming SLACK_APP_TOKEN (never its value)."""
    if not app_token.startswith("xapp-"):
        raise RuntimeError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write"
        )
    try:
        answer = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error") if exc.response else "no response"
        raise RuntimeError(f"SLACK_APP_TOKEN was refused by Slack ({error})") from None
    return str(answer["url"])


def create_app(
    settings: Settings | None = None,
    *,
    router: CommandRouter | None = None,
    services: Services | None = None,
    run_scheduler: bool = True,
    socket_mode: bool = False,
    now: datetime | None = None,
    before_jobs: Callable[[Services], Awaitable[None]] | None = None,
) -> FastAPI:
    """The app; `services` defaults to `build_services(settings, now=now)` (the demo and tests
    may bring their own, built by the same function). `before_jobs` runs once the database is
    migrated, before the scheduler starts (the demo seeds its incidents there)."""
    settings = settings or get_settings()
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    if socket_mode:
        settings.require("SLACK_APP_TOKEN")
    services = services or build_services(settings, now=now)
    engine, outbox = services.engine, services.sending()
    router = router or build_router(eager=True)
    client = make_web_client(settings)
    me = replica_id()
    signing_secret = settings.secret("slack_signing_secret")
    bolt: AsyncApp = build_bolt_app(settings, client=client, router=router, services=services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, settings.database_url)
        if before_jobs is not None:
            await before_jobs(services)
        sched = None
        sender = None
        if run_scheduler:
            sender = OutboxSender.from_settings(engine, settings, replica_id=me)
            outbox.attach(sender)
            sched = build_scheduler(
                settings, engine, replica_id=me, outbox_sender=sender, services=services
            )
            sched.start()
        socket_handler = None
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            app_token = settings.secret("slack_app_token")
            socket_handler = AsyncSocketModeHandler(bolt, app_token)
            # slack_sdk retries a refused token forever inside connect(); ask once here so a
            # wrong token stops start-up with a reason instead of hanging it.
            socket_handler.client.wss_uri = await open_socket_url(client, app_token)
            await socket_handler.connect_async()
        log.info(
            "switchboard_started",
            socket_mode=socket_mode,
            replica=me,
            database=engine.url.get_backend_name(),
        )
        try:
            yield
        finally:
            if socket_handler is not None:
                await socket_handler.close_async()
            if sched is not None:
                await sched.shutdown()
            if sender is not None:
                await sender.aclose()
            log.info("switchboard_stopped", replica=me)

    docs = settings.switchboard_api_docs  # off: no /docs, /redoc or /openapi.json for outsiders
    app = FastAPI(
        title="Switchboard",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.state.settings = settings
    app.state.engine = engine
    app.state.bolt = bolt
    app.state.router = router
    app.state.services = services
    app.include_router(webhook_router(services))

    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_limited(
                request,
                settings.switchboard_max_body_bytes,
                timeout=settings.switchboard_body_timeout,
            )
        except BodyTooLarge:
            REQUESTS.labels(surface="oversized", status="413").inc()
            return JSONResponse({"error": "payload too large"}, status_code=413)
        except BodyTooSlow:
            REQUESTS.labels(surface="slow", status="408").inc()
            return JSONResponse({"error": "request body too slow"}, status_code=408)
        content_type = request.headers.get("content-type", "")
        refused = slack_request.verify(
            secret=signing_secret, headers=request.headers, body=body, now=time.time()
        ) or slack_request.malformed(body, content_type)
        if refused is not None:
            # One line with the size and why: never the body (its size and content are the
            # sender's, and it may be written to forge log lines).
            log.warning(
                "slack_request.rejected",
                status=refused.status,
                reason=refused.message,
                size=len(body),
            )
            # "unknown": nothing of a refused body is read, not even which surface it claims.
            REQUESTS.labels(surface="unknown", status=str(refused.status)).inc()
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        surface = classify(body, content_type)
        response = to_starlette_response(
            await bolt.async_dispatch(to_async_bolt_request(request, body))
        )
        REQUESTS.labels(surface=surface, status=str(response.status_code)).inc()
        LATENCY.labels(surface=surface).observe(time.perf_counter() - started)
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready, reason = await asyncio.to_thread(readiness, engine)
        return JSONResponse({"ready": ready, "reason": reason}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
