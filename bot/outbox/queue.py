"""The sender's side of the outbox table: channel heads, row leases and recorded outcomes.

Every function is synchronous and short (one statement or one transaction); the sender calls
them through ``asyncio.to_thread``. Claims are conditional UPDATEs, so two senders (two
replicas) never hold the same row, and a row is only claimed while it is its channel's head.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bot.store.models import ChannelPace, OutboxMessage, OutboxStatus, table_of
from bot.store.replicas import HEARTBEAT, gone_at

MSG = table_of(OutboxMessage)
PACE = table_of(ChannelPace)
PENDING = OutboxStatus.pending.value


@dataclass(frozen=True)
class Head:
    """The oldest pending message of one channel, with what is needed to send it."""

    id: int
    channel: str
    method: str
    payload: dict[str, Any]
    attempts: int
    due_at: float | None  # None: waiting for its parent to be sent
    parent_id: int | None
    parent_status: str | None
    parent_ts: str | None
    parent_channel: str | None
    lease_owner: str | None = None  # who held it when it was scanned (a gone replica, if due)


@dataclass(frozen=True)
class Scan:
    due: list[Head]  # oldest first
    next_due: float | None  # earliest time a head that is not due yet becomes due
    pending: int


def scan_heads(engine: Engine, now: float) -> Scan:
    """Each channel's head; due if its backoff, the channel's pace and any lease have passed."""
    head_ids = (
        select(MSG.c.channel, func.min(MSG.c.id).label("id"))
        .where(MSG.c.status == PENDING)
        .group_by(MSG.c.channel)
        .subquery()
    )
    parent = MSG.alias("parent")
    holder = HEARTBEAT.alias("holder")
    query = (
        select(
            MSG.c.id,
            MSG.c.channel,
            MSG.c.method,
            MSG.c.payload,
            MSG.c.attempts,
            MSG.c.not_before,
            MSG.c.lease_until,
            MSG.c.lease_owner,
            MSG.c.parent_id,
            PACE.c.not_before.label("pace_not_before"),
            parent.c.status.label("parent_status"),
            parent.c.result_ts.label("parent_ts"),
            parent.c.result_channel.label("parent_channel"),
            gone_at(holder).label("holder_gone_at"),
        )
        .join(head_ids, head_ids.c.id == MSG.c.id)
        .outerjoin(PACE, PACE.c.channel == MSG.c.channel)
        .outerjoin(parent, parent.c.id == MSG.c.parent_id)
        .outerjoin(holder, holder.c.replica == MSG.c.lease_owner)
        .order_by(MSG.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        pending = conn.execute(
            select(func.count()).select_from(MSG).where(MSG.c.status == PENDING)
        ).scalar_one()
    due: list[Head] = []
    next_due: float | None = None
    for r in rows:
        waits_for_parent = r.parent_id is not None and r.parent_status == PENDING
        lease_ends = r.lease_until or 0.0
        if r.holder_gone_at is not None:  # its holder stopped, or stopped beating
            lease_ends = min(lease_ends, r.holder_gone_at)
        due_at = (
            None if waits_for_parent else max(r.not_before, r.pace_not_before or 0.0, lease_ends)
        )
        head = Head(
            id=r.id,
            channel=r.channel,
            method=r.method,
            payload=json.loads(r.payload),
            attempts=r.attempts,
            due_at=due_at,
            parent_id=r.parent_id,
            parent_status=r.parent_status,
            parent_ts=r.parent_ts,
            parent_channel=r.parent_channel,
            lease_owner=r.lease_owner,
        )
        if due_at is None:
            continue
        if due_at <= now:
            due.append(head)
        else:
            next_due = due_at if next_due is None else min(next_due, due_at)
    return Scan(due=due, next_due=next_due, pending=int(pending))


def claim(engine: Engine, head: Head, *, owner: str, now: float, lease_seconds: float) -> bool:
    """Lease ``head`` to ``owner`` if it is still pending, unleased (or its lease holder is
    gone), due and its channel's head.

    One conditional UPDATE: on PostgreSQL a concurrent claimer blocks on the row lock, then
    re-checks the lease condition against the winner's committed row and updates nothing. The
    take-over of a gone holder's lease names that holder (as scanned), so the re-check fails
    on the winner's row by its own columns, whatever the database does with the subquery.
    """
    older = MSG.alias("older")
    free = [MSG.c.lease_until.is_(None), MSG.c.lease_until <= now]
    if head.lease_owner is not None:
        free.append(
            and_(
                MSG.c.lease_owner == head.lease_owner,
                exists().where(HEARTBEAT.c.replica == head.lease_owner, gone_at() <= now),
            )
        )
    stmt = (
        update(MSG)
        .where(
            MSG.c.id == head.id,
            MSG.c.status == PENDING,
            or_(*free),
            MSG.c.not_before <= now,
            ~exists().where(
                older.c.channel == head.channel, older.c.status == PENDING, older.c.id < head.id
            ),
            ~exists().where(PACE.c.channel == head.channel, PACE.c.not_before > now),
        )
        .values(lease_owner=owner, lease_until=now + lease_seconds)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def _push_channel_pace(conn: Connection, channel: str, not_before: float) -> None:
    """Move the channel's not_before later (never earlier: a 429 wait must not be shortened)."""
    ins: postgresql.Insert | sqlite.Insert
    if conn.dialect.name == "postgresql":
        ins = postgresql.insert(PACE).values(channel=channel, not_before=not_before)
        later = func.greatest(PACE.c.not_before, ins.excluded.not_before)
    else:
        ins = sqlite.insert(PACE).values(channel=channel, not_before=not_before)
        later = func.max(PACE.c.not_before, ins.excluded.not_before)
    conn.execute(ins.on_conflict_do_update(index_elements=["channel"], set_={"not_before": later}))


