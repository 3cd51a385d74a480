"""Any text at all, through the router: never an exception, always a reply Slack accepts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import load_domain_services
from bot.commands.dispatch import AskContext, CommandRouter
from bot.commands.grammar import BY_NAME, ParsedCommand
from bot.settings import Settings
from bot.store.db import make_engine
from bot.views.limits import MESSAGE_BLOCKS_MAX
from bot.views.mrkdwn import escape
from bot.views.reply import Reply
from tests.fakeslack.blockkit import validate_blocks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORDS = [
    "is",
    "churn",
    "healthy",
    "why",
    "did",
    "nightly_orders",
    "fail",
    "spend",
    "last",
    "week",
    "ml",
    "by",
    "service",
    "budget",
    "who",
    "owns",
    "orders",
    "team:",
    "model:",
    "status",
    "?",
    "<!channel>",
    "`",
    '"',
    "'",
    "30d",
    "2026-13",
    "yesterday",
    "&",
    "<@U1>",
    "digest",
]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict:
    url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'sb.db'}"
    cfg = Settings(slack_bot_token="xoxb-t", slack_signing_secret="s", database_url=url)
    return load_domain_services(cfg, make_engine(url), config_path=Path("ops.example.yml"), now=NOW)


def _echo_router() -> CommandRouter:
    """Every command answers with what it was asked (the answers themselves are tested elsewhere)."""
    router = CommandRouter()

    async def echo(cmd: ParsedCommand, ctx: AskContext) -> Reply:
        return Reply(
            text=f"ran {ctx.text}",
            blocks=[
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": escape(f"ran {ctx.text}")[:3000]},
                }
            ],
        )

    for name in BY_NAME:
        if name != "help":
            router.add(name, echo)
    return router


def _check(reply: Reply) -> None:
    assert reply.text
    assert len(reply.blocks) <= MESSAGE_BLOCKS_MAX
    assert validate_blocks(reply.blocks, surface="message") == []
    assert "<!channel>" not in json.dumps(reply.blocks)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_text_gets_a_valid_reply(services: dict, text: str) -> None:
    reply = asyncio.run(_echo_router().answer(text, AskContext(services=services, now=NOW)))
    _check(reply)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=12))
def test_any_mix_of_question_words_gets_a_valid_reply(services: dict, words: list[str]) -> None:
    text = " ".join(words)
    reply = asyncio.run(_echo_router().answer(text, AskContext(services=services, now=NOW)))
    _check(reply)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_without_ops_yml_gets_a_valid_reply(text: str) -> None:
    _check(asyncio.run(_echo_router().answer(text, AskContext())))
