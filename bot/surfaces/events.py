"""Events API surface: mentions and DMs answer like `/ops` (commands or plain questions) in the
thread, with a chart upload after the answer when it has one; App Home shows the user's teams."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers.home import home_for
from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter
from bot.outbox import Outbox
from bot.services import Services
from bot.surfaces.charts import enqueue_chart
from bot.surfaces.user_zone import CONTEXT_KEY
from bot.views.home import render_home, render_welcome
from bot.views.reply import Reply

log = structlog.get_logger(__name__)
_MENTION = re.compile(r"<@[UW][A-Z0-9_]+(?:\|[^>]*)?>")
HOME_TIMEOUT = 6.0  # seconds for all of App Home's sources; a slow one leaves its part out


def strip_mentions(text: str) -> str:
    """The question without the bot's (or anyone's) mention, with Slack's escaping undone:
    Slack sends `&`, `<`, `>` typed by a person as `&amp;`, `&lt;`, `&gt;`, and every answer
    escapes what it echoes, so leaving them would show `&amp;lt;` to the asker."""
    text = _MENTION.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


async def post_reply(
    outbox: Outbox, *, channel: str, reply: Reply, thread_ts: str | None = None
) -> int:
    """Queue `reply` in `channel` (in `thread_ts` if given), then its chart in the same thread.

    Returns the reply's outbox id. The chart waits for the reply (parent_id), so it lands in the
    reply's thread, or in the asker's thread when the reply is itself a thread reply.
    """
    payload: dict[str, Any] = {"text": reply.text, "blocks": reply.blocks}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    reply_id: int = await outbox.aenqueue(
        method="chat.postMessage", channel=channel, payload=payload
    )
    if reply.chart is not None:
        try:
            await enqueue_chart(
                outbox, channel=channel, parent_id=reply_id, thread_ts=thread_ts, spec=reply.chart
            )
        except Exception:
            # The answer is already queued; a chart that cannot be queued must not lose it.
            log.exception("chart_not_queued", channel=channel)
    return reply_id


def register(app: AsyncApp, *, router: CommandRouter, services: Services) -> None:
    outbox = services.sending()

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx = AskContext(
            user_id=event.get("user", ""),
            surface="mention",
            services=services,
            timezone=context.get(CONTEXT_KEY),
        )
        reply = await router.answer(strip_mentions(event.get("text", "")), ctx)
        await post_reply(
            outbox,
            channel=event["channel"],
            # The channel sees the answer: "who owns churn?" must not ping the owners.
            reply=reply.quiet(),
            thread_ts=event.get("thread_ts") or event["ts"],
        )

    @app.event({"type": "message", "channel_type": "im"})
    async def on_direct_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # Edits, joins and the bot's own posts arrive with a subtype or bot_id: not questions.
        if event.get("subtype") or event.get("bot_id"):
            return
        ctx = AskContext(
            user_id=event.get("user", ""),
            surface="im",
            services=services,
            timezone=context.get(CONTEXT_KEY),
        )
        reply = await router.answer(strip_mentions(event.get("text", "")), ctx)
        await post_reply(
            outbox, channel=event["channel"], reply=reply, thread_ts=event.get("thread_ts")
        )

    @app.event("message")
    async def on_other_message() -> None:
        """Channel messages are not for us; acknowledging them keeps bolt from warning."""

    @app.event("app_home_opened")
    async def on_home_opened(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        view = await home_view(services, user_id=event["user"], timezone=context.get(CONTEXT_KEY))
        await client.views_publish(user_id=event["user"], view=view)


async def home_view(services: Services, *, user_id: str, timezone: object = None) -> dict[str, Any]:
    """The user's App Home; a welcome view when there is no ops.yml or no time left.

    `timezone` is what the user_zone middleware left: a zone name, or its lookup still under
    way, which Home does not wait for (the workspace zone is shown then)."""
    zone = timezone if isinstance(timezone, str) else None
    deps = services.answer_deps(user_zone=zone)
    if deps is None:
        return render_welcome()
    try:
        async with asyncio.timeout(HOME_TIMEOUT):
            data = await home_for(deps, user_id)
    except Exception:
        log.exception("home_failed", user=user_id)
        return render_welcome()
    return render_home(data)
