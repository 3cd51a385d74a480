"""The periodic pass over open requests: expire, remind, escalate, recover stuck executions.

Each step is a compare-and-set on the request row, so when several replicas tick at once
each expiry, reminder and escalation happens (and is reported to the notifier) exactly once.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from bot.approvals import store
from bot.approvals.decisions import SYSTEM
from bot.approvals.snapshot import policy_of, snapshot_of
from bot.approvals.store import REQUEST
from bot.approvals.types import Escalation, Reminder, RequestState, TickReport

# An execution claimed this long ago without finishing was interrupted (its replica stopped).
STALE_EXECUTION_SECONDS = 15 * 60


def _ids(conn: Connection, *conditions: object) -> list[int]:
    return [s.request.id for s in store.read_many(conn, *conditions) if s.request.id]


def recover_stale(engine: Engine, *, now: float) -> None:
    cutoff = now - STALE_EXECUTION_SECONDS
    with store.transaction(engine) as conn:
        for request_id in _ids(
            conn, REQUEST.c.state == RequestState.executing.value, REQUEST.c.claimed_at < cutoff
        ):
            store.transition(
                conn,
                request_id=request_id,
                from_state=RequestState.executing,
                to_state=RequestState.failed,
                at=now,
                actor=SYSTEM,
                action="failed",
                extra=REQUEST.c.claimed_at < cutoff,
                error="execution was interrupted before it finished; check the target "
                "system, then retry",
                detail={"error": "interrupted"},
            )


def expire_due(engine: Engine, *, now: float) -> list[int]:
    expired = []
    with store.transaction(engine) as conn:
        for request_id in _ids(
            conn, REQUEST.c.state == RequestState.pending.value, REQUEST.c.expires_at <= now
        ):
            if store.transition(
                conn,
                request_id=request_id,
                from_state=RequestState.pending,
                to_state=RequestState.expired,
                at=now,
                actor=SYSTEM,
                action="expired",
                extra=REQUEST.c.expires_at <= now,
                decided_at=now,
            ):
                expired.append(request_id)
    return expired


def escalate(engine: Engine, *, now: float) -> list[Escalation]:
    """Expired requests not yet considered for escalation; `escalated_at` marks them done."""
    escalations = []
    with store.transaction(engine) as conn:
        candidates = store.read_many(
            conn, REQUEST.c.state == RequestState.expired.value, REQUEST.c.escalated_at.is_(None)
        )
    for stored in candidates:
        request_id = stored.request.id
        assert request_id is not None
        team = policy_of(stored).escalate_to
        with store.transaction(engine) as conn:
            if not store.claim_field(
                conn,
                request_id=request_id,
                state=RequestState.expired,
                column="escalated_at",
                old=None,
                new=now,
            ):
                continue
            if team is None:
                continue
            store.audit(
                conn,
                request_id=request_id,
                at=now,
                actor=SYSTEM,
                action="escalated",
                detail={"team": team},
            )
            after = store.read(conn, request_id) or stored
        escalations.append(Escalation(request=snapshot_of(after), team=team))
    return escalations


def remind(engine: Engine, *, now: float) -> list[Reminder]:
    reminders = []
    with store.transaction(engine) as conn:
        due = store.read_many(
            conn,
            REQUEST.c.state == RequestState.pending.value,
            REQUEST.c.next_reminder_at <= now,
            REQUEST.c.expires_at > now,
        )
    for stored in due:
        row = stored.request
        assert row.id is not None
        every = policy_of(stored).remind_every_seconds
        snapshot = snapshot_of(stored)
        with store.transaction(engine) as conn:
            if not store.claim_field(
                conn,
                request_id=row.id,
                state=RequestState.pending,
                column="next_reminder_at",
                old=row.next_reminder_at,
                new=now + every if every else None,
            ):
                continue
            if snapshot.eligible:
                store.audit(
                    conn,
                    request_id=row.id,
                    at=now,
                    actor=SYSTEM,
                    action="reminded",
                    detail={"users": snapshot.eligible},
                )
        if snapshot.eligible:
            reminders.append(Reminder(request=snapshot, users=snapshot.eligible))
    return reminders


def run_tick(engine: Engine, *, now: float) -> TickReport:
    recover_stale(engine, now=now)
    expired = expire_due(engine, now=now)
    escalations = escalate(engine, now=now)
    reminders = remind(engine, now=now)
    with store.transaction(engine) as conn:
        shown = [snapshot_of(s) for s in (store.read(conn, i) for i in expired) if s]
    return TickReport(expired=shown, reminders=reminders, escalations=escalations)
