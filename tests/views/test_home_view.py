"""The Home tab renderer: pure, escaped, within 100 blocks however many teams and approvals."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.answers.digests import SectionBoard
from bot.answers.home import HomeData, TeamGlance
from bot.answers.models import ModelBoard
from bot.views.home import render_home, render_welcome
from bot.views.ids import Action
from integrations.models import Model, ModelHealth
from tests.fakeslack.blockkit import validate_blocks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECTIONS = ("pipelines", "models", "budgets", "incidents")


def _models(team: str, n: int) -> ModelBoard:
    rows = [
        (
            Model(name=f"model_{i}", source="demo", latest_version="3"),
            ModelHealth(model=f"model_{i}", drift=0.4, problems=("drift 0.40 above 0.25",)),
            team,
        )
        for i in range(n)
    ]
    return ModelBoard(rows=rows, team=team)


def _glance(slug: str, name: str | None = None) -> TeamGlance:
    boards = [
        SectionBoard(s, slug, _models(slug, 12) if s == "models" else None, "timed out after 5 s")
        for s in SECTIONS
    ]
    return TeamGlance(team=slug, name=name or slug, channel="C0123TEAM", boards=boards)


def _home(teams: list[TeamGlance], **overrides: object) -> HomeData:
    values: dict[str, object] = dict(
        user_id="U0ML0EVA",
        teams=teams,
        in_no_team=False,
        approvals_waiting=None,
        now=NOW,
        tz=ZoneInfo("Europe/Berlin"),
    )
    values.update(overrides)
    return HomeData(**values)  # type: ignore[arg-type]


def test_home_shows_each_board_of_the_users_team():
    view = render_home(_home([_glance("ml-platform", "ML Platform")]))
    text = str(view["blocks"])
    assert view["type"] == "home"
    assert "ML Platform" in text and "12 models owned by ml-platform, 12 unhealthy" in text
    assert "timed out after 5 s" in text  # a slow section says so instead of vanishing
    assert validate_blocks(view["blocks"], surface="home") == []


def test_home_with_many_teams_stays_within_one_hundred_blocks():
    teams = [_glance(f"team-{i}") for i in range(40)]
    view = render_home(_home(teams, problems=["pipelines: timed out after 5 s"] * 40))
    assert len(view["blocks"]) <= 100
    assert validate_blocks(view["blocks"], surface="home") == []
    # The request buttons and the "ask me" help survive the cut.
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert Action.home_request_promotion in ids and Action.home_request_budget in ids


def _mrkdwn(blocks: list[dict]) -> str:
    texts = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    texts += [e["text"] for b in blocks for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(texts)


def test_team_names_from_ops_yml_are_escaped_in_mrkdwn():
    view = render_home(_home([_glance("odd", "<!channel> & friends")]))
    text = _mrkdwn(view["blocks"])
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; friends" in text


def test_user_in_no_team_gets_a_hint_and_every_team():
    every = TeamGlance(team=None, name="Every team", channel=None, boards=[])
    text = str(render_home(_home([every], in_no_team=True))["blocks"])
    assert "You are in no team of ops.yml yet" in text and "Every team" in text


def test_approvals_part_appears_only_when_approvals_are_set_up():
    without = str(render_home(_home([_glance("a")], approvals_waiting=None))["blocks"])
    assert "Waiting for you" not in without
    empty = str(render_home(_home([_glance("a")], approvals_waiting=[]))["blocks"])
    assert "No approval requests are waiting for you." in empty


def test_welcome_view_lists_what_works():
    view = render_welcome()
    assert "`/ops spend" in str(view["blocks"])
    assert validate_blocks(view["blocks"], surface="home") == []
