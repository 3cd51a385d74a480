"""The sandbox over HTTP, without a browser: its Slack Web API, its page API (every action a signed
request to the app), its controls, and the guards that keep it a local toy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from bot.ops_config import load_ops_config
from bot.sandbox import people as roster
from bot.sandbox.client import SandboxClient
from bot.sandbox.run import RealSlackNearby, refuse_beside_real_slack
from bot.sandbox.slack_api import WebApi, wire
from bot.settings import Settings
from tests.fakeslack import FakeSlack
from tests.sandbox.conftest import Sandbox

KEMI = "U0AN0KEMI"  # Analytics lead
ANALYTICS = "C0123ANALYT"


def wait_until(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy; a safety net, not a speed check."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return found


def state(sandbox: Sandbox, user: str) -> dict[str, Any]:
    answer = httpx.get(f"{sandbox.url}/sandbox/state", params={"user": user}, timeout=30)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def test_the_tests_fake_slack_is_the_sandboxs_web_api() -> None:
    assert issubclass(FakeSlack, WebApi)
    assert len(WebApi().method_names) == 19
    assert "usergroups.users.list" in WebApi().method_names  # who is in an on-call group


async def test_the_bots_slack_client_talks_to_the_sandbox_web_api(sandbox: Sandbox) -> None:
    client = AsyncWebClient(token="xoxb-sandbox", base_url=f"{sandbox.url}/sandbox/slack/api/")
    me = await client.auth_test()
    assert me["user_id"] == wire.BOT_USER_ID
    posted = await client.chat_postMessage(channel="#finance", text="hello *finance*")
    assert posted["channel"] == "C0123FINANCE"
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(
            channel="C0123FINANCE", text="x", blocks=[{"type": "section"}]
        )
    assert refused.value.response["error"] == "invalid_blocks"
    seen = state(sandbox, "U0FI0NOAH")["messages"]["C0123FINANCE"]
    assert [m["text"] for m in seen if m["from_app"]][-1] == "hello *finance*"


def test_a_slash_command_from_the_page_is_signed_and_answered(sandbox: Sandbox) -> None:
    sent = httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": KEMI, "channel": ANALYTICS, "text": "/ops help"},
        timeout=60,
    )
    assert sent.json() == {"ok": True, "error": None}
    shown = wait_until(
        lambda: [
            m
            for m in state(sandbox, KEMI)["messages"][ANALYTICS]
            if m["from_app"] and m["ephemeral"] and "/ops" in json.dumps(m["blocks"])
        ],
        "the help answer",
    )
    assert shown[-1]["blocks"][0]["type"] == "header"
    # Only Kemi sees an ephemeral answer.
    others = state(sandbox, "U0AN0JONAS")["messages"][ANALYTICS]
    assert not [m for m in others if m["ts"] == shown[-1]["ts"]]


async def test_requests_signed_with_another_secret_are_refused_by_the_app(
    sandbox: Sandbox,
) -> None:
    stranger = SandboxClient(sandbox.slack, app_url=sandbox.url, signing_secret="not-the-secret")
    outcome = await stranger.open_home(user=KEMI)
    assert outcome.error == "Switchboard answered the event with HTTP 401."


def test_a_mention_is_stored_as_slack_would_and_answered_in_its_thread(sandbox: Sandbox) -> None:
    text = "@switchboard who owns fraud? <b>&"
    httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": KEMI, "channel": ANALYTICS, "text": text},
        timeout=60,
    ).raise_for_status()
    mine = [m for m in state(sandbox, KEMI)["messages"][ANALYTICS] if m["user"] == KEMI][-1]
    assert mine["text"] == f"<@{wire.BOT_USER_ID}> who owns fraud? &lt;b&gt;&amp;"
    reply = wait_until(
        lambda: [
            m
            for m in state(sandbox, KEMI)["messages"][ANALYTICS]
            if m["thread_ts"] == mine["ts"] and m["from_app"]
        ],
        "the answer in the thread",
    )
    assert "fraud" in json.dumps(reply[0]["blocks"]) + reply[0]["text"]


def test_bad_page_input_gets_a_clear_answer(sandbox: Sandbox) -> None:
    unknown = httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": "U0NOBODY", "channel": ANALYTICS, "text": "hi"},
        timeout=30,
    )
    assert unknown.status_code == 400 and "unknown user" in unknown.json()["detail"]
    empty = httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": KEMI, "channel": ANALYTICS, "text": "   "},
        timeout=30,
    )
    assert empty.json()["error"].startswith("Type a message")
    gone = httpx.post(
        f"{sandbox.url}/sandbox/click",
        json={
            "user": KEMI,
            "channel": ANALYTICS,
            "message_ts": "1.000001",
            "action": {"block_index": 0, "action_id": "x"},
        },
        timeout=30,
    )
    assert gone.json()["error"] == "That message is gone."
    not_a_command = httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": KEMI, "channel": ANALYTICS, "text": "/deploy prod"},
        timeout=30,
    )
    assert not_a_command.json()["ok"]
    said = [m["text"] for m in state(sandbox, KEMI)["messages"][ANALYTICS] if m["ephemeral"]]
    assert "`/deploy` is not a valid command. Try `/ops help`." in said
    hours = httpx.post(
        f"{sandbox.url}/sandbox/controls/advance-clock",
        json={"user": KEMI, "values": {"hours": "soon"}},
        timeout=30,
    )
    assert (
        hours.status_code == 400 and hours.json()["error"] == "Hours must be a number, not 'soon'."
    )


def test_advancing_the_clock_sends_the_reminders_that_fell_due(sandbox: Sandbox) -> None:
    eva, approvers = "U0ML0EVA", ["U0ML0FARID", "U0ML0GRETA", "U0ML0HIRO", "U0ML0INES"]
    httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": eva, "channel": "C0123MLPLAT", "text": "/ops promote fraud 3 to staging"},
        timeout=60,
    ).raise_for_status()

    def reminders() -> list[str]:
        return [
            m["text"]
            for user in approvers
            for m in sandbox.slack.messages(user)
            if m["text"].startswith(":bell: Reminder") and "*fraud*" in m["text"]
        ]

    assert reminders() == []
    ran = httpx.post(
        f"{sandbox.url}/sandbox/controls/advance-clock",
        json={"user": eva, "values": {"hours": "13"}},  # the promote policy reminds every 12 h
        timeout=60,
    )
    assert ran.json()["ok"] and "1 reminder(s)" in ran.json()["said"], ran.json()
    wait_until(lambda: len(reminders()) == len(approvers), "a reminder in each approver's DM")


def test_uploaded_files_are_served_as_images_only_when_they_are_png(sandbox: Sandbox) -> None:
    api = sandbox.slack
    upload = api.dispatch(
        "files.getUploadURLExternal",
        {"filename": "x.html", "length": "20"},
        {"authorization": "Bearer xoxb-1"},
    )
    api.store_upload(upload["file_id"], b"<script>alert(1)</script>")
    served = httpx.get(f"{sandbox.url}/sandbox/files/{upload['file_id']}", timeout=30)
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"] == "attachment"
    assert httpx.get(f"{sandbox.url}/sandbox/files/F404", timeout=30).status_code == 404


def test_serve_does_not_mount_the_sandbox(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "slack_bot_token": "xoxb-x",
            "slack_signing_secret": "s",
            "database_url": f"sqlite:///{tmp_path / 'x.db'}",
            "switchboard_config": Path("ops.example.yml"),
        }
    )
    paths = [getattr(r, "path", "") for r in create_app(settings, run_scheduler=False).routes]
    assert "/slack/events" in paths
    assert not [p for p in paths if p.startswith("/sandbox")]


@pytest.mark.parametrize(
    ("token", "url", "refused"),
    [
        ("xoxb-real", "https://slack.com/api/", True),
        ("xoxb-real", "https://slack-gov.com/api/", False),  # GovSlack is not slack.com
        ("xoxb-real", "https://acme.enterprise.slack.com/api/", True),
        ("xoxb-real", "http://127.0.0.1:9/api/", False),
        (None, "https://slack.com/api/", False),
    ],
)
def test_the_demo_refuses_to_start_beside_a_real_slack_token(
    token: str | None, url: str, refused: bool
) -> None:
    env = Settings.model_validate({"slack_bot_token": token, "slack_api_url": url})
    if refused:
        with pytest.raises(RealSlackNearby, match="--beside-real-slack"):
            refuse_beside_real_slack(env)
    else:
        refuse_beside_real_slack(env)


def test_an_empty_slack_token_is_refused_before_the_demo_looks_at_it() -> None:
    # Set but empty is a start-up error of its own (it used to count as "no token"), so the
    # demo never gets to weigh it as real or not.
    with pytest.raises(ValueError, match=r"slack_bot_token\n.*set but empty"):
        Settings.model_validate({"slack_bot_token": "", "slack_api_url": "https://slack.com/api/"})


def test_switchboard_demo_says_why_it_will_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real-looking")
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    result = CliRunner().invoke(cli, ["demo", "--port", "1"])
    assert result.exit_code == 2
    assert "looks like a real deployment" in result.output


def test_the_roster_has_everyone_ops_yml_names_and_an_outsider() -> None:
    config = load_ops_config(Path("ops.example.yml"))
    people = {p.id: p for p in roster.people(config)}
    named = {u for t in config.teams.values() for u in t.people} | set(config.workspace.admins)
    assert named < set(people)
    assert people[roster.OUTSIDER].role == "no team"
    assert people["U0ML0EVA"].name == "Eva" and people["U0ML0EVA"].role == "ML Platform (lead)"
    assert people["U0ADMIN01"].role == "workspace admin"
    channels = {c["id"]: c["name"] for c in roster.channels(config)}
    assert channels["C0123MLPLAT"] == "ml-platform" and channels["C0123OPSWEEK"] == "weekly-ops"


def test_the_roster_has_the_user_groups_ops_yml_names() -> None:
    config = load_ops_config(Path("ops.example.yml"))
    groups = roster.usergroups(config)
    assert groups["S0DATAENG"] == config.teams["data-eng"].people
    assert groups["S0DEONCALL"] == ["U0DE0ANNA"]  # data-eng's on-call is a group
    assert set(groups) == {"S0DATAENG", "S0MLPLAT", "S0DEONCALL"}


def test_a_dm_to_the_bot_is_answered_in_the_dm(sandbox: Sandbox) -> None:
    dm = wire.dm_channel_id(KEMI)
    httpx.post(
        f"{sandbox.url}/sandbox/send",
        json={"user": KEMI, "channel": dm, "text": "who owns ltv?"},
        timeout=60,
    ).raise_for_status()
    answer = wait_until(
        lambda: [m for m in state(sandbox, KEMI)["messages"][dm] if m["from_app"]],
        "the answer in the DM",
    )
    assert "ltv" in json.dumps(answer[-1]["blocks"]) + answer[-1]["text"]
    assert not [m for m in state(sandbox, "U0AN0JONAS")["messages"].get(dm, [])]
