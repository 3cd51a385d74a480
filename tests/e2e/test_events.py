"""Events API: mentions answer in the thread, DMs answer in the DM, retries are handled once, App Home."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import wait_until
from tests.fakeslack.blockkit import validate_blocks


def _mention(text: str, ts: str = "1700000000.000100") -> dict:
    return {
        "type": "app_mention",
        "user": "U_ALICE",
        "text": f"<@U_BOT> {text}",
        "ts": ts,
        "channel": "C_MLOPS",
        "event_ts": ts,
    }


async def test_mention_is_answered_in_its_thread_through_the_outbox(running_app):
    resp = await running_app.signer.event(event=_mention("help"))
    assert resp.status_code == 200
    slack = running_app.slack
    assert await asyncio.to_thread(wait_until, lambda: slack.calls_to("chat.postMessage"), 10)
    post = slack.calls_to("chat.postMessage")[0]
    assert post.params["channel"] == "C_MLOPS"
    assert post.params["thread_ts"] == "1700000000.000100"
    assert "/ops status" in str(post.params["blocks"])
    assert not slack.invalid


async def test_slack_retry_of_a_handled_event_is_not_handled_twice(running_app_on):
    app = running_app_on
    first = await app.signer.event(event=_mention("help"), event_id="Ev0001")
    assert first.status_code == 200
    assert await asyncio.to_thread(wait_until, lambda: app.slack.calls_to("chat.postMessage"), 10)
    retry = await app.signer.event(
        event=_mention("help"), event_id="Ev0001", retry_num=1, retry_reason="http_timeout"
    )
    assert retry.status_code == 200
    assert retry.headers.get("x-slack-no-retry") == "1"
    await asyncio.sleep(1.0)  # give a wrongly accepted retry time to be posted
    assert len(app.slack.calls_to("chat.postMessage")) == 1


async def test_a_new_event_id_is_handled(running_app):
    await running_app.signer.event(event=_mention("help", ts="1.1"), event_id="EvA")
    await running_app.signer.event(event=_mention("help", ts="2.2"), event_id="EvB")
    assert await asyncio.to_thread(
        wait_until, lambda: len(running_app.slack.calls_to("chat.postMessage")) == 2, 10
    )


async def test_direct_message_is_answered_in_the_dm(running_app):
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D_ALICE",
        "user": "U_ALICE",
        "text": "spend by nonsense",
        "ts": "1700000001.000200",
        "event_ts": "1700000001.000200",
    }
    await running_app.signer.event(event=event)
    slack = running_app.slack
    assert await asyncio.to_thread(wait_until, lambda: slack.calls_to("chat.postMessage"), 10)
    post = slack.calls_to("chat.postMessage")[0]
    assert post.params["channel"] == "D_ALICE" and "thread_ts" not in post.params
    assert "can't group by `nonsense`" in post.params["text"]


async def test_bot_messages_in_dm_are_ignored(running_app):
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D_ALICE",
        "bot_id": "B_BOT",
        "text": "help",
        "ts": "1700000001.000300",
        "event_ts": "1700000001.000300",
    }
    assert (await running_app.signer.event(event=event)).status_code == 200
    await asyncio.sleep(0.8)
    assert not running_app.slack.calls_to("chat.postMessage")


async def test_app_home_opened_publishes_a_valid_home(running_app):
    event = {
        "type": "app_home_opened",
        "user": "U_ALICE",
        "channel": "D_ALICE",
        "tab": "home",
        "event_ts": "1700000002.000100",
    }
    await running_app.signer.event(event=event)
    slack = running_app.slack
    assert await asyncio.to_thread(wait_until, lambda: slack.calls_to("views.publish"), 10)
    call = slack.calls_to("views.publish")[0]
    assert call.params["user_id"] == "U_ALICE"
    view = call.params["view"]
    view = view if isinstance(view, dict) else __import__("json").loads(view)
    assert validate_blocks(view["blocks"], surface="home") == []
