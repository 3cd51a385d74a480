"""An upstream incident that opens after the incidents it probably caused (the detectors run
independently): the demo company's cascade fired downstream first still ends up explained."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlmodel import Session, col, select

from bot.incidents.alerts import AlertStatus
from bot.incidents.demo import demo_cascade
from bot.incidents.service import IncidentService
from bot.store.models import Incident, IncidentEvent
from tests.incidents.core.conftest import deliver, slack_calls
from tests.incidents.core.test_service import CHURN_DRIFT, CHURN_SPEND, alert

FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved


def by_key(service: IncidentService) -> dict[str, Incident]:
    with Session(service.engine) as session:
        rows = session.exec(select(Incident).order_by(col(Incident.id))).all()
        return {row.fingerprint: row for row in rows}


def linked_events(service: IncidentService, incident_id: int | None) -> list[IncidentEvent]:
    with Session(service.engine) as session:
        query = select(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "linked"
        )
        return list(session.exec(query).all())


async def test_a_late_upstream_links_the_incidents_that_opened_before_it(
    service, clock, sender, slack, demo_deps
):
    cascade = await demo_cascade(demo_deps)
    assert [e.dedup_key for e in cascade] == [
        "pipeline:nightly_orders:failed",
        "model:churn:drift",
        "spend:model:churn:anomaly",
    ]
    pipeline, drift, spend = cascade
    for event in (spend, drift, pipeline):  # downstream first, as independent detectors may
        opened = await service.ingest([event])
        assert len(opened.opened) == 1
        await deliver(sender)
        clock.advance(60)
    found = by_key(service)
    root = found[pipeline.dedup_key]
    downstream = [found[drift.dedup_key], found[spend.dedup_key]]
    assert root.caused_by_id is None
    assert [i.caused_by_id for i in downstream] == [root.id, root.id]  # straight to the cause
    assert all(linked_events(service, i.id) for i in (root, *downstream))

    posts = slack_calls(slack)["chat.postMessage"]
    roots = {
        found[k].id: c
        for k, c in zip(
            (spend.dedup_key, drift.dedup_key, pipeline.dedup_key),
            [c for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c.params],
            strict=True,
        )
    }
    assert len([p for p in posts if "thread_ts" not in p]) == 3  # their roots stay where they are
    pipeline_root = json.dumps(roots[root.id].params["blocks"])
    for incident in downstream:  # the upstream's root (posted last) lists them
        assert f"#{incident.id} {incident.title}" in pipeline_root

    assert "chat.update" not in slack_calls(slack)
    clock.advance(service.coalesce)
    assert service.flush_due() == 2  # the two downstream roots, coalesced into one edit each
    await deliver(sender)
    updates = slack_calls(slack)["chat.update"]
    assert len(updates) == 2
    edited = {(u["channel"], u["ts"]): json.dumps(u["blocks"]) for u in updates}
    for incident in downstream:
        posted = roots[incident.id]
        assert posted.response is not None
        said = edited[(posted.params["channel"], posted.response["ts"])]
        assert "Probably caused by *nightly_orders failing" in said
        assert f"#{root.id}, open" in said

    calls = len(slack.calls)
    timelines = {i.id: len(linked_events(service, i.id)) for i in (root, *downstream)}
    again = [await service.ingest([e]) for e in (spend, drift, pipeline)]
    assert [(r.opened, r.reopened, r.updated) for r in again] == [([], [], [])] * 3
    clock.advance(service.coalesce)
    assert service.flush_due() == 0
    await deliver(sender)
    assert len(slack.calls) == calls  # firing everything again changes nothing
    assert [i.caused_by_id for i in by_key(service).values()] == [
        i.caused_by_id for i in found.values()
    ]
    assert {i: len(linked_events(service, i)) for i in timelines} == timelines  # linked once


async def test_a_reopened_upstream_links_what_opened_while_it_was_resolved(
    service, clock, sender, slack
):
    failed = alert()
    await service.ingest([failed])
    await service.ingest([alert(status=RESOLVED)])
    clock.advance(600)
    drift = CHURN_DRIFT
    await service.ingest([drift])
    await deliver(sender)
    assert by_key(service)[drift.dedup_key].caused_by_id is None  # nothing upstream is open
    clock.advance(600)
    again = await service.ingest([alert()])
    found = by_key(service)
    upstream, linked = found[failed.dedup_key], found[drift.dedup_key]
    assert again.reopened == [upstream.id] and linked.caused_by_id == upstream.id
    clock.advance(service.coalesce)
    assert service.flush_due() == 2
    await deliver(sender)
    edited = {u["channel"]: json.dumps(u["blocks"]) for u in slack_calls(slack)["chat.update"]}
    assert "Probably caused by *nightly_orders failing" in edited[linked.channel]
    assert f"#{linked.id} churn drifts" in edited[upstream.channel]
    replies = [p for p in slack_calls(slack)["chat.postMessage"] if p.get("thread_ts")]
    # the reopened upstream's thread says which incident it probably caused; the linked one's
    # news stays in its own channel's thread
    assert any(
        p["channel"] == upstream.channel and f"#{linked.id} churn drifts" in p["text"]
        for p in replies
    )
    assert all(p["channel"] == upstream.channel for p in replies)


async def test_an_incident_already_in_a_downstream_thread_follows_it_and_keeps_that_thread(
    service, clock, sender, slack
):
    drift = CHURN_DRIFT
    spend = CHURN_SPEND
    await service.ingest([drift])
    await service.ingest([spend])  # joins churn's thread, as before
    await deliver(sender)
    [churn_root, spend_post] = slack.calls_to("chat.postMessage")
    assert spend_post.params["thread_ts"] == churn_root.response["ts"]
    clock.advance(60)
    await service.ingest([alert()])  # the pipeline's failure arrives last
    found = by_key(service)
    pipeline = found["pipeline:nightly_orders:failed"]
    assert [found[k].caused_by_id for k in ("model:churn:drift", "spend:churn")] == [
        pipeline.id,
        pipeline.id,
    ]
    clock.advance(service.coalesce)
    await service.ingest([replace(spend, status=RESOLVED)])
    clock.advance(service.coalesce)
    service.flush_due()
    await deliver(sender)
    edited = {u["ts"]: json.dumps(u["blocks"]) for u in slack_calls(slack)["chat.update"]}
    assert "Probably caused by *nightly_orders failing" in edited[spend_post.response["ts"]]
    [resolved] = [
        c.params for c in slack.calls_to("chat.postMessage") if "Resolved" in c.params["text"]
    ]
    # its news stays in the thread its message is in, not a reply's ts nor another channel's
    assert (resolved["channel"], resolved["thread_ts"]) == (
        churn_root.params["channel"],
        churn_root.response["ts"],
    )
