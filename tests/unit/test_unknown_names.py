"""A name nothing matches, through the real router and the demo company: the answer says why,
escapes every name it echoes (what was typed and what peers reported), and each suggestion is a
button asking the same command again with that name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.answers.entities import Unknown
from bot.commands.context import AskContext
from bot.router import build_router
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine, upgrade
from bot.views.reply import Reply
from bot.views.unknown import render_unknown
from tests.fakeslack.blockkit import validate_blocks
from tests.views.big_answers import EVIL, INJECTED, notifying

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    url = f"sqlite:///{tmp_path_factory.mktemp('unknown') / 'sb.db'}"
    upgrade(url)
    engine = make_engine(url)
    return build_services(
        Settings(), engine=engine, config_path=Path("ops.example.yml"), now=NOW, sends=False
    )


async def _ask(services: Services, text: str) -> Reply:
    ctx = AskContext(user_id="U0ML0EVA", surface="slash_command", services=services, now=NOW)
    reply = await build_router().answer(text, ctx)
    assert validate_blocks(reply.blocks, surface="message") == []
    return reply


def _suggested(reply: Reply) -> list[str]:
    """The commands the "Did you mean" buttons run."""
    return [
        element["value"]
        for block in reply.blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith("did_you_mean")
    ]


def test_the_message_escapes_the_suggestions_peers_reported_as_well_as_the_name_asked():
    message = Unknown("model", EVIL, (EVIL, "churn`s")).message
    for token in INJECTED:
        assert token not in message
    assert "&lt;!channel&gt;" in message
    assert message.count("`") == 6  # three code spans; the backtick in a name cannot end one


def test_an_unknown_reply_pings_nobody_whatever_the_names():
    reply = render_unknown(Unknown("team", EVIL, (EVIL,)), command=f"budget team:{EVIL}")
    for token in INJECTED:
        assert token not in notifying(reply)


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [
        ("budget team:mlx", "budget team:ml-platform"),
        ("incidents team:mlx", "incidents team:ml-platform"),
        ("models team:mlx", "models team:ml-platform"),
        ("spend team:mlx 7d by service", "spend team:ml-platform 7d by service"),
        ("digest preview daily-ml", "digest preview ml-daily"),
    ],
)
async def test_a_suggestion_button_asks_the_same_command_with_the_name_corrected(
    services, asked, suggested
):
    reply = await _ask(services, asked)
    assert reply.text.startswith("I don't know a ")
    assert _suggested(reply) == [suggested]


async def test_an_unknown_digest_lists_the_digests_and_points_at_the_list(services):
    reply = await _ask(services, "digest preview payroll")
    assert reply.text == "I don't know a digest called `payroll`."
    text = str(reply.blocks)
    assert "Known digests: `weekly-ops`, `ml-daily`, `finops-monthly`" in text
    assert "`/ops digest list` shows every digest" in text


async def test_a_period_that_cannot_be_answered_says_why_not_that_it_is_unknown(services):
    reply = await _ask(services, "spend 2027-01")
    assert "January 2027 has not started yet" in reply.text
    assert "I don't know a period" not in reply.text
