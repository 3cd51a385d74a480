"""The asking user's time zone (users.info `tz`), cached per user, put on bolt's context."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from cachetools import TLRUCache
from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

ZONE_TTL = 3600.0  # people rarely move; an hour keeps users.info (Tier 4) calls rare
MISS_TTL = 60.0  # a failed lookup is retried a minute later, not an hour later
LOOKUP_TIMEOUT = 0.5  # seconds: the slash command's 3 s ack must never wait on this
CONTEXT_KEY = "user_timezone"

ZONES_KEPT = 10_000  # one workspace's active users fit easily; beyond, the soonest to expire go


def _time_to_use(_user: str, zone: str | None, now: float) -> float:
    return now + (ZONE_TTL if zone else MISS_TTL)


clock: Callable[[], float] = time.monotonic  # the cache's clock (tests move it)
_zones: TLRUCache[str, str | None] = TLRUCache(
    maxsize=ZONES_KEPT, ttu=_time_to_use, timer=lambda: clock()
)


def forget_zones() -> None:
    """Drop every cached zone (tests, and when a user changes zone and wants it now)."""
    _zones.clear()


async def user_timezone(
    client: AsyncWebClient, user_id: str, *, timeout: float = LOOKUP_TIMEOUT
) -> str | None:
    """The user's IANA zone from users.info, or None (the workspace zone then applies)."""
    if not user_id:
        return None
    with contextlib.suppress(KeyError):  # not asked yet, or expired
        return _zones[user_id]
    zone: str | None = None
    try:
        async with asyncio.timeout(timeout):
            answer = await client.users_info(user=user_id)
        found = (answer.get("user") or {}).get("tz")
        if isinstance(found, str) and found:
            zone = found
    except Exception as exc:  # a timeout, user_not_found or a network error: workspace zone
        log.info("user_zone_unknown", user=user_id, error=type(exc).__name__)
    _zones[user_id] = zone  # a miss too, retried after MISS_TTL
    return zone


def user_zone_middleware() -> Callable[..., Awaitable[None]]:
    """Bolt middleware putting the requesting user's zone on `context["user_timezone"]`.

    It puts the lookup itself (an asyncio.Task) there and does not wait for it: every handler
    acks at once (a slash command, a button click, a modal opening on a trigger_id that lives
    3 s), and the router awaits the zone only when a handler is about to answer
    (AskContext.timezone). A slow users.info so never delays an ack; dates stay in the user's
    zone.
    """

    async def middleware(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:  # noqa: A002
        # Only requests a person made; Slack's own callbacks (url_verification) have no user.
        if context.user_id and context.client is not None and _asks(body):
            lookup = user_timezone(context.client, context.user_id)
            context[CONTEXT_KEY] = asyncio.ensure_future(lookup)
        await next()

    return middleware


_ANSWERED_EVENTS = frozenset({"app_mention", "app_home_opened"})


def _asks(body: dict[str, Any]) -> bool:
    """Whether the bot will answer this person (channel chatter and bots' posts are not asked)."""
    if body.get("type") != "event_callback":
        return True  # slash commands, button clicks, modal submissions
    event = body.get("event") or {}
    if event.get("bot_id") or event.get("subtype"):
        return False
    return event.get("type") in _ANSWERED_EVENTS or event.get("channel_type") == "im"
