"""Racing Approve clicks on a quorum-1 request leave every copy of the card final at once.

The losing click's delivery takes the request's notice lease and sends the notices that exist
then; the winner's execution writes the "executed" notice meanwhile, finds the lease taken and
sends nothing. The holder must deliver what was written while it held the lease before letting
go: no copy may wait for the approvals tick (which these tests never run). On SQLite and on
PostgreSQL; counted, never timed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.approvals import store
from bot.approvals.service import ApprovalService
from bot.approvals.types import Notice, RequestSnapshot, RequestState
from bot.delivery.approvals import ApprovalNotifier
from bot.ops_config import OpsConfig
from bot.store.db import make_engine
from bot.surfaces.approvals import finish
from tests.approvals.conftest import AN, DE, CountingExecutor
from tests.delivery.test_approval_notifier import RecordingOutbox


class RacingNotifier(ApprovalNotifier):
    """Runs `during` (the other click) while it holds the lease, in its first delivery."""

    during: Callable[[], Awaitable[None]] | None = None
    deliveries = 0

    async def __call__(self, snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        self.deliveries += 1
        during, self.during = self.during, None
        if during is not None:
            await during()
        await super().__call__(snapshot, notices)


def unsent(engine: Engine, request_id: int) -> list[Any]:
    with store.transaction(engine) as conn:
        return store.unsent_notices(conn, request_id)


def copies_final(queued: list[dict[str, Any]], snapshot: RequestSnapshot) -> dict[str, bool]:
    """Per copy: whether its thread got the result reply and its last update has no buttons."""
    final: dict[str, bool] = {}
    for copy in snapshot.messages:
        mine = [q for q in queued if q["channel"] == copy.channel]
        updates = [q for q in mine if q["method"] == "chat.update"]
        replies = [q for q in mine if ":thread:" in (q.get("dedupe_key") or "")]
        last_blocks = updates[-1]["payload"]["blocks"] if updates else [{"type": "actions"}]
        final[copy.channel] = bool(replies) and all(b["type"] != "actions" for b in last_blocks)
    return final


async def asked(service: ApprovalService, box: ApprovalNotifier) -> RequestSnapshot:
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="4", alias="staging", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    await box.deliver_now(made.id)  # the cards go out: every approver's DM and the channel
    posted = await service.snapshot(made.id)
    assert posted is not None and len(posted.messages) >= 2
    return posted


async def test_the_lease_holder_delivers_the_winners_execution_before_letting_go(
    db_engine: Engine, service: ApprovalService, ops_config: OpsConfig, executor: CountingExecutor
) -> None:
    box = RacingNotifier(
        outbox=RecordingOutbox(), approvals=service, config=ops_config, answers=lambda: None
    )
    made = await asked(service, box)
    won = await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    assert won.status == "recorded" and won.execute
    lost = await service.decide(request_id=made.id, user=AN[1], approve=True, surface="dm")
    assert lost.status != "recorded" and not lost.execute

    async def winner_finishes() -> None:  # while the loser's delivery holds the lease
        await finish(box, made.id, execute=True)

    box.during = winner_finishes
    before = box.deliveries
    await finish(box, made.id, execute=False)  # the losing click's delivery

    after = await service.snapshot(made.id)
    assert after is not None and after.state == RequestState.executed
    assert len(executor.calls) == 1
    assert unsent(db_engine, made.id) == []  # nothing left for the tick
    assert box.deliveries - before == 2  # the stale round, then the handed-over one
    assert copies_final(box.outbox.queued, after) == {c.channel: True for c in after.messages}


@pytest.mark.parametrize("round_", range(3))
async def test_racing_clicks_in_replicas_leave_every_copy_final_without_the_tick(
    db_url: str,
    db_engine: Engine,
    ops_config: OpsConfig,
    executor: CountingExecutor,
    clock: Any,
    round_: int,
) -> None:
    """Two replicas (threads, own engines) click Approve at once, as on_approve does."""
    outbox = RecordingOutbox()
    args = {"config": ops_config, "executor": executor, "clock": clock}
    home = ApprovalService(engine=db_engine, **args)
    made = await asked(
        home,
        ApprovalNotifier(outbox=outbox, approvals=home, config=ops_config, answers=lambda: None),
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    lock = threading.Lock()

    class SharedOutbox:  # one outbox table in reality: both replicas queue into it
        async def aenqueue(self, **message: Any) -> int:
            with lock:
                return await outbox.aenqueue(**message)

    def click(user: str) -> None:
        engine = make_engine(db_url)
        try:
            service = ApprovalService(engine=engine, **args)
            box = ApprovalNotifier(
                outbox=SharedOutbox(), approvals=service, config=ops_config, answers=lambda: None
            )

            async def approve() -> None:
                barrier.wait(timeout=10)
                outcome = await service.decide(
                    request_id=made.id, user=user, approve=True, surface="dm"
                )
                await finish(box, made.id, outcome.execute)

            asyncio.run(approve())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=click, args=(u,)) for u in (AN[0], AN[1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    after = await home.snapshot(made.id)
    assert after is not None and after.state == RequestState.executed
    assert len(executor.calls) == 1
    assert unsent(db_engine, made.id) == []
    assert copies_final(outbox.queued, after) == {c.channel: True for c in after.messages}
