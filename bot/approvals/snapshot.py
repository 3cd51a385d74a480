"""Turning a stored request (row, votes, copies) into the RequestSnapshot everyone reads."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import TypeAdapter

from bot.approvals import policy as rules
from bot.approvals.models import ApprovalVote
from bot.approvals.policy import ResolvedPolicy
from bot.approvals.store import Stored, moment
from bot.approvals.types import (
    BudgetSubject,
    PostedCopy,
    PromotionSubject,
    RequestKind,
    RequestSnapshot,
    RequestState,
    Vote,
)

SUBJECT: TypeAdapter[PromotionSubject | BudgetSubject] = TypeAdapter(
    PromotionSubject | BudgetSubject
)


def _at(seconds: float) -> datetime:
    at = moment(seconds)
    assert at is not None
    return at


def vote_of(row: ApprovalVote) -> Vote:
    return Vote(
        user=row.user,
        approve=row.approve,
        at=_at(row.at),
        reason=row.reason,
        surface=row.surface,
        groups=json.loads(row.groups),
    )


def policy_of(stored: Stored) -> ResolvedPolicy:
    return ResolvedPolicy.model_validate_json(stored.request.policy)


def escalated(stored: Stored) -> bool:
    """Whether the fallback team was asked to stand in (which widens who may decide)."""
    return stored.request.escalated_at is not None and bool(policy_of(stored).fallback)


def snapshot_of(stored: Stored) -> RequestSnapshot:
    row = stored.request
    policy = policy_of(stored)
    votes = [vote_of(v) for v in stored.votes]
    approvals = [v for v in votes if v.approve]
    state = RequestState(row.state)
    widened = escalated(stored)
    everyone = rules.approvers(policy, requester=row.requester, escalated=widened)
    voted = {v.user for v in votes}
    assert row.id is not None
    return RequestSnapshot(
        id=row.id,
        kind=RequestKind(row.kind),
        state=state,
        subject=SUBJECT.validate_json(row.subject),
        requester=row.requester,
        reason=row.reason,
        surface=row.surface,
        policy=policy.name,
        quorum=policy.quorum,
        approvals=approvals,
        rejection=next((v for v in votes if not v.approve), None),
        needs=rules.needs(policy, [v.user for v in approvals], escalated=widened),
        eligible=[u for u in everyone if u not in voted] if state == RequestState.pending else [],
        approvers=everyone,
        team=row.team,
        escalate_to=policy.escalate_to,
        escalated_at=moment(row.escalated_at) if widened else None,
        excluded=dict(policy.excluded),
        created_at=_at(row.created_at),
        expires_at=_at(row.expires_at),
        decided_at=moment(row.decided_at),
        executed_at=moment(row.executed_at),
        result=row.result,
        error=row.error,
        messages=[
            PostedCopy(
                channel=c.channel,
                ts=c.ts,
                outbox_id=c.outbox_id,
                kind=c.kind,
                posted_channel=c.posted_channel,
            )
            for c in stored.copies
        ],
    )
