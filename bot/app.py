"""The FastAPI application: Slack's one request URL, health, readiness and metrics, and the lifespan
that migrates the database and starts the scheduler (outbox drain, heartbeat)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine
from starlette.requests import ClientDisconnect

from bot.approvals.delivery import notice_handler
from bot.commands.dispatch import CommandRouter
from bot.metrics import LATENCY, REQUESTS, classify
from bot.outbox import Outbox, OutboxSender
from bot.router import build_router
from bot.server import client_gone
from bot.settings import Settings, get_settings
from bot.slack_app import build_bolt_app
from bot.slack_client import make_web_client
from bot.store.db import engine_for, readiness, upgrade
from scheduler.runner import Scheduler, build_scheduler

log = structlog.get_logger(__name__)


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


async def read_limited(request: Request, limit: int, *, timeout: float | None = None) -> bytes:
    """The request body, refusing more than `limit` bytes without reading it all into memory,
    and a body that has not arrived within `timeout` seconds (BodyTooSlow: answer 408)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
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


def load_domain_services(
    settings: Settings,
    engine: Engine,
    *,
    config_path: Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """ops.yml, the sources it enables and the budget store, when the config file exists.

    A missing file leaves them out (the bot still answers help); an invalid one stops start-up
    with every problem listed, rather than running on a half-understood configuration.
    `now` pins the demo company's clock (tests and golden files).
    """
    from bot.budgets import StoredBudgets
    from bot.ops_config import load_ops_config
    from bot.sources import build_sources

    path = config_path or settings.switchboard_config
    if not path.is_file():
        log.warning("no_ops_config", path=str(path))
        return {}
    cfg = load_ops_config(path)
    built = build_sources(cfg, now=now)
    services: dict[str, Any] = {
        "ops_config": cfg,
        "sources": built.sources,
        "budgets": StoredBudgets(engine, cfg, mirror=built.budget_mirror),
    }
    from bot.approvals.executor import SourcesExecutor
    from bot.approvals.service import ApprovalService

    services["approvals"] = ApprovalService(
        engine=engine,
        config=cfg,
        catalog=built.sources,
        budgets=services["budgets"],
        executor=SourcesExecutor(built.sources, services["budgets"]),
    )
    if now is not None:
        services["now"] = now
    return services


def scheduler_for(
    settings: Settings,
    engine: Engine,
    services: dict[str, Any],
    *,
    replica_id: str,
    sender: OutboxSender,
) -> Scheduler:
    """Every scheduled job of this process; the approvals tick when ops.yml has approvals (it
    executes stalled approvals and delivers cards, so it needs the same services as the app)."""
    approvals = services.get("approvals")
    return build_scheduler(
        settings,
        engine,
        replica_id=replica_id,
        outbox_sender=sender,
        approvals=approvals,
        approval_notices=notice_handler(services) if approvals is not None else None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    router: CommandRouter | None = None,
    services: dict[str, Any] | None = None,
    run_scheduler: bool = True,
    socket_mode: bool = False,
    now: datetime | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    if socket_mode:
        settings.require("SLACK_APP_TOKEN")
    engine = engine_for(settings.database_url)
    router = router or build_router()
    client = make_web_client(settings)
    outbox = Outbox(engine)
    me = replica_id()
    services = {
        "outbox": outbox,
        "engine": engine,
        "settings": settings,
        **load_domain_services(settings, engine, now=now),
        **(services or {}),
    }
    bolt: AsyncApp = build_bolt_app(
        settings, client=client, engine=engine, router=router, services=services
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, settings.database_url)
        sched = None
        sender = None
        if run_scheduler:
            sender = OutboxSender.from_settings(engine, settings, replica_id=me)
            outbox.attach(sender)
            sched = scheduler_for(settings, engine, services, replica_id=me, sender=sender)
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

    app = FastAPI(title="Switchboard", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.state.settings = settings
    app.state.engine = engine
    app.state.bolt = bolt
    app.state.router = router
    app.state.services = services
    from bot.approvals.webhook import mlflow_router

    app.include_router(mlflow_router(services))

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
        surface = classify(body, request.headers.get("content-type", ""))
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
