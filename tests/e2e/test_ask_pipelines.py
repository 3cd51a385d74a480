"""`/ops status`, `/ops pipeline`, `/ops owners` and `/ops incidents` through signed slash
commands against the whole demo app."""

from __future__ import annotations

from tests.e2e.answers import ask, shown_as_json
from tests.fakeslack import validate_blocks


async def test_status_counts_every_pipeline_and_shows_the_failures(demo_app):
    body = await ask(demo_app, "status")
    assert body["response_type"] == "ephemeral"
    assert body["text"] == (
        ":red_circle: *3 failing*, *1 late*, *2 running*, 35 healthy of 41 pipelines."
    )
    text = shown_as_json(body)
    assert "`nightly_orders`" in text and "Failed on `load_to_warehouse`" in text
    assert "Feeds `churn`, `ltv`, `recs`" in text and "`finance_daily_rollup`" in text
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_team_status_is_the_scorecard_across_domains(demo_app):
    body = await ask(demo_app, "status team:ml-platform")
    assert body["text"].startswith(":red_circle: *ML Platform*: 1 failing pipeline")
    assert "forecast over budget" in body["text"]
    text = shown_as_json(body)
    assert "`ad_ctr_features`" in text and "`recs`" in text and "of $60,000" in text
    assert validate_blocks(body["blocks"], surface="message") == []

    unknown = await ask(demo_app, "status team:<!here>")
    assert "<!here>" not in shown_as_json(unknown) and "&lt;!here&gt;" in shown_as_json(unknown)


async def test_pipeline_answer_has_failure_owner_lineage_and_failed_run_cost(demo_app):
    body = await ask(demo_app, "pipeline nightly_orders")
    text = shown_as_json(body)
    assert body["text"].startswith(":red_circle: *`nightly_orders`* is failing")
    assert "Disk Full" in text and "<#C0123DATA>" in text
    assert "feeds `churn`, `ltv`, `recs`" in text and "estimated from run time" in text
    assert validate_blocks(body["blocks"], surface="message") == []

    near = await ask(demo_app, "pipeline nightly-orders")
    assert near["text"] == body["text"]
    evil = await ask(demo_app, "pipeline <!channel>")
    assert evil["text"].startswith("I don't know a pipeline called `&lt;!channel&gt;`")
    assert "<!channel>" not in shown_as_json(evil)


async def test_owners_names_the_team_people_and_channel(demo_app):
    body = await ask(demo_app, "owners churn")
    assert body["text"] == "`churn` (model) is owned by *ML Platform*."
    text = shown_as_json(body)
    assert "<@U0ML0EVA>" in text and "<@U0ML0FARID>" in text and "<#C0123MLPLAT>" in text
    assert validate_blocks(body["blocks"], surface="message") == []

    evil = await ask(demo_app, "owners <https://evil|x>")
    assert "<https://evil" not in shown_as_json(evil) and "&lt;https://evil|x&gt;" in evil["text"]


async def test_incidents_without_any_says_none_are_open(demo_app):
    body = await ask(demo_app, "incidents")
    assert body["text"] == ":white_check_mark: No open incidents."
    team = await ask(demo_app, "incidents team:data-eng")
    assert team["text"] == ":white_check_mark: No open incidents for *data-eng*."
    assert validate_blocks(team["blocks"], surface="message") == []
