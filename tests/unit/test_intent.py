"""Plain questions read as /ops commands, over the demo company's names and ops.example.yml."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import ParsedCommand, parse
from bot.commands.intent import (
    Ambiguous,
    KnownNames,
    NotUnderstood,
    Understood,
    known_names,
    understand,
)
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine
from bot.views.ids import Action
from bot.views.reply import Reply
from integrations.models import (
    Model,
    Partial,
    Pipeline,
    SpendDimension,
    SpendLine,
    SpendQuery,
    SpendSummary,
)
from tests.fakeslack.blockkit import validate_blocks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    url = f"sqlite:///{tmp_path_factory.mktemp('intent') / 'sb.db'}"
    settings = Settings(slack_bot_token="xoxb-t", slack_signing_secret="s", database_url=url)
    return build_services(
        settings, engine=make_engine(url), config_path=Path("ops.example.yml"), now=NOW, sends=False
    )


@pytest.fixture(scope="module")
def known(services: Services) -> KnownNames:
    return asyncio.run(known_names(services.ops_config, services.sources, today=date(2026, 11, 23)))


QUESTIONS = [
    ("is churn healthy?", "model churn"),
    ("how is recs doing", "model recs"),
    ("Is recs drifting?", "model recs"),
    ("why did nightly_orders fail?", "pipeline nightly_orders"),
    ("what happened to nightly orders", "pipeline nightly_orders"),
    ("what broke", "status"),
    ("what's failing?", "status"),
    ("what's failing for ml?", "status team:ml-platform"),
    ("status of data-eng", "status team:data-eng"),
    ("how is Data Engineering doing", "status team:data-eng"),
    ("what did ml spend last week?", "spend team:ml-platform 7d"),
    ("cost of churn this month", "spend model:churn mtd"),
    ("spend by service", "spend by service"),
    ("spend last 30 days by team", "spend 30d by team"),
    ("how much did we pay last month", "spend last-month"),
    ("how much did sagemaker cost in october", 'spend service:"Amazon SageMaker" 2026-10'),
    ("what did analytics spend over the past 2 weeks", "spend team:analytics 14d"),
    ("what did we spend today", "spend today"),
    ("are we over budget?", "budget"),
    ("is ml over budget", "budget team:ml-platform"),
    ("who owns fraud?", "owners fraud"),
    ("who owns nightly_events", "owners nightly_events"),
    ("who is on call for analytics", "owners analytics"),
    ("list models for ml", "models team:ml-platform"),
    ("how are the models doing", "models"),
    ("any open incidents for analytics?", "incidents team:analytics"),
    ("what is waiting for my approval", "approvals"),
    ("which digests are there", "digest list"),
    ("chrn", "model churn"),
    ("fraud_training", "pipeline fraud_training"),
    ("which models does nightly_orders feed?", "pipeline nightly_orders"),
    ("what feeds churn?", "model churn"),
    ("models of nightly_events", "pipeline nightly_events"),
    ("did anything fail last night", "status"),
    ("did anything break yesterday?", "status"),
    ("what failed overnight", "status"),
    ("how much did we spend on s3 this month", 'spend service:"Amazon S3" mtd'),
    ("what does bigquery cost", 'spend service:"Google BigQuery"'),
    ("who's on call for ml?", "owners ml-platform"),
]


@pytest.mark.parametrize(("question", "command"), QUESTIONS)
def test_question_is_read_as_the_command(known: KnownNames, question: str, command: str) -> None:
    found = understand(question, known=known)
    assert isinstance(found, Understood), found
    assert found.command == command
    assert isinstance(parse(found.command), ParsedCommand)


def test_last_week_says_it_was_read_as_seven_days(known: KnownNames) -> None:
    found = understand("what did ml spend last week?", known=known)
    assert isinstance(found, Understood)
    assert any("last 7 days" in note for note in found.notes)


def test_yesterday_says_what_it_covers(known: KnownNames) -> None:
    found = understand("what did data eng spend yesterday", known=known)
    assert isinstance(found, Understood) and found.command == "spend team:data-eng 2d"
    assert any("yesterday and today" in note for note in found.notes)


def test_a_name_matching_several_pipelines_is_ambiguous(known: KnownNames) -> None:
    found = understand("is orders ok?", known=known)
    assert isinstance(found, Ambiguous)
    commands = {c.command for c in found.candidates}
    assert {"pipeline nightly_orders", "pipeline orders_cdc_ingest"} <= commands
    assert len(found.candidates) <= 5


def test_words_without_intent_or_names_are_not_understood(known: KnownNames) -> None:
    assert isinstance(understand("banana split", known=known), NotUnderstood)
    assert isinstance(understand("   ", known=known), NotUnderstood)


def test_unknown_names_never_reach_the_command(known: KnownNames) -> None:
    found = understand("who owns <!channel> zzqx", known=known)
    assert not isinstance(found, Understood) or "channel" not in found.command


def test_month_name_means_the_latest_such_month(known: KnownNames) -> None:
    found = understand("spend in december", known=known)
    assert isinstance(found, Understood) and found.command == "spend 2025-12"


# -- through the router ------------------------------------------------------------------------


def _echo_router() -> CommandRouter:
    router = CommandRouter()

    async def echo(cmd: ParsedCommand, ctx: AskContext) -> Reply:
        return Reply(
            text=f"ran {ctx.text}",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"ran {ctx.text}"}}],
        )

    for name in ("status", "pipeline", "model", "models", "spend", "budget", "owners"):
        router.add(name, echo)
    return router


def _ask(services: Services, text: str, *, surface: str = "terminal", user: str = "U_TERMINAL"):  # type: ignore[no-untyped-def]
    ctx = AskContext(services=services, now=NOW, surface=surface, user_id=user)
    return asyncio.run(_echo_router().answer_detail(text, ctx))


def test_router_answers_a_question_and_says_how_it_read_it(services: Services) -> None:
    answer = _ask(services, "why did nightly_orders fail?")
    assert answer.command == "pipeline nightly_orders"
    assert answer.reply.text == "ran pipeline nightly_orders"
    assert "I read this as `/ops pipeline nightly_orders`" in str(answer.reply.blocks[0])


def test_router_offers_did_you_mean_buttons_for_an_ambiguous_name(services: Services) -> None:
    reply = _ask(services, "is orders ok?").reply
    buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert 2 <= len(buttons) <= 5
    assert all(b["action_id"].startswith(Action.did_you_mean) for b in buttons)
    assert "pipeline nightly_orders" in {b["value"] for b in buttons}
    assert validate_blocks(reply.blocks, surface="message") == []


def test_misspelt_command_keeps_the_did_you_mean_reply_with_a_button(services: Services) -> None:
    reply = _ask(services, "stauts team:ml").reply
    assert "Did you mean *`status`*?" in str(reply.blocks)
    buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == ["status team:ml"]


def test_command_with_extra_words_is_read_as_a_question_only_if_every_word_fits(
    services: Services,
) -> None:
    assert _ask(services, "status of data-eng").command == "status team:data-eng"
    problem = _ask(services, "spend by nonsense")
    assert problem.command is None and "can't group by `nonsense`" in problem.reply.text


def test_one_unknown_word_typed_as_a_command_gets_the_unknown_command_reply(
    services: Services,
) -> None:
    reply = _ask(services, "banana").reply
    text = str(reply.blocks)
    assert "I don't know the command `banana`" in text and "is churn healthy?" in text


@pytest.mark.parametrize(
    "question", ["who owns the warehouse?", "why?", "thanks!", "banana split", "who's on call?"]
)
@pytest.mark.parametrize("surface", ["slash_command", "mention", "im", "terminal"])
def test_a_question_not_understood_gets_the_question_help_not_an_unknown_command(
    services: Services, question: str, surface: str
) -> None:
    answer = _ask(services, question, surface=surface)
    text = str(answer.reply.blocks)
    assert answer.command is None and answer.name == "unknown"
    assert "I did not understand" in text and "is churn healthy?" in text
    assert "I don't know the command" not in text and "You typed: `/ops" not in text
    assert validate_blocks(answer.reply.blocks, surface="message") == []


def test_an_unknown_word_in_a_dm_is_a_question_not_a_command(services: Services) -> None:
    text = str(_ask(services, "banana", surface="im").reply.blocks)
    assert "I did not understand" in text and "I don't know the command" not in text


def test_a_question_not_understood_says_what_was_understood(services: Services) -> None:
    text = str(_ask(services, "who owns the warehouse?", surface="im").reply.blocks)
    assert "a question about who owns something or is on call" in text
    assert "called _warehouse_" in text


def test_who_is_on_call_means_the_askers_team_when_they_are_in_one(services: Services) -> None:
    answer = _ask(services, "who's on call?", surface="im", user="U0ML0EVA")  # ml-platform lead
    assert answer.command == "owners ml-platform"
    assert "read as your team, ml-platform" in str(answer.reply.blocks[0])


def test_who_is_on_call_from_outside_every_team_offers_each_team(services: Services) -> None:
    reply = _ask(services, "who's on call?", surface="im", user="U_NOBODY").reply
    buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [
        "owners data-eng",
        "owners ml-platform",
        "owners analytics",
        "owners finance",
    ]


def test_commands_are_answered_as_before(services: Services) -> None:
    answer = _ask(services, "/ops model churn")
    assert answer.command == "model churn" and "I read this as" not in str(answer.reply.blocks)


# -- names from the bill -----------------------------------------------------------------------


class CountingSources:
    """The hub's surface known_names reads, counting how often the bill is scanned."""

    def __init__(self, services: tuple[str, ...]) -> None:
        self.services = services
        self.spend_calls = 0

    async def all_pipelines(self):  # type: ignore[no-untyped-def]
        return Partial[list[Pipeline]](value=[])

    async def all_models(self):  # type: ignore[no-untyped-def]
        return Partial[list[Model]](value=[])

    async def spend(self, query: SpendQuery) -> Partial[SpendSummary]:
        self.spend_calls += 1
        assert query.group_by is SpendDimension.service
        lines = tuple(SpendLine(key=s, cost=Decimal(1), currency="USD") for s in self.services)
        return Partial[SpendSummary](value=SpendSummary(query=query, lines=lines))


