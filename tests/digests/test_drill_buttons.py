"""A digest's drill-down buttons answer the clicker ephemerally, over signed HTTP, through the
ordinary answers: "Spend by service" and "Failing pipelines" for the digest's teams."""

from __future__ import annotations

import asyncio

from bot.digests.compose import compose_digest
from bot.views.ids import Action
from tests.digests.conftest import DEMO_NOW, digest
from tests.fakeslack.blockkit import validate_blocks

CHANNEL = "C_MLOPS"


async def _click(app, name: str, action_id: str, value: str) -> list[dict]:  # type: ignore[no-untyped-def]
    url = app.slack.response_url(name, channel=CHANNEL, message_ts="1790000009.000100")
    resp = await app.signer.block_actions(
        action_id, value=value, channel_id=CHANNEL, response_url=url
    )
    assert resp.status_code == 200
    assert await app.slack.wait_for_async(lambda s: bool(s.responses(name)), 20)
    await asyncio.sleep(0.3)  # answers for several teams follow one another
    return app.slack.responses(name)


async def test_the_root_carries_both_buttons_with_the_digest_name(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "ml-daily"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    buttons = {
        e["action_id"]: e["value"]
        for b in composed.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons == {
        Action.digest_spend_by_service: "ml-daily",
        Action.digest_failing_pipelines: "ml-daily",
    }


async def test_spend_by_service_answers_for_the_digests_team_only_to_the_clicker(demo_app):
    bodies = await _click(demo_app, "drill-spend", Action.digest_spend_by_service, "ml-daily")
    answer = bodies[0]
    assert answer["response_type"] == "ephemeral"
    assert answer.get("replace_original") in (False, "false")
    text = str(answer["blocks"])
    assert "ml-platform" in text and "Amazon SageMaker" in text
    assert validate_blocks(answer["blocks"], surface="message") == []
    assert not demo_app.slack.messages(CHANNEL)  # nothing posted for everyone


async def test_failing_pipelines_answers_with_the_failing_ones(demo_app):
    bodies = await _click(demo_app, "drill-fail", Action.digest_failing_pipelines, "weekly-ops")
    answer = bodies[0]
    assert answer["response_type"] == "ephemeral"
    assert "nightly_orders" in str(answer["blocks"])


async def test_an_unknown_digest_name_is_out_of_date_never_an_error(demo_app):
    bodies = await _click(demo_app, "drill-bad", Action.digest_spend_by_service, "no-such-digest")
    assert "out of date" in bodies[0]["text"]
    assert bodies[0]["response_type"] == "ephemeral"
