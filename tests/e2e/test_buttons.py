"""Buttons on answers: More pages, Share in channel posts for everyone, Did you mean answers,
and a tampered value is refused kindly."""

from __future__ import annotations

import asyncio
import re

from bot.views.ids import Action
from bot.views.paging import PageRef
from tests.fakeslack.blockkit import validate_blocks

CHANNEL = "C_MLOPS"
SHOWING = re.compile(r"Showing (\d+) of \d+")


def _buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def _ask(app, text: str) -> dict:  # type: ignore[no-untyped-def]
    """The slash command's answer: in the ack, or via response_url when it took longer."""
    name = f"ask-{abs(hash(text))}"
    url = app.slack.response_url(name, channel=CHANNEL)
    body = (await app.signer.slash_command(text=text, response_url=url)).json()
    if body.get("blocks"):
        return body
    assert await app.slack.wait_for_async(lambda s: bool(s.responses(name)), 20)
    return app.slack.responses(name)[-1]


async def _click(app, name: str, action_id: str, value: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Click a button on an ephemeral answer; the bodies sent to its response_url."""
    url = app.slack.response_url(name, channel=CHANNEL, message_ts="1790000009.000100")
    resp = await app.signer.block_actions(
        action_id, value=value, channel_id=CHANNEL, response_url=url
    )
    assert resp.status_code == 200
    assert await app.slack.wait_for_async(lambda s: bool(s.responses(name)), 20)
    await asyncio.sleep(0.3)  # a second body (delete_original) may follow the first
    return app.slack.responses(name)


async def test_more_button_shows_the_next_page_in_place(demo_app):
    first = await _ask(demo_app, "spend 30d by pipeline")
    more = next(b for b in _buttons(first["blocks"]) if b["action_id"] == Action.page_more)
    ref = PageRef.model_validate_json(more["value"])
    assert ref.page == 1
    bodies = await _click(demo_app, "more", Action.page_more, more["value"])
    page = bodies[0]
    assert page.get("replace_original") in (True, "true")
    shown_before = int(SHOWING.search(str(first["blocks"])).group(1))
    after = SHOWING.search(str(page["blocks"]))
    # The next page shows more of the list, or the last page has no "Showing" line at all.
    assert after is None or int(after.group(1)) > shown_before
    assert page["blocks"] != first["blocks"]
    assert validate_blocks(page["blocks"], surface="message") == []


async def test_ephemeral_answer_has_a_share_button_that_posts_for_everyone(demo_app):
    first = await _ask(demo_app, "budget")
    assert first["response_type"] == "ephemeral"
    share = next(b for b in _buttons(first["blocks"]) if b["action_id"] == Action.share_in_channel)
    assert share["value"] == "budget"
    bodies = await _click(demo_app, "share", Action.share_in_channel, share["value"])
    posted = next(b for b in bodies if b.get("response_type") == "in_channel")
    assert "Shared by <@U_ALICE>" in str(posted["blocks"])
    assert "ml-platform" in str(posted["blocks"])
    assert Action.share_in_channel not in str(posted["blocks"])
    assert any(b.get("delete_original") in (True, "true") for b in bodies)
    assert demo_app.slack.messages(CHANNEL)  # the fake posted it in the channel


async def test_help_and_problems_have_no_share_button(demo_app):
    body = await _ask(demo_app, "help")
    assert Action.share_in_channel not in str(body["blocks"])


async def test_did_you_mean_click_answers_the_suggested_command(demo_app):
    first = await _ask(demo_app, "modle churn")
    suggestion = next(
        b for b in _buttons(first["blocks"]) if b["action_id"].startswith(Action.did_you_mean)
    )
    assert suggestion["value"] == "model churn"
    bodies = await _click(demo_app, "dym", suggestion["action_id"], suggestion["value"])
    answer = bodies[0]
    assert answer.get("replace_original") in (True, "true")
    assert "churn" in answer["text"] and "Did you mean" not in str(answer["blocks"])
    assert validate_blocks(answer["blocks"], surface="message") == []


async def test_ambiguous_question_buttons_each_run_a_command(demo_app):
    first = await _ask(demo_app, "is orders ok?")
    values = [b["value"] for b in _buttons(first["blocks"])]
    assert "pipeline nightly_orders" in values
    assert len(values) == len({b["action_id"] for b in _buttons(first["blocks"])})


async def test_tampered_button_values_get_out_of_date_never_an_error(demo_app):
    cases = [
        (Action.page_more, "{not json"),
        (Action.page_more, '{"command": "rm -rf /", "page": 1}'),
        (Action.page_more, '{"command": "models", "page": -4}'),
        ("did_you_mean-0", "frobnicate everything"),
        (Action.share_in_channel, "x" * 1600),
        # Buttons that re-run an answer never run a command that acts.
        (Action.share_in_channel, "promote churn 14 to champion"),
        (Action.page_more, '{"command": "digest run weekly-ops", "page": 1}'),
    ]
    for i, (action_id, value) in enumerate(cases):
        bodies = await _click(demo_app, f"bad-{i}", action_id, value)
        assert "out of date" in bodies[0]["text"], (action_id, value)
        assert bodies[0].get("response_type") == "ephemeral"
        assert bodies[0].get("replace_original") in (False, "false")


async def test_shared_answer_with_a_chart_is_posted_with_the_chart_in_its_thread(demo_app):
    bodies = await _click(demo_app, "share-chart", Action.share_in_channel, "spend 30d")
    assert any(b.get("delete_original") in (True, "true") for b in bodies)
    slack = demo_app.slack
    assert await slack.wait_for_async(
        lambda s: bool(s.calls_to("files.completeUploadExternal")), 20
    )
    post = next(c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL)
    assert "Shared by <@U_ALICE>" in str(post.params["blocks"])
    upload = slack.calls_to("files.completeUploadExternal")[0]
    posted_ts = slack.messages(CHANNEL)[0]["ts"]
    assert upload.params.get("thread_ts") == posted_ts
