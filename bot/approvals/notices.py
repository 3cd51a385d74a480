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

    def done(ids: list[int]) -> None:
        with store.transaction(engine) as conn:
            store.notices_sent(conn, request_id=request_id, ids=ids, at=now())

    taken = await asyncio.to_thread(take)
    if taken is None:
        return 0
    snapshot, notices = taken
    try:
        if notices:
            await deliver(snapshot, notices)
    except Exception:
        log.exception("approval.notice_delivery_failed", id=request_id)
        await asyncio.to_thread(done, [])  # release the lease; the notices stay unsent
        return 0
    await asyncio.to_thread(done, [n.id for n in notices])
    return len(notices)
