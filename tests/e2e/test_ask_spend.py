"""`/ops spend` and `/ops budget` through signed slash commands against the whole demo app."""

from __future__ import annotations

from tests.e2e.answers import ask, shown
from tests.fakeslack import validate_blocks


async def test_spend_answers_with_total_trend_and_forecast(demo_app):
    body = await ask(demo_app, "spend")
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("All teams spent *$")
    assert "vs the 30 days before" in body["text"]
    assert "Month-end forecast" in shown(body)
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_team_spend_by_service_shows_budget_breach_and_lines(demo_app):
    body = await ask(demo_app, "spend team:ml-platform 30d by service")
    text = shown(body)
    assert body["text"].startswith("*ml-platform* spent *$")
    assert "of $60,000 spent" in text and "will breach on ~" in text
    assert "*By service*" in text and "Amazon SageMaker" in text
    assert "Top movers by service" in text
    assert validate_blocks(body["blocks"], surface="message") == []

    model = await ask(demo_app, "spend model:churn mtd")
    assert model["text"].startswith("*model churn* cost *$")
    assert "vs the same days of October 2026" in model["text"]
    assert validate_blocks(model["blocks"], surface="message") == []

    unknown = await ask(demo_app, "spend service:<!channel>")
    assert "<!channel>" not in shown(unknown) and "&lt;!channel&gt;" in shown(unknown)


async def test_budget_board_and_one_team(demo_app):
    board = await ask(demo_app, "budget")
    assert board["text"].startswith(
        "1 of 3 teams will go over budget this month: *ml-platform* (forecast $"
    )
    assert "of $60,000)" in board["text"]
    assert "No budget: finance" in shown(board)
    assert validate_blocks(board["blocks"], surface="message") == []

    analytics = await ask(demo_app, "budget team:analytics")
    assert analytics["text"].startswith("*analytics* is on track this month (forecast $")
    assert "ml-platform" not in shown(analytics)
    assert validate_blocks(analytics["blocks"], surface="message") == []
