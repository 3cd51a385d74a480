"""ApprovalService on SQLite and PostgreSQL: decisions, execution, cancel, retry, expiry, reminders."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.approvals.service import ApprovalService
from bot.approvals.types import (
    BudgetSubject,
    Refused,
    RequestKind,
    RequestSnapshot,
    RequestState,
    UnknownRequest,
)
from tests.approvals.conftest import ADMIN, AN, DE, FI, ML


async def champion_request(service: ApprovalService, requester: str = DE[0]) -> RequestSnapshot:
    made = await service.request_promotion(
        requester=requester,
        model="ltv",
        version="6",
        alias="champion",
        reason="better AUC",
        surface="command",
    )
    assert isinstance(made, RequestSnapshot), made
    return made


async def test_request_is_pending_with_its_approvers_and_needs(service):
    made = await champion_request(service)
    assert made.kind == RequestKind.promotion and made.state == RequestState.pending
    assert made.policy == "promote-to-production" and made.quorum == 2
    assert made.team == "analytics" and made.requester == DE[0]
    assert made.eligible == AN + ML
    assert [(n.group, n.satisfied) for n in made.needs] == [
        ("owners", False),
        ("team:ml-platform", False),
    ]
    assert (made.expires_at - made.created_at).total_seconds() == 72 * 3600


async def test_requester_cannot_approve_own_request(service, executor):
    made = await champion_request(service, requester=ML[0])
    outcome = await service.decide(request_id=made.id, user=ML[0], approve=True, surface="dm")
    assert outcome.status == "not_allowed" and not outcome.execute
    assert "separation of duties" in outcome.message
    assert outcome.snapshot.approvals == [] and ML[0] not in outcome.snapshot.eligible


async def test_unauthorised_user_is_not_allowed(service):
    made = await champion_request(service)
    outcome = await service.decide(request_id=made.id, user=FI[0], approve=False, surface="dm")
    assert outcome.status == "not_allowed"
    assert "owners (analytics), team ml-platform" in outcome.message
    assert outcome.snapshot.state == RequestState.pending and outcome.snapshot.rejection is None


async def test_double_click_records_one_vote(service):
    made = await champion_request(service)
    first = await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    second = await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    assert first.status == "recorded" and second.status == "duplicate"
    assert "Still needed: an approval from team ml-platform" in first.message
    assert [v.user for v in second.snapshot.approvals] == [AN[0]]
    assert second.snapshot.state == RequestState.pending


async def test_quorum_needs_every_required_group(service):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    same_group = await service.decide(request_id=made.id, user=AN[1], approve=True, surface="dm")
    assert same_group.snapshot.state == RequestState.pending and not same_group.execute
    done = await service.decide(
        request_id=made.id, user=ML[2], approve=True, surface="team_channel"
    )
    assert done.status == "recorded" and done.execute
    assert done.snapshot.state == RequestState.approved
    assert all(n.satisfied for n in done.snapshot.needs)
    assert done.snapshot.eligible == [] and done.snapshot.decided_at is not None


async def test_late_click_after_decided_says_who_and_when(service, clock):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    clock.advance(minutes=5)
    late = await service.decide(request_id=made.id, user=ML[3], approve=True, surface="dm")
    assert late.status == "closed" and not late.execute
    assert late.message == (
        f"Already approved by <@{AN[0]}> and <@{ML[1]}> at 2026-11-23 12:00 UTC."
    )
    assert len(late.snapshot.approvals) == 2


async def test_rejection_by_any_approver_rejects(service):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    rejected = await service.decide(
        request_id=made.id, user=ML[4], approve=False, reason="drift on v6", surface="dm"
    )
    assert rejected.snapshot.state == RequestState.rejected
    assert rejected.snapshot.rejection is not None
    assert rejected.snapshot.rejection.reason == "drift on v6"
    late = await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    assert late.status == "closed" and late.message.startswith(f"Already rejected by <@{ML[4]}>")


async def test_execute_runs_once_and_records_the_result(service, executor):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    first = await service.execute(request_id=made.id)
    again = await service.execute(request_id=made.id)
    assert first.state == again.state == RequestState.executed
    assert first.result == "champion -> 6" and first.executed_at is not None
    assert executor.calls == [
        ("set_alias", {"model": "ltv", "alias": "champion", "version": "6", "expected": None})
    ]


async def test_pending_request_is_not_executed(service, executor):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    after = await service.execute(request_id=made.id)
    assert after.state == RequestState.pending and executor.calls == []


async def test_failed_execution_keeps_the_error_and_retry_succeeds_once_fixed(service, executor):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    executor.failing = "mlflow: unreachable"
    failed = await service.execute(request_id=made.id)
    assert failed.state == RequestState.failed and failed.error == "mlflow: unreachable"
    stranger = await service.retry(request_id=made.id, user=FI[0])
    assert isinstance(stranger, Refused)
    executor.failing = None
    retried = await service.retry(request_id=made.id, user=DE[0])
    assert isinstance(retried, RequestSnapshot)
    assert retried.state == RequestState.executed and retried.error is None
    assert len(executor.calls) == 2
    twice = await service.retry(request_id=made.id, user=ADMIN)
    assert isinstance(twice, Refused) and "only a failed request" in twice.reason.lower()


async def test_only_the_requester_cancels_and_only_while_pending(service):
    made = await champion_request(service)
    other = await service.cancel(request_id=made.id, user=AN[0])
    assert isinstance(other, Refused)
    cancelled = await service.cancel(request_id=made.id, user=DE[0])
    assert isinstance(cancelled, RequestSnapshot) and cancelled.state == RequestState.cancelled
    again = await service.cancel(request_id=made.id, user=DE[0])
    assert isinstance(again, Refused)
    click = await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    assert click.status == "closed" and click.message.startswith(f"Cancelled by <@{DE[0]}>")


async def test_budget_increase_executes_with_its_request_id(service, executor):
    made = await service.request_budget_increase(
        requester=ML[0],
        team="ml-platform",
        amount=Decimal("7500"),
        reason="GPU quota",
        surface="command",
    )
    assert isinstance(made, RequestSnapshot) and isinstance(made.subject, BudgetSubject)
    assert made.policy == "large-budget-increase"
    await service.decide(request_id=made.id, user=FI[0], approve=True, surface="dm")
    done = await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    assert done.execute
    await service.execute(request_id=made.id)
    assert executor.calls == [
        ("raise_budget", {"team": "ml-platform", "amount": Decimal("7500"), "request_id": made.id})
    ]


async def test_click_after_ttl_expires_the_request(service, clock):
    made = await champion_request(service)
    clock.advance(hours=72)
    late = await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    assert late.status == "closed" and "expired" in late.message
    assert late.snapshot.state == RequestState.expired and late.snapshot.approvals == []


async def test_tick_expires_reminds_and_escalates_each_once(service, clock):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    assert (await service.tick()).reminders == []
    clock.advance(hours=24)
    first = await service.tick()
    assert [r.request.id for r in first.reminders] == [made.id]
    assert first.reminders[0].users == AN[1:] + ML
    assert (await service.tick()).reminders == []  # not again within remind_every
    clock.advance(hours=48)
    expiring = await service.tick()
    assert [s.id for s in expiring.expired] == [made.id] and expiring.reminders == []
    assert [(e.request.id, e.team) for e in expiring.escalations] == [(made.id, "ml-platform")]
    later = await service.tick()
    assert later.expired == [] and later.escalations == []


async def test_expired_request_without_escalation_team_is_not_escalated(service, clock):
    made = await service.request_promotion(
        requester=ML[0],
        model="churn",
        version="14",
        alias="staging",
        reason=None,
        surface="command",
    )
    assert isinstance(made, RequestSnapshot)
    clock.advance(hours=49)
    report = await service.tick()
    assert [s.id for s in report.expired] == [made.id] and report.escalations == []


async def test_waiting_for_and_requested_by(service):
    made = await champion_request(service)
    staging = await service.request_promotion(
        requester=AN[0], model="ltv", version="4", alias="staging", reason=None, surface="dm"
    )
    assert isinstance(staging, RequestSnapshot)
    assert [s.id for s in await service.waiting_for(AN[1])] == [made.id, staging.id]
    assert [s.id for s in await service.waiting_for(AN[0])] == [made.id]
    await service.decide(request_id=made.id, user=AN[1], approve=True, surface="dm")
    assert [s.id for s in await service.waiting_for(AN[1])] == [staging.id]
    assert [s.id for s in await service.requested_by(DE[0])] == [made.id]
    assert await service.waiting_for(FI[0]) == []


async def test_record_copy_completes_a_posted_card(service):
    made = await champion_request(service)
    await service.record_copy(request_id=made.id, channel="D123", kind="dm", outbox_id=7)
    await service.record_copy(
        request_id=made.id, channel="C0123ANALYT", kind="team_channel", outbox_id=8
    )
    await service.record_copy(request_id=made.id, channel="D123", kind="dm", ts="1700.01")
    snapshot = await service.snapshot(made.id)
    assert snapshot is not None
    assert [(m.channel, m.kind, m.outbox_id, m.ts) for m in snapshot.messages] == [
        ("D123", "dm", 7, "1700.01"),
        ("C0123ANALYT", "team_channel", 8, None),
    ]


async def test_unknown_request_is_an_error(service):
    with pytest.raises(UnknownRequest):
        await service.decide(request_id=404, user=AN[0], approve=True, surface="dm")
    assert await service.snapshot(404) is None


async def test_audit_tells_the_whole_story_in_order(service, executor):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[0], approve=True, surface="team_channel")
    await service.execute(request_id=made.id)
    records = await service.audit(request_id=made.id)
    assert [(r.actor, r.action, r.state) for r in records] == [
        (DE[0], "created", RequestState.pending),
        ("switchboard", "routed", None),
        (AN[0], "approved", None),
        (ML[0], "approved", RequestState.approved),
        ("switchboard", "executing", RequestState.executing),
        ("switchboard", "executed", RequestState.executed),
    ]
    assert records[3].surface == "team_channel"
    assert records[1].detail["approvers"] == AN + ML


async def test_an_interrupted_execution_becomes_failed_and_can_be_retried(service, executor, clock):
    made = await champion_request(service)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")

    async def stopped(**_: object) -> str:
        raise asyncio.CancelledError  # the replica shut down mid-call

    service.executor = type("Stopping", (), {"set_alias": staticmethod(stopped)})()
    with pytest.raises(asyncio.CancelledError):
        await service.execute(request_id=made.id)
    stuck = await service.snapshot(made.id)
    assert stuck is not None and stuck.state == RequestState.executing
    clock.advance(minutes=5)
    await service.tick()
    assert (await service.snapshot(made.id)).state == RequestState.executing
    clock.advance(minutes=11)
    await service.tick()
    failed = await service.snapshot(made.id)
    assert failed.state == RequestState.failed and "interrupted" in failed.error
    service.executor = executor
    retried = await service.retry(request_id=made.id, user=DE[0])
    assert isinstance(retried, RequestSnapshot) and retried.state == RequestState.executed
