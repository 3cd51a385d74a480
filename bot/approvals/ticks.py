"""The periodic pass over open requests: expire, remind, escalate, recover stuck executions.

Each step is a compare-and-set on the request row, so when several replicas tick at once each
expiry, reminder and escalation happens exactly once; what people must be told is written as a
notice in the same transaction, and delivered afterwards (see ApprovalService.deliver_notices).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, select
from sqlalchemy.engine import Engine

from bot.approvals import store
from bot.approvals.decisions import SYSTEM, expire
from bot.approvals.snapshot import policy_of, snapshot_of
from bot.approvals.store import COPY, REQUEST
from bot.approvals.types import OPEN_STATES, Escalation, Reminder, RequestState, TickReport
from bot.store.models import OutboxMessage, OutboxStatus, table_of

# An execution claimed this long ago without finishing was interrupted (its replica stopped).
STALE_EXECUTION_SECONDS = 15 * 60
# An approved request not claimed for execution this long after its approval was left behind
# (the replica that completed quorum stopped, or its execute call never ran): the tick runs it.
STALLED_APPROVAL_SECONDS = 60
OUTBOX = table_of(OutboxMessage)


def _ids(conn: Connection, *conditions: ColumnElement[bool]) -> list[int]:
    return list(
        conn.execute(select(REQUEST.c.id).where(*conditions).order_by(REQUEST.c.id)).scalars()
    )


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


def stalled_approvals(engine: Engine, *, now: float) -> list[int]:
    with store.transaction(engine) as conn:
        return _ids(
            conn,
            REQUEST.c.state == RequestState.approved.value,
            REQUEST.c.decided_at <= now - STALLED_APPROVAL_SECONDS,
        )


def expire_due(engine: Engine, *, now: float) -> tuple[list[int], list[Escalation]]:
    """Expire overdue requests; the escalation team of each is told (an Escalation with nobody
    asked: it can only follow up now)."""
    expired: list[int] = []
    told: list[Escalation] = []
    with store.transaction(engine) as conn:
        due = store.read_many(
            conn, REQUEST.c.state == RequestState.pending.value, REQUEST.c.expires_at <= now
        )
        for stored in due:
            if not expire(conn, stored, now=now):
                continue
            assert stored.request.id is not None
            expired.append(stored.request.id)
            team = policy_of(stored).escalate_to
            if team:
                after = store.read(conn, stored.request.id) or stored
                told.append(Escalation(request=snapshot_of(after), team=team))
    return expired, told


def escalate(engine: Engine, *, now: float) -> list[Escalation]:
    """Pending requests past their escalate_at: the fallback team is asked to stand in."""
    escalations = []
    with store.transaction(engine) as conn:
        due = store.read_many(
            conn,
            REQUEST.c.state == RequestState.pending.value,
            REQUEST.c.escalate_at <= now,
            REQUEST.c.escalated_at.is_(None),
            REQUEST.c.expires_at > now,
        )
    for stored in due:
        request_id = stored.request.id
        assert request_id is not None
        policy = policy_of(stored)
        team = policy.escalate_to
        with store.transaction(engine) as conn:
            if not store.claim_field(
                conn,
                request_id=request_id,
                state=RequestState.pending,
                column="escalated_at",
                old=None,
                new=now,
                still=REQUEST.c.escalate_at <= now,
            ):
                continue
            after = store.read(conn, request_id) or stored
            snapshot = snapshot_of(after)
            voted = {v.user for v in after.votes}
            asked = [u for u in policy.fallback if u in snapshot.eligible and u not in voted]
            if team is None:
                continue
            detail = {"team": team, "asked": asked, "why": "no decision in time"}
            store.audit(
                conn, request_id=request_id, at=now, actor=SYSTEM, action="escalated", detail=detail
            )
            store.notice(conn, request_id=request_id, kind="escalate", at=now, detail=detail)
        escalations.append(Escalation(request=snapshot, team=team, asked=asked))
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
                still=REQUEST.c.next_reminder_at <= now,
            ):
                continue
            if snapshot.eligible:
                detail = {"users": snapshot.eligible}
                store.audit(
                    conn, request_id=row.id, at=now, actor=SYSTEM, action="reminded", detail=detail
                )
                store.notice(conn, request_id=row.id, kind="remind", at=now, detail=detail)
        if snapshot.eligible:
            reminders.append(Reminder(request=snapshot, users=snapshot.eligible))
    return reminders


def settle_copies(engine: Engine) -> int:
    """Copy Slack's ts and channel of every sent card of an open request into approval_copy,
    so its card can still be updated after the outbox prunes the posted message."""
    with store.transaction(engine) as conn:
        rows = conn.execute(
            select(COPY.c.id, OUTBOX.c.result_ts, OUTBOX.c.result_channel)
            .join(OUTBOX, OUTBOX.c.id == COPY.c.outbox_id)
            .join(REQUEST, REQUEST.c.id == COPY.c.request_id)
            .where(
                COPY.c.ts.is_(None),
                OUTBOX.c.status == OutboxStatus.sent.value,
                OUTBOX.c.result_ts.is_not(None),
                REQUEST.c.state.in_([s.value for s in OPEN_STATES]),
            )
        ).all()
        for copy_id, ts, channel in rows:
            conn.execute(
                COPY.update().where(COPY.c.id == copy_id).values(ts=ts, posted_channel=channel)
            )
    return len(rows)


def run_tick(engine: Engine, *, now: float) -> TickReport:
    recover_stale(engine, now=now)
    expired, told = expire_due(engine, now=now)
    escalations = told + escalate(engine, now=now)
    reminders = remind(engine, now=now)
    settle_copies(engine)
    with store.transaction(engine) as conn:
        shown = [snapshot_of(s) for s in (store.read(conn, i) for i in expired) if s]
    return TickReport(expired=shown, reminders=reminders, escalations=escalations)
