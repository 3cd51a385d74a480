"""Events API surface: mentions and DMs answer like `/ops`; App Home shows a welcome view."""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.dispatch import AskContext, CommandRouter
from bot.views.home import render_home

log = structlog.get_logger(__name__)
_MENTION = re.compile(r"<@[UW][A-Z0-9_]+(?:\|[^>]*)?>")


def strip_mentions(text: str) -> str:
    return _MENTION.sub("", text).strip()


def register(app: AsyncApp, *, router: CommandRouter, services: dict[str, Any]) -> None:
    outbox = services["outbox"]

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        ctx = AskContext(
            user_id=event.get("user", ""),
            channel_id=event["channel"],
            surface="mention",
            services=services,
        )
        reply = await router.answer(strip_mentions(event.get("text", "")), ctx)
        await outbox.aenqueue(
            method="chat.postMessage",
            channel=event["channel"],
            payload={
                "text": reply.text,
                "blocks": reply.blocks,
                "thread_ts": event.get("thread_ts") or event["ts"],
            },
        )

    @app.event({"type": "message", "channel_type": "im"})
    async def on_direct_message(event: dict[str, Any]) -> None:
        # Edits, joins and the bot's own posts arrive with a subtype or bot_id: not questions.
        if event.get("subtype") or event.get("bot_id"):
            return
        ctx = AskContext(
            user_id=event.get("user", ""),
            channel_id=event["channel"],
            surface="im",
            services=services,
        )
        reply = await router.answer(strip_mentions(event.get("text", "")), ctx)
        payload: dict[str, Any] = {"text": reply.text, "blocks": reply.blocks}
        if event.get("thread_ts"):
            payload["thread_ts"] = event["thread_ts"]
        await outbox.aenqueue(method="chat.postMessage", channel=event["channel"], payload=payload)

    @app.event("message")
    async def on_other_message() -> None:
        """Channel messages are not for us; acknowledging them keeps bolt from warning."""

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await client.views_publish(user_id=event["user"], view=render_home(router.available))
