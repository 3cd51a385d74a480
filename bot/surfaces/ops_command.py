"""The `/ops` slash command: ack within Slack's 3 s with the answer, or ack now and answer via response_url."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.commands.dispatch import AskContext, CommandRouter
from bot.metrics import COMMANDS

log = structlog.get_logger(__name__)

# Answers ready within this budget go back in the ack itself; slower ones follow via response_url.
ACK_BUDGET_SECONDS = 2.0


def register(app: AsyncApp, *, router: CommandRouter, services: dict[str, Any]) -> None:
    @app.command("/ops")
    async def ops_command(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        ctx = AskContext(
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id"),
            surface="slash_command",
            services=services,
        )
        COMMANDS.labels(
            command=(text.split() or ["help"])[0][:20].lower(), surface="slash_command"
        ).inc()
        task = asyncio.ensure_future(router.answer(text, ctx))
        done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET_SECONDS)
        if done:
            await ack(**task.result().as_slack_response())
            return
        await ack(text=":hourglass_flowing_sand: Working on it…", response_type="ephemeral")
        reply = await task
        await respond(**reply.as_slack_response(), replace_original=True)
