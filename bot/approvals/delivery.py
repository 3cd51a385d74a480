"""Telling people about approval requests: the NoticeHandler the approval service delivers its
notices to. Cards go to every approver's DM and the owning team's channel (and, once escalated,
to the fallback team), each copy recorded so every later change updates all of them; reminders,
escalations and expiries are posted too. Everything goes through the outbox.

Until Slack's ts of a card is known, an update names the copy's outbox message as its parent, so
the outbox sends it after the card itself and fills in the ts (and, for a DM, the D… channel
Slack answered with): an update never races the post it edits. Then the ts and channel the
approvals tick copied into approval_copy are used, which outlive the outbox's pruning.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC
from typing import Any

import structlog

from bot.answers.deps import AnswerDeps, deps_for
from bot.approvals.cards import USER_ID, approval_card, people, result_reply, subject_text
from bot.approvals.evidence import Evidence, evidence_for
from bot.approvals.service import ApprovalService
from bot.approvals.types import Notice, NoticeHandler, PostedCopy, RequestSnapshot, RequestState
from bot.commands.dispatch import AskContext
from bot.views.reply import Reply

log = structlog.get_logger(__name__)

EVIDENCE_KEPT = 256  # cards of this many requests keep the evidence they were first shown with
THREAD_STATES = frozenset(
    {RequestState.executed, RequestState.failed, RequestState.rejected, RequestState.expired}
)


def _deps(services: dict[str, Any]) -> AnswerDeps | None:
    found = deps_for(AskContext(services=services, surface="approvals"))
    return found if isinstance(found, AnswerDeps) else None


async def evidence_of(services: dict[str, Any], snapshot: RequestSnapshot) -> Evidence | None:
    """Evidence for the card, gathered once per request per process: every later update shows
    what approvers first saw, and an update costs no source calls."""
    kept: OrderedDict[int, Evidence] = services.setdefault("approval_evidence", OrderedDict())
    if snapshot.id in kept:
        return kept[snapshot.id]
    deps = _deps(services)
    if deps is None:
        return None
    try:
        evidence = await evidence_for(deps, snapshot)
    except Exception:  # the card must go out even when evidence has a bug
        log.exception("approval.evidence_failed", id=snapshot.id)
        return None
    kept[snapshot.id] = evidence
    while len(kept) > EVIDENCE_KEPT:
        kept.popitem(last=False)
    return evidence


async def card_of(services: dict[str, Any], snapshot: RequestSnapshot) -> Reply:
    deps = _deps(services)
    tz = deps.workspace_tz if deps else UTC
    return approval_card(snapshot, await evidence_of(services, snapshot), tz=tz)


def _payload(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "blocks": reply.blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _team_channel(services: dict[str, Any], team: str | None) -> str | None:
    config = services.get("ops_config")
    found = config.teams.get(team) if config and team else None
    return found.channel if found is not None and found.channel else None


def targets(services: dict[str, Any], snapshot: RequestSnapshot) -> list[tuple[str, str]]:
    """(channel, kind): a DM to each approver who may still decide, then the team channel,
    then (once escalated) the fallback team's channel."""
    found = [(user, "dm") for user in snapshot.eligible if USER_ID.fullmatch(user)]
    rooms = [_team_channel(services, snapshot.team)]
    if snapshot.escalated_at is not None:
        rooms.append(_team_channel(services, snapshot.escalate_to))
    found += [(room, "team_channel") for room in dict.fromkeys(rooms) if room]
    return found


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


async def announce(services: dict[str, Any], snapshot: RequestSnapshot) -> RequestSnapshot:
    """Post the card to every target that has no copy yet and record each copy."""
    outbox = services["outbox"]
    service: ApprovalService = services["approvals"]
    posted = {c.channel for c in snapshot.messages}
    fresh = [(c, k) for c, k in targets(services, snapshot) if c not in posted]
    if not fresh:
        return snapshot
    card = await card_of(services, snapshot)
    for channel, kind in fresh:
        outbox_id = await outbox.aenqueue(
            method="chat.postMessage",
            channel=channel,
            payload=_payload(card),
            dedupe_key=f"approval:{snapshot.id}:card:{channel}",
        )
        await service.record_copy(
            request_id=snapshot.id, channel=channel, kind=kind, outbox_id=outbox_id
        )
    log.info("approval.announced", id=snapshot.id, copies=len(fresh))
    return await service.snapshot(snapshot.id) or snapshot


async def _on_copy(
    services: dict[str, Any],
    copy: PostedCopy,
    *,
    method: str,
    payload: dict[str, Any],
    dedupe_key: str,
) -> bool:
    """Queue an update of (or a thread reply to) one posted card; False if it cannot be found.

    Every message about a copy is queued under the copy's own channel key, so the outbox keeps
    them in order. Once Slack's ts is known (the tick copies it in within a minute of posting)
    it is used directly: the posted message may be pruned from the outbox after a week.
    """
    outbox = services["outbox"]
    at_key = "ts" if method == "chat.update" else "thread_ts"
    if copy.ts is not None:
        located = {"channel": copy.posted_channel} if copy.posted_channel else {}
        await outbox.aenqueue(
            method=method,
            channel=copy.channel,
            payload={**payload, **located, at_key: copy.ts},
            dedupe_key=dedupe_key,
        )
        return True
    if copy.outbox_id is None:
        log.warning("approval.copy_unreachable", channel=copy.channel, key=dedupe_key)
        return False
    await outbox.aenqueue(
        method=method,
        channel=copy.channel,
        payload=payload,
        parent_id=copy.outbox_id,
        dedupe_key=dedupe_key,
    )
    return True


