"""Database work of the approval engine (sync, short transactions; called via asyncio.to_thread).

Every state change is a conditional UPDATE (`WHERE id = ? AND state = <expected>`) whose
RETURNING row says whether this transaction won, and it writes its audit record and a `card`
notice (every copy of the card must show the new state) in the same transaction: a change, its
record and the duty to tell people commit together or not at all. `lock` bumps the request's
version first thing in a transaction, which takes the row's write lock on PostgreSQL and the
database write lock on SQLite, so concurrent decisions on one request run one after another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.engine import Engine

from bot.approvals.models import (
    ApprovalAudit,
    ApprovalCopy,
    ApprovalNotice,
    ApprovalRequest,
    ApprovalVote,
)
from bot.approvals.types import OPEN_STATES, TRANSITIONS, RequestState
from bot.store.db import upsert_dialect
from bot.store.models import table_of

REQUEST = table_of(ApprovalRequest)
VOTE = table_of(ApprovalVote)
COPY = table_of(ApprovalCopy)
AUDIT = table_of(ApprovalAudit)
NOTICE = table_of(ApprovalNotice)


def epoch(at: datetime) -> float:
    return at.timestamp()


def moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Stored:
    """One request as read in one transaction: its row, votes (in order) and posted copies."""

    request: ApprovalRequest
    votes: list[ApprovalVote]
    copies: list[ApprovalCopy]


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


def lock(conn: Connection, request_id: int) -> bool:
    """Serialise this transaction with every other one touching the request; False if unknown."""
    bumped = conn.execute(
        update(REQUEST)
        .where(REQUEST.c.id == request_id)
        .values(version=REQUEST.c.version + 1)
        .returning(REQUEST.c.id)
    ).first()
    return bumped is not None


def _request(mapping: Any) -> ApprovalRequest:
    return ApprovalRequest(**dict(mapping))


def read(conn: Connection, request_id: int) -> Stored | None:
    row = conn.execute(select(REQUEST).where(REQUEST.c.id == request_id)).first()
    if row is None:
        return None
    votes = conn.execute(
        select(VOTE).where(VOTE.c.request_id == request_id).order_by(VOTE.c.id)
    ).all()
    copies = conn.execute(
        select(COPY).where(COPY.c.request_id == request_id).order_by(COPY.c.id)
    ).all()
    return Stored(
        request=_request(row._mapping),
        votes=[ApprovalVote(**dict(v._mapping)) for v in votes],
        copies=[ApprovalCopy(**dict(c._mapping)) for c in copies],
    )


def read_many(conn: Connection, *conditions: Any) -> list[Stored]:
    ids: list[int] = list(
        conn.execute(select(REQUEST.c.id).where(*conditions).order_by(REQUEST.c.id)).scalars()
    )
    return [s for s in (read(conn, i) for i in ids) if s is not None]


def audit(
    conn: Connection,
    *,
    request_id: int,
    at: float,
    actor: str,
    action: str,
    surface: str | None = None,
    state: RequestState | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(AUDIT).values(
            request_id=request_id,
            at=at,
            actor=actor,
            action=action,
            surface=surface,
            state=state.value if state else None,
            detail=json.dumps(detail or {}, sort_keys=True, default=str),
        )
    )


def create(conn: Connection, *, values: dict[str, Any]) -> int | None:
    """Insert a request; None if another open request holds its `open_key` (its subject)."""
    dialect = upsert_dialect(conn.dialect.name)
    stmt = (
        dialect.insert(REQUEST).values(**values).on_conflict_do_nothing(index_elements=["open_key"])
    )
    found = conn.execute(stmt.returning(REQUEST.c.id)).scalar()
    return None if found is None else int(found)


def transition(
    conn: Connection,
    *,
    request_id: int,
    from_state: RequestState,
    to_state: RequestState,
    at: float,
    actor: str,
    action: str,
    surface: str | None = None,
    detail: dict[str, Any] | None = None,
    extra: Any = None,
    **fields: Any,
) -> bool:
    """Move the request from `from_state` to `to_state` if it is still there; audit it if so.

    `extra` is an additional WHERE condition (e.g. "still past its expiry").
    """
    if to_state not in TRANSITIONS[from_state]:
        raise ValueError(f"an approval request cannot go from {from_state} to {to_state}")
    if to_state not in OPEN_STATES:
        fields["open_key"] = None  # the subject may be requested again
    stmt = update(REQUEST).where(REQUEST.c.id == request_id, REQUEST.c.state == from_state.value)
    if extra is not None:
        stmt = stmt.where(extra)
    won = conn.execute(
        stmt.values(state=to_state.value, version=REQUEST.c.version + 1, **fields).returning(
            REQUEST.c.id
        )
    ).first()
    if won is None:
        return False
    notice(conn, request_id=request_id, kind="card", at=at)
    audit(
        conn,
        request_id=request_id,
        at=at,
        actor=actor,
        action=action,
        surface=surface,
        state=to_state,
        detail=detail,
    )
    return True


def notice(
    conn: Connection,
    *,
    request_id: int,
    kind: str,
    at: float,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that people must be told something about the request (see ApprovalNotice)."""
    conn.execute(
        insert(NOTICE).values(
            request_id=request_id,
            kind=kind,
            detail=json.dumps(detail or {}, sort_keys=True, default=str),
            created_at=at,
        )
    )


