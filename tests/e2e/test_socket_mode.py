"""Socket Mode end to end: the app connects to the fake over a websocket and answers through it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from tests.e2e.conftest import ThreadedServer, app_settings, free_port
from tests.fakeslack import FakeSlack
from tests.fakeslack.blockkit import validate_blocks

APP_TOKEN = "xapp-1-test"


def _mention(text: str, ts: str) -> dict:
    return {
        "type": "app_mention",
        "user": "U_ALICE",
        "text": f"<@U_BOT> {text}",
        "ts": ts,
        "channel": "C_MLOPS",
        "event_ts": ts,
    }


@pytest.fixture
def socket_app(slack: FakeSlack, tmp_path: Path) -> Iterator[FakeSlack]:
    """The whole app in Socket Mode on SQLite, connected to the fake before the test starts."""
    settings = app_settings(slack, f"sqlite:///{tmp_path / 'socket.db'}", slack_app_token=APP_TOKEN)
    app = create_app(settings, socket_mode=True)
    with ThreadedServer(app, free_port()):
        assert slack.wait_for(lambda s: s.socket_connected, 5), "the app never connected"
        yield slack


async def _wait(slack: FakeSlack, predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(slack.wait_for, predicate, timeout)


async def test_app_opens_its_connection_with_the_app_level_token(socket_app: FakeSlack):
    opened = socket_app.calls_to("apps.connections.open")
    assert len(opened) == 1
    assert opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"


async def test_ops_help_is_answered_in_the_socket_ack_within_three_seconds(socket_app: FakeSlack):
    slack = socket_app
    envelope_id = await asyncio.to_thread(
        slack.socket_send_slash_command,
        text="help",
        user_id="U_ALICE",
        channel_id="C_MLOPS",
        response_url=slack.response_url("socket-help"),
    )
    assert await _wait(slack, lambda s: envelope_id in s.socket_acks, 3.0)
    ack = slack.socket_ack(envelope_id)
    assert ack is not None and ack.seconds < 3.0  # Slack's ack deadline holds over the socket too
    payload = ack.payload
    assert payload is not None and payload["response_type"] == "ephemeral"
    listing = str(payload["blocks"])
    for usage in ("/ops status [team:T]", "promote MODEL VERSION to ALIAS", "digest list"):
        assert usage in listing
    assert validate_blocks(payload["blocks"], surface="message") == []
    assert not slack.socket_unexpected


async def test_mention_is_acked_then_answered_in_its_thread(socket_app: FakeSlack):
    slack = socket_app
    envelope_id = await asyncio.to_thread(
        slack.socket_send_event, _mention("help", "1700000100.000100")
    )
    assert await _wait(slack, lambda s: envelope_id in s.socket_acks, 3.0)
    assert slack.socket_acks[envelope_id] is None  # events are acked without a payload
    assert await _wait(slack, lambda s: s.calls_to("chat.postMessage"), 10)
    post = slack.calls_to("chat.postMessage")[0]
    assert post.params["channel"] == "C_MLOPS"
    assert post.params["thread_ts"] == "1700000100.000100"
    assert "/ops status" in str(post.params["blocks"])
    assert not slack.invalid


async def test_redelivered_event_over_the_socket_is_answered_once(socket_app: FakeSlack):
    slack = socket_app
    event = _mention("help", "1700000200.000100")
    first = await asyncio.to_thread(slack.socket_send_event, event, event_id="EvSock1")
    assert await _wait(slack, lambda s: s.calls_to("chat.postMessage"), 10)
    again = await asyncio.to_thread(
        slack.socket_send_event,
        event,
        event_id="EvSock1",
        retry_attempt=1,
        retry_reason="timeout",
    )
    assert await _wait(slack, lambda s: {first, again} <= s.socket_acks.keys(), 3.0)
    await asyncio.sleep(1.0)  # time for a wrongly accepted redelivery to reach the outbox
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_app_reconnects_when_slack_asks_it_to(socket_app: FakeSlack):
    slack = socket_app
    await asyncio.to_thread(slack.socket_disconnect, "refresh_requested")
    assert await _wait(slack, lambda s: len(s.calls_to("apps.connections.open")) == 2, 5)
    # The old connection may still be open for a moment: wait for the new one to be accepted,
    # since envelopes go to the newest connection, as Slack's would after a refresh.
    assert await _wait(slack, lambda s: s.socket_connections_made == 2 and s.socket_connected, 5)
    envelope_id = await asyncio.to_thread(slack.socket_send_slash_command, text="help")
    assert await _wait(slack, lambda s: bool(s.socket_acks.get(envelope_id)), 3.0)


async def test_fake_refuses_a_bot_token_for_a_socket_connection(slack: FakeSlack):
    url = slack.api_url + "apps.connections.open"
    async with httpx.AsyncClient() as http:
        bot = await http.post(url, headers={"Authorization": "Bearer xoxb-e2e-token"})
        garbage = await http.post(url, headers={"Authorization": "Bearer nonsense"})
        missing = await http.post(url)
        good = await http.post(url, headers={"Authorization": f"Bearer {APP_TOKEN}"})
    assert bot.json() == {"ok": False, "error": "not_allowed_token_type"}
    assert garbage.json() == {"ok": False, "error": "invalid_auth"}
    assert missing.json() == {"ok": False, "error": "not_authed"}
    assert good.json()["ok"] is True
    assert good.json()["url"].startswith(f"ws://127.0.0.1:{slack.port}/socket/")


@pytest.mark.parametrize("bad_token", ["xoxb-e2e-token", "not-a-token"])
async def test_refused_app_token_stops_start_up_naming_slack_app_token(
    slack: FakeSlack, tmp_path: Path, bad_token: str
):
    settings = app_settings(slack, f"sqlite:///{tmp_path / 'bad.db'}", slack_app_token=bad_token)
    app = create_app(settings, socket_mode=True, run_scheduler=False)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(Exception, match="SLACK_APP_TOKEN") as failure:
        await asyncio.wait_for(start(), 5)
    assert bad_token not in str(failure.value)  # a secret never lands in the error text
    assert not slack.socket_connected


async def test_revoked_app_token_stops_start_up_with_slacks_reason(
    slack: FakeSlack, tmp_path: Path
):
    slack.fail_next("apps.connections.open", error="invalid_auth")
    settings = app_settings(
        slack, f"sqlite:///{tmp_path / 'revoked.db'}", slack_app_token="xapp-1-revoked"
    )
    app = create_app(settings, socket_mode=True, run_scheduler=False)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(
        RuntimeError, match=r"SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)"
    ):
        await asyncio.wait_for(start(), 5)
