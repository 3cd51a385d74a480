"""The Slack test harness itself: fake Web API, signer and Block Kit checks behave like Slack."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import FakeSlack, SlackSigner, signature, validate_blocks, validate_view
from tests.fakeslack import payloads as P

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Approve", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, **extra}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(signing_secret=SECRET) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


# -- signing -----------------------------------------------------------------------------------

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_signature_matches_slacks_documented_test_vector() -> None:
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    signer = SlackSigner(signing_secret="8f742231b10e8888abcd99yyyzzz85a5", app_url="http://x")
    headers = signer.sign(SLACK_DOC_BODY, timestamp=1531420618)
    assert headers == {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": expected}
    assert signature("another-secret", 1531420618, SLACK_DOC_BODY) != expected


def test_slack_sdk_signature_verifier_accepts_signer_headers() -> None:
    signer = SlackSigner(signing_secret=SECRET, app_url="http://x")
    body = b'{"type":"event_callback"}'
    headers = signer.sign(body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("wrong").is_valid_request(body, headers)
    assert not verifier.is_valid_request(body, signer.sign(body, timestamp=int(time.time()) - 600))


# -- the Web API through slack_sdk's real client -----------------------------------------------


async def test_slack_sdk_client_can_call_every_method(slack: FakeSlack, client: AsyncWebClient):
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U_BOT", "B_BOT", P.TEAM_ID)

    posted = await client.chat_postMessage(channel="C_OPS", text="hello", blocks=[section("hi")])
    ts = posted["ts"]
    assert posted["channel"] == "C_OPS" and posted["message"]["text"] == "hello"
    reply = await client.chat_postMessage(channel="C_OPS", text="in thread", thread_ts=ts)
    assert float(reply["ts"]) > float(ts)

    updated = await client.chat_update(channel="C_OPS", ts=ts, text="edited")
    assert updated["ts"] == ts and updated["message"]["edited"]["user"] == "U_BOT"
    ephemeral = await client.chat_postEphemeral(channel="C_OPS", user="U_BOB", text="psst")
    assert ephemeral["message_ts"]
    assert [e["text"] for e in slack.ephemerals("C_OPS")] == ["psst"]

    modal = {
        "type": "modal",
        "callback_id": "reject_reason",
        "title": {"type": "plain_text", "text": "Reject"},
        "blocks": [section("why?")],
    }
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    view_id = opened["view"]["id"]
    assert opened["view"]["callback_id"] == "reject_reason"
    modal["blocks"] = [section("really?")]
    updated_view = await client.views_update(view_id=view_id, view=modal)
    assert updated_view["view"]["id"] == view_id
    home = {"type": "home", "blocks": [section("welcome")]}
    published = await client.views_publish(user_id="U_ALICE", view=home)
    assert slack.home_views["U_ALICE"]["id"] == published["view"]["id"]

    info = await client.conversations_info(channel="C_GENERAL")
    assert info["channel"]["name"] == "general"
    dm = await client.conversations_open(users="U_ALICE")
    assert dm["channel"]["id"].startswith("D")
    listed = await client.conversations_list()
    assert "C_GENERAL" in [c["id"] for c in listed["channels"]]
    members = await client.conversations_members(channel="C_GENERAL")
    assert {"U_ALICE", "U_BOB", "U_CAROL"} <= set(members["members"])
    alice = await client.users_info(user="U_ALICE")
    assert alice["user"]["tz"] == "Europe/Berlin" and alice["user"]["profile"]["email"]

    upload = await client.files_upload_v2(
        channel="C_OPS", content=b"PNGDATA", filename="spend.png", title="Spend", thread_ts=ts
    )
    file_id = upload["file"]["id"]
    assert slack.files[file_id]["content"] == b"PNGDATA"
    assert [m["text"] for m in slack.messages("C_OPS", thread_ts=ts)] == ["in thread", ""]
    assert slack.messages("C_OPS", thread_ts=ts)[-1]["files"][0]["id"] == file_id

    deleted = await client.chat_delete(channel="C_OPS", ts=ts)
    assert deleted["ts"] == ts
    assert ts not in [m["ts"] for m in slack.messages("C_OPS")]
    assert not slack.invalid
    assert all(c.ok for c in slack.calls)


async def test_dm_posted_to_a_user_id_lands_in_their_dm_channel(client: AsyncWebClient, slack):
    posted = await client.chat_postMessage(channel="U_CAROL", text="your approval is needed")
    opened = await client.conversations_open(users="U_CAROL")
    assert posted["channel"] == opened["channel"]["id"]
    assert [m["text"] for m in slack.messages("U_CAROL")] == ["your approval is needed"]
    again = await client.conversations_open(users="U_CAROL")
    assert again["already_open"] is True


async def test_permalink_of_a_reply_opens_its_thread(client: AsyncWebClient) -> None:
    root = await client.chat_postMessage(channel="C_OPS", text="root")
    reply = await client.chat_postMessage(channel="C_OPS", text="reply", thread_ts=root["ts"])
    base = f"https://{P.TEAM_DOMAIN}.slack.com/archives/C_OPS/p"
    linked = await client.chat_getPermalink(channel="C_OPS", message_ts=root["ts"])
    assert linked["permalink"] == base + root["ts"].replace(".", "")  # a root, even with replies
    linked = await client.chat_getPermalink(channel="C_OPS", message_ts=reply["ts"])
    assert linked["permalink"] == (
        f"{base}{reply['ts'].replace('.', '')}?thread_ts={root['ts']}&cid=C_OPS"
    )


async def test_usergroup_members_in_slacks_shape(client: AsyncWebClient, slack: FakeSlack):
    slack.usergroups["S0ONCALL"] = ["U_ALICE", "U_BOB"]
    listed = await client.usergroups_users_list(usergroup="S0ONCALL")
    assert listed.data == {"ok": True, "users": ["U_ALICE", "U_BOB"]}
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_users_list(usergroup="S0NOSUCH")
    assert err.value.response.data == {"ok": False, "error": "no_such_subteam"}
    slack.reset()  # groups arranged by a test go with it
    with pytest.raises(SlackApiError):
        await client.usergroups_users_list(usergroup="S0ONCALL")


async def test_message_ts_are_unique_and_increasing(client: AsyncWebClient) -> None:
    stamps = [(await client.chat_postMessage(channel=c, text="x"))["ts"] for c in ["C1", "C2"] * 5]
    assert len(set(stamps)) == len(stamps)
    assert stamps == sorted(stamps, key=float)


async def test_members_are_paginated_with_a_cursor(client: AsyncWebClient, slack: FakeSlack):
    slack.members["C_BIG"] = [f"U{i:03d}" for i in range(5)]
    first = await client.conversations_members(channel="C_BIG", limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    rest = await client.conversations_members(channel="C_BIG", limit=10, cursor=cursor)
    assert first["members"] + rest["members"] == slack.members["C_BIG"]
    assert rest["response_metadata"]["next_cursor"] == ""


async def test_chat_update_of_unknown_message_is_message_not_found(client: AsyncWebClient):
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C_OPS", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_without_text_or_blocks_is_no_text(client: AsyncWebClient, slack: FakeSlack):
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C_OPS")
    assert err.value.response["error"] == "no_text"
    assert [c.method for c in slack.invalid] == ["chat.postMessage"]


async def test_registered_missing_channel_is_channel_not_found(client, slack: FakeSlack):
    slack.missing_channels.add("C404")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C404", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert slack.calls_to("chat.postMessage") == []
    assert len(slack.calls_to("chat.postMessage", include_failed=True)) == 1
    assert not slack.invalid  # a wrong channel is not a malformed message


async def test_unknown_user_is_user_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U_NOBODY")
    assert err.value.response["error"] == "user_not_found"


async def test_unknown_method_is_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call("reactions.nonsense")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "unknown_method"


async def test_tokens_are_checked_in_header_or_param(slack: FakeSlack) -> None:
    url = slack.api_url + "chat.postMessage"
    async with httpx.AsyncClient() as http:
        missing = await http.post(url, json={"channel": "C1", "text": "x"})
        bad = await http.post(
            url, json={"channel": "C1", "text": "x"}, headers={"Authorization": "Bearer xapp-1"}
        )
        form = await http.post(
            url + "?ignored=1", data={"token": TOKEN, "channel": "C1", "text": "x"}
        )
    assert missing.json() == {"ok": False, "error": "not_authed"}
    assert bad.json() == {"ok": False, "error": "invalid_auth"}
    assert form.json()["ok"] is True


async def test_form_encoded_blocks_are_decoded_and_validated(slack: FakeSlack) -> None:
    blocks = json.dumps([section("from a form")])
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            slack.api_url + "chat.postMessage",
            data={"channel": "C1", "blocks": blocks},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.json()["ok"] is True
    assert slack.messages("C1")[0]["blocks"][0]["text"]["text"] == "from a form"


# -- failures on demand --------------------------------------------------------------------------


async def test_429_carries_retry_after(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=2)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["retry-after"] == "2"
    assert err.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


@pytest.mark.slow  # waits out a real Retry-After
async def test_slack_sdk_rate_limit_handler_waits_and_retries(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    answer = await retrying.chat_postMessage(channel="C1", text="eventually")
    assert answer["ok"] and time.monotonic() - started >= 0.9
    attempts = slack.calls_to("chat.postMessage", include_failed=True)
    assert [c.status for c in attempts] == [429, 200]
    assert [m["text"] for m in slack.messages("C1")] == ["eventually"]


async def test_500_fails_as_many_times_as_told(slack: FakeSlack, client: AsyncWebClient):
    slack.fail_next("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 500
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("chat.postMessage", status=500)
    assert (await retrying.chat_postMessage(channel="C1", text="y"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage", include_failed=True)] == [
        500,
        500,
        200,
        500,
        200,
    ]


async def test_fail_next_error_answers_http_200_ok_false(slack, client: AsyncWebClient):
    slack.fail_next("users.info", error="fatal_error")
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U_ALICE")
    assert (err.value.response.status_code, err.value.response["error"]) == (200, "fatal_error")
    assert (await client.users_info(user="U_ALICE"))["ok"]


async def test_hang_delays_the_answer_then_carries_out_the_call(slack: FakeSlack) -> None:
    slack.hang_next("chat.postMessage", seconds=1.0)
    impatient = AsyncWebClient(token=TOKEN, base_url=slack.api_url, timeout=0.3)
    with pytest.raises(TimeoutError):
        await impatient.chat_postMessage(channel="C1", text="slow")
    assert slack.calls[-1].status is None  # still hanging: the client gave up first
    assert await slack.wait_for_async(lambda s: len(s.messages("C1")) == 1, timeout=3)
    patient = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    slack.hang_next("chat.postMessage", seconds=0.3)
    started = time.monotonic()
    assert (await patient.chat_postMessage(channel="C1", text="late"))["ok"]
    assert time.monotonic() - started >= 0.25


def test_stop_does_not_wait_for_a_hung_request() -> None:
    fake = FakeSlack().start()
    fake.hang_next("auth.test", seconds=30)
    client = WebClient(token=TOKEN, base_url=fake.api_url, timeout=0.2)
    with pytest.raises(TimeoutError):
        client.auth_test()
    serving = fake._thread
    fake.stop()
    # stop() gives a thread 10 s to end: it ended, though the request had 29 s left to hang
    assert serving is not None and not serving.is_alive()


# -- Block Kit validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blocks, expected",
    [
        ([section("x")] * 51, "no more than 50 items"),
        ([section("x" * 3001)], "cannot exceed 3000"),
        ([{"type": "actions", "elements": [button("x" * 76, action_id="a")]}], "75"),
        ([{"type": "actions", "elements": [{"type": "button", "action_id": "a"}]}], "text"),
    ],
    ids=["51-blocks", "3001-char-section", "long-button-text", "button-without-text"],
)
async def test_invalid_blocks_are_rejected_and_recorded(slack, client, blocks, expected):
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    answer = err.value.response
    assert (answer.status_code, answer["error"]) == (200, "invalid_blocks")
    assert any(expected in e for e in answer["errors"]), answer["errors"]
    assert answer["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert [c.method for c in slack.invalid] == ["chat.postMessage"]
    assert slack.messages("C1") == []


async def test_oversized_blocks_are_msg_blocks_too_long(slack, client: AsyncWebClient) -> None:
    blocks = [section("y" * 2900) for _ in range(5)]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="big", blocks=blocks)
    assert err.value.response["error"] == "msg_blocks_too_long"
    assert len(slack.invalid) == 1


async def test_invalid_modal_is_rejected_like_slack(slack, client: AsyncWebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "A title that is too long"}}
    view["title"]["text"] += "!"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="1.2.3", view=view)
    assert err.value.response["error"] == "invalid_arguments"
    assert "/view/title" in err.value.response["response_metadata"]["messages"][0]
    assert slack.views == {}


def test_validate_blocks_accepts_realistic_blocks() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Spend", "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{i}*"} for i in range(10)]},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "x" * 3000},
            "accessory": button("Open", action_id="open", url="https://example.com"),
        },
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                button("Approve", action_id="approve", value="v" * 2000, style="primary"),
                button("Reject", action_id="reject", value="r", style="danger"),
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U_ALICE>"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://example.com/c.png", "alt_text": "chart"},
    ]
    assert validate_blocks(blocks) == []
    assert validate_blocks([section("x")] * 100, surface="modal") == []
    assert validate_blocks([section("x")] * 100, surface="home") == []


@pytest.mark.parametrize(
    "block, fragment",
    [
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}, "10"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}, "2001"),
        ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}, "150"),
        ({"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]}, "25"),
        ({"type": "actions", "elements": [button(action_id="a" * 256)]}, "action_id"),
        ({"type": "actions", "elements": [button(action_id="a", value="v" * 2001)]}, "value"),
        ({"type": "section", "text": "a bare string"}, "text object"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}, "colour"),
        ({"type": "sparkle_block"}, "unsupported block type"),
    ],
)
def test_validate_blocks_enforces_slack_limits(block: dict[str, Any], fragment: str) -> None:
    errors = validate_blocks([block])
    assert errors and any(fragment in e for e in errors), errors


def test_validate_blocks_rejects_duplicate_block_ids_and_too_many_modal_blocks() -> None:
    twice = [{"type": "divider", "block_id": "same"}] * 2
    assert any("duplicate block_id" in e for e in validate_blocks(twice))
    assert validate_blocks([section("x")] * 101, surface="modal")


def test_validate_view_checks_title_and_private_metadata() -> None:
    ok = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 24}, "blocks": []}
    assert validate_view(ok) == []
    assert validate_view({**ok, "title": {"type": "plain_text", "text": "t" * 25}})
    assert validate_view({**ok, "private_metadata": "m" * 3001})
    assert validate_view({**ok, "private_metadata": "m" * 3000}) == []


# -- response_url ----------------------------------------------------------------------------


async def test_response_url_replaces_the_original_message(slack: FakeSlack, client) -> None:
    ts = (await client.chat_postMessage(channel="C1", text="Approve?", blocks=[section("?")]))["ts"]
    url = slack.response_url("click-1", channel="C1", message_ts=ts)
    async with httpx.AsyncClient() as http:
        done = await http.post(url, json={"replace_original": True, "text": "Approved by Bob"})
        public = await http.post(url, json={"response_type": "in_channel", "text": "FYI"})
        private = await http.post(url, json={"text": "only you"})
    assert [r.status_code for r in (done, public, private)] == [200, 200, 200]
    assert [m["text"] for m in slack.messages("C1")] == ["Approved by Bob", "FYI"]
    assert [e["text"] for e in slack.ephemerals("C1")] == ["only you"]
    assert [b["text"] for b in slack.responses("click-1")] == ["Approved by Bob", "FYI", "only you"]
    assert [c.method for c in slack.calls[-3:]] == ["response_url"] * 3


async def test_response_url_allows_five_uses_and_validates_blocks(slack: FakeSlack) -> None:
    url = slack.response_url("cmd")
    async with httpx.AsyncClient() as http:
        bad = await http.post(url, json={"blocks": [section("x" * 3001)]})
        statuses = [(await http.post(url, json={"text": str(i)})).status_code for i in range(5)]
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    assert statuses == [200, 200, 200, 200, 404]  # the rejected post used one of five
    assert len(slack.invalid) == 1


# -- usable from anywhere --------------------------------------------------------------------


def test_fake_works_from_a_plain_sync_test() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="C_SYNC", text="one")
        assert fake.wait_for(lambda s: len(s.calls_to("chat.postMessage")) == 1, timeout=1)
        assert not fake.wait_for(lambda s: len(s.calls_to("chat.postMessage")) == 2, timeout=0.1)
        fake.reset()
        assert fake.calls == [] and fake.messages("C_SYNC") == []
        assert "U_ALICE" in fake.users
    with pytest.raises(httpx.ConnectError):
        httpx.post(fake.api_url + "auth.test")


def test_fake_answers_a_subprocess(slack: FakeSlack) -> None:
    code = (
        "import json, sys, urllib.request as u\n"
        "req = u.Request(sys.argv[1] + 'chat.postMessage', json.dumps("
        "{'channel': 'C_SUB', 'text': 'from a child'}).encode(),"
        " {'Content-Type': 'application/json', 'Authorization': 'Bearer xoxb-1'})\n"
        "print(json.load(u.urlopen(req))['ok'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, slack.api_url], capture_output=True, text=True, timeout=20
    )
    assert out.stdout.strip() == "True", out.stderr
    assert [m["text"] for m in slack.messages("C_SUB")] == ["from a child"]


def test_two_fakes_run_side_by_side_on_free_ports() -> None:
    with FakeSlack() as one, FakeSlack() as two:
        assert one.port != two.port
        WebClient(token=TOKEN, base_url=one.api_url).chat_postMessage(channel="C1", text="x")
        assert len(one.calls) == 1 and two.calls == []


# -- the signer against a real bolt app ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def bolt_app(slack: FakeSlack) -> AsyncIterator[tuple[AsyncApp, str, list[dict[str, Any]]]]:
    """A real bolt AsyncApp over aiohttp, talking to the fake; yields (app, url, seen bodies)."""
    seen: list[dict[str, Any]] = []
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=slack.api_url), signing_secret=SECRET
    )

    @app.command("/ops")
    async def ops(ack, body, respond):  # type: ignore[no-untyped-def]
        await ack()
        seen.append(body)
        await respond(f"you asked: {body['text']}")

    @app.action("approve")
    async def approve(ack, body, respond):  # type: ignore[no-untyped-def]
        await ack()
        seen.append(body)
        await respond(replace_original=True, text=f"approved by <@{body['user']['id']}>")

    @app.view("reject_reason")
    async def reject(ack, body, view):  # type: ignore[no-untyped-def]
        await ack()
        seen.append(body)

    @app.event("app_mention")
    async def mention(body, say):  # type: ignore[no-untyped-def]
        seen.append(body)
        await say(text="on it", thread_ts=body["event"]["ts"])

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield app, f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_bolt_accepts_signed_slash_command_and_respond_reaches_fake(slack, bolt_app):
    _, url, seen = bolt_app
    signer = slack.signer(url)
    answer = await signer.slash_command(text="spend team:ml")
    assert answer.status_code == 200
    assert await slack.wait_for_async(lambda s: bool(s.responses("command-1")))
    assert slack.responses("command-1")[0]["text"] == "you asked: spend team:ml"
    assert seen[0]["user_id"] == "U_ALICE" and seen[0]["command"] == "/ops"


async def test_bolt_rejects_bad_signature_and_stale_timestamp(slack, bolt_app) -> None:
    _, url, seen = bolt_app
    forged = SlackSigner(signing_secret="not-the-secret", app_url=url)
    assert (await forged.slash_command()).status_code == 401
    stale = await slack.signer(url).slash_command(timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    unsigned = await slack.signer(url).post_raw(
        b"command=%2Fops", "application/x-www-form-urlencoded", sign=False
    )
    assert unsigned.status_code == 401
    assert seen == []


async def test_bolt_routes_a_button_click_and_replaces_the_message(slack, bolt_app, client):
    _, url, seen = bolt_app
    posted = await client.chat_postMessage(
        channel="C_OPS",
        text="Promote churn v14?",
        blocks=[
            {
                "type": "actions",
                "block_id": "decide",
                "elements": [button(action_id="approve", value="req-1")],
            }
        ],
    )
    message = slack.messages("C_OPS")[0]
    answer = await slack.signer(url).block_actions(
        action_id="approve",
        value="req-1",
        user_id="U_BOB",
        channel_id="C_OPS",
        block_id="decide",
        message=message,
    )
    assert answer.status_code == 200
    assert await slack.wait_for_async(
        lambda s: s.messages("C_OPS")[0]["text"].startswith("approved")
    )
    assert slack.messages("C_OPS")[0]["text"] == "approved by <@U_BOB>"
    body = seen[0]
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C_OPS",
        "is_ephemeral": False,
    }
    assert body["actions"][0]["value"] == "req-1" and body["message"]["blocks"]


async def test_bolt_routes_view_submission_with_state_values(slack, bolt_app) -> None:
    _, url, seen = bolt_app
    values = {"reason": {"text": {"type": "plain_text_input", "value": "too costly"}}}
    answer = await slack.signer(url).view_submission(
        callback_id="reject_reason",
        values=values,
        private_metadata='{"request": 7}',
        user_id="U_CAROL",
    )
    assert answer.status_code == 200
    assert seen[0]["view"]["state"]["values"] == values
    assert seen[0]["view"]["private_metadata"] == '{"request": 7}'


async def test_bolt_handles_events_retries_and_url_verification(slack, bolt_app) -> None:
    _, url, seen = bolt_app
    signer = slack.signer(url)
    challenge = await signer.url_verification(
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    )
    assert challenge.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    event = P.app_mention_event("<@U_BOT> status", channel_id="C_OPS")
    assert (await signer.event(event, event_id="Ev123")).status_code == 200
    assert await slack.wait_for_async(lambda s: bool(s.messages("C_OPS")))
    assert slack.messages("C_OPS")[0]["thread_ts"] == event["ts"]
    assert seen[0]["event_id"] == "Ev123" and seen[0]["authorizations"][0]["user_id"] == "U_BOT"


class _Recorder:
    """A bare HTTP endpoint keeping (headers, body) of what it receives: the signer's raw output."""

    def __init__(self, received: list[tuple[dict[str, str], bytes]]) -> None:
        self.received = received
        self.runner: web.AppRunner | None = None

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_post("/slack/events", self.keep)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = _free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def keep(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append((headers, await request.read()))
        return web.Response(text="")


async def test_signer_sends_retry_headers_and_slack_shaped_bodies() -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    async with _Recorder(received) as url:
        signer = SlackSigner(signing_secret=SECRET, app_url=url)
        await signer.event(
            {"type": "app_mention"}, event_id="EvX", retry_num=1, retry_reason="http_timeout"
        )
        await signer.slash_command(
            text="help", response_url="http://127.0.0.1:1/r", trigger_id="1.2.3"
        )
    (event_headers, event_body), (_, command_body) = received
    assert event_headers["x-slack-retry-num"] == "1"
    assert event_headers["x-slack-retry-reason"] == "http_timeout"
    envelope = json.loads(event_body)
    assert {
        "token",
        "team_id",
        "api_app_id",
        "event",
        "type",
        "event_id",
        "event_time",
        "authorizations",
    } <= set(envelope)
    form = parse_qs(command_body.decode(), keep_blank_values=True)
    assert list(form) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    verifier = SignatureVerifier(SECRET)
    assert all(verifier.is_valid_request(body, headers) for headers, body in received)
