"""Tables of the foundation: outbox, per-channel pacing, scheduler slot claims, handled events.

Times are stored as UTC epoch seconds (float) so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Column, Index, Table, Text, UniqueConstraint, inspect
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a `table=True` model maps to, for SQLAlchemy Core statements (SQLModel
    gives every table model a `__table__` but declares none for type checkers)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"  # Slack refused it for good (e.g. channel_not_found); kept for inspection


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "id"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        # Ids are never reused (SQLite would hand out a pruned id again): an id kept elsewhere
        # (a card's posted message, a thread's root) never names a newer, unrelated message.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64)
    method: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    parent_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    dedupe_key: str | None = Field(default=None, max_length=255)
    status: str = Field(default=OutboxStatus.pending, max_length=16)
    attempts: int = 0
    not_before: float = 0.0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: float | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    result_ts: str | None = Field(default=None, max_length=32)
    result_channel: str | None = Field(default=None, max_length=64)
    created_at: float
    sent_at: float | None = None


class ChannelPace(SQLModel, table=True):
    """When the next post to a channel may go out (pacing and 429 Retry-After)."""

    __tablename__ = "channel_pace"
    channel: str = Field(primary_key=True, max_length=64)
    not_before: float = 0.0


class JobSlot(SQLModel, table=True):
    """A scheduler slot claimed by one replica: the primary key makes the claim exclusive."""

    __tablename__ = "job_slot"
    job_id: str = Field(primary_key=True, max_length=128)
    slot: str = Field(primary_key=True, max_length=64)
    claimed_by: str = Field(max_length=64)
    claimed_at: float


class HandledEvent(SQLModel, table=True):
    """Slack event ids already handled, so a retry (X-Slack-Retry-Num) is not handled twice."""

    __tablename__ = "handled_event"
    event_id: str = Field(primary_key=True, max_length=64)
    handled_at: float


class Heartbeat(SQLModel, table=True):
    """A replica saying it is alive (bot.store.replicas): its outbox leases stay its own while
    it beats; once it stopped cleanly or missed a few beats, other replicas take them over."""

    __tablename__ = "heartbeat"
    replica: str = Field(primary_key=True, max_length=64)
    beat_at: float
    started_at: float
    every: float | None = Field(default=None, description="seconds between beats it promised")
    stopped_at: float | None = Field(default=None, description="set when it stopped cleanly")


class StoredBudget(SQLModel, table=True):
    """A team's monthly budget as changed by an approved increase; overrides ops.yml's figure."""

    __tablename__ = "stored_budget"
    team: str = Field(primary_key=True, max_length=64)
    monthly: str = Field(
        max_length=32, description="Decimal as text: exact on SQLite and PostgreSQL"
    )
    currency: str = Field(max_length=3)
    updated_at: float
    updated_by: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text))


class IncidentStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Incident(SQLModel, table=True):
    """One incident per alert fingerprint: its Slack thread, owners and state.

    The unique (fingerprint, opened_at) pair lets a fingerprint reopen after it resolved, while
    `open_key` (the fingerprint while unresolved, NULL after) makes "one open incident per
    fingerprint" a database guarantee, whichever replica receives the alert.
    """

    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("open_key", name="uq_incident_open_key"),
        Index("ix_incident_team_status", "team", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=255)
    open_key: str | None = Field(default=None, max_length=255)
    title: str = Field(sa_column=Column(Text, nullable=False))
    team: str = Field(max_length=64)
    severity: str = Field(default="warning", max_length=16)
    status: str = Field(default=IncidentStatus.open, max_length=16)
    source: str = Field(max_length=64, description="alertmanager, mlflow, detector:…, generic:…")
    summary: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = Field(default=None, sa_column=Column(Text))
    channel: str | None = Field(default=None, max_length=64)
    root_outbox_id: int | None = Field(default=None, description="outbox row of the root post")
    alert_count: int = 1
    opened_at: float
    last_alert_at: float
    acknowledged_by: str | None = Field(default=None, max_length=64)
    acknowledged_at: float | None = None
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: float | None = None
    # Added by 0007: routing, lineage, muting and the coalesced delivery of news.
    route_reason: str | None = Field(default=None, sa_column=Column(Text))
    subject: str | None = Field(default=None, max_length=255, description="kind:name")
    caused_by_id: int | None = Field(default=None, description="upstream incident (cascade)")
    instance_count: int = 1
    labels: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    links: str | None = Field(default=None, sa_column=Column(Text))  # JSON [[title, url]]
    muted_until: float | None = None
    silence_id: str | None = Field(default=None, max_length=64)
    resolve_note: str | None = Field(default=None, sa_column=Column(Text))
    reopened: int = 0
    dirty: bool = False  # changed since the root was last rendered
    flushed_at: float | None = None  # when the last coalesced update was queued


class IncidentAlert(SQLModel, table=True):
    """One instance of an incident (an Alertmanager fingerprint inside a group, or the key itself)."""

    __tablename__ = "incident_alert"
    __table_args__ = (UniqueConstraint("incident_id", "instance", name="uq_incident_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    instance: str = Field(max_length=255)
    status: str = Field(max_length=16)
    starts_at: float | None = None
    first_seen: float
    last_seen: float
    firings: int = 1


class IncidentEvent(SQLModel, table=True):
    """The append-only timeline of an incident: alerts, state changes and who pressed what.

    `announced` is False for news not yet replied in the thread (replies are coalesced)."""

    __tablename__ = "incident_event"
    __table_args__ = (Index("ix_incident_event_incident", "incident_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    at: float
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, sa_column=Column(Text))
    news: bool = False  # worth a thread reply
    announced: bool = True


class DetectorAlert(SQLModel, table=True):
    """What an internal detector (or the dead-man's switch) last said about one alert key, so it
    speaks only on change: a firing key is announced once, and resolved once when it clears."""

    __tablename__ = "detector_alert"
    detector: str = Field(primary_key=True, max_length=64)
    dedup_key: str = Field(primary_key=True, max_length=255)
    status: str = Field(max_length=16, description="firing or resolved")
    severity: str = Field(max_length=16)
    title: str = Field(sa_column=Column(Text, nullable=False))
    subject_kind: str | None = Field(default=None, max_length=16)
    subject_name: str | None = Field(default=None, max_length=255)
    labels: str | None = Field(default=None, sa_column=Column(Text), description="JSON object")
    changed_at: float = Field(description="when it last started firing or resolved")


class DetectorHeartbeat(SQLModel, table=True):
    """The last sign of life of a detector (its last good run) or of an alert source (its last
    heartbeat): the dead-man's switch reads these."""

    __tablename__ = "detector_heartbeat"
    name: str = Field(primary_key=True, max_length=128, description="detector:<name>, source:<s>")
    last_good_at: float | None = None
    last_run_at: float | None = None
    last_problem: str | None = Field(default=None, sa_column=Column(Text))
    watched_since: float | None = Field(default=None, description="first seen by the switch")
