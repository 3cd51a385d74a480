"""Delivering notices: what people must be told after a change, handed to the Slack side.

Changes write notices in their own transaction (store.notice); here they are handed, oldest
first, to a NoticeHandler, one request at a time under that request's lease, so its notices go
out in order and from one replica. A failed delivery leaves them unsent for the next call (the
approvals tick sweeps every minute); the handler is idempotent per notice id, so a delivery
interrupted half way is safe to repeat.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from bot.approvals import store
from bot.approvals.snapshot import snapshot_of
from bot.approvals.types import Notice, NoticeHandler, RequestSnapshot

log = structlog.get_logger(__name__)

# How long one replica may take to deliver a request's notices before another may try.
NOTICE_LEASE_SECONDS = 120
# Rounds one holder delivers notices that keep arriving before it leaves the rest to the tick.
MAX_ROUNDS = 8


async def deliver_notices(
    engine: Engine,
    deliver: NoticeHandler,
    *,
    now: Callable[[], float],
    request_id: int | None = None,
) -> int:
    """Deliver the notices of `request_id`, or of every request that has some; returns how many
    were delivered."""

    def candidates() -> list[int]:
        with store.transaction(engine) as conn:
            return store.with_unsent_notices(conn, now=now())

    ids = [request_id] if request_id is not None else await asyncio.to_thread(candidates)
    delivered = 0
    for rid in ids:
        delivered += await _deliver_one(engine, deliver, rid, now=now)
    return delivered


def _notice(row: Any) -> Notice:
    """An approval_notice row as the handler sees it."""
    return Notice(
        id=row.id,
        request_id=row.request_id,
        kind=row.kind,
        detail=json.loads(row.detail),
        created_at=datetime.fromtimestamp(row.created_at, UTC),
    )


async def _deliver_one(
    engine: Engine, deliver: NoticeHandler, request_id: int, *, now: Callable[[], float]
) -> int:
    def take() -> tuple[RequestSnapshot, list[Notice]] | None:
        at = now()
        with store.transaction(engine) as conn:
            if not store.lease_notices(
                conn, request_id=request_id, now=at, until=at + NOTICE_LEASE_SECONDS
            ):
                return None
            rows = store.unsent_notices(conn, request_id)
            stored = store.read(conn, request_id)
        if stored is None:
            return None
        return snapshot_of(stored), [_notice(r) for r in rows]

    def done(ids: list[int], *, again: bool) -> tuple[RequestSnapshot, list[Notice]] | None:
        """Mark `ids` sent; the notices written meanwhile (the lease still held) if `again`."""
        at = now()
        with store.transaction(engine) as conn:
            rows = store.notices_sent(
                conn,
                request_id=request_id,
                ids=ids,
                at=at,
                until=at + NOTICE_LEASE_SECONDS if again else None,
            )
            stored = store.read(conn, request_id) if rows else None
        if stored is None:
            return None
        return snapshot_of(stored), [_notice(r) for r in rows]

    taken = await asyncio.to_thread(take)
    delivered, rounds = 0, 0
    while taken is not None:
        snapshot, notices = taken
        rounds += 1
        try:
            if notices:
                await deliver(snapshot, notices)
        except Exception:
            log.exception("approval.notice_delivery_failed", id=request_id)
            await asyncio.to_thread(done, [], again=False)  # release; the notices stay unsent
            return delivered
        delivered += len(notices)
        # Notices written while these were delivered (a racing click's decision, the execution
        # that followed it) found the lease taken: deliver them now, before letting go.
        taken = await asyncio.to_thread(done, [n.id for n in notices], again=rounds < MAX_ROUNDS)
    return delivered
