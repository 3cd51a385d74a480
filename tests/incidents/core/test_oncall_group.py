"""An on-call given as a Slack user group (ops.yml `oncall: S…`): its members may press the
incident buttons, as Slack's usergroups.users.list says (kept a minute), and when Slack does not
say, the person who clicked is told why nothing happened."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.alerts import AlertEvent, AlertStatus
from bot.surfaces.usergroups import UsergroupLookupError, UsergroupMembers
from tests.e2e.conftest import RunningApp, wait_until
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as P
from tests.incidents.core.conftest import ANNA, DATA_CHANNEL, FARID, JONAS, EpochClock

TOKEN = "am-token-oncall-test"
ONCALL_GROUP = "S0DEONCALL"  # data-eng's on-call in ops.example.yml
ON_CALL = "U0SRE0ZOE"  # in the on-call group, not in data-eng
OUTSIDER = "U0OUTSIDER"


@pytest.fixture
def app(demo_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningApp]:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    demo_app.slack.users.update({u: P.user(u, u.lower(), u) for u in (ON_CALL, OUTSIDER, ANNA)})
    yield demo_app


def fire(url: str) -> int:
    """A data-eng alert through Alertmanager's webhook; the incident's id."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "WarehouseDiskFull", "team": "data-eng", "severity": "critical"},
        "annotations": {"summary": "dw-prod at 100% of its storage"},
        "startsAt": "2026-11-23T11:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "d15cf011",
    }
    payload = {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "alerts": [alert]}
    answer = httpx.post(
        f"{url}/webhooks/alertmanager",
        json=payload,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    [incident_id] = answer.json()["opened"]
    return int(incident_id)


def root_of(slack: FakeSlack) -> dict:
    """The root as the buttons' payload carries it, once posted."""
    found: list[dict] = []

    def posted() -> bool:
        found[:] = [
            {"type": "message", "ts": c.response["ts"], "blocks": c.params["blocks"]}
            for c in slack.calls_to("chat.postMessage")
            if c.params["channel"] == DATA_CHANNEL
            and "dw-prod at 100%" in c.params.get("text", "")
            and c.response is not None
        ]
        return bool(found)

    assert wait_until(posted)
    return found[0]


def told(slack: FakeSlack, user: str) -> list[str]:
    return [e.get("text", "") for e in slack.ephemerals() if e.get("to_user") == user]


def acknowledged_by(slack: FakeSlack, user: str) -> bool:
    return any(
        f"acknowledged by <@{user}>" in json.dumps(c.params) for c in slack.calls_to("chat.update")
    )


async def test_a_member_of_the_oncall_group_may_act(app: RunningApp):
    slack = app.slack
    slack.usergroups[ONCALL_GROUP] = [ON_CALL]
    incident_id = fire(app.url)
    root = root_of(slack)

    refused = await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=OUTSIDER, channel_id=DATA_CHANNEL, message=root
    )
    assert refused.status_code == 200
    assert wait_until(lambda: told(slack, OUTSIDER))
    assert "Only the Data Engineering team" in told(slack, OUTSIDER)[0]

    await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=ON_CALL, channel_id=DATA_CHANNEL, message=root
    )
    assert wait_until(lambda: acknowledged_by(slack, ON_CALL))
    assert told(slack, ON_CALL) == []
    lookups = slack.calls_to("usergroups.users.list")
    assert lookups and {c.params["usergroup"] for c in lookups} == {ONCALL_GROUP}

    await app.signer.block_actions(
        "incident_resolve", str(incident_id), user_id=ON_CALL, channel_id=DATA_CHANNEL, message=root
    )
    assert wait_until(lambda: len(slack.calls_to("views.open")) == 1)
    done = await app.signer.view_submission(
        "incident_resolve_note",
        {"note": {"note": {"type": "plain_text_input", "value": "freed 2 TB"}}},
        private_metadata=str(incident_id),
        user_id=ON_CALL,
    )
    assert done.status_code == 200 and not done.content  # accepted: no field errors
    assert wait_until(
        lambda: any(
            "freed 2 TB" in c.params.get("text", "") and c.params.get("thread_ts") == root["ts"]
            for c in slack.calls_to("chat.postMessage")
        )
    )


