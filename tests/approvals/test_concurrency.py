"""Replicas racing on one request: one vote per approver, one quorum, one execution, one reminder.

Each "replica" is a thread with its own engine (its own connections) and its own service, all
released together by a barrier, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from bot.approvals.service import ApprovalService
from bot.approvals.types import Notice, RequestSnapshot, RequestState
from bot.store.db import make_engine
from tests.approvals.conftest import AN, DE, ML, CountingExecutor


def race(
    db_url: str, service_args: dict[str, Any], calls: list[Callable[[ApprovalService], Any]]
) -> list[Any]:
    """Run each call in its own thread against its own engine, all at once."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def replica(i: int) -> None:
        engine = make_engine(db_url)
        try:
            service = ApprovalService(engine=engine, **service_args)
            barrier.wait(timeout=10)
            results[i] = asyncio.run(calls[i](service))
        except BaseException as exc:  # reported by the assertion below
            results[i] = exc
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not [r for r in results if isinstance(r, BaseException)], results
    return results


def decide(user: str, request_id: int) -> Callable[[ApprovalService], Any]:
    return lambda s: s.decide(request_id=request_id, user=user, approve=True, surface="dm")


async def test_racing_clicks_record_one_vote_per_approver_and_one_quorum(
    db_url, service, ops_config, executor, clock
):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    clickers = [AN[0], AN[0], AN[0], ML[0], ML[0], ML[0], AN[1], ML[1]]
    args = {"config": ops_config, "executor": executor, "clock": clock}
    outcomes = race(db_url, args, [decide(u, made.id) for u in clickers])

    final = await service.snapshot(made.id)
    assert final is not None and final.state == RequestState.approved
    voters = Counter(v.user for v in final.approvals)
    assert all(n == 1 for n in voters.values())
    assert set(voters) <= {AN[0], ML[0], AN[1], ML[1]}
    assert sum(o.execute for o in outcomes) == 1
    recorded = Counter(o.snapshot.id for o in outcomes if o.status == "recorded")
    assert recorded[made.id] == len(voters)
    approvals_in_audit = [
        r for r in await service.audit(request_id=made.id) if r.state == RequestState.approved
    ]
    assert len(approvals_in_audit) == 1


async def test_racing_executions_call_the_executor_once(db_url, service, ops_config, clock):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[0], approve=True, surface="dm")
    shared = CountingExecutor()
    args = {"config": ops_config, "executor": shared, "clock": clock}
    results = race(db_url, args, [lambda s: s.execute(request_id=made.id)] * 4)
    assert len(shared.calls) == 1
    assert {r.state for r in results} <= {RequestState.executing, RequestState.executed}
    final = await service.snapshot(made.id)
    assert final is not None and final.state == RequestState.executed


async def test_racing_ticks_remind_expire_and_deliver_each_notice_once(
    db_url, service, ops_config, clock
):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    delivered: list[tuple[int, str]] = []
    lock = threading.Lock()

    async def deliver(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        await asyncio.sleep(0.05)  # long enough for the other replicas to try the same request
        with lock:
            delivered.extend((n.id, n.kind) for n in notices)

    clock.advance(hours=25)
    args = {"config": ops_config, "executor": CountingExecutor(), "clock": clock}
    reports = race(db_url, args, [lambda s: s.tick(deliver=deliver)] * 4)
    assert sum(len(r.reminders) for r in reports) == 1
    clock.advance(hours=48)
    reports = race(db_url, args, [lambda s: s.tick(deliver=deliver)] * 4)
    assert sum(len(r.expired) for r in reports) == 1
    assert sum(len(r.escalations) for r in reports) == 1
    actions = Counter(r.action for r in await service.audit(request_id=made.id))
    assert actions["reminded"] == 1 and actions["expired"] == 1 and actions["escalated"] == 1
    ids = [i for i, _ in delivered]
    assert len(ids) == len(set(ids)), delivered  # no notice reached two replicas
    assert [k for _, k in delivered] == ["announce", "remind", "card", "expired"]
    assert sum(r.notices_sent for r in reports) == 2  # card + expired, by whichever won
