"""What the notice handler queues: one card update per change (never lost when a later card
looks like an earlier one, never doubled when the same notices are delivered again), reminders
only to those still asked, and messages to a copy in that copy's own outbox queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.approvals.evidence import PromotionEvidence
from bot.approvals.types import Notice, PostedCopy, RequestSnapshot, RequestState
from bot.delivery.approvals import ApprovalNotifier, EvidenceCache
from bot.ops_config import load_ops_config
from tests.views.test_approval_views import snapshot

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class RecordingOutbox:
    """The outbox's enqueue contract: a repeated dedupe_key queues nothing."""

    queued: list[dict[str, Any]] = field(default_factory=list)

    async def aenqueue(self, **message: Any) -> int:
        key = message.get("dedupe_key")
        if key is None or all(q.get("dedupe_key") != key for q in self.queued):
            self.queued.append(message)
        return len(self.queued)


def notice(i: int, kind: str = "card", **detail: Any) -> Notice:
    return Notice(id=i, request_id=12, kind=kind, detail=detail, created_at=AT)  # type: ignore[arg-type]


COPIES = [
    PostedCopy(channel="U0ML0GRETA", kind="dm", outbox_id=3, ts="1.1", posted_channel="D0GRETA"),
    PostedCopy(channel="C0123MLPLAT", kind="team_channel", outbox_id=4),
]


class NoService:
    """These notices need nothing of the approval service: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the approval service was asked for {name}")


def notifier(
    answers: Callable[[], Any] = lambda: None, evidence: EvidenceCache | None = None
) -> ApprovalNotifier:
    """By default without sources: cards say their evidence could not be gathered."""
    return ApprovalNotifier(
        outbox=RecordingOutbox(),
        approvals=NoService(),  # type: ignore[arg-type]
        config=load_ops_config(Path("ops.example.yml")),
        answers=answers,
        evidence=evidence,
    )


async def test_each_change_updates_every_copy_once_even_when_the_card_looks_the_same():
    box = notifier()
    failed = snapshot(RequestState.failed, error="registry down", messages=COPIES)
    await box(failed, [notice(1)])
    await box(failed, [notice(1)])  # the same notice again (a retried delivery)
    queued = box.outbox.queued
    assert [(q["method"], q["channel"]) for q in queued] == [
        ("chat.update", "U0ML0GRETA"),
        ("chat.postMessage", "U0ML0GRETA"),
        ("chat.update", "C0123MLPLAT"),
        ("chat.postMessage", "C0123MLPLAT"),
    ]
    # failed again with the same error after a retry: a new change, so new updates and replies
    await box(failed, [notice(5)])
    assert len(queued) == 8


async def test_a_known_ts_is_used_directly_in_the_copys_own_queue():
    box = notifier()
    await box(snapshot(messages=COPIES), [notice(2)])
    dm_update, channel_update = box.outbox.queued
    # the DM copy's ts is known: no parent; the D… channel rides in the payload, the queue
    # stays the user's (so it is ordered after anything queued before the ts was known)
    assert dm_update["channel"] == "U0ML0GRETA" and "parent_id" not in dm_update
    assert dm_update["payload"]["channel"] == "D0GRETA" and dm_update["payload"]["ts"] == "1.1"
    # the channel copy's ts is not known yet: it follows its posted message
    assert channel_update["parent_id"] == 4 and "ts" not in channel_update["payload"]


async def test_reminders_go_only_to_those_who_still_have_to_decide():
    box = notifier()
    pending = snapshot(messages=COPIES)
    await box(pending, [notice(3, "remind", users=[*pending.eligible, "U0GONE"])])
    assert sorted(q["channel"] for q in box.outbox.queued) == sorted(pending.eligible)


async def test_a_card_keeps_the_evidence_first_gathered_for_its_request(monkeypatch):
    gathered: list[int] = []

    async def gather(deps: Any, snapshot: RequestSnapshot) -> PromotionEvidence:
        gathered.append(snapshot.id)
        return PromotionEvidence(
            model="churn",
            candidate=None,
            current=None,
            health=None,
            serving={},
            cost_days=30,
            cost_change=f"gathered {len(gathered)}",
        )

    monkeypatch.setattr("bot.delivery.approvals.evidence_for", gather)
    box = notifier(answers=lambda: SimpleNamespace(workspace_tz=UTC), evidence=EvidenceCache(1))
    twelve = snapshot(messages=COPIES)
    for change in (1, 2, 3):
        await box(twelve, [notice(change)])
    assert gathered == [12]  # every update shows what the approvers first saw
    assert all("gathered 1" in str(q["payload"]["blocks"]) for q in box.outbox.queued)
    # the cache holds the newest requests only (here one): an older one is gathered again
    await box(snapshot(id=13, messages=COPIES), [notice(4)])
    await box(twelve, [notice(5)])
    assert gathered == [12, 13, 12]