def test_services_on_the_bill_are_known_by_name_and_read_once_not_per_question(
    services: Services,
) -> None:
    fake = CountingSources(("Amazon S3", "Google BigQuery", "unallocated"))
    today = date(2026, 11, 23)

    async def three_questions() -> list[KnownNames]:
        return [await known_names(services.ops_config, fake, today=today) for _ in range(3)]

    first, *rest = asyncio.run(three_questions())
    assert fake.spend_calls == 1
    assert {"Amazon S3", "Google BigQuery"} <= set(first.services)
    assert "unallocated" not in first.services
    assert "Amazon SageMaker" in first.services  # ops.yml's ownership.services still count
    assert all(r.services == first.services for r in rest)
    found = understand("how much did we spend on s3 this month", known=first)
    assert isinstance(found, Understood) and found.command == 'spend service:"Amazon S3" mtd'


def test_generic_words_of_service_names_do_not_name_a_service(known: KnownNames) -> None:
    found = understand("what does compute cost", known=known)
    assert not (isinstance(found, Understood) and "Savings Plans" in found.command)


# -- a month without a year ----------------------------------------------------------------------


def months(today: date, data_ends: date | None = None) -> KnownNames:
    return KnownNames(teams={"data-eng": "Data Engineering"}, today=today, data_ends=data_ends)


