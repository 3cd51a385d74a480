"""One decision (an Approve or Reject click) inside one transaction, with the engine's rules.

The caller runs `decide_locked` in a transaction that began with `store.lock`, so nothing else
changes the request meanwhile: the vote, the quorum count and the state change are consistent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from bot.approvals import policy as rules
from bot.approvals import store
from bot.approvals.snapshot import escalated, policy_of
from bot.approvals.store import REQUEST, Stored, moment
from bot.approvals.types import RequestState

SYSTEM = "switchboard"
Status = Literal["recorded", "duplicate", "not_allowed", "closed"]


@dataclass(frozen=True)
class Decided:
    status: Status
    message: str
    execute: bool = False


def when(seconds: float | None) -> str:
    at = moment(seconds)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "an unknown time"


def people(users: list[str]) -> str:
    mentions = [f"<@{u}>" for u in users]
    return mentions[0] if len(mentions) == 1 else ", ".join(mentions[:-1]) + " and " + mentions[-1]


def closed_message(stored: Stored) -> str:
    row = stored.request
    state = RequestState(row.state)
    approvers = [v.user for v in stored.votes if v.approve]
    rejecter = next((v for v in stored.votes if not v.approve), None)
    if state == RequestState.rejected and rejecter is not None:
        return f"Already rejected by {people([rejecter.user])} at {when(rejecter.at)}."
    if state == RequestState.expired:
        return f"This request expired at {when(row.decided_at)} without enough approvals."
    if state == RequestState.cancelled:
        return f"Cancelled by {people([row.requester])} at {when(row.decided_at)}."
    by = people(approvers) if approvers else "its approvers"
    return f"Already approved by {by} at {when(row.decided_at)}."


def expire_if_due(conn: Connection, stored: Stored, *, now: float) -> bool:
    row = stored.request
    if row.state != RequestState.pending or now < row.expires_at:
        return False
    assert row.id is not None
    return expire(conn, stored, now=now)


def expire(conn: Connection, stored: Stored, *, now: float) -> bool:
    """Pending -> expired if still past due; the escalation team hears of it."""
    row = stored.request
    assert row.id is not None
    won = store.transition(
        conn,
        request_id=row.id,
        from_state=RequestState.pending,
        to_state=RequestState.expired,
        at=now,
        actor=SYSTEM,
        action="expired",
        extra=REQUEST.c.expires_at <= now,
        detail={"expires_at": row.expires_at},
        decided_at=now,
    )
    team = policy_of(stored).escalate_to
    if won and team:
        store.audit(
            conn,
            request_id=row.id,
            at=now,
            actor=SYSTEM,
            action="escalated",
            detail={"team": team, "why": "expired"},
        )
        store.notice(conn, request_id=row.id, kind="expired", at=now, detail={"team": team})
    return won


def decide_locked(
    conn: Connection,
    stored: Stored,
    *,
    user: str,
    approve: bool,
    reason: str | None,
    surface: str,
    now: float,
) -> Decided:
    row = stored.request
    assert row.id is not None
    earlier = next((v for v in stored.votes if v.user == user), None)
    if earlier is not None:
        said = "approved" if earlier.approve else "rejected"
        return Decided("duplicate", f"You already {said} this request at {when(earlier.at)}.")
    if expire_if_due(conn, stored, now=now):
        stored = store.read(conn, row.id) or stored
    if stored.request.state != RequestState.pending:
        return Decided("closed", closed_message(stored))
    policy = policy_of(stored)
    refused = rules.why_not(policy, requester=row.requester, user=user)
    if refused:
        return Decided("not_allowed", refused)
    widened = escalated(stored)
    eligible = rules.approvers(policy, requester=row.requester, escalated=widened)
    if user not in eligible:
        asked = ", ".join(policy.labels[g] for g in policy.members)
        if widened and policy.escalate_to:
            asked += f", and since the escalation team {policy.escalate_to}"
        return Decided(
            "not_allowed",
            f"You are not an approver of this request: policy {policy.name} asks {asked}.",
        )
    groups = rules.groups_of(policy, user, escalated=widened)
    if not store.add_vote(
        conn,
        values={
            "request_id": row.id,
            "user": user,
            "approve": approve,
            "at": now,
            "reason": reason,
            "surface": surface,
            "groups": json.dumps(groups),
        },
    ):
        return Decided("duplicate", "Your decision was already recorded.")
    detail = {"groups": groups, "reason": reason}
    if not approve:
        store.transition(
            conn,
            request_id=row.id,
            from_state=RequestState.pending,
            to_state=RequestState.rejected,
            at=now,
            actor=user,
            action="rejected",
            surface=surface,
            detail=detail,
            decided_at=now,
        )
        return Decided("recorded", "Rejected. The requester will be told.")
    approved_by = [v.user for v in stored.votes if v.approve] + [user]
    if rules.quorum_met(
        policy, requester=row.requester, approved_by=approved_by, escalated=widened
    ):
        won = store.transition(
            conn,
            request_id=row.id,
            from_state=RequestState.pending,
            to_state=RequestState.approved,
            at=now,
            actor=user,
            action="approved",
            surface=surface,
            detail=detail,
            decided_at=now,
        )
        if won:
            return Decided("recorded", "Approved: every needed approval is in.", execute=True)
    store.audit(
        conn,
        request_id=row.id,
        at=now,
        actor=user,
        action="approved",
        surface=surface,
        detail=detail,
    )
    store.notice(conn, request_id=row.id, kind="card", at=now)  # the count on every card
    counted = len({u for u in approved_by if u in eligible})
    missing = [
        n.label for n in rules.needs(policy, approved_by, escalated=widened) if not n.satisfied
    ]
    still = f" Still needed: an approval from {', '.join(missing)}." if missing else ""
    return Decided("recorded", f"Approval recorded ({counted} of {policy.quorum}).{still}")
