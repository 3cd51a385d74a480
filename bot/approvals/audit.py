"""Reading the append-only audit log of approvals."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.approvals import store
from bot.approvals.store import epoch, moment
from bot.approvals.types import AuditRecord, RequestState


def audit_records(
    engine: Engine, *, since: datetime | None = None, request_id: int | None = None
) -> list[AuditRecord]:
    """Every record at or after `since` (all if None), oldest first."""
    with store.transaction(engine) as conn:
        rows = store.audit_rows(conn, since=epoch(since) if since else None, request_id=request_id)
    return [
        AuditRecord(
            id=r.id,
            request_id=r.request_id,
            at=moment(r.at),
            actor=r.actor,
            action=r.action,
            surface=r.surface,
            state=RequestState(r.state) if r.state else None,
            detail=json.loads(r.detail),
        )
        for r in rows
    ]
