"""Telling people about approval requests: `ApprovalNotifier` is the NoticeHandler the approval
service delivers its notices to. Cards go to every approver's DM and the owning team's channel
(and, once escalated, to the fallback team), each copy recorded so every later change updates all
of them; reminders, escalations and expiries are posted too. Everything goes through the outbox.

Until Slack's ts of a card is known, an update names the copy's outbox message as its parent, so
the outbox sends it after the card itself and fills in the ts (and, for a DM, the D… channel
Slack answered with): an update never races the post it edits. Then the ts and channel the
approvals tick copied into approval_copy are used, which outlive the outbox's pruning.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any

import structlog

from bot.answers.deps import AnswerDeps
from bot.approvals.evidence import Evidence, evidence_for
from bot.approvals.service import ApprovalService
from bot.approvals.types import Notice, PostedCopy, RequestSnapshot, RequestState
from bot.delivery.notes import Enqueues, message_payload
from bot.ops_config import OpsConfig
from bot.views.approval_cards import USER_ID, approval_card, people, result_reply, subject_text
from bot.views.reply import Reply

log = structlog.get_logger(__name__)

EVIDENCE_KEPT = 256  # cards of this many requests keep the evidence they were first shown with
THREAD_STATES = frozenset(
    {RequestState.executed, RequestState.failed, RequestState.rejected, RequestState.expired}
)


class EvidenceCache:
    """The evidence each request's card was first shown with, for the newest `size` requests of
    this process: every later update shows what approvers first saw, and costs no source calls."""

    def __init__(self, size: int = EVIDENCE_KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[int, Evidence] = OrderedDict()

    def get(self, request_id: int) -> Evidence | None:
        return self._kept.get(request_id)

    def keep(self, request_id: int, evidence: Evidence) -> None:
        self._kept[request_id] = evidence
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


class ApprovalNotifier:
    """Delivers an approval request's notices to Slack; call it as the service's NoticeHandler."""

    def __init__(
        self,
        *,
        outbox: Enqueues,
        approvals: ApprovalService,
        config: OpsConfig,
        answers: Callable[[], AnswerDeps | None],
        evidence: EvidenceCache | None = None,
    ) -> None:
        self.outbox = outbox
        self.approvals = approvals
        self.config = config
        self.answers = answers  # what the evidence is read with, at the moment a card is drawn
        self.evidence = evidence or EvidenceCache()

    async def __call__(self, snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        """Posts new copies, refreshes the cards once for all state changes, then sends
        reminders and escalation messages (idempotent per notice id)."""
        kinds = {n.kind for n in notices}
        if snapshot.messages and kinds & {"card", "expired", "escalate"}:
            await self.refresh(snapshot, change=max(n.id for n in notices))
        if kinds & {"announce", "escalate"}:
            snapshot = await self.announce(snapshot)
        asked_by = f"asked by {people([snapshot.requester])}"
        for notice in notices:
            if notice.kind == "remind":
                await self._remind(snapshot, notice)
            elif notice.kind == "escalate":
                await self._tell_team(
                    snapshot,
                    notice,
                    f":rotating_light: Request #{snapshot.id} has waited too long — "
                    f"{subject_text(snapshot)}, {asked_by}. Your team may now decide it in place "
                    "of the approvers who have not answered: the card is in this channel.",
                )
            elif notice.kind == "expired":
                await self._tell_team(
                    snapshot,
                    notice,
                    f":rotating_light: Request #{snapshot.id} expired without a decision — "
                    f"{subject_text(snapshot)}, {asked_by}. Please follow up: it can be "
                    "requested again with the same command.",
                )

    async def deliver_now(self, request_id: int) -> RequestSnapshot | None:
        """Deliver the request's notices at once (after a command, click or webhook); whatever
        fails here is delivered by the next approvals tick."""
        await self.approvals.deliver_notices(self, request_id=request_id)
        return await self.approvals.snapshot(request_id)

    # -- the card ---------------------------------------------------------------------------
    def _zone(self) -> tzinfo:
        deps = self.answers()
        return deps.workspace_tz if deps else UTC

    async def evidence_of(self, snapshot: RequestSnapshot) -> Evidence | None:
        """Evidence for the card, gathered once per request per process."""
        kept = self.evidence.get(snapshot.id)
        if kept is not None:
            return kept
        deps = self.answers()
        if deps is None:
            return None
        try:
            found = await evidence_for(deps, snapshot)
        except Exception:  # the card must go out even when evidence has a bug
            log.exception("approval.evidence_failed", id=snapshot.id)
            return None
        self.evidence.keep(snapshot.id, found)
        return found

    async def card_of(self, snapshot: RequestSnapshot) -> Reply:
        return approval_card(snapshot, await self.evidence_of(snapshot), tz=self._zone())

    def _team_channel(self, team: str | None) -> str | None:
        found = self.config.teams.get(team) if team else None
        return found.channel if found is not None and found.channel else None

    def targets(self, snapshot: RequestSnapshot) -> list[tuple[str, str]]:
        """(channel, kind): a DM to each approver who may still decide, then the team channel,
        then (once escalated) the fallback team's channel."""
        found = [(user, "dm") for user in snapshot.eligible if USER_ID.fullmatch(user)]
        rooms = [self._team_channel(snapshot.team)]
        if snapshot.escalated_at is not None:
            rooms.append(self._team_channel(snapshot.escalate_to))
        found += [(room, "team_channel") for room in dict.fromkeys(rooms) if room]
        return found

    async def announce(self, snapshot: RequestSnapshot) -> RequestSnapshot:
        """Post the card to every target that has no copy yet and record each copy."""
        posted = {c.channel for c in snapshot.messages}
        fresh = [(c, k) for c, k in self.targets(snapshot) if c not in posted]
        if not fresh:
            return snapshot
        card = await self.card_of(snapshot)
        for channel, kind in fresh:
            outbox_id = await self.outbox.aenqueue(
                method="chat.postMessage",
                channel=channel,
                payload=message_payload(card),
                dedupe_key=f"approval:{snapshot.id}:card:{channel}",
            )
            await self.approvals.record_copy(
                request_id=snapshot.id, channel=channel, kind=kind, outbox_id=outbox_id
            )
        log.info("approval.announced", id=snapshot.id, copies=len(fresh))
        return await self.approvals.snapshot(snapshot.id) or snapshot

    async def _on_copy(
        self, copy: PostedCopy, *, method: str, payload: dict[str, Any], dedupe_key: str
    ) -> bool:
        """Queue an update of (or a thread reply to) one posted card; False if it cannot be found.

        Every message about a copy is queued under the copy's own channel key, so the outbox
        keeps them in order. Once Slack's ts is known (the tick copies it in within a minute of
        posting) it is used directly: the posted message may be pruned from the outbox after a
        week.
        """
        at_key = "ts" if method == "chat.update" else "thread_ts"
        if copy.ts is not None:
            located = {"channel": copy.posted_channel} if copy.posted_channel else {}
            await self.outbox.aenqueue(
                method=method,
                channel=copy.channel,
                payload={**payload, **located, at_key: copy.ts},
                dedupe_key=dedupe_key,
            )
            return True
        if copy.outbox_id is None:
            log.warning("approval.copy_unreachable", channel=copy.channel, key=dedupe_key)
            return False
        await self.outbox.aenqueue(
            method=method,
            channel=copy.channel,
            payload=payload,
            parent_id=copy.outbox_id,
            dedupe_key=dedupe_key,
        )
        return True

    async def refresh(self, snapshot: RequestSnapshot, *, change: int) -> int:
        """Update every copy of the card to `snapshot`; replies in each thread once it is final.

        `change` (the newest notice delivered) names the update: delivering the same notices
        again queues nothing twice, while a later change always updates, even to a card that
        looks like an earlier one (failed, retried, failed again with the same error).
        """
        card = await self.card_of(snapshot)
        version = f"n{change}"
        thread = result_reply(snapshot, tz=self._zone())
        updated = 0
        for copy in snapshot.messages:
            updated += await self._on_copy(
                copy,
                method="chat.update",
                payload={"text": card.text, "blocks": card.blocks},
                dedupe_key=f"approval:{snapshot.id}:update:{version}:{copy.channel}",
            )
            if snapshot.state in THREAD_STATES:
                await self._on_copy(
                    copy,
                    method="chat.postMessage",
                    payload=message_payload(thread),
                    dedupe_key=f"approval:{snapshot.id}:thread:{version}:{copy.channel}",
                )
        return updated

    # -- reminders and the team's channel ----------------------------------------------------
    async def _remind(self, snapshot: RequestSnapshot, notice: Notice) -> None:
        for user in notice.detail.get("users", []):
            if user not in snapshot.eligible:  # decided since the reminder was due
                continue
            await self.outbox.aenqueue(
                method="chat.postMessage",
                channel=user,
                payload={
                    "text": f":bell: Reminder: request #{snapshot.id} still needs your decision — "
                    f"{subject_text(snapshot)}. The card with the buttons is in this conversation "
                    "and in the team channel.",
                },
                dedupe_key=f"approval:{snapshot.id}:notice:{notice.id}:{user}",
            )

    async def _tell_team(self, snapshot: RequestSnapshot, notice: Notice, text: str) -> None:
        channel = self._team_channel(notice.detail.get("team"))
        if channel is None:
            return
        await self.outbox.aenqueue(
            method="chat.postMessage",
            channel=channel,
            payload={"text": text},
            dedupe_key=f"approval:{snapshot.id}:notice:{notice.id}",
        )
