"""What the approval engine speaks: request kinds and states, snapshots, outcomes, the executor.

Everything here is a frozen value (no database, no Slack); the Slack surface renders these.

Notes on the shape:
- `RequestState.executing` exists besides the states of the contract: it is the short-lived
  claim one replica takes (approved -> executing) before it calls the executor, so two replicas
  never execute the same request. A snapshot in `executing` means "execution in progress".
- `RequestSnapshot.policy` is the policy *name*; `needs` carries the required groups and
  `eligible` who may still decide, computed from the policy as it was when the request was made.
- `RequestSnapshot` also carries `approvers` (everyone the policy names, requester excluded)
  and `escalate_to`; subjects carry a `kind` tag ("promotion" / "budget_increase").
- `cancel` returns `RequestSnapshot | Refused`; `audit(since=, request_id=)` may filter by
  request; `AuditRecord.state` is the state after the record when it changed one, else None
  (a vote that did not decide the request is an "approved" record with no state).
- `ApprovalService(...)` also takes optional `catalog` (Sources: checks model/version exist)
  and `budgets` (StoredBudgets: the current figure shown on budget requests).
- `Executor.raise_budget` also takes `request_id`, so retrying a half-done increase (stored,
  but the AWS Budgets mirror failed) never adds the amount twice (the budget_increase ledger).
- `Executor.set_alias` takes the version the alias pointed at when the request was made, and
  refuses if someone moved the alias since: approvers approved replacing *that* version.
- `decide`/`execute`/`record_copy` raise `UnknownRequest` (a LookupError) for an unknown id.
- `TickReport` lists `Reminder`s and `Escalation`s that this replica claimed (each exactly once
  across replicas), the requests it expired, and stalled approved requests it executed.
- What people must be told after a change is a `Notice`, written in the change's transaction
  and delivered afterwards to a `NoticeHandler` (the Slack side), until it succeeds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class RequestKind(StrEnum):
    promotion = "promotion"
    budget_increase = "budget_increase"


class RequestState(StrEnum):
    pending = "pending"  # waiting for decisions
    approved = "approved"  # quorum reached, execution not yet done
    executing = "executing"  # claimed by one replica, executor running
    executed = "executed"
    rejected = "rejected"
    expired = "expired"
    failed = "failed"  # execution failed; retryable
    cancelled = "cancelled"


# Where a request may go from each state; anything else is a bug.
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.pending: frozenset(
        {RequestState.approved, RequestState.rejected, RequestState.expired, RequestState.cancelled}
    ),
    RequestState.approved: frozenset({RequestState.executing}),
    RequestState.executing: frozenset({RequestState.executed, RequestState.failed}),
    # failed -> executed only for an execution that finished after the tick took it for
    # interrupted (see ApprovalService._finish)
    RequestState.failed: frozenset({RequestState.approved, RequestState.executed}),
    RequestState.executed: frozenset(),
    RequestState.rejected: frozenset(),
    RequestState.expired: frozenset(),
    RequestState.cancelled: frozenset(),
}
OPEN_STATES = frozenset(
    {RequestState.pending, RequestState.approved, RequestState.executing, RequestState.failed}
)


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PromotionSubject(Value):
    kind: Literal["promotion"] = "promotion"
    model: str
    version: str
    alias: str
    current_version: str | None = Field(None, description="version the alias pointed at")


class BudgetSubject(Value):
    kind: Literal["budget_increase"] = "budget_increase"
    team: str
    amount: Decimal = Field(description="increase of the monthly budget")
    currency: str
    current_monthly: Decimal | None = Field(None, description="monthly budget when requested")


Subject = PromotionSubject | BudgetSubject


class Vote(Value):
    user: str
    approve: bool
    at: datetime
    reason: str | None = None
    surface: str = Field(description="where the decision was made: dm, team_channel, command…")
    groups: list[str] = Field(default_factory=list, description="approver groups it counts for")


class GroupNeed(Value):
    """A `required` group of the policy and whether one of its members has approved."""

    group: str = Field(description="as in ops.yml: owners, admins, team:x, user:U…")
    label: str = Field(description="for people: 'owners (ml-platform)', 'team finance', …")
    members: list[str]
    satisfied: bool


class PostedCopy(Value):
    channel: str = Field(description="where it was addressed: a user id for a DM")
    ts: str | None = None
    outbox_id: int | None = None
    kind: Literal["dm", "team_channel"]
    posted_channel: str | None = Field(None, description="where Slack put it (D… for a DM)")


class RequestSnapshot(Value):
    id: int
    kind: RequestKind
    state: RequestState
    subject: PromotionSubject | BudgetSubject = Field(discriminator="kind")
    requester: str
    reason: str | None
    surface: str
    policy: str = Field(description="name of the policy that applies")
    quorum: int
    approvals: list[Vote]
    rejection: Vote | None
    needs: list[GroupNeed]
    eligible: list[str] = Field(description="user ids who may still decide")
    approvers: list[str] = Field(description="everyone the policy names, requester excluded")
    team: str = Field(description="owning team: the model's team or the budget's team")
    escalate_to: str | None = None
    escalated_at: datetime | None = Field(
        None, description="when escalate_to was asked to stand in (pending requests)"
    )
    excluded: dict[str, str] = Field(
        default_factory=dict, description="user id -> why they may not decide (besides requester)"
    )
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    executed_at: datetime | None = None
    result: str | None = None
    error: str | None = None
    messages: list[PostedCopy] = Field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def waiting_on(self) -> list[str]:
        """Approvers who have not voted yet while the request is pending."""
        return list(self.eligible) if self.state == RequestState.pending else []


class Refused(Value):
    """A request (or a retry) refused, with a reason a person can act on."""

    reason: str
    open_request: int | None = Field(
        None, description="the open request for the same subject, when that is the reason"
    )


class DecisionOutcome(Value):
    status: Literal["recorded", "duplicate", "not_allowed", "closed"]
    snapshot: RequestSnapshot
    message: str
    execute: bool = Field(False, description="True once: for the decision that completed quorum")


class Reminder(Value):
    request: RequestSnapshot
    users: list[str] = Field(description="approvers who have not voted yet")


class Escalation(Value):
    request: RequestSnapshot
    team: str = Field(description="the policy's escalate_to team")
    asked: list[str] = Field(
        default_factory=list, description="fallback members now asked to decide (empty: expiry)"
    )


NoticeKind = Literal["announce", "card", "remind", "escalate", "expired"]


class Notice(Value):
    """Something people must be told about a request; see ApprovalNotice."""

    id: int
    request_id: int
    kind: NoticeKind
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class TickReport(Value):
    expired: list[RequestSnapshot] = Field(default_factory=list)
    reminders: list[Reminder] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    executed: list[RequestSnapshot] = Field(
        default_factory=list, description="approved requests whose execution had stalled"
    )
    notices_sent: int = 0


AuditAction = Literal[
    "created",
    "routed",
    "approved",
    "rejected",
    "expired",
    "executing",
    "executed",
    "failed",
    "reminded",
    "escalated",
    "cancelled",
    "retried",
]


class AuditRecord(Value):
    id: int
    request_id: int
    at: datetime
    actor: str = Field(description="user id, or 'switchboard' for the scheduler")
    action: AuditAction
    surface: str | None = None
    state: RequestState | None = Field(None, description="state after this record, if changed")
    detail: dict[str, Any] = Field(default_factory=dict)


class NoticeHandler(Protocol):
    """Tells people about a request's notices (oldest first); raises if it could not, and the
    same notices are offered again later. Must be idempotent per notice id."""

    async def __call__(self, snapshot: RequestSnapshot, notices: list[Notice]) -> None: ...


class UnknownRequest(LookupError):
    """No approval request has this id."""


class Executor(Protocol):
    """Carries out an approved request; raises on failure (the message is shown to people)."""

    async def set_alias(
        self, *, model: str, alias: str, version: str, expected: str | None = None
    ) -> str:
        """Point `alias` of `model` at `version`, if the alias still points at `expected`
        (the version it pointed at when the request was made; None: it had none)."""
        ...

    async def raise_budget(
        self, *, team: str, amount: Decimal, by: str, reason: str | None, request_id: int
    ) -> str:
        """Raise `team`'s monthly budget by `amount`. `request_id` makes a retry safe: an
        increase already stored for that request is not added a second time."""
        ...
