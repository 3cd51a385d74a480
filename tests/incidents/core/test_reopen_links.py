"""A reopened incident's probable cause is decided again: an upstream that resolved meanwhile no
longer explains it, and an upstream open now does."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.incidents.alerts import AlertStatus, Subject, SubjectKind
from bot.incidents.service import IncidentService
from tests.fakeslack import FakeSlack
from tests.incidents.core.conftest import EpochClock, deliver
from tests.incidents.core.test_late_upstream import by_key
from tests.incidents.core.test_service import CHURN_DRIFT, alert

FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved
FEATURES = alert(  # another pipeline feeding churn (ops.example.yml lineage)
    "pipeline:churn_features:failed",
    title="churn_features failed",
    subject=Subject(SubjectKind.pipeline, "churn_features"),
)


async def settle(service: IncidentService, clock: EpochClock, sender) -> None:  # type: ignore[no-untyped-def]
    """Let the coalescing interval pass and send what it queued."""
    clock.advance(service.coalesce)
    service.flush_due()
    await deliver(sender)


async def drift_in_the_pipeline_thread_then_both_resolve(
    service: IncidentService, clock: EpochClock, sender, slack: FakeSlack
):  # type: ignore[no-untyped-def]
    await service.ingest([alert()])
    await service.ingest([CHURN_DRIFT])  # downstream of nightly_orders: a reply in its thread
    await deliver(sender)
    [pipeline_root, drift_post] = slack.calls_to("chat.postMessage")
    found = by_key(service)
    assert found[CHURN_DRIFT.dedup_key].caused_by_id == found[alert().dedup_key].id
    clock.advance(600)
    await service.ingest([replace(CHURN_DRIFT, status=RESOLVED)])
    await service.ingest([alert(status=RESOLVED)])
    await settle(service, clock, sender)
    return pipeline_root, drift_post


async def test_a_reopened_incident_no_longer_claims_its_resolved_upstream(
    service, clock, sender, slack
):
    pipeline_root, drift_post = await drift_in_the_pipeline_thread_then_both_resolve(
        service, clock, sender, slack
    )
    found = by_key(service)
    upstream, drift = found[alert().dedup_key], found[CHURN_DRIFT.dedup_key]
    clock.advance(600)
    assert (await service.ingest([CHURN_DRIFT])).reopened == [drift.id]
    assert by_key(service)[CHURN_DRIFT.dedup_key].caused_by_id is None  # nothing upstream is open
    seen = len(slack.calls)
    await settle(service, clock, sender)
    new = [c for c in slack.calls[seen:] if c.ok]
    [edit] = [c.params for c in new if c.method == "chat.update"]
    assert drift_post.response is not None and edit["ts"] == drift_post.response["ts"]
    assert "Probably caused by" not in json.dumps(edit["blocks"])
    [news] = [c.params for c in new if c.method == "chat.postMessage"]
    # its news stays beside its message, in the pipeline's thread, saying which incident it is
    assert pipeline_root.response is not None
    assert (news["channel"], news["thread_ts"]) == (
        pipeline_root.params["channel"],
        pipeline_root.response["ts"],
    )
    assert news["text"].startswith(f"#{drift.id} :rotating_light: Reopened")
    assert f"#{upstream.id} nightly_orders failed, which resolved" in news["text"]


async def test_a_reopened_incident_links_to_the_upstream_open_now(service, clock, sender, slack):
    pipeline_root, _ = await drift_in_the_pipeline_thread_then_both_resolve(
        service, clock, sender, slack
    )
    clock.advance(60)
    [features_id] = (await service.ingest([FEATURES])).opened  # churn's other feeder fails
    await deliver(sender)
    features_root = slack.calls_to("chat.postMessage")[-1]
    assert features_root.response is not None and "thread_ts" not in features_root.params
    drift = by_key(service)[CHURN_DRIFT.dedup_key]
    clock.advance(60)
    assert (await service.ingest([CHURN_DRIFT])).reopened == [drift.id]
    assert by_key(service)[CHURN_DRIFT.dedup_key].caused_by_id == features_id
    seen = len(slack.calls)
    await settle(service, clock, sender)
    new = [c.params for c in slack.calls[seen:] if c.ok]
    edited = {u["ts"]: json.dumps(u["blocks"]) for u in new if "ts" in u}
    said = [edited[ts] for ts in edited if ts != features_root.response["ts"]]
    assert len(said) == 1 and "Probably caused by *churn_features failing" in said[0]
    assert f"#{drift.id} churn drifts" in edited[features_root.response["ts"]]  # listed there
    replies = {p["thread_ts"]: p["text"] for p in new if p.get("thread_ts")}
    # the new cause's thread hears of it; the reopen stays beside the message it is about
    assert f"#{drift.id} churn drifts" in replies[features_root.response["ts"]]
    assert "reopened" in replies[features_root.response["ts"]]
    assert pipeline_root.response is not None
    assert f"#{drift.id} :rotating_light: Reopened" in replies[pipeline_root.response["ts"]]


async def test_a_reopened_incident_never_linked_links_to_an_upstream_that_opened_meanwhile(
    service, clock, sender, slack
):
    [drift_id] = (await service.ingest([CHURN_DRIFT])).opened  # nothing upstream yet: its own root
    clock.advance(60)
    await service.ingest([replace(CHURN_DRIFT, status=RESOLVED)])
    clock.advance(60)
    [pipeline_id] = (await service.ingest([alert()])).opened  # it was resolved: not adopted
    assert by_key(service)[CHURN_DRIFT.dedup_key].caused_by_id is None
    clock.advance(60)
    assert (await service.ingest([CHURN_DRIFT])).reopened == [drift_id]
    assert by_key(service)[CHURN_DRIFT.dedup_key].caused_by_id == pipeline_id


async def test_a_reopened_incident_keeps_an_upstream_that_is_still_open(
    service, clock, sender, slack
):
    await service.ingest([alert()])
    [drift_id] = (await service.ingest([CHURN_DRIFT])).opened
    clock.advance(60)
    await service.ingest([replace(CHURN_DRIFT, status=RESOLVED)])  # the pipeline still fails
    clock.advance(60)
    assert (await service.ingest([CHURN_DRIFT])).reopened == [drift_id]
    found = by_key(service)
    assert found[CHURN_DRIFT.dedup_key].caused_by_id == found[alert().dedup_key].id
