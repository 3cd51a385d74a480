"""Where approval cards go: every approver's DM and the owning team's channel, each copy recorded
so it can be updated later, and the result replied in each copy's thread — all through the outbox.

A later update names the copy's outbox message as its parent, so the outbox sends it after the
card itself and fills in the card's ts (and, for a DM, the D… channel Slack answered with):
an update never races the post it edits.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import UTC
from typing import Any

import structlog

from bot.answers.deps import AnswerDeps, deps_for
from bot.approvals.cards import USER_ID, approval_card, people, result_reply
from bot.approvals.evidence import Evidence, evidence_for
from bot.approvals.service import ApprovalService
from bot.approvals.types import RequestSnapshot, RequestState
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


def targets(services: dict[str, Any], snapshot: RequestSnapshot) -> list[tuple[str, str]]:
    """(channel, kind): a DM to each approver who may still decide, then the team channel."""
    found = [(user, "dm") for user in snapshot.eligible if USER_ID.fullmatch(user)]
    config = services.get("ops_config")
    team = config.teams.get(snapshot.team) if config else None
    if team is not None and team.channel:
        found.append((team.channel, "team_channel"))
    return found


async def announce(services: dict[str, Any], snapshot: RequestSnapshot) -> str:
    """Post the card to every target and record each copy; says where it went."""
    outbox = services.get("outbox")
    if outbox is None:  # the commands refuse to open a request without Slack; a safety net
        return "nobody yet (no Slack connection here; the request waits in the database)"
    service: ApprovalService = services["approvals"]
    card = await card_of(services, snapshot)
    sent: list[tuple[str, str]] = []
    for channel, kind in targets(services, snapshot):
        outbox_id = await outbox.aenqueue(
            method="chat.postMessage",
            channel=channel,
            payload=_payload(card),
            dedupe_key=f"approval:{snapshot.id}:card:{channel}",
        )
        await service.record_copy(
            request_id=snapshot.id, channel=channel, kind=kind, outbox_id=outbox_id
        )
        sent.append((channel, kind))
    log.info("approval.announced", id=snapshot.id, copies=len(sent))
    dms = [c for c, k in sent if k == "dm"]
    rooms = [f"<#{c}>" if c[:1] in "CG" else c for c, k in sent if k == "team_channel"]
    parts = ([people(dms) + " (DM)"] if dms else []) + rooms
    return " and ".join(parts) if parts else "nobody (no approver or channel could be reached)"


def _version(snapshot: RequestSnapshot) -> str:
    """Changes whenever the card would look different: one update per version per copy."""
    votes = ",".join(v.user for v in snapshot.approvals)
    raw = f"{snapshot.state}|{votes}|{snapshot.error}|{snapshot.result}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


async def refresh(services: dict[str, Any], snapshot: RequestSnapshot) -> int:
    """Update every copy of the card to `snapshot`; replies in each thread once it is final."""
    outbox = services["outbox"]
    card = await card_of(services, snapshot)
    version = _version(snapshot)
    deps = _deps(services)
    thread = result_reply(snapshot, tz=deps.workspace_tz if deps else UTC)
    updated = 0
    for copy in snapshot.messages:
        if copy.outbox_id is None and copy.ts is None:
            continue
        parent = {"parent_id": copy.outbox_id} if copy.outbox_id else {}
        at = {} if copy.outbox_id else {"ts": copy.ts}
        await outbox.aenqueue(
            method="chat.update",
            channel=copy.channel,
            payload={"text": card.text, "blocks": card.blocks, **at},
            **parent,
            dedupe_key=f"approval:{snapshot.id}:update:{version}:{copy.channel}",
        )
        updated += 1
        if snapshot.state in THREAD_STATES:
            at = {} if copy.outbox_id else {"thread_ts": copy.ts}
            await outbox.aenqueue(
                method="chat.postMessage",
                channel=copy.channel,
                payload={**_payload(thread), **at},
                **parent,
                dedupe_key=f"approval:{snapshot.id}:thread:{version}:{copy.channel}",
            )
    return updated


async def tell(services: dict[str, Any], *, channel: str | None, user: str, text: str) -> None:
    """An ephemeral note to one person where they clicked (a DM when no channel is known)."""
    outbox = services["outbox"]
    if channel:
        await outbox.aenqueue(
            method="chat.postEphemeral", channel=channel, payload={"user": user, "text": text}
        )
    else:
        await outbox.aenqueue(method="chat.postMessage", channel=user, payload={"text": text})
