"""Answers at a large company's size: every one is a message Slack accepts, and nothing is cut
silently: long lists page with "More" or say where the rest is."""

from __future__ import annotations

from datetime import UTC

from bot.answers.entities import Unknown
from bot.views.budgets import render_budgets
from bot.views.digests import render_digest_list
from bot.views.home import render_home
from bot.views.ids import Action
from bot.views.limits import HEADER_MAX
from bot.views.models import render_model
from bot.views.owners import render_owners, render_owners_unknown
from bot.views.paging import PageRef
from bot.views.pipelines import render_pipeline, render_status, render_unknown_pipeline
from bot.views.reply import Reply
from bot.views.scorecard import render_scorecard
from bot.views.unknown import render_unknown
from tests.fakeslack.blockkit import validate_blocks
from tests.views import big_answers as big


def valid(reply: Reply) -> Reply:
    assert validate_blocks(reply.blocks, surface="message") == []
    return reply


def more_ref(reply: Reply) -> PageRef | None:
    for block in reply.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == Action.page_more:
                return PageRef.model_validate_json(element["value"])
    return None


def suggestions(reply: Reply) -> list[str]:
    return [
        element["value"]
        for block in reply.blocks
        if block.get("block_id") == "did_you_mean"
        for element in block["elements"]
    ]


def all_pages(render, command: str) -> list[Reply]:  # type: ignore[no-untyped-def]
    """Follow the "More" buttons from page 0 to the last, as a clicker would."""
    pages = [valid(render(0))]
    while (ref := more_ref(pages[-1])) is not None:
        assert ref.command == command and ref.page == len(pages)
        pages.append(valid(render(ref.page)))
        assert len(pages) < 50
    return pages


# -- /ops budget ----------------------------------------------------------------------------------
def test_sixty_teams_at_risk_page_with_more_and_every_team_is_on_some_page():
    board = big.budget_board(60)
    pages = all_pages(lambda p: render_budgets(board, command="budget", page=p), "budget")
    assert len(pages) > 1
    for n in range(60):
        assert sum(f"*team-{n}*\\n" in big.blocks_json(p.blocks) for p in pages) == 1
    assert "more teams: `/ops budget`" not in "".join(big.everything(p) for p in pages)


def test_budget_headline_names_the_first_few_teams_and_counts_the_rest():
    reply = render_budgets(big.budget_board(60))
    assert reply.text.startswith("60 of 60 teams will go over budget this month: *team-0* (")
    assert reply.text.endswith("and 57 more") and len(reply.text) < 300
    assert reply.text.count("*") % 2 == 0  # no bold left open


# -- /ops pipeline, /ops status ---------------------------------------------------------------------
def test_a_pipeline_feeding_120_models_keeps_its_fields_within_2000_characters():
    reply = valid(render_pipeline(big.pipeline_detail(120, trains=30), tz=UTC))
    models = next(
        f["text"]
        for b in reply.blocks
        for f in b.get("fields", [])
        if f["text"].startswith("*Models*")
    )
    assert len(models) <= 2000
    assert "trains `trained_000" in models and "feeds `model_000" in models
    assert models.endswith(" more")


def test_status_with_long_lines_pages_by_size_and_lists_every_pipeline_once():
    board = big.pipeline_board(30, feeds=40)
    pages = all_pages(
        lambda p: render_status(board, now=big.NOW, tz=UTC, command="status", page=p), "status"
    )
    listed = "".join(big.blocks_json(p.blocks) for p in pages)
    for n in range(30):
        assert listed.count(f"*`p{n:03d}`*") == 1


def test_unknown_pipeline_offers_its_suggestions_as_buttons():
    reply = valid(
        render_unknown_pipeline(Unknown("pipeline", "nightly_ordres", ("nightly_orders",)))
    )
    assert suggestions(reply) == ["pipeline nightly_orders"]


# -- /ops owners ----------------------------------------------------------------------------------
def test_owners_of_a_pipeline_feeding_many_models_with_many_leads_stays_valid():
    reply = valid(render_owners(big.owners_answer(120, leads=150)))
    text = big.blocks_json(reply.blocks)
    assert "Feeds models `model_000" in text and " more" in text


