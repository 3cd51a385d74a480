"""The incident service on SQLite and PostgreSQL: dedupe, reopen, routing, cascade, coalescing and
the buttons' rules, checked in the store and in the calls the fake Slack received."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from bot.incidents.alerts import AlertEvent, AlertStatus, Severity, Subject, SubjectKind
from bot.incidents.service import IncidentService
from bot.store.models import Incident, IncidentEvent, OutboxMessage
from tests.fakeslack import FakeSlack, validate_blocks
from tests.incidents.core.conftest import (
    ADMIN,
    ANNA,
    DATA_CHANNEL,
    FARID,
    JONAS,
    deliver,
    slack_calls,
)

FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved


def alert(
    key: str = "pipeline:nightly_orders:failed", status: AlertStatus = FIRING, **kw
) -> AlertEvent:
    kw.setdefault("title", "nightly_orders failed")
    kw.setdefault("source", "detector:pipeline_failure")
    kw.setdefault("subject", Subject(SubjectKind.pipeline, "nightly_orders"))
    return AlertEvent(dedup_key=key, status=status, **kw)


# The demo's cascade below nightly_orders: churn drifts (the model it feeds), then churn's
# serving spend jumps (the service serving that model).
CHURN_DRIFT = AlertEvent(
    source="detector:model_drift",
    dedup_key="model:churn:drift",
    status=FIRING,
    title="churn drifts",
    subject=Subject(SubjectKind.model, "churn"),
)
CHURN_SPEND = AlertEvent(
    source="detector:spend_anomaly",
    dedup_key="spend:churn",
    status=FIRING,
    title="churn serving spend +80% day over day",
    subject=Subject(SubjectKind.service, "churn"),
)


def incidents(service: IncidentService) -> list[Incident]:
    with Session(service.engine) as session:
        return list(session.exec(select(Incident).order_by(col(Incident.id))).all())


def outbox_rows(service: IncidentService) -> list[OutboxMessage]:
    with Session(service.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


async def test_first_alert_opens_and_queues_one_root_in_the_owning_channel(service):
    result = await service.ingest([alert(severity=Severity.critical)])
    [incident] = incidents(service)
    assert result.opened == [incident.id]
    assert (incident.team, incident.channel, incident.status) == ("data-eng", DATA_CHANNEL, "open")
    [root] = outbox_rows(service)
    assert (root.method, root.channel, incident.root_outbox_id) == (
        "chat.postMessage",
        DATA_CHANNEL,
        root.id,
    )
    payload = json.loads(root.payload)
    assert payload["text"].startswith("<!subteam^S0DEONCALL>")  # on-call mentioned in the post
    assert validate_blocks(payload["blocks"]) == []
    actions = [
        e["action_id"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == ["incident_ack", "incident_resolve", "incident_silence"]


async def test_repeated_triggers_join_the_open_incident_and_duplicates_change_nothing(
    service, clock
):
    started = datetime.fromtimestamp(clock.now, UTC)
    await service.ingest([alert(starts_at=started, instance="a")])
    clock.advance(5)
    again = await service.ingest([alert(starts_at=started, instance="a")])  # HA duplicate
    [incident] = incidents(service)
    assert (incident.alert_count, incident.dirty, again.updated) == (1, False, [])
    await service.ingest([alert(starts_at=started, instance="b")])
    [incident] = incidents(service)
    assert (incident.alert_count, incident.instance_count, incident.dirty) == (2, 2, True)
    assert len(outbox_rows(service)) == 1  # nothing queued until the coalescing interval


async def test_only_resolved_resolves_and_an_ack_after_resolve_never_reopens(service, clock):
    await service.ingest([alert(instance="a"), alert(instance="b")])
    await service.ingest([alert(instance="a", status=RESOLVED)])
    [incident] = incidents(service)
    assert incident.status == "open"  # b is still firing; it was not in this payload
    await service.ingest([alert(instance="b", status=RESOLVED)])
    [incident] = incidents(service)
    assert (incident.status, incident.open_key) == ("resolved", None)
    late_ack = service.act(incident.id, ANNA, "ack")
    assert not late_ack.ok and "already resolved" in late_ack.message
    assert incidents(service)[0].status == "resolved"


async def test_refire_within_the_window_reopens_in_the_same_thread_and_later_opens_anew(
    service, clock
):
    await service.ingest([alert()])
    await service.ingest([alert(status=RESOLVED)])
    clock.advance(1800)  # within the default 1 h
    result = await service.ingest([alert()])
    [incident] = incidents(service)
    assert result.reopened == [incident.id] and incident.status == "open"
    assert incident.reopened == 1
    await service.ingest([alert(status=RESOLVED)])
    clock.advance(3601)
    later = await service.ingest([alert()])
    assert len(incidents(service)) == 2 and later.opened == [incidents(service)[1].id]


async def test_a_late_copy_of_a_resolved_alert_does_not_reopen(service, clock):
    started = datetime.fromtimestamp(clock.now, UTC)
    await service.ingest([alert(starts_at=started)])
    await service.ingest([alert(status=RESOLVED, starts_at=started)])
    result = await service.ingest([alert(starts_at=started)])
    assert result.reopened == [] and incidents(service)[0].status == "resolved"


@pytest.mark.parametrize(
    ("labels", "subject", "team", "reason"),
    [
        ({"alertname": "ModelLatencyHigh"}, None, "ml-platform", "incidents.routes[1]"),
        ({"team": "analytics"}, None, "analytics", "incidents.routes[3]"),
        ({"model": "ltv"}, None, "analytics", "model ltv is owned by analytics"),
        (
            {},
            Subject(SubjectKind.pipeline, "churn_features"),
            "ml-platform",
            "pipeline churn_features is owned by ml-platform",
        ),
    ],
)
async def test_routing_by_route_label_and_ownership(service, labels, subject, team, reason):
    await service.ingest(
        [
            AlertEvent(
                source="alertmanager",
                dedup_key="k",
                status=FIRING,
                title="t",
                labels=labels,
                subject=subject,
            )
        ]
    )
    [incident] = incidents(service)
    assert (incident.team, incident.route_reason) == (team, reason)


async def test_unroutable_goes_to_the_default_team_and_says_why(service):
    await service.ingest(
        [AlertEvent(source="generic:sandbox", dedup_key="k", status=FIRING, title="t")]
    )
    [incident] = incidents(service)
    assert incident.team == "data-eng" and incident.route_reason.startswith("unroutable")
    [root] = outbox_rows(service)
    assert "unroutable" in root.payload


async def test_cascade_joins_the_upstream_thread(service, clock, sender, slack: FakeSlack):
    await service.ingest([alert(severity=Severity.error)])
    await deliver(sender)
    clock.advance(7200)
    drift = CHURN_DRIFT
    spend = CHURN_SPEND
    await service.ingest([drift])
    await service.ingest([spend])
    root, first, second = incidents(service)
    assert first.caused_by_id == root.id and second.caused_by_id == root.id
    await deliver(sender)
    posts = slack_calls(slack)["chat.postMessage"]
    top_level = [p for p in posts if "thread_ts" not in p]
    assert len(top_level) == 1  # one thread, not three
    replies = [p for p in posts if p.get("thread_ts")]
    assert len(replies) == 2 and all(p["channel"] == DATA_CHANNEL for p in replies)
    assert "Probably caused by *nightly_orders failing" in json.dumps(replies[0]["blocks"])
    assert "open 2h 00m" in json.dumps(replies[0]["blocks"])
    # ml-platform's on-call is told in the upstream thread
    assert replies[0]["text"].startswith(f"<@{FARID}>")


async def test_a_burst_is_one_update_and_one_reply_per_interval(service, clock, sender, slack):
    await service.ingest([alert(instance="i0")])
    await deliver(sender)
    for n in range(1, 40):
        clock.advance(0.5)
        await service.ingest([alert(instance=f"i{n}")])
        service.flush_due()
    await deliver(sender)
    assert [len(slack_calls(slack).get(m, [])) for m in ("chat.postMessage", "chat.update")] == [
        1,
        0,
    ]
    clock.advance(30)
    assert service.flush_due() == 1
    await deliver(sender)
    calls = slack_calls(slack)
    assert len(calls["chat.update"]) == 1 and len(calls["chat.postMessage"]) == 2
    reply = calls["chat.postMessage"][1]
    [root_call] = [c for c in slack.calls if c.method == "chat.postMessage" and c.ok][:1]
    assert reply["thread_ts"] == root_call.response["ts"]
    said = json.dumps(reply["blocks"])
    assert said.count("new instance") == 39 and "i39" in said
    assert "40 alerts" in json.dumps(calls["chat.update"][0]["blocks"])
    assert service.flush_due() == 0  # nothing new: nothing more


async def test_acknowledged_is_not_reannounced_and_resolution_pings_nobody(
    service, clock, sender, slack
):
    [incident_id] = (await service.ingest([alert(instance="a")])).opened
    await deliver(sender)
    assert service.act(incident_id, ANNA, "ack").ok
    await deliver(sender)
    clock.advance(60)
    await service.ingest([alert(instance="b")])
    clock.advance(60)
    service.flush_due()
    await deliver(sender)
    replies = [p for p in slack_calls(slack)["chat.postMessage"] if p.get("thread_ts")]
    assert [("acknowledged" in p["text"]) for p in replies] == [True]  # no reply for b
    assert service.act(incident_id, ANNA, "resolve", note="restarted the DAG").ok
    await deliver(sender)
    replies = [p for p in slack_calls(slack)["chat.postMessage"] if p.get("thread_ts")]
    last = replies[-1]
    assert "Resolved" in last["text"] and "restarted the DAG" in last["text"]
    assert "<@" not in json.dumps(last) and "<!subteam" not in json.dumps(last)
    update = slack_calls(slack)["chat.update"][-1]
    assert "resolved" in update["text"] and not any(
        b["type"] == "actions" for b in update["blocks"]
    )


async def test_only_the_owning_team_oncall_and_admins_may_act(service):
    [incident_id] = (await service.ingest([alert()])).opened
    refused = service.act(incident_id, JONAS, "ack")
    assert not refused.ok and "Data Engineering" in refused.message
    assert service.act(incident_id, ADMIN, "silence", until=service.clock() + 3600).ok
    assert service.act(incident_id, ANNA, "ack").ok
    with Session(service.engine) as session:
        kinds = [
            (e.kind, e.actor)
            for e in session.exec(select(IncidentEvent).order_by(col(IncidentEvent.id))).all()
        ]
    assert (
        ("ack_refused", JONAS) in kinds
        and ("silenced", ADMIN) in kinds
        and ("acknowledged", ANNA) in kinds
    )


async def test_silenced_incident_gets_root_updates_but_no_replies(service, clock, sender, slack):
    [incident_id] = (await service.ingest([alert(instance="a")])).opened
    service.act(incident_id, ANNA, "silence", until=clock.now + 3600)
    await deliver(sender)
    before = len(slack_calls(slack)["chat.postMessage"])
    clock.advance(31)
    await service.ingest([alert(instance="b")])
    clock.advance(31)
    assert service.flush_due() == 1
    await deliver(sender)
    assert len(slack_calls(slack)["chat.postMessage"]) == before
    assert ":mute: silenced until" in json.dumps(slack_calls(slack)["chat.update"][-1]["blocks"])
