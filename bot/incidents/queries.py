"""Reading incidents from the store: the open ones (optionally one team's) and their root posts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.store.db import session_scope
from bot.store.models import Incident, IncidentEvent, IncidentStatus, OutboxMessage

OPEN_STATES = (IncidentStatus.open, IncidentStatus.acknowledged)
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}


@dataclass(frozen=True)
class RootPost:
    """Where an incident's message lives in Slack, once it was posted: its own root, or (a
    downstream incident linked to an upstream one) a reply in the upstream's thread, whose
    root's ts is `thread_ts`."""

    channel: str
    ts: str
    thread_ts: str | None = None


def open_incidents(engine: Engine, *, team: str | None) -> list[Incident]:
    """Open and acknowledged incidents, most severe first, then the newest alert first."""
    query = select(Incident).where(col(Incident.status).in_([s.value for s in OPEN_STATES]))
    if team is not None:
        query = query.where(Incident.team == team)
    with session_scope(engine) as session:
        found = list(session.exec(query).all())
    return sorted(
        found,
        key=lambda i: (SEVERITY_ORDER.get(i.severity, len(SEVERITY_ORDER)), -i.last_alert_at),
    )


def recent_incidents(engine: Engine, *, team: str | None, limit: int = 100) -> list[Incident]:
    """Open ones first (as `open_incidents`), then the most recently resolved."""
    opened = open_incidents(engine, team=team)
    query = select(Incident).where(Incident.status == IncidentStatus.resolved)
    if team is not None:
        query = query.where(Incident.team == team)
    query = query.order_by(col(Incident.resolved_at).desc()).limit(max(0, limit - len(opened)))
    with session_scope(engine) as session:
        return opened + list(session.exec(query).all())


def incident_with_timeline(
    engine: Engine, incident_id: int
) -> tuple[Incident, list[IncidentEvent]] | None:
    """One incident and its timeline (oldest first), or None."""
    with session_scope(engine) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None
        events = session.exec(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(col(IncidentEvent.id))
        ).all()
        return incident, list(events)


def root_posts(engine: Engine, incidents: Sequence[Incident]) -> dict[int, RootPost]:
    """Incident id -> its message's channel and ts (and its thread's, for a reply), for those
    whose message was sent."""
    by_outbox = {i.root_outbox_id: i.id for i in incidents if i.root_outbox_id and i.id}
    if not by_outbox:
        return {}
    query = select(OutboxMessage).where(col(OutboxMessage.id).in_(list(by_outbox)))
    posts: dict[int, RootPost] = {}
    with session_scope(engine) as session:
        rows = list(session.exec(query).all())
        thread_ts: dict[int | None, str | None] = {}
        parents = [r.parent_id for r in rows if r.parent_id is not None]
        if parents:  # linked incidents' messages are replies: their threads' roots
            threads = select(OutboxMessage).where(col(OutboxMessage.id).in_(parents))
            thread_ts = {parent.id: parent.result_ts for parent in session.exec(threads).all()}
        for row in rows:
            incident = by_outbox.get(row.id) if row.id is not None else None
            if incident is not None and row.result_ts:
                posts[incident] = RootPost(
                    channel=row.result_channel or row.channel,
                    ts=row.result_ts,
                    thread_ts=thread_ts.get(row.parent_id) if row.parent_id else None,
                )
    return posts
