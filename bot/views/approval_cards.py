"""Approval cards (pure Block Kit renderers): the approver card in DMs and the team channel, the
result in its thread, the requester's confirmation, and the words every approval message uses.

Buttons carry only a `RequestRef` (the request id): who may decide is always asked of the
approval service, never read from a payload.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.approvals.evidence import BudgetEvidence, Evidence, PromotionEvidence
from bot.approvals.types import (
    BudgetSubject,
    PromotionSubject,
    RequestSnapshot,
    RequestState,
    Vote,
)
from bot.views.format import money, partial_note, pct, signed_pct, slack_date
from bot.views.ids import Action, BlockId
from bot.views.limits import FIELD_TEXT_MAX, MESSAGE_BLOCKS_MAX, truncate
from bot.views.models import metrics_comparison_fields
from bot.views.mrkdwn import actions, button, context, divider, escape, section
from bot.views.reply import Block, Reply
from integrations.focus.analysis import Mover

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
REASON_MAX = 1000


MAX_REQUEST_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


class RequestRef(BaseModel):
    """A button value or modal private_metadata: which request, nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    request_id: int = Field(ge=1, le=MAX_REQUEST_ID)

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def read(cls, text: str | None) -> RequestRef | None:
        try:
            return cls.model_validate_json(text or "")
        except ValidationError:
            return None


# -- words --------------------------------------------------------------------------------------
def who(user: str) -> str:
    """A mention for a Slack user id; anything else (a service account) as escaped text."""
    return f"<@{user}>" if USER_ID.fullmatch(user) else f"*{escape(user)}*"


def people(users: list[str]) -> str:
    names = [who(u) for u in users]
    if not names:
        return "nobody"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _amount(value: Decimal, currency: str) -> str:
    return money(value, currency)


def subject_text(snapshot: RequestSnapshot) -> str:
    """ "promote `churn` v14 to `champion`" / "raise the `ml-platform` budget by $3,000 a month"."""
    subject = snapshot.subject
    if isinstance(subject, PromotionSubject):
        return (
            f"promote *{escape(subject.model)}* v{escape(subject.version)} "
            f"to *{escape(subject.alias)}*"
        )
    return (
        f"raise the *{escape(subject.team)}* budget by "
        f"{_amount(subject.amount, subject.currency)} a month"
    )


def headline(snapshot: RequestSnapshot) -> str:
    return f"{who(snapshot.requester)} asks to {subject_text(snapshot)}"


def what_will_happen(snapshot: RequestSnapshot) -> str:
    subject = snapshot.subject
    if isinstance(subject, PromotionSubject):
        was = (
            f"from v{escape(subject.current_version)} "
            if subject.current_version
            else "(it points at no version now) "
        )
        return (
            f"Sets the model registry alias *{escape(subject.alias)}* of "
            f"*{escape(subject.model)}* {was}to v{escape(subject.version)}."
        )
    return _budget_change(subject)


def _budget_change(subject: BudgetSubject) -> str:
    plus = _amount(subject.amount, subject.currency)
    if subject.current_monthly is None:
        return f"Raises the monthly budget of *{escape(subject.team)}* by {plus}."
    after = subject.current_monthly + subject.amount
    return (
        f"Raises the monthly budget of *{escape(subject.team)}* from "
        f"{_amount(subject.current_monthly, subject.currency)} to "
        f"{_amount(after, subject.currency)} (+{plus})."
    )


def _vote_line(vote: Vote, tz: tzinfo) -> str:
    said = "approved" if vote.approve else "rejected"
    why = f": “{escape(truncate(vote.reason, 300))}”" if vote.reason else ""
    return f"{who(vote.user)} {said} {slack_date(vote.at, tz)}{why}"


def state_text(snapshot: RequestSnapshot, tz: tzinfo) -> str:
    s = snapshot
    approvers = people([v.user for v in s.approvals])
    when = slack_date(s.decided_at, tz)
    match s.state:
        case RequestState.pending:
            return (
                f":hourglass_flowing_sand: *Waiting for approval* — {len(s.approvals)} of "
                f"{s.quorum} · expires {slack_date(s.expires_at, tz)}"
            )
        case RequestState.approved | RequestState.executing:
            return f":white_check_mark: *Approved* by {approvers} {when} — carrying it out…"
        case RequestState.executed:
            done = escape(truncate(s.result or "done", 1500))
            return f":white_check_mark: *Approved* by {approvers} {when}. *Done:* {done}"
        case RequestState.failed:
            error = escape(truncate(s.error or "unknown error", 1500))
            return (
                f":warning: *Approved* by {approvers} {when}, but carrying it out *failed*: "
                f"{error}\nFix the cause, then press *Retry*."
            )
        case RequestState.rejected:
            vote = s.rejection
            line = _vote_line(vote, tz) if vote else f"rejected {when}"
            return f":x: *Rejected* — {line}"
        case RequestState.expired:
            return f":alarm_clock: *Expired* {when} without enough approvals."
        case RequestState.cancelled:
            return f":no_entry_sign: *Cancelled* by {who(s.requester)} {when}."
    return escape(str(s.state))