async def refresh(services: dict[str, Any], snapshot: RequestSnapshot, *, change: int) -> int:
    """Update every copy of the card to `snapshot`; replies in each thread once it is final.

    `change` (the newest notice delivered) names the update: delivering the same notices again
    queues nothing twice, while a later change always updates, even to a card that looks like
    an earlier one (failed, retried, failed again with the same error).
    """
    card = await card_of(services, snapshot)
    version = f"n{change}"
    deps = _deps(services)
    thread = result_reply(snapshot, tz=deps.workspace_tz if deps else UTC)
    updated = 0
    for copy in snapshot.messages:
        updated += await _on_copy(
            services,
            copy,
            method="chat.update",
            payload={"text": card.text, "blocks": card.blocks},
            dedupe_key=f"approval:{snapshot.id}:update:{version}:{copy.channel}",
        )
        if snapshot.state in THREAD_STATES:
            await _on_copy(
                services,
                copy,
                method="chat.postMessage",
                payload=_payload(thread),
                dedupe_key=f"approval:{snapshot.id}:thread:{version}:{copy.channel}",
            )
    return updated


async def _remind(services: dict[str, Any], snapshot: RequestSnapshot, notice: Notice) -> None:
    for user in notice.detail.get("users", []):
        if user not in snapshot.eligible:  # decided since the reminder was due
            continue
        await services["outbox"].aenqueue(
            method="chat.postMessage",
            channel=user,
            payload={
                "text": f":bell: Reminder: request #{snapshot.id} still needs your decision — "
                f"{subject_text(snapshot)}. The card with the buttons is in this conversation "
                "and in the team channel.",
            },
            dedupe_key=f"approval:{snapshot.id}:notice:{notice.id}:{user}",
        )


async def _tell_team(
    services: dict[str, Any], snapshot: RequestSnapshot, notice: Notice, text: str
) -> None:
    channel = _team_channel(services, notice.detail.get("team"))
    if channel is None:
        return
    await services["outbox"].aenqueue(
        method="chat.postMessage",
        channel=channel,
        payload={"text": text},
        dedupe_key=f"approval:{snapshot.id}:notice:{notice.id}",
    )


async def deliver(
    services: dict[str, Any], snapshot: RequestSnapshot, notices: list[Notice]
) -> None:
    """The NoticeHandler: posts new copies, refreshes the cards once for all state changes,
    then sends reminders and escalation messages (idempotent per notice id)."""
    kinds = {n.kind for n in notices}
    if snapshot.messages and kinds & {"card", "expired", "escalate"}:
        await refresh(services, snapshot, change=max(n.id for n in notices))
    if kinds & {"announce", "escalate"}:
        snapshot = await announce(services, snapshot)
    asked_by = f"asked by {people([snapshot.requester])}"
    for notice in notices:
        if notice.kind == "remind":
            await _remind(services, snapshot, notice)
        elif notice.kind == "escalate":
            await _tell_team(
                services,
                snapshot,
                notice,
                f":rotating_light: Request #{snapshot.id} has waited too long — "
                f"{subject_text(snapshot)}, {asked_by}. Your team may now decide it in place "
                "of the approvers who have not answered: the card is in this channel.",
            )
        elif notice.kind == "expired":
            await _tell_team(
                services,
                snapshot,
                notice,
                f":rotating_light: Request #{snapshot.id} expired without a decision — "
                f"{subject_text(snapshot)}, {asked_by}. Please follow up: it can be "
                "requested again with the same command.",
            )


def notice_handler(services: dict[str, Any]) -> NoticeHandler:
    async def handle(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        await deliver(services, snapshot, notices)

    return handle


async def deliver_now(services: dict[str, Any], request_id: int) -> RequestSnapshot | None:
    """Deliver the request's notices at once (after a command, click or webhook); whatever
    fails here is delivered by the next approvals tick."""
    service: ApprovalService = services["approvals"]
    if services.get("outbox") is not None:
        await service.deliver_notices(notice_handler(services), request_id=request_id)
    return await service.snapshot(request_id)


async def tell(services: dict[str, Any], *, channel: str | None, user: str, text: str) -> None:
    """An ephemeral note to one person where they clicked (a DM when no channel is known)."""
    outbox = services["outbox"]
    if channel:
        await outbox.aenqueue(
            method="chat.postEphemeral", channel=channel, payload={"user": user, "text": text}
        )
    else:
        await outbox.aenqueue(method="chat.postMessage", channel=user, payload={"text": text})


async def tell_reply(services: dict[str, Any], *, user: str, reply: Reply) -> None:
    """A DM to one person with a rendered reply (blocks and fallback text)."""
    await services["outbox"].aenqueue(
        method="chat.postMessage", channel=user, payload=_payload(reply)
    )
