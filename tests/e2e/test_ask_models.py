"""`/ops models` and `/ops model NAME` through signed slash commands against the whole demo app."""

from __future__ import annotations

from tests.e2e.answers import ask, shown
from tests.fakeslack import validate_blocks


async def test_models_lists_all_twelve_with_the_unhealthy_ones_first(demo_app):
    body = await ask(demo_app, "models")
    assert body["response_type"] == "ephemeral"
    # churn drifts on the stale features of the failing nightly_orders (the demo's cascade)
    assert body["text"].startswith("12 models, 3 unhealthy: churn drifting, recs drifting")
    text = shown(body)
    assert text.index("recs") < text.index("fraud")
    assert "drift 0.35 above threshold 0.25" in text
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_models_of_one_team_and_an_unknown_team(demo_app):
    analytics = await ask(demo_app, "models team:analytics")
    assert analytics["text"] == "1 model owned by analytics, all healthy"
    assert "ltv" in shown(analytics) and "churn" not in shown(analytics)
    assert validate_blocks(analytics["blocks"], surface="message") == []

    unknown = await ask(demo_app, "models team:<!channel>")
    assert "I don't know a team called" in unknown["text"]
    assert "<!channel>" not in shown(unknown) and "&lt;!channel&gt;" in shown(unknown)
    assert "data-eng" in shown(unknown)  # the teams there are


async def test_model_churn_shows_metrics_cost_and_the_failing_feed(demo_app):
    body = await ask(demo_app, "model churn")
    text = shown(body)
    assert body["text"].startswith("churn: drifting; $")
    assert "challenger v14* vs *champion v12" in text and "*auc*" in text
    assert "Fed by `nightly_orders`, *failing since" in text
    assert "`churn_training` trains" in text
    assert "shared with ltv, recs: 1/3 counted" in text
    assert "Month to date" in text and "Last 30 days" in text
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_model_name_with_a_typo_finds_churn_and_an_unknown_one_gets_suggestions(demo_app):
    fuzzy = await ask(demo_app, "model chrn")
    assert fuzzy["text"].startswith("churn:")
    assert "closest match to `chrn`" in shown(fuzzy)
    assert validate_blocks(fuzzy["blocks"], surface="message") == []

    unknown = await ask(demo_app, "model <!channel>")
    assert "I don't know a model called" in unknown["text"]
    assert "<!channel>" not in shown(unknown) and "&lt;!channel&gt;" in shown(unknown)
    assert "`churn`" in shown(unknown)  # the known models are listed when nothing is close