def test_owners_of_an_unknown_thing_offers_the_closest_names_as_buttons():
    reply = valid(render_owners_unknown(Unknown("thing", "chrn", ("churn", "churn_features"))))
    assert suggestions(reply) == ["owners churn", "owners churn_features"]


# -- unknown names ----------------------------------------------------------------------------------
def test_an_unknown_team_suggestion_re_runs_the_command_that_was_asked():
    found = Unknown("team", "mll", ("ml-platform", "ML Platform"))
    reply = valid(render_unknown(found, command="spend team:mll 30d by service"))
    assert suggestions(reply) == [
        "spend team:ml-platform 30d by service",
        'spend team:"ML Platform" 30d by service',
    ]


def test_an_unknown_name_without_the_command_suggests_the_command_about_that_kind():
    assert suggestions(render_unknown(Unknown("model", "chrn", ("churn",)))) == ["model churn"]
    assert suggestions(render_unknown(Unknown("team", "mll", ("ml-platform",)))) == [
        "status team:ml-platform"
    ]
    assert suggestions(render_unknown(Unknown("digest", "wekly", ("weekly-ops",)))) == [
        "digest preview weekly-ops"
    ]


def test_an_unknown_name_with_nothing_close_lists_what_exists_within_limits():
    reply = valid(render_unknown(Unknown("model", "zzz"), known=[f"m{n}" * 20 for n in range(500)]))
    assert suggestions(reply) == [] and "more" in big.blocks_json(reply.blocks)


# -- scorecard ------------------------------------------------------------------------------------
def test_scorecard_pages_its_pipelines_and_points_to_the_teams_models_and_incidents():
    card = big.scorecard(failing=14, unhealthy=9, incidents=8)
    first = valid(render_scorecard(card, tz=UTC))
    text = big.everything(first)
    assert "…and 4 more: `/ops models team:ml-platform` lists them all." in text
    assert "…and 3 more: `/ops incidents team:ml-platform`." in text
    assert "Showing 5 of 14." in text
    pages = all_pages(lambda p: render_scorecard(card, tz=UTC, page=p), "status team:ml-platform")
    listed = "".join(big.blocks_json(p.blocks) for p in pages)
    for n in range(14):
        assert listed.count(f"*`p{n:03d}`*") == 1


# -- digests --------------------------------------------------------------------------------------
def test_digest_list_of_sixty_pages_with_more():
    plans = big.digest_plans(60)
    pages = all_pages(
        lambda p: render_digest_list(plans, tz=big.BERLIN, command="digest list", page=p),
        "digest list",
    )
    listed = "".join(big.blocks_json(p.blocks) for p in pages)
    assert all(f"`digest-{n}`*" in listed for n in range(60))


# -- /ops model -----------------------------------------------------------------------------------
def test_model_with_many_metrics_and_aliases_names_what_it_does_not_compare():
    reply = valid(
        render_model(big.model_detail(metrics=15, aliases=6, upstream=80), tz=UTC, now=big.NOW)
    )
    text = big.blocks_json(reply.blocks)
    assert "*6 more metrics*" in text and "metric_14" in text
    assert "Also aliased, not compared here: alias_3 v23, alias_4 v24, alias_5 v25" in text
    assert "…and " in text and "more pipelines" in text


# -- App Home -------------------------------------------------------------------------------------
def test_home_with_forty_teams_shows_whole_teams_and_names_every_other_one():
    view = render_home(big.home(40))
    assert validate_blocks(view["blocks"], surface="home") == []
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"][1:]
    assert headers and all(h.strip() and len(h) <= HEADER_MAX for h in headers)
    text = big.blocks_json(view["blocks"])
    for n in range(40):
        shown = f'"team-{n}"' in text  # its own header
        pointed = f"`/ops status team:team-{n}`" in text
        assert shown != pointed, f"team-{n} must be shown or pointed to, once"
    # Every board shown keeps its own "…and N more" line.
    assert text.count("…and 8 more: `/ops incidents`.") == len(headers)


def test_home_with_a_few_teams_shows_more_rows_per_board():
    text = big.blocks_json(render_home(big.home(1))["blocks"])
    assert "…and 3 more: `/ops status`." in text  # 8 failing, 5 shown
