"""Digest renderers: the list in words, and previews within 50 blocks with every section shown."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.answers.digests import DigestPlan, SectionBoard, schedule_in_words
from bot.answers.models import ModelBoard
from bot.ops_config.digests import ALL_SECTIONS, Digest
from bot.views.digests import TITLES, render_digest, render_digest_list
from integrations.models import Model, ModelHealth
from tests.fakeslack.blockkit import validate_blocks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 9 * * MON", "Mondays at 09:00"),
        ("30 8 * * MON-FRI", "Monday to Friday at 08:30"),
        ("0 10 1 * *", "on day 1 of every month at 10:00"),
        ("15 7 * * *", "every day at 07:15"),
        ("0 9 * * MON,THU", "Mondays and Thursdays at 09:00"),
        ("*/5 * * * *", "cron `*/5 * * * *`"),
    ],
)
def test_schedule_reads_in_words(cron: str, words: str) -> None:
    assert schedule_in_words(cron) == words


def _digest(**values: object) -> Digest:
    base: dict[str, object] = dict(
        name="weekly-ops", channel="C0123OPSWEEK", schedule="0 9 * * MON"
    )
    base.update(values)
    return Digest.model_validate(base)


def test_list_shows_channel_schedule_zone_next_run_and_teams() -> None:
    plans = [
        DigestPlan(_digest(timezone="Europe/Berlin"), "Mondays at 09:00", NOW, ()),
        DigestPlan(
            _digest(name="off", channel="#ml-ops", enabled=False),
            "Mondays at 09:00",
            None,
            ("ML Platform",),
        ),
    ]
    reply = render_digest_list(plans, tz=BERLIN)
    text = str(reply.blocks)
    assert "<#C0123OPSWEEK>" in text and "Mondays at 09:00 (Europe/Berlin)" in text
    assert "Mon 23 Nov 13:00 CET" in text  # the next run's fallback in the reader's zone
    assert "_disabled_" in text and "#ml-ops" in text and "ML Platform" in text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_empty_list_says_where_to_add_digests() -> None:
    assert "digests:" in str(render_digest_list([], tz=BERLIN).blocks)


def _board(section: str, team: str) -> SectionBoard:
    if section != "models":
        return SectionBoard(section, team, None, "timed out after 8 s")
    rows = [
        (Model(name=f"m{i}", source="demo"), ModelHealth(model=f"m{i}", problems=("slow",)), team)
        for i in range(30)
    ]
    return SectionBoard(section, team, ModelBoard(rows=rows, team=team))


def test_preview_of_every_section_for_many_teams_stays_within_fifty_blocks() -> None:
    teams = [f"team-{i}" for i in range(12)]
    digest = _digest(teams=teams)
    boards = [_board(s, t) for s in ALL_SECTIONS for t in teams]
    reply = render_digest(digest, boards, team_names={}, now=NOW, tz=BERLIN)
    assert len(reply.blocks) <= 50
    text = str(reply.blocks)
    for section in ALL_SECTIONS:
        assert TITLES[section] in text
    assert "Only you see this preview" in text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_preview_shows_only_the_configured_sections_in_their_order() -> None:
    digest = _digest(sections=["models", "pipelines"], teams=["ml-platform"])
    boards = [_board(s, "ml-platform") for s in ("pipelines", "models", "spend")]
    text = str(render_digest(digest, boards, team_names={}, now=NOW, tz=BERLIN).blocks)
    assert text.index("*Models*") < text.index("*Pipelines*")
    assert "Spend" not in text
