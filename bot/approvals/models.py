"""Approval tables: requests, one vote per approver, where the cards were posted, the audit log.

Times are UTC epoch seconds (float), as in bot.store.models. JSON columns are Text so SQLite and
PostgreSQL store them alike. The request keeps the policy *as resolved when it was made*
(groups and their members), so editing ops.yml never changes the rules of a pending request.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ApprovalRequest(SQLModel, table=True):
    __tablename__ = "approval_request"
    __table_args__ = (
        Index("ix_approval_request_state", "state", "expires_at"),
        Index("ix_approval_request_requester", "requester"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    state: str = Field(max_length=16)
    subject: str = Field(sa_column=Column(Text, nullable=False), description="JSON")
    policy: str = Field(
        sa_column=Column(Text, nullable=False), description="JSON: the resolved policy"
    )
    requester: str = Field(max_length=64)
    team: str = Field(max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    surface: str = Field(max_length=32)
    created_at: float
    expires_at: float
    next_reminder_at: float | None = None
    escalated_at: float | None = None
    decided_at: float | None = None
    claimed_at: float | None = Field(default=None, description="when execution was claimed")
    executed_at: float | None = None
    result: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    # Bumped by every transaction that changes the request; the bump also locks its row, so
    # decisions on one request are serialised on PostgreSQL and SQLite alike.
    version: int = 0


class ApprovalVote(SQLModel, table=True):
    __tablename__ = "approval_vote"
    __table_args__ = (UniqueConstraint("request_id", "user", name="uq_approval_vote_user"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    user: str = Field(max_length=64)
    approve: bool
    at: float
    reason: str | None = Field(default=None, sa_column=Column(Text))
    surface: str = Field(max_length=32)
    groups: str = Field(sa_column=Column(Text, nullable=False), description="JSON list")


class ApprovalCopy(SQLModel, table=True):
    """A posted card (DM or team channel); every copy is updated when the request changes."""

    __tablename__ = "approval_copy"
    __table_args__ = (UniqueConstraint("request_id", "channel", name="uq_approval_copy_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    channel: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    outbox_id: int | None = None
    ts: str | None = Field(default=None, max_length=32)
    created_at: float


class ApprovalAudit(SQLModel, table=True):
    """Append-only: nothing updates or deletes these rows."""

    __tablename__ = "approval_audit"
    __table_args__ = (
        Index("ix_approval_audit_request", "request_id", "id"),
        Index("ix_approval_audit_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    at: float
    actor: str = Field(max_length=64)
    action: str = Field(max_length=16)
    surface: str | None = Field(default=None, max_length=32)
    state: str | None = Field(default=None, max_length=16, description="state after, if changed")
    detail: str = Field(sa_column=Column(Text, nullable=False), description="JSON object")
