"""The asker's zone may arrive while a command is being answered (a slash command's ack does not
wait on users.info): the router waits for it before a handler answers, never for help."""

from __future__ import annotations

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.answers.deps import AnswerDeps
from bot.commands.context import AskContext, deps_for
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import ParsedCommand
from bot.ops_config import load_ops_config
from bot.views.reply import Reply
from tests.services import bare_services

NEW_YORK = "America/New_York"
CONFIG = load_ops_config(Path("ops.example.yml"))  # workspace zone Europe/Berlin
# Handlers here read nothing: a stand-in for the sources will do.
SERVICES = bare_services(ops_config=CONFIG, sources=object())


def _router(seen: list[tuple[object, ZoneInfo]]) -> CommandRouter:
    router = CommandRouter()

    async def status(cmd: ParsedCommand, ctx: AskContext) -> Reply:
        deps = deps_for(ctx)
        assert isinstance(deps, AnswerDeps)
        seen.append((ctx.timezone, deps.user_tz))
        return Reply(text="ok")

    router.add("status", status)
    return router


def _ctx(zone: str | asyncio.Future[str | None]) -> AskContext:
    return AskContext(surface="slash_command", services=SERVICES, timezone=zone)


async def test_a_handler_answers_in_the_zone_the_lookup_brings():
    seen: list[tuple[object, ZoneInfo]] = []
    lookup: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    answering = asyncio.ensure_future(_router(seen).answer("status", _ctx(lookup)))
    await asyncio.sleep(0.05)
    assert not answering.done() and seen == []  # the handler waits for the zone
    lookup.set_result(NEW_YORK)
    assert (await answering).text == "ok"
    assert seen == [(NEW_YORK, ZoneInfo(NEW_YORK))]


@pytest.mark.parametrize("outcome", [None, RuntimeError("users.info broke")])
async def test_no_zone_or_a_failed_lookup_answers_in_the_workspace_zone(outcome):
    seen: list[tuple[object, ZoneInfo]] = []
    lookup: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    if isinstance(outcome, Exception):
        lookup.set_exception(outcome)
    else:
        lookup.set_result(outcome)
    assert (await _router(seen).answer("status", _ctx(lookup))).text == "ok"
    assert seen == [(None, ZoneInfo("Europe/Berlin"))]


async def test_help_does_not_wait_for_the_zone():
    lookup: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    reply = await asyncio.wait_for(_router([]).answer("help", _ctx(lookup)), timeout=1.0)
    assert "/ops status" in str(reply.blocks)
    lookup.cancel()


async def test_a_zone_already_known_is_used_as_it_is():
    seen: list[tuple[object, ZoneInfo]] = []
    await _router(seen).answer("status", _ctx(NEW_YORK))
    assert seen == [(NEW_YORK, ZoneInfo(NEW_YORK))]
