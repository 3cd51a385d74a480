"""Any text at all, through the router: never an exception, always a reply Slack accepts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import BY_NAME, ParsedCommand
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine
from bot.views.limits import MESSAGE_BLOCKS_MAX
from bot.views.mrkdwn import escape
from bot.views.reply import Reply
from tests.fakeslack.blockkit import validate_blocks
from tests.services import bare_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NOTHING_CONFIGURED = bare_services()
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
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'sb.db'}"
    cfg = Settings(slack_bot_token="xoxb-t", slack_signing_secret="s", database_url=url)
    return build_services(
        cfg, engine=make_engine(url), config_path=Path("ops.example.yml"), now=NOW, sends=False
    )


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
    # Where Slack turns <!channel> into a mention: the fallback text and mrkdwn. A button's
    # plain_text label and its value ("/ops model <!channel>" corrected from a typo) are shown
    # and run as they are; running it answers with the name escaped.
    parsed = "\n".join([reply.text, *_mrkdwn(reply.blocks)])
    assert "<!channel>" not in parsed and "<@U1>" not in parsed


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_text_gets_a_valid_reply(services: Services, text: str) -> None:
    reply = asyncio.run(_echo_router().answer(text, AskContext(services=services, now=NOW)))
    _check(reply)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=12))
def test_any_mix_of_question_words_gets_a_valid_reply(services: Services, words: list[str]) -> None:
    text = " ".join(words)
    reply = asyncio.run(_echo_router().answer(text, AskContext(services=services, now=NOW)))
    _check(reply)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_without_ops_yml_gets_a_valid_reply(text: str) -> None:
    _check(asyncio.run(_echo_router().answer(text, AskContext(services=NOTHING_CONFIGURED))))


# -- the real commands --------------------------------------------------------------------------
# Random command text through build_router() with the demo company: the real handlers and
# renderers answer, and what Slack would receive is checked (after "Share in channel" is added
# to a slash answer, and quietened as a mention answer is).

INJECTED = ("<!channel>", "<!here>", "<!everyone>", "<@U0EVIL123>", "<https://evil.example")
NAMES = [
    "churn",
    "chrn",
    "recs",
    "fraud",
    "nightly_orders",
    "nightly_ordres",
    "ml-platform",
    "data-eng",
    "analytics",
    "mll",
    "weekly-ops",
    "Amazon SageMaker",
    "CC-2099",
    "14",
    "champion",
]
ARGS = [
    *NAMES,
    *(f"{key}:{name}" for key in ("team", "model", "pipeline", "service") for name in NAMES[:8]),
    "team:<!here>",
    "model:<@U0EVIL123>",
    "today",
    "7d",
    "30d",
    "mtd",
    "last-month",
    "2026-10",
    "2026-13",
    "by",
    "service",
    "team",
    "model",
    "day",
    "list",
    "preview",
    "run",
    "to",
    *INJECTED,
    "<https://evil.example|click me>",
    "a&b",
    '"',
    "`",
]
HEADS = [*BY_NAME, "stauts", "is", "who owns", "what did", "why did", "are we over budget?"]


def _reply_as_sent(answer, surface: str) -> Reply:  # type: ignore[no-untyped-def]
    """What Slack receives: a slash answer with its Share button, a mention answer quietened."""
    from bot.commands.dispatch import read_only
    from bot.views.intent import with_share_button

    reply = answer.reply
    if surface == "slash_command" and answer.command and read_only(answer.command):
        reply = with_share_button(reply, answer.command)
    return reply.quiet() if surface == "mention" else reply


def _mrkdwn(value: object) -> list[str]:
    if isinstance(value, list):
        return [t for item in value for t in _mrkdwn(item)]
    if not isinstance(value, dict):
        return []
    if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
        return [value["text"]]
    return [t for item in value.values() for t in _mrkdwn(item)]


def _check_sent(reply: Reply) -> None:
    from bot.views.limits import MESSAGE_JSON_MAX, json_size

    assert reply.text and len(reply.text) <= 3000
    assert len(reply.blocks) <= MESSAGE_BLOCKS_MAX
    assert validate_blocks(reply.blocks, surface="message") == []
    assert json_size(reply.blocks) <= MESSAGE_JSON_MAX
    # Slack parses the fallback text and mrkdwn for mentions and links; plain_text it shows.
    parsed = "\n".join([reply.text, *_mrkdwn(reply.blocks)])
    for token in INJECTED:
        assert token not in parsed, token


@pytest.fixture(scope="module")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    from bot.store.db import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'sb.db'}"
    upgrade(url)
    cfg = Settings(slack_bot_token="xoxb-t", slack_signing_secret="s", database_url=url)
    return build_services(
        cfg, engine=make_engine(url), config_path=Path("ops.example.yml"), now=NOW, sends=False
    )


@pytest.fixture(scope="module")
def real_router() -> CommandRouter:
    from bot.router import build_router

    return build_router()


async def _ask_every_page(router: CommandRouter, text: str, ctx: AskContext) -> list[Reply]:
    """The answer and, following its "More" button, up to two further pages."""
    from bot.views.ids import Action
    from bot.views.paging import PageRef

    sent = []
    answer = await router.answer_detail(text, ctx)
    while True:
        reply = _reply_as_sent(answer, ctx.surface)
        sent.append(reply)
        refs = [
            PageRef.model_validate_json(e["value"])
            for b in reply.blocks
            for e in b.get("elements", [])
            if e.get("action_id") == Action.page_more
        ]
        if not refs or len(sent) == 3:
            return sent
        answer = await router.answer_detail(refs[0].command, replace(ctx, page=refs[0].page))


def _answers_without_errors(router: CommandRouter, text: str, ctx: AskContext) -> list[Reply]:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        replies = asyncio.run(_ask_every_page(router, text, ctx))
    errors = [e for e in logs if e.get("log_level") in ("error", "exception", "critical")]
    assert errors == [], errors
    for reply in replies:
        assert "failed on my side" not in reply.text
    return replies


REAL = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@REAL
@given(
    head=st.sampled_from(HEADS),
    args=st.lists(st.sampled_from(ARGS) | st.text(max_size=15), max_size=5),
    surface=st.sampled_from(["slash_command", "mention", "terminal"]),
)
def test_real_commands_answer_with_blocks_slack_accepts(
    demo_services: Services, real_router: CommandRouter, head: str, args: list[str], surface: str
) -> None:
    text = " ".join([head, *args])
    ctx = AskContext(services=demo_services, now=NOW, surface=surface, user_id="U0ML0EVA")
    for reply in _answers_without_errors(real_router, text, ctx):
        _check_sent(reply)


@REAL
@given(
    text=st.text(alphabet=st.characters(codec="utf-8"), max_size=120)
    | st.sampled_from(
        [
            f"{c} {t}"
            for c in ("status", "spend by", "owners", "model", "digest preview")
            for t in INJECTED
        ]
    ),
)
def test_any_text_through_the_real_commands_is_answered_safely(
    demo_services: Services, real_router: CommandRouter, text: str
) -> None:
    ctx = AskContext(services=demo_services, now=NOW, surface="mention", user_id="U0ML0EVA")
    for reply in _answers_without_errors(real_router, text, ctx):
        _check_sent(reply)
