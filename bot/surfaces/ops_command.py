"""The `/ops` slash command: ack with the answer when it is ready at once, else ack now and answer
via response_url.

Slack allows 3 s for the ack. An answer gets ACK_BUDGET_SECONDS here; within it the router may
wait up to LOOKUP_TIMEOUT (0.5 s) for the asker's time zone (users.info, looked up alongside by
the user_zone middleware), and the ack still has to travel back: the whole ack stays well
within Slack's limit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter, RoutedReply, read_only
from bot.services import Services
from bot.surfaces.user_zone import CONTEXT_KEY
from bot.views.intent import with_share_button

log = structlog.get_logger(__name__)

# Answers ready within this budget go back in the ack itself; slower ones follow via response_url.
ACK_BUDGET_SECONDS = 1.0
WORKING = ":hourglass_flowing_sand: Working on it…"


def _shareable(answer: RoutedReply) -> dict[str, Any]:
    reply = answer.reply
    # Answers of a reading command (not help, problems or requests) can be shown to everyone.
    if answer.command and read_only(answer.command):
        reply = with_share_button(reply, answer.command)
    return reply.as_slack_response()


def register(app: AsyncApp, *, router: CommandRouter, services: Services) -> None:
    @app.command("/ops")
    async def ops_command(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        ctx = AskContext(
            user_id=command.get("user_id", ""),
            surface="slash_command",
            services=services,
            timezone=context.get(CONTEXT_KEY),
        )
        # The router counts the command (by its parsed name) in the metrics once it answered.
        task = asyncio.ensure_future(router.answer_detail(command.get("text", ""), ctx))
        done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET_SECONDS)
        if done:
            await ack(**_shareable(task.result()))
            return
        await ack(text=WORKING, response_type="ephemeral")
        answer = await task
        await respond(**_shareable(answer), replace_original=True)