def approvers_text(snapshot: RequestSnapshot, tz: tzinfo) -> str:
    """Who must approve: each required group (✓ or pending), quorum, votes so far."""
    s = snapshot
    lines = []
    for need in s.needs:
        mark = ":white_check_mark:" if need.satisfied else ":white_circle:"
        state = "approved" if need.satisfied else "pending"
        lines.append(f"{mark} {escape(need.label)} — {state}")
    lines.append(
        f"Needs *{s.quorum}* approval{'s' if s.quorum != 1 else ''} "
        f"of {len(s.approvers)} possible approvers (policy `{escape(s.policy)}`)"
    )
    if s.state == RequestState.pending and s.eligible:
        shown = s.eligible[:12]
        more = f" and {len(s.eligible) - len(shown)} more" if len(s.eligible) > len(shown) else ""
        lines.append("Can approve: " + people(shown) + more)
    lines += [_vote_line(v, tz) for v in s.approvals]
    return "*Who must approve*\n" + "\n".join(lines)


# -- evidence -----------------------------------------------------------------------------------
def _health_line(evidence: PromotionEvidence) -> str:
    health = evidence.health
    if health is None:
        return "Serving health: not reported"
    parts = []
    if health.latency_p95_ms is not None:
        parts.append(f"p95 {health.latency_p95_ms:.0f} ms")
    if health.error_rate is not None:
        parts.append(f"errors {health.error_rate:.2%}")
    if health.drift is not None:
        parts.append(f"drift {health.drift:.2f}")
    worry = (" — :warning: " + escape("; ".join(health.problems))) if health.problems else ""
    return "Serving now: " + (" · ".join(parts) or "no measurements") + worry


def _cost_line(evidence: PromotionEvidence) -> str:
    cost = ", ".join(money(v, c) for c, v in sorted(evidence.serving.items())) or "no spend found"
    return f"Serving cost, last {evidence.cost_days} days: {cost} — {escape(evidence.cost_change)}"


def promotion_blocks(evidence: PromotionEvidence) -> list[Block]:
    cand, cur = evidence.candidate, evidence.current
    if cand is None:
        title = "*Evaluation metrics*: the registry did not return this version"
        fields: list[dict[str, Any]] = []
    else:
        vs = f" vs v{escape(cur.version)} (now)" if cur else " (nothing to compare with)"
        title = f"*Evaluation metrics* v{escape(cand.version)} (candidate){vs}"
        fields = metrics_comparison_fields(cand, cur)
    metrics = section(title)
    if fields:
        metrics["fields"] = fields
    blocks = [metrics]
    if cand is not None and evidence.champion is not None:
        champ = evidence.champion
        against = section(
            f"*…and against the champion* v{escape(cand.version)} vs v{escape(champ.version)}"
        )
        if champion_fields := metrics_comparison_fields(cand, champ):
            against["fields"] = champion_fields
        blocks.append(against)
    return [*blocks, section(_health_line(evidence) + "\n" + _cost_line(evidence))]


def _movers(title: str, movers: tuple[Mover, ...]) -> dict[str, Any]:
    lines = [
        f"{escape(m.key)} {money(m.current, m.currency)} "
        f"({'+' if m.delta >= 0 else '-'}{money(abs(m.delta), m.currency)}, {signed_pct(m.change)})"
        for m in movers
    ] or ["no change"]
    return {"type": "mrkdwn", "text": truncate(f"*{title}*\n" + "\n".join(lines), FIELD_TEXT_MAX)}


def budget_blocks(evidence: BudgetEvidence, subject: BudgetSubject) -> list[Block]:
    budget = evidence.budget
    if budget is None:
        burn = f"Spent {money(evidence.spent_mtd, subject.currency)} this month; no budget found."
    else:
        monthly, cur = budget.monthly, budget.currency
        raised = monthly + subject.amount
        share = float(evidence.spent_mtd / monthly) if monthly else 0.0
        ahead = float(evidence.forecast / monthly) if monthly else 0.0
        after = float(evidence.forecast / raised) if raised else 0.0
        burn = (
            f"Spent *{money(evidence.spent_mtd, cur)}* of {money(monthly, cur)} this month "
            f"({pct(share)}) · month-end forecast *{money(evidence.forecast, cur)}* ({pct(ahead)})"
            f"\nWith the increase the budget is {money(raised, cur)}: the forecast would use "
            f"{pct(after)} of it."
        )
    drivers = section(f"*What drove the spend* — this month vs {escape(evidence.compared_with)}")
    drivers["fields"] = [
        _movers("Services", evidence.services),
        _movers("Models", evidence.models),
        _movers("Pipelines", evidence.pipelines),
    ]
    return [section(burn), drivers]