_RELEASE = {"lease_owner": None, "lease_until": None}


def record_sent(
    engine: Engine,
    head: Head,
    *,
    now: float,
    ts: str | None,
    channel: str | None,
    pace_until: float,
) -> bool:
    """Store Slack's answer, release the lease and pace the channel, in one transaction.

    Returns False if the row was no longer pending (another sender delivered it too after
    our lease expired): the caller logs the duplicate.
    """
    with engine.begin() as conn:
        changed = conn.execute(
            update(MSG)
            .where(MSG.c.id == head.id, MSG.c.status == PENDING)
            .values(
                status=OutboxStatus.sent.value,
                result_ts=ts,
                result_channel=channel,
                sent_at=now,
                attempts=MSG.c.attempts + 1,
                last_error=None,
                **_RELEASE,
            )
        ).rowcount
        _push_channel_pace(conn, head.channel, pace_until)
    return changed == 1


def record_retry(
    engine: Engine,
    head: Head,
    *,
    owner: str,
    error: str,
    not_before: float,
    count_attempt: bool,
    channel_not_before: float | None = None,
) -> None:
    """Put the message back for a later try (after backoff, or the channel's Retry-After)."""
    for when in (not_before, channel_not_before):
        if when is not None and not math.isfinite(when):  # NaN would reach the row as NULL
            raise ValueError(f"not a time to retry at: {when!r}")
    values: dict[str, Any] = {"last_error": error[:2000], "not_before": not_before, **_RELEASE}
    if count_attempt:
        values["attempts"] = MSG.c.attempts + 1
    with engine.begin() as conn:
        conn.execute(
            update(MSG)
            .where(MSG.c.id == head.id, MSG.c.status == PENDING, MSG.c.lease_owner == owner)
            .values(**values)
        )
        if channel_not_before is not None:
            _push_channel_pace(conn, head.channel, channel_not_before)


def record_dead(engine: Engine, head: Head, *, owner: str, error: str, count_attempt: bool) -> None:
    """Give up on the message; the channel's next message becomes its head."""
    values: dict[str, Any] = {
        "status": OutboxStatus.dead.value,
        "last_error": error[:2000],
        **_RELEASE,
    }
    if count_attempt:
        values["attempts"] = MSG.c.attempts + 1
    with engine.begin() as conn:
        conn.execute(
            update(MSG)
            .where(MSG.c.id == head.id, MSG.c.status == PENDING, MSG.c.lease_owner == owner)
            .values(**values)
        )
