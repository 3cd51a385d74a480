"""Renderers with generated domain objects (long lists, long names, names with <, >, &): every
answer is Block Kit Slack accepts, within its size, and no name can become a mention or a link."""

from __future__ import annotations

from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers.entities import Unknown
from bot.views.budgets import render_budgets
from bot.views.digests import render_digest_list
from bot.views.home import render_home
from bot.views.limits import ANSWER_JSON_MAX, TEXT_FALLBACK_MAX, json_size
from bot.views.models import render_model, render_models
from bot.views.owners import render_owners
from bot.views.pipelines import render_pipeline, render_status
from bot.views.reply import Reply
from bot.views.scorecard import render_scorecard
from bot.views.unknown import render_unknown
from tests.fakeslack.blockkit import validate_blocks
from tests.views import big_answers as big

PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Names as peers send them: markup characters, and the tokens an attacker would try.
NAME_CHARS = "abcxyz019<>&|*_`~:!@^#-. é"
names = st.one_of(
    st.sampled_from([big.EVIL, "<!here>", "a&b", "<@U0EVIL123>", "x" * 150]),
    st.text(alphabet=NAME_CHARS, min_size=1, max_size=60),
)
counts = st.integers(min_value=0, max_value=70)
pages = st.integers(min_value=0, max_value=6)


def _pattern(name: str) -> str:
    """A format pattern giving distinct names built on `name` ({ and } cannot occur in it)."""
    return name + "-{n}"


def check(reply: Reply) -> None:
    assert validate_blocks(reply.blocks, surface="message") == []
    assert json_size(reply.blocks) <= ANSWER_JSON_MAX
    assert 0 < len(reply.text) <= TEXT_FALLBACK_MAX
    shown = big.notifying(reply)
    for token in (*big.INJECTED, "<!everyone>"):
        assert token not in shown


@PROPS
@given(name=names, at_risk=counts, on_track=counts, page=pages)
def test_budget_board(name: str, at_risk: int, on_track: int, page: int) -> None:
    board = big.budget_board(at_risk, on_track, name=_pattern(name))
    check(render_budgets(board, command="budget", page=page))


@PROPS
@given(name=names, failing=counts, late=counts, feeds=counts, page=pages)
def test_status_board(name: str, failing: int, late: int, feeds: int, page: int) -> None:
    board = big.pipeline_board(failing, late, feeds=feeds, name=_pattern(name))
    check(render_status(board, now=big.NOW, tz=UTC, command="status", page=page))


@PROPS
@given(name=names, feeds=st.integers(0, 200), trains=counts)
def test_one_pipeline(name: str, feeds: int, trains: int) -> None:
    check(render_pipeline(big.pipeline_detail(feeds, trains=trains, name=name), tz=UTC))


@PROPS
@given(thing=names, fed=st.integers(0, 200), leads=st.integers(0, 200))
def test_owners(thing: str, fed: int, leads: int) -> None:
    check(render_owners(big.owners_answer(fed, leads=leads, thing=thing)))


@PROPS
@given(name=names, n=counts, page=pages)
def test_models_board(name: str, n: int, page: int) -> None:
    board = big.model_board(n, team=name, name=_pattern(name))
    check(render_models(board, command="models", page=page, tz=UTC))


@PROPS
@given(name=names, metrics=st.integers(0, 30), aliases=st.integers(0, 12), upstream=counts)
def test_one_model(name: str, metrics: int, aliases: int, upstream: int) -> None:
    detail = big.model_detail(metrics=metrics, aliases=aliases, upstream=upstream, name=name)
    check(render_model(detail, tz=UTC, now=big.NOW))


@PROPS
@given(
    name=names,
    failing=counts,
    unhealthy=counts,
    incidents=st.integers(0, 20),
    page=pages,
)
def test_scorecard(name: str, failing: int, unhealthy: int, incidents: int, page: int) -> None:
    card = big.scorecard(failing=failing, unhealthy=unhealthy, incidents=incidents, name=name)
    check(render_scorecard(card, tz=UTC, page=page))


@PROPS
@given(n=counts, page=pages)
def test_digest_list(n: int, page: int) -> None:
    check(render_digest_list(big.digest_plans(n), tz=big.BERLIN, page=page))


@PROPS
@given(asked=names, close=st.lists(names, max_size=3), known=st.lists(names, max_size=300))
def test_unknown_name(asked: str, close: list[str], known: list[str]) -> None:
    check(
        render_unknown(Unknown("model", asked, tuple(close)), known=known, command=f"model {asked}")
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, teams=st.integers(0, 45))
def test_home_tab(name: str, teams: int) -> None:
    view = render_home(big.home(teams, name=_pattern(name)))
    assert validate_blocks(view["blocks"], surface="home") == []
    shown = "\n".join(big.mrkdwn_texts(view["blocks"]))
    for token in big.INJECTED:
        assert token not in shown
