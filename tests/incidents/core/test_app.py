"""The whole app over HTTP beside the fake Slack: an Alertmanager delivery becomes a root in the
owning channel, and the root's buttons act (or explain, to someone who may not)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import RunningApp, wait_until
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as P

TOKEN = "am-token-app-test"
ML_CHANNEL, FARID, JONAS = "C0123MLPLAT", "U0ML0FARID", "U0AN0JONAS"


@pytest.fixture
def app(demo_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningApp]:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    demo_app.slack.users.update({u: P.user(u, u.lower(), u) for u in (FARID, JONAS)})
    yield demo_app


def fire(url: str, status: str = "firing") -> httpx.Response:
    alert = {
        "status": status,
        "labels": {"alertname": "ModelLatencyHigh", "model": "churn", "severity": "critical"},
        "annotations": {"summary": "churn p95 latency 900 ms"},
        "startsAt": "2026-11-23T11:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "f00d",
    }
    payload = {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "alerts": [alert]}
    return httpx.post(
        f"{url}/webhooks/alertmanager",
        json=payload,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def roots(slack: FakeSlack) -> list[dict]:
    return [
        c.params
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == ML_CHANNEL and not c.params.get("thread_ts")
    ]


async def test_alert_to_root_and_buttons(app: RunningApp):
    slack = app.slack
    answer = fire(app.url)
    assert answer.status_code == 200, answer.text
    assert wait_until(lambda: len(roots(slack)) == 1)
    [root_call] = [
        c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == ML_CHANNEL
    ]
    ts = root_call.response["ts"]
    message = {
        "type": "message",
        "ts": ts,
        "text": root_call.params["text"],
        "blocks": root_call.params["blocks"],
    }
    [incident_id] = answer.json()["opened"]

    refused = await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=JONAS, channel_id=ML_CHANNEL, message=message
    )
    assert refused.status_code == 200
    assert wait_until(
        lambda: any(
            "ML Platform" in c.params.get("text", "") for c in slack.calls_to("chat.postEphemeral")
        )
    )

    await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=FARID, channel_id=ML_CHANNEL, message=message
    )
    assert wait_until(
        lambda: any(
            f"acknowledged by <@{FARID}>" in json.dumps(c.params)
            for c in slack.calls_to("chat.update")
        )
    )
    await app.signer.block_actions(
        "incident_resolve", str(incident_id), user_id=FARID, channel_id=ML_CHANNEL, message=message
    )
    assert wait_until(lambda: len(slack.calls_to("views.open")) == 1)
    modal = slack.calls_to("views.open")[0].params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert modal["callback_id"] == "incident_resolve_note" and modal["private_metadata"] == str(
        incident_id
    )
    done = await app.signer.view_submission(
        "incident_resolve_note",
        {"note": {"note": {"type": "plain_text_input", "value": "rolled back v14"}}},
        private_metadata=str(incident_id),
        user_id=FARID,
    )
    assert done.status_code == 200
    assert wait_until(
        lambda: any(
            "rolled back v14" in c.params.get("text", "") and c.params.get("thread_ts") == ts
            for c in slack.calls_to("chat.postMessage")
        )
    )
