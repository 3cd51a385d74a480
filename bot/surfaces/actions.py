"""Buttons on answers: "More" pages, "Share in channel" re-posts, "Did you mean" runs a suggestion.

Every click re-runs the command as the person who clicked (a button only says what to show,
never who may see it). Values are checked with pydantic; a value that does not check out gets
"that button is out of date", never a stack trace. ack() comes first, always.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any, Literal

import structlog
from pydantic import AfterValidator, StringConstraints, TypeAdapter, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter, read_only
from bot.commands.grammar import ParsedCommand, parse
from bot.services import Services
from bot.surfaces.events import post_reply
from bot.surfaces.user_zone import CONTEXT_KEY
from bot.views.digests import drill_commands
from bot.views.ids import Action
from bot.views.intent import shared_by, with_share_button
from bot.views.paging import PageRef
from bot.views.reply import Reply

log = structlog.get_logger(__name__)

OUT_OF_DATE = (
    "That button is out of date: ask again (`/ops help` lists what I answer) and use the new one."
)


def _a_command(text: str) -> str:
    if not isinstance(parse(text), ParsedCommand):
        raise ValueError("not an /ops command")
    return text


def _a_reading_command(text: str) -> str:
    if not read_only(text):
        raise ValueError("not a command that only reads")
    return text


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1500)]
# "Did you mean" runs what the clicker typed, corrected: any command. "More" and "Share" re-run
# an answer, so only commands that read (a tampered value must not open a request).
CommandText = TypeAdapter(Annotated[_Text, AfterValidator(_a_command)])
ReadingCommand = TypeAdapter(Annotated[_Text, AfterValidator(_a_reading_command)])


def _clicked(body: dict[str, Any]) -> tuple[str, str | None, bool]:
    """Who clicked, in which channel, and whether the message was ephemeral."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return (body.get("user") or {}).get("id", ""), channel, bool(container.get("is_ephemeral"))


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


async def _out_of_date(respond: AsyncRespond, reason: str) -> None:
    log.info("button_out_of_date", reason=reason[:200])
    await respond(text=OUT_OF_DATE, response_type="ephemeral", replace_original=False)


def _replacement(reply: Reply, command: str | None, *, ephemeral: bool) -> dict[str, Any]:
    """The response_url body that puts `reply` in place of the clicked message."""
    if ephemeral and command and read_only(command):
        reply = with_share_button(reply, command)
    # A message everyone sees stays visible to everyone when it is replaced.
    kind: Literal["ephemeral", "in_channel"] = "ephemeral" if ephemeral else "in_channel"
    return {**replace(reply, response_type=kind).as_slack_response(), "replace_original": True}


def register(app: AsyncApp, *, router: CommandRouter, services: Services) -> None:
    outbox = services.sending()

    def ask(body: dict[str, Any], context: AsyncBoltContext, *, page: int = 0) -> AskContext:
        return AskContext(
            user_id=_clicked(body)[0],
            surface="button",
            services=services,
            page=page,
            timezone=context.get(CONTEXT_KEY),
        )

    @app.action(Action.page_more)
    async def on_more(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        try:
            ref = PageRef.model_validate_json(_value(body))
            command = ReadingCommand.validate_python(ref.command)
        except ValidationError as exc:
            await _out_of_date(respond, str(exc))
            return
        answer = await router.answer_detail(command, ask(body, context, page=ref.page))
        await respond(**_replacement(answer.reply, answer.command, ephemeral=_clicked(body)[2]))

    @app.action(re.compile(rf"^{Action.did_you_mean}(-\d+)?$"))
    async def on_did_you_mean(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        try:
            command = CommandText.validate_python(_value(body))
        except ValidationError as exc:
            await _out_of_date(respond, str(exc))
            return
        answer = await router.answer_detail(command, ask(body, context))
        await respond(**_replacement(answer.reply, answer.command, ephemeral=_clicked(body)[2]))

    @app.action(
        re.compile(rf"^({Action.digest_spend_by_service}|{Action.digest_failing_pipelines})$")
    )
    async def on_digest_drill(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        """A digest's drill-down button: the answer for the digest's teams, to the clicker
        only (the digest itself stays as it is)."""
        await ack()
        action = str((body.get("actions") or [{}])[0].get("action_id") or "")
        name = _value(body)
        config = services.ops_config
        digest = next((d for d in config.digests if d.name == name), None) if config else None
        if digest is None:
            await _out_of_date(respond, f"no digest named {name[:80]!r}")
            return
        for command in drill_commands(digest, action):
            answer = await router.answer_detail(command, ask(body, context))
            reply = with_share_button(answer.reply, command) if read_only(command) else answer.reply
            await respond(
                **replace(reply, response_type="ephemeral").as_slack_response(),
                replace_original=False,
            )

    @app.action(Action.share_in_channel)
    async def on_share(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        user, channel, _ = _clicked(body)
        try:
            command = ReadingCommand.validate_python(_value(body))
        except ValidationError as exc:
            await _out_of_date(respond, str(exc))
            return
        answer = await router.answer_detail(command, ask(body, context))
        if answer.command is None or channel is None:
            # Help or a problem is not worth posting for everyone: show it to the clicker only.
            await respond(**answer.reply.as_slack_response(), replace_original=False)
            return
        reply = shared_by(answer.reply, user, answer.command)
        if reply.chart is not None:
            # A chart is uploaded into the answer's thread, so the answer needs a real ts.
            await post_reply(outbox, channel=channel, reply=reply)
        else:
            await respond(**reply.as_slack_response(), replace_original=False)
        await respond(delete_original=True)
