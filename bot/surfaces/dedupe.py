"""Bolt middleware: handle each Events API `event_id` once, even when Slack retries it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.response import BoltResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.db import session_scope
from bot.store.models import HandledEvent

log = structlog.get_logger(__name__)


def mark_handled(engine: Engine, event_id: str) -> bool:
    """Record `event_id`; False when it was already recorded (by us or by another replica)."""
    try:
        with session_scope(engine) as session:
            session.add(HandledEvent(event_id=event_id[:64], handled_at=time.time()))
        return True
    except IntegrityError:
        return False


def dedupe_events(engine: Engine) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def middleware(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await asyncio.to_thread(mark_handled, engine, str(event_id)):
            log.info("event_already_handled", event_id=event_id)
            # 200 so Slack stops; the header asks it not to retry this delivery again.
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        await next()
        return None

    return middleware