async def test_when_slack_cannot_say_who_is_on_call_the_presser_is_told(app: RunningApp):
    slack = app.slack  # no such group in this workspace: usergroups.users.list fails
    incident_id = fire(app.url)
    root = root_of(slack)
    pressed = await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=ON_CALL, channel_id=DATA_CHANNEL, message=root
    )
    assert pressed.status_code == 200
    assert wait_until(lambda: told(slack, ON_CALL))
    [said] = told(slack, ON_CALL)
    assert f"Nothing was done to incident #{incident_id}" in said
    assert ONCALL_GROUP in said and "no_such_subteam" in said and "ops.yml" in said
    [lookup] = slack.calls_to("usergroups.users.list", include_failed=True)
    assert lookup.response == {"ok": False, "error": "no_such_subteam"}

    # the modal says so too, in its field, rather than failing
    refused = await app.signer.view_submission(
        "incident_resolve_note",
        {"note": {"note": {"type": "plain_text_input", "value": "x"}}},
        private_metadata=str(incident_id),
        user_id=ON_CALL,
    )
    assert refused.status_code == 200
    assert refused.json()["response_action"] == "errors"
    assert "no_such_subteam" in refused.json()["errors"]["note"]

    # a team member needs no lookup, so the missing group stands in nobody else's way
    await app.signer.block_actions(
        "incident_ack", str(incident_id), user_id=ANNA, channel_id=DATA_CHANNEL, message=root
    )
    assert wait_until(lambda: acknowledged_by(slack, ANNA))
    assert len(slack.calls_to("usergroups.users.list", include_failed=True)) == 2
    assert not acknowledged_by(slack, ON_CALL)


async def test_group_members_are_kept_a_minute_and_failures_not_at_all(slack: FakeSlack):
    client = AsyncWebClient(token="xoxb-1", base_url=slack.api_url)
    clock = EpochClock()
    groups = UsergroupMembers(ttl=60.0, clock=clock)
    slack.usergroups[ONCALL_GROUP] = [ON_CALL]
    assert await groups.members(client, ONCALL_GROUP) == {ON_CALL}
    slack.usergroups[ONCALL_GROUP] = [JONAS]  # the rotation hands over
    clock.advance(59)
    assert await groups.members(client, ONCALL_GROUP) == {ON_CALL}  # kept
    clock.advance(1)
    assert await groups.members(client, ONCALL_GROUP) == {JONAS}
    assert len(slack.calls_to("usergroups.users.list")) == 2

    slack.fail_next("usergroups.users.list", error="missing_scope")
    clock.advance(60)
    with pytest.raises(UsergroupLookupError) as failed:
        await groups.members(client, ONCALL_GROUP)
    assert (failed.value.group, failed.value.reason) == (ONCALL_GROUP, "missing_scope")
    assert await groups.members(client, ONCALL_GROUP) == {JONAS}  # asked again at once


async def test_group_members_count_only_for_a_team_whose_oncall_is_that_group(service):
    [data_eng] = (await service.ingest([event("team:data-eng", "data-eng")])).opened
    [ml] = (await service.ingest([event("team:ml", "ml-platform")])).opened
    data_eng_incident, ml_incident = service.get(data_eng), service.get(ml)
    assert service.oncall_group(data_eng_incident) == ONCALL_GROUP
    assert service.oncall_group(ml_incident) is None  # ml-platform's on-call is a person
    assert not service.may_act(data_eng_incident, ON_CALL)
    assert service.may_act(data_eng_incident, ON_CALL, oncall_members={ON_CALL})
    assert not service.may_act(ml_incident, ON_CALL, oncall_members={ON_CALL})
    assert service.may_act(ml_incident, FARID)
    assert not service.act(ml, ON_CALL, "ack", oncall_members={ON_CALL}).ok
    assert service.act(data_eng, ON_CALL, "ack", oncall_members={ON_CALL}).ok


def event(key: str, team: str) -> AlertEvent:
    return AlertEvent(
        source="generic:ci",
        dedup_key=key,
        status=AlertStatus.firing,
        title=f"{team} CI red",
        labels={"team": team},
    )