@pytest.mark.parametrize(
    ("question", "command", "note"),
    [
        ("spend in may", "spend 2026-05", "“may” read as May 2026"),
        ("what did we spend during october", "spend 2026-10", "“october” read as October 2026"),
        ("spend in dec", "spend 2025-12", "“dec” read as December 2025"),
        ("spend in november", "spend 2026-11", "“november” read as November 2026 so far"),
        ("spend last november", "spend 2025-11", "“november” read as November 2025"),
        ("spend in may 2025", "spend 2025-05", None),
    ],
)
def test_a_month_name_is_the_latest_such_month_and_the_reading_says_which(
    question: str, command: str, note: str | None
) -> None:
    found = understand(question, known=months(date(2026, 11, 23)))
    assert isinstance(found, Understood) and found.command == command
    assert (note in found.notes) if note else not found.notes


def test_this_months_name_before_its_data_arrives_is_last_years_month() -> None:
    found = understand("spend in november", known=months(date(2026, 11, 23), date(2026, 10, 31)))
    assert isinstance(found, Understood) and found.command == "spend 2025-11"
    assert "“november” read as November 2025" in found.notes


def test_may_as_a_verb_is_not_a_month() -> None:
    found = understand("may i see spend by team", known=months(date(2026, 11, 23)))
    assert isinstance(found, Understood) and found.command == "spend by team"


def test_billed_services_keep_a_bounded_number_of_periods() -> None:
    from datetime import timedelta

    from bot.commands.intent import BILLED_WINDOWS_KEPT, _billed_services

    fake = CountingSources(("Amazon S3",))
    first = date(2026, 1, 1)
    windows = [(first + timedelta(days=i), first + timedelta(days=i + 1)) for i in range(100)]
    kept = windows[: BILLED_WINDOWS_KEPT + 1]

    async def ask(asked: list[tuple[date, date]]) -> None:
        for window in asked:
            assert await _billed_services(fake, window) == ("Amazon S3",)

    asyncio.run(ask(kept))
    assert fake.spend_calls == len(kept)
    asyncio.run(ask([kept[-1]]))  # the newest period is still known: no new query
    assert fake.spend_calls == len(kept)
    asyncio.run(ask([kept[0]]))  # the oldest made room for the newest: asked again
    assert fake.spend_calls == len(kept) + 1
