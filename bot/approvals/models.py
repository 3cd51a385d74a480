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
        UniqueConstraint("open_key", name="uq_approval_request_open_key"),
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
    escalate_at: float | None = Field(default=None, description="when the fallback is asked")
    escalated_at: float | None = Field(default=None, description="when the fallback was asked")
    decided_at: float | None = None
    claimed_at: float | None = Field(default=None, description="when execution was claimed")
    executed_at: float | None = None
    result: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    # Bumped by every transaction that changes the request; the bump also locks its row, so
    # decisions on one request are serialised on PostgreSQL and SQLite alike.
    version: int = 0
    # The subject ("promotion:churn:champion") while the request is open, NULL once closed:
    # the unique key makes "one open request per subject" hold across replicas.
    open_key: str | None = Field(default=None, max_length=255)
    # One replica at a time delivers the request's notices, in order.
    notice_lease_until: float | None = None


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
    posted_channel: str | None = Field(
        default=None, max_length=64, description="where Slack put it (a DM's D… id)"
    )
    created_at: float


class ApprovalNotice(SQLModel, table=True):
    """What people must be told after a change, written in the change's own transaction and
    delivered afterwards (at once by the replica that made the change, else by the next tick):
    a change is never committed without its notice, and a notice is delivered until it is
    marked sent. kinds: announce, card, remind, escalate, expired."""

    __tablename__ = "approval_notice"
    __table_args__ = (Index("ix_approval_notice_unsent", "sent_at", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    kind: str = Field(max_length=16)
    detail: str = Field(sa_column=Column(Text, nullable=False), description="JSON object")
    created_at: float
    sent_at: float | None = None


class BudgetIncrease(SQLModel, table=True):
    """The ledger of executed budget increases: one row per request (its primary key), written
    in the same transaction as the new figure, so an increase is applied once whatever retries."""

    __tablename__ = "budget_increase"

    request_id: int = Field(primary_key=True, foreign_key="approval_request.id")
    team: str = Field(max_length=64)
    amount: str = Field(max_length=32, description="Decimal as text")
    currency: str = Field(max_length=3)
    monthly_before: str = Field(max_length=32)
    monthly_after: str = Field(max_length=32)
    applied_at: float
    applied_by: str | None = Field(default=None, max_length=64)


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
