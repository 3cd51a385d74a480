"""A storm against the fake Slack with injected 429s: 1,000 alerts over 50 fingerprints in two
coalescing intervals give one root per fingerprint and at most one update per fingerprint per
interval; nothing is lost and 429s only delay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.incidents.alerts import AlertEvent, AlertStatus
from bot.store.models import Incident, OutboxMessage
from tests.incidents.core.conftest import deliver

FINGERPRINTS, ALERTS = 50, 1000


def pending(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return len(
            session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all()
        )


def storm_alert(n: int, start: datetime) -> AlertEvent:
    fp = n % FINGERPRINTS
    return AlertEvent(
        source="alertmanager",
        dedup_key=f"alertmanager:storm-{fp}",
        status=AlertStatus.firing,
        title=f"Storm {fp}",
        labels={"team": ("data-eng", "analytics", "ml-platform")[fp % 3]},
        starts_at=start + timedelta(milliseconds=n),  # each a new firing
    )


async def test_storm_is_coalesced_to_the_minimum_despite_429s(service, clock, sender, slack):
    slack.fail_next("*", 429, retry_after=0, times=15)
    start = datetime.fromtimestamp(clock.now, UTC)
    coalesce = service.coalesce
    for n in range(ALERTS):  # spread over two coalescing intervals, flushing as the job would
        await service.ingest([storm_alert(n, start)])
        clock.advance(2 * coalesce / ALERTS)
        if n % 50 == 0:
            service.flush_due()
            await deliver(sender)
    clock.advance(coalesce)
    service.flush_due()
    while pending(service.engine):  # 429s push sends back by their Retry-After
        await deliver(sender)
        await asyncio.sleep(0.1)
    with Session(service.engine) as session:
        incidents = session.exec(select(Incident)).all()
    assert len(incidents) == FINGERPRINTS
    assert sum(i.alert_count for i in incidents) == ALERTS  # nothing lost
    assert not any(i.dirty for i in incidents)
    ok = [c for c in slack.calls if c.ok]
    roots = [c for c in ok if c.method == "chat.postMessage" and not c.params.get("thread_ts")]
    updates = [c for c in ok if c.method == "chat.update"]
    assert len(roots) == FINGERPRINTS  # no duplicate roots
    minimum = FINGERPRINTS * (1 + 2)  # a root and an update per interval of the storm
    assert len(roots) + len(updates) <= 1.2 * minimum
    assert len(updates) >= FINGERPRINTS  # every root was brought up to date at least once
    assert any(c.status == 429 for c in slack.calls)  # the faults did happen
    final = {c.params["ts"]: c.params for c in updates}  # the last update of each root
    assert all(f"{ALERTS // FINGERPRINTS} alerts" in str(p["blocks"]) for p in final.values())
