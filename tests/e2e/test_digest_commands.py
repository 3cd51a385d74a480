"""`/ops digest list | preview NAME | run NAME` over signed HTTP with the demo company."""

from __future__ import annotations

from tests.fakeslack.blockkit import validate_blocks


async def _ask(app, text: str) -> dict:  # type: ignore[no-untyped-def]
    name = f"digest-{abs(hash(text))}"
    url = app.slack.response_url(name, channel="C_MLOPS")
    body = (await app.signer.slash_command(text=text, response_url=url)).json()
    if body.get("blocks"):
        return body
    assert await app.slack.wait_for_async(lambda s: bool(s.responses(name)), 20)
    return app.slack.responses(name)[-1]


async def test_digest_list_shows_every_digest_with_schedule_and_next_run(demo_app):
    body = await _ask(demo_app, "digest list")
    text = str(body["blocks"])
    for name in ("weekly-ops", "ml-daily", "finops-monthly"):
        assert name in text
    assert "Mondays at 09:00 (Europe/Berlin)" in text
    assert "Monday to Friday at 08:30" in text
    assert "<!date^" in text  # next run as a Slack date token
    assert "<#C0123OPSWEEK>" in text
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_digest_preview_is_ephemeral_and_covers_its_sections_for_its_teams(demo_app):
    body = await _ask(demo_app, "digest preview ml-daily")
    assert body["response_type"] == "ephemeral"
    text = str(body["blocks"])
    assert "Only you see this preview" in text and "ml-daily ·" in text
    assert "Teams: ML Platform" in text and "recs" in text
    assert "*Spend*" not in text  # not a section of ml-daily
    assert len(body["blocks"]) <= 50
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_preview_of_the_all_sections_digest_stays_within_fifty_blocks(demo_app):
    body = await _ask(demo_app, "digest preview weekly-ops")
    text = str(body["blocks"])
    for title in ("Pipelines", "Models", "Spend", "Budgets", "Open approvals", "Open incidents"):
        assert title in text
    assert len(body["blocks"]) <= 50
    assert validate_blocks(body["blocks"], surface="message") == []


async def test_digest_names_are_matched_loosely_and_unknown_ones_get_suggestions(demo_app):
    loose = await _ask(demo_app, "digest preview ml_daily")
    assert "ml-daily ·" in str(loose["blocks"])
    unknown = await _ask(demo_app, "digest preview payroll")
    assert "I don't know a digest called `payroll`" in unknown["text"]
    assert "/ops digest list" in str(unknown["blocks"])


async def test_digest_run_says_it_is_coming(demo_app):
    body = await _ask(demo_app, "digest run weekly-ops")
    assert "coming soon" in body["text"]
