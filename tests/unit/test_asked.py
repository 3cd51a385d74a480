"""The preamble every /ops handler shares (`@answers`): no ops.yml, an unknown team and a known
one are settled before a handler runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.commands.asked import Asked, answers
from bot.commands.context import NOT_CONFIGURED, AskContext
from bot.commands.grammar import ParsedCommand
from bot.ops_config import load_ops_config
from bot.views.reply import Reply
from tests.services import bare_services

CONFIG = load_ops_config(Path("ops.example.yml"))
CONFIGURED = bare_services(ops_config=CONFIG, sources=object())  # handlers here read nothing


def _handler(seen: list[Asked], *, team: bool) -> object:
    @answers(team=team)
    async def handler(asked: Asked) -> Reply:
        seen.append(asked)
        return Reply(text="answered")

    return handler


def _run(handler: object, cmd: ParsedCommand, ctx: AskContext) -> Reply:
    return asyncio.run(handler(cmd, ctx))  # type: ignore[operator]


def test_without_ops_yml_the_handler_does_not_run_and_the_reply_says_why() -> None:
    seen: list[Asked] = []
    reply = _run(
        _handler(seen, team=True), ParsedCommand("status"), AskContext(services=bare_services())
    )
    assert reply is NOT_CONFIGURED and seen == []


def test_an_unknown_team_is_answered_with_the_closest_before_the_handler() -> None:
    seen: list[Asked] = []
    ctx = AskContext(services=CONFIGURED, text="budget team:ml-platfrom")
    reply = _run(
        _handler(seen, team=True), ParsedCommand("budget", filters={"team": "ml-platfrom"}), ctx
    )
    assert seen == [] and "ml-platfrom" in reply.text
    assert "/ops budget team:ml-platform" in str(reply.blocks)  # a button asking again


def test_a_team_filter_reaches_the_handler_as_the_team_it_names() -> None:
    seen: list[Asked] = []
    cmd = ParsedCommand("models", filters={"team": "ML Platform"})
    reply = _run(_handler(seen, team=True), cmd, AskContext(services=CONFIGURED))
    assert reply.text == "answered"
    (asked,) = seen
    assert asked.team == "ml-platform" and asked.cmd is cmd and asked.deps.config is CONFIG


def test_without_team_the_filter_is_left_to_the_handler() -> None:
    seen: list[Asked] = []
    cmd = ParsedCommand("spend", filters={"team": "nobody"})
    assert _run(_handler(seen, team=False), cmd, AskContext(services=CONFIGURED)).text == "answered"
    assert seen[0].team is None