def unsent_notices(conn: Connection, request_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(NOTICE)
            .where(NOTICE.c.request_id == request_id, NOTICE.c.sent_at.is_(None))
            .order_by(NOTICE.c.id)
        ).all()
    )


def with_unsent_notices(conn: Connection, *, now: float) -> list[int]:
    """Requests with notices to deliver whose delivery lease is free."""
    rows: list[int] = list(
        conn.execute(
            select(NOTICE.c.request_id)
            .join(REQUEST, REQUEST.c.id == NOTICE.c.request_id)
            .where(
                NOTICE.c.sent_at.is_(None),
                or_(REQUEST.c.notice_lease_until.is_(None), REQUEST.c.notice_lease_until < now),
            )
            .distinct()
        ).scalars()
    )
    return sorted(rows)


def lease_notices(conn: Connection, *, request_id: int, now: float, until: float) -> bool:
    """Take the request's delivery lease (one replica delivers its notices at a time)."""
    stmt = (
        update(REQUEST)
        .where(
            REQUEST.c.id == request_id,
            or_(REQUEST.c.notice_lease_until.is_(None), REQUEST.c.notice_lease_until < now),
        )
        .values(notice_lease_until=until)
        .returning(REQUEST.c.id)
    )
    return conn.execute(stmt).first() is not None


def notices_sent(
    conn: Connection, *, request_id: int, ids: list[int], at: float, until: float | None = None
) -> list[Any]:
    """Mark `ids` sent and hand the lease back, unless notices were written meanwhile: then the
    lease is kept (to `until`) and they are returned, for the holder to deliver too.

    The lease row is written first, so a writer that committed a notice after the check below
    finds the lease only once this transaction released it (PostgreSQL's row lock; SQLite's
    database lock), and delivers it itself: no notice is left waiting for the approvals tick.
    """
    conn.execute(update(REQUEST).where(REQUEST.c.id == request_id).values(notice_lease_until=None))
    if ids:
        conn.execute(
            update(NOTICE)
            .where(NOTICE.c.id.in_(ids), NOTICE.c.sent_at.is_(None))
            .values(sent_at=at)
        )
    if until is None:
        return []
    more = unsent_notices(conn, request_id)
    if more:
        conn.execute(
            update(REQUEST).where(REQUEST.c.id == request_id).values(notice_lease_until=until)
        )
    return more


def open_request_for(conn: Connection, open_key: str) -> int | None:
    return conn.execute(select(REQUEST.c.id).where(REQUEST.c.open_key == open_key)).scalar()


def claim_field(
    conn: Connection,
    *,
    request_id: int,
    state: RequestState,
    column: str,
    old: float | None,
    new: float | None,
    still: Any = None,
) -> bool:
    """Compare-and-set `column` from `old` to `new` while the request is in `state` (and the
    `still` condition that made the work due holds): the one replica whose UPDATE matches does
    the work (a reminder, an escalation). `old` alone is not enough: it may have been read after
    another replica's claim, in which case it is that claim's `new`."""
    col = REQUEST.c[column]
    stmt = update(REQUEST).where(REQUEST.c.id == request_id, REQUEST.c.state == state.value)
    stmt = stmt.where(col.is_(None) if old is None else col == old)
    if still is not None:
        stmt = stmt.where(still)
    return conn.execute(stmt.values({column: new}).returning(REQUEST.c.id)).first() is not None


def add_vote(conn: Connection, *, values: dict[str, Any]) -> bool:
    """Record a vote; False if this user already voted on the request (the unique key)."""
    dialect = upsert_dialect(conn.dialect.name)
    stmt = dialect.insert(VOTE).values(**values).on_conflict_do_nothing().returning(VOTE.c.id)
    return conn.execute(stmt).first() is not None


def save_copy(
    conn: Connection,
    *,
    request_id: int,
    channel: str,
    kind: str,
    outbox_id: int | None,
    ts: str | None,
    at: float,
    posted_channel: str | None = None,
) -> None:
    """Insert or complete the record of one posted card (outbox id first, ts once sent)."""
    dialect = upsert_dialect(conn.dialect.name)
    stmt = dialect.insert(COPY).values(
        request_id=request_id,
        channel=channel,
        kind=kind,
        outbox_id=outbox_id,
        ts=ts,
        posted_channel=posted_channel,
        created_at=at,
    )
    changes: dict[str, Any] = {"kind": kind}
    if outbox_id is not None:
        changes["outbox_id"] = outbox_id
    if ts is not None:
        changes["ts"] = ts
    if posted_channel is not None:
        changes["posted_channel"] = posted_channel
    conn.execute(stmt.on_conflict_do_update(index_elements=["request_id", "channel"], set_=changes))


def audit_rows(
    conn: Connection, *, since: float | None, request_id: int | None = None
) -> list[Any]:
    stmt = select(AUDIT).order_by(AUDIT.c.id)
    if since is not None:
        stmt = stmt.where(AUDIT.c.at >= since)
    if request_id is not None:
        stmt = stmt.where(AUDIT.c.request_id == request_id)
    return list(conn.execute(stmt).all())