def evidence_blocks(snapshot: RequestSnapshot, evidence: Evidence | None) -> list[Block]:
    if evidence is None:
        return [context(":information_source: Evidence could not be gathered for this card.")]
    if isinstance(evidence, PromotionEvidence):
        blocks = promotion_blocks(evidence)
    else:
        assert isinstance(snapshot.subject, BudgetSubject)
        blocks = budget_blocks(evidence, snapshot.subject)
    note = partial_note(evidence.problems)
    return blocks + ([note] if note else [])


# -- the card -----------------------------------------------------------------------------------
def card_buttons(snapshot: RequestSnapshot) -> Block | None:
    """Approve/Reject while pending, Retry once failed, nothing once decided."""
    value = RequestRef(request_id=snapshot.id).dump()
    if snapshot.state == RequestState.pending:
        return actions(
            button("Approve", action_id=Action.approval_approve, value=value, style="primary"),
            button("Reject", action_id=Action.approval_reject, value=value, style="danger"),
            block_id=f"{BlockId.approval}_{snapshot.id}",
        )
    if snapshot.state == RequestState.failed:
        return actions(
            button("Retry", action_id=Action.approval_retry, value=value),
            block_id=f"{BlockId.approval}_{snapshot.id}",
        )
    return None


def cancel_button(request_id: int) -> Block:
    """For the requester only (the server checks): withdraw a pending request."""
    return actions(
        button(
            "Cancel request",
            action_id=Action.approval_cancel,
            value=RequestRef(request_id=request_id).dump(),
        ),
        block_id=f"{BlockId.approval_cancel}_{request_id}",
    )


def fallback_text(snapshot: RequestSnapshot) -> str:
    return f"Request #{snapshot.id}: {headline(snapshot)} ({snapshot.state.value})"


def approval_card(snapshot: RequestSnapshot, evidence: Evidence | None, *, tz: tzinfo) -> Reply:
    """The card every approver sees (DM and team channel): the same for every copy."""
    reason = escape(truncate(snapshot.reason, REASON_MAX)) if snapshot.reason else "_none given_"
    blocks: list[Block] = [
        section(f":ballot_box_with_ballot: *Request #{snapshot.id}* — {headline(snapshot)}"),
        section(f"*Why:* {reason}\n*What happens if approved:* {what_will_happen(snapshot)}"),
        divider(),
        *evidence_blocks(snapshot, evidence),
        divider(),
        section(approvers_text(snapshot, tz)),
        section(state_text(snapshot, tz)),
    ]
    buttons = card_buttons(snapshot)
    if buttons:
        blocks.append(buttons)
    blocks.append(
        context(
            f"Requested {slack_date(snapshot.created_at, tz)} via "
            f"{escape(snapshot.surface.replace('_', ' '))} · team {escape(snapshot.team)}"
        )
    )
    return Reply(text=fallback_text(snapshot), blocks=blocks[:MESSAGE_BLOCKS_MAX])


def result_reply(snapshot: RequestSnapshot, *, tz: tzinfo) -> Reply:
    """The thread reply once a request is carried out, fails, or is rejected."""
    text = f"{state_text(snapshot, tz)}\n{who(snapshot.requester)}"
    return Reply(text=fallback_text(snapshot), blocks=[section(text)])


def where(snapshot: RequestSnapshot) -> str:
    """Where the cards of a request went, for the requester."""
    dms = [c.channel for c in snapshot.messages if c.kind == "dm"]
    rooms = [
        f"<#{c.channel}>" if c.channel[:1] in "CG" else c.channel
        for c in snapshot.messages
        if c.kind == "team_channel"
    ]
    parts = ([people(dms) + " (DM)"] if dms else []) + rooms
    return " and ".join(parts) if parts else "nobody yet (it will be sent shortly)"


def confirmation(snapshot: RequestSnapshot) -> Reply:
    """What the requester is told once the request is open and sent, with the cancel button."""
    text = (
        f":outbox_tray: Request #{snapshot.id} sent to {where(snapshot)}. "
        "`/ops approvals` shows its state."
    )
    return Reply(text=text, blocks=[section(text), cancel_button(snapshot.id)])
