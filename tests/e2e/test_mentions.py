"""Mentions and DMs with plain questions: answered in the thread, saying how they were read."""

from __future__ import annotations

import asyncio
import json

from bot.surfaces.user_zone import forget_zones
from tests.e2e.conftest import wait_until
from tests.fakeslack.blockkit import validate_blocks


def _mention(text: str, ts: str = "1790000000.000100", user: str = "U_ALICE") -> dict:
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@U_BOT> {text}",
        "ts": ts,
        "channel": "C_MLOPS",
        "event_ts": ts,
    }


def _dm(text: str, user: str = "U_ALICE", ts: str = "1790000001.000200") -> dict:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{user}",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }


async def _first_post(app, predicate=lambda c: True):  # type: ignore[no-untyped-def]
    slack = app.slack
    assert await asyncio.to_thread(
        wait_until, lambda: any(predicate(c) for c in slack.calls_to("chat.postMessage")), 15
    )
    return next(c for c in slack.calls_to("chat.postMessage") if predicate(c))


async def test_mention_asking_why_a_pipeline_failed_names_the_failing_task(demo_app):
    await demo_app.signer.event(event=_mention("why did nightly_orders fail?"))
    post = await _first_post(demo_app)
    assert post.params["channel"] == "C_MLOPS"
    assert post.params["thread_ts"] == "1790000000.000100"
    blocks = str(post.params["blocks"])
    assert "I read this as `/ops pipeline nightly_orders`" in blocks
    assert "load_to_warehouse" in blocks
    assert not demo_app.slack.invalid


async def test_dm_question_about_spend_is_read_as_the_spend_command(demo_app):
    await demo_app.signer.event(event=_dm("what did ml spend last week?"))
    post = await _first_post(demo_app)
    assert post.params["channel"] == "DU_ALICE" and "thread_ts" not in post.params
    blocks = post.params["blocks"]
    assert "I read this as `/ops spend team:ml-platform 7d`" in str(blocks[0])
    assert "ml-platform" in post.params["text"]
    assert validate_blocks(blocks, surface="message") == []


async def test_mention_with_an_ambiguous_name_offers_buttons_in_the_thread(demo_app):
    await demo_app.signer.event(event=_mention("is orders ok?", ts="1790000000.000300"))
    post = await _first_post(demo_app)
    assert post.params["thread_ts"] == "1790000000.000300"
    values = [
        e["value"] for b in post.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "pipeline nightly_orders" in values and len(values) <= 5


async def test_mention_nobody_understands_gets_examples_not_an_error(demo_app):
    await demo_app.signer.event(event=_mention("banana split please", ts="1790000000.000400"))
    post = await _first_post(demo_app)
    assert "is churn healthy?" in str(post.params["blocks"])
    assert not demo_app.slack.invalid


async def test_times_in_an_answer_fall_back_to_the_asking_users_zone(demo_app):
    forget_zones()
    # U_CAROL's users.info says America/New_York; U_ALICE's Europe/Berlin.
    await demo_app.signer.event(event=_dm("digest list", user="U_CAROL", ts="1790000002.1"))
    carol = await _first_post(demo_app, lambda c: c.params["channel"] == "DU_CAROL")
    await demo_app.signer.event(event=_dm("digest list", user="U_ALICE", ts="1790000002.2"))
    alice = await _first_post(demo_app, lambda c: c.params["channel"] == "DU_ALICE")
    assert "EST|" in str(carol.params["blocks"]) or "EST>" in str(carol.params["blocks"])
    assert "CET" in str(alice.params["blocks"]) and "EST" not in str(alice.params["blocks"])
    assert demo_app.slack.calls_to("users.info")


async def test_a_spend_answer_with_a_chart_uploads_it_into_the_same_thread(demo_app):
    await demo_app.signer.event(event=_mention("spend last 30 days", ts="1790000000.000500"))
    slack = demo_app.slack
    assert await asyncio.to_thread(
        wait_until, lambda: slack.calls_to("files.completeUploadExternal"), 20
    )
    upload = slack.calls_to("files.completeUploadExternal")[0]
    assert upload.params.get("thread_ts") == "1790000000.000500"
    answer = slack.calls_to("chat.postMessage")[0]
    assert answer.params["thread_ts"] == "1790000000.000500"


async def test_a_hanging_users_info_never_delays_the_slash_ack_past_three_seconds(demo_app):
    forget_zones()
    demo_app.slack.hang_next("users.info", 5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await demo_app.signer.slash_command(text="help", user_id="U_BOB")
    assert resp.status_code == 200 and loop.time() - started < 3.0
    assert "/ops status" in str(resp.json()["blocks"])


def _parsed_for_mentions(post) -> str:  # type: ignore[no-untyped-def]
    """The fallback text and every mrkdwn text of a post: what Slack turns into mentions."""

    def mrkdwn(value: object) -> list[str]:
        if isinstance(value, list):
            return [t for item in value for t in mrkdwn(item)]
        if not isinstance(value, dict):
            return []
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            return [value["text"]]
        return [t for item in value.values() for t in mrkdwn(item)]

    return "\n".join([post.params["text"], *mrkdwn(post.params["blocks"])])


async def test_a_mention_saying_channel_is_answered_without_pinging_the_channel(demo_app):
    for n, question in enumerate(("<!channel>", "status <!channel>", "spend by <!here>")):
        ts = f"1790000000.00{n}900"
        await demo_app.signer.event(event=_mention(question, ts=ts))
        post = await _first_post(demo_app, lambda c, ts=ts: c.params.get("thread_ts") == ts)
        text, blocks = post.params["text"], json.dumps(post.params["blocks"])
        for token in ("<!channel>", "<!here>"):
            assert token not in text and token not in blocks, (question, token)
        assert "&lt;!" in text + blocks  # it is echoed, as text
        assert validate_blocks(post.params["blocks"], surface="message") == []
    assert not demo_app.slack.invalid


async def test_asking_who_owns_churn_in_a_channel_names_the_owners_without_pinging_them(demo_app):
    await demo_app.signer.event(event=_mention("who owns churn?", ts="1790000000.000800"))
    post = await _first_post(demo_app)
    parsed = _parsed_for_mentions(post)
    assert "<@U" not in parsed and "<!subteam^" not in parsed
    assert "@U0ML0EVA" in parsed and "@U0ML0FARID" in parsed  # lead and on-call, as text
    assert "ML Platform" in parsed
