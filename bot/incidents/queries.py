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
    """Where an incident's thread lives in Slack, once its root message was posted."""

    channel: str
    ts: str


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
    """Incident id -> its root message's channel and ts, for those whose root was sent."""
    by_outbox = {i.root_outbox_id: i.id for i in incidents if i.root_outbox_id and i.id}
    if not by_outbox:
        return {}
    query = select(OutboxMessage).where(col(OutboxMessage.id).in_(list(by_outbox)))
    posts: dict[int, RootPost] = {}
    with session_scope(engine) as session:
        for row in session.exec(query).all():
            incident = by_outbox.get(row.id) if row.id is not None else None
            if incident is not None and row.result_ts:
                posts[incident] = RootPost(
                    channel=row.result_channel or row.channel, ts=row.result_ts
                )
    return posts
