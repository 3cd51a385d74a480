"""`/ops digest list | preview NAME | run NAME` over signed HTTP with the demo company."""

from __future__ import annotations

from bot.surfaces.ops_command import WORKING
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


async def _ask_as(app, text: str, user: str) -> dict:  # type: ignore[no-untyped-def]
    name = f"digest-{user}-{abs(hash(text))}"
    url = app.slack.response_url(name, channel="C_MLOPS")
    body = (await app.signer.slash_command(text=text, user_id=user, response_url=url)).json()
    if body.get("text") and body["text"] != WORKING:  # answered within the ack
        return body
    assert await app.slack.wait_for_async(lambda s: bool(s.responses(name)), 30)
    return app.slack.responses(name)[-1]


def _digest_posts(app, channel: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in app.slack.messages(channel) if "blocks" in m and not m.get("thread_ts")]


async def test_digest_run_by_someone_outside_its_teams_is_refused_ephemerally(demo_app):
    body = await _ask_as(demo_app, "digest run ml-daily", "U0DE0BORIS")  # data-eng, not ml
    assert body["response_type"] == "ephemeral"
    assert "Only members of ML Platform and workspace admins" in body["text"]
    assert _digest_posts(demo_app, "C0123MLPLAT") == []


async def test_digest_run_by_a_team_member_posts_it_now_through_the_outbox(demo_app):
    body = await _ask_as(demo_app, "digest run ml-daily", "U0ML0GRETA")
    assert "Posting `ml-daily`" in body["text"]
    assert await demo_app.slack.wait_for_async(
        lambda s: bool(_digest_posts(demo_app, "C0123MLPLAT")), 30
    )
    (post,) = _digest_posts(demo_app, "C0123MLPLAT")
    assert "ml-daily" in str(post["blocks"]) and "Preview" not in str(post["blocks"])
    assert validate_blocks(post["blocks"], surface="message") == []


async def test_an_admin_may_run_any_digest_and_a_member_of_any_team_an_all_teams_one(demo_app):
    admin = await _ask_as(demo_app, "digest run finops-monthly", "U0ADMIN01")
    assert "Posting `finops-monthly`" in admin["text"]
    member = await _ask_as(demo_app, "digest run weekly-ops", "U0AN0LUCIA")  # covers every team
    assert "Posting `weekly-ops`" in member["text"]
    stranger = await _ask_as(demo_app, "digest run weekly-ops", "U_ALICE")
    assert "workspace admins may post" in stranger["text"]
