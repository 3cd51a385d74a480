"""Random histories of requests, clicks, executions, failures, retries, cancels and clock jumps
keep the engine's promises: never executed twice, never without quorum and every required group,
the requester never counted, only allowed transitions, one audit record per state change and per
vote and reminder, one open request per subject, nothing left approved but unexecuted after a
tick, and every notice delivered exactly once. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.approvals import policy as rules
from bot.approvals.policy import ResolvedPolicy
from bot.approvals.service import ApprovalService
from bot.approvals.store import REQUEST, transaction
from bot.approvals.types import (
    TRANSITIONS,
    Notice,
    Refused,
    RequestSnapshot,
    RequestState,
    TickReport,
)
from bot.ops_config import OpsConfig
from bot.store.db import make_engine
from tests.approvals.conftest import ADMIN, AN, DE, FI, ML, Clock, CountingExecutor

PEOPLE = [*AN[:2], *ML[:3], *FI, DE[0], ADMIN, "U0OUTSIDER"]
people = st.sampled_from(PEOPLE)


def machine_for(engine: Engine, config: OpsConfig) -> type[RuleBasedStateMachine]:
    class ApprovalMachine(RuleBasedStateMachine):
        requests = Bundle("requests")

        def __init__(self) -> None:
            super().__init__()
            with engine.begin() as conn:
                for table in reversed(SQLModel.metadata.sorted_tables):
                    conn.execute(table.delete())
            self.loop = asyncio.new_event_loop()
            self.clock = Clock()
            self.executor = CountingExecutor()
            self.service = ApprovalService(
                engine=engine, config=config, executor=self.executor, clock=self.clock
            )
            self.made = 0
            self.seen: dict[int, list[RequestState]] = {}
            self.reminded: Counter[int] = Counter()
            self.delivered: list[tuple[int, int, str]] = []  # (notice id, request id, kind)

        async def deliver(self, snapshot: RequestSnapshot, notices: list[Notice]) -> None:
            self.delivered.extend((n.id, snapshot.id, n.kind) for n in notices)

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        def teardown(self) -> None:
            self.loop.close()

        def observe(self, snapshot: RequestSnapshot) -> None:
            self.seen.setdefault(snapshot.id, []).append(snapshot.state)

        # -- rules -----------------------------------------------------------------------
        @initialize(
            target=requests,
            requester=people,
            alias=st.sampled_from(["champion", "staging", "challenger"]),
        )
        def first_request(self, requester: str, alias: str) -> Any:
            return self.request_promotion(requester, alias)

        @precondition(lambda self: len(self.seen) < 4)
        @rule(
            target=requests,
            requester=people,
            alias=st.sampled_from(["champion", "staging", "challenger"]),
        )
        def request_promotion(self, requester: str, alias: str) -> Any:
            self.made += 1
            made = self.run(
                self.service.request_promotion(
                    requester=requester,
                    model=f"model-{self.made}",
                    version="1",
                    alias=alias,
                    reason=None,
                    surface="command",
                )
            )
            assert isinstance(made, RequestSnapshot), made
            self.observe(made)
            return made.id

        @precondition(lambda self: len(self.seen) < 4)
        @rule(
            target=requests,
            requester=people,
            team=st.sampled_from(["ml-platform", "analytics"]),
            amount=st.sampled_from([Decimal("100"), Decimal("6000")]),
        )
        def request_budget(self, requester: str, team: str, amount: Decimal) -> Any:
            made = self.run(
                self.service.request_budget_increase(
                    requester=requester,
                    team=team,
                    amount=amount,
                    reason="more",
                    surface="command",
                )
            )
            if isinstance(made, Refused):  # one open request per team budget
                other = made.open_request
                assert other is not None and f"#{other}" in made.reason, made
                still = self.run(self.service.snapshot(other))
                assert still is not None and still.open and still.subject.kind == "budget_increase"
                assert still.subject.team == team
                return other
            self.observe(made)
            return made.id

        @rule(request_id=requests, user=people, approve=st.booleans(), times=st.integers(1, 2))
        def click(self, request_id: int, user: str, approve: bool, times: int) -> None:
            for _ in range(times):  # a double click
                before = self.run(self.service.snapshot(request_id))
                outcome = self.run(
                    self.service.decide(
                        request_id=request_id, user=user, approve=approve, surface="dm"
                    )
                )
                self.observe(outcome.snapshot)
                if user == outcome.snapshot.requester:
                    assert outcome.status in ("not_allowed", "closed")
                if outcome.status == "recorded":
                    assert before is not None and user in before.eligible
                assert outcome.execute == (
                    outcome.status == "recorded"
                    and approve
                    and outcome.snapshot.state != RequestState.pending
                )

        @rule(
            request_id=requests,
            data=st.data(),
            clicks=st.integers(1, 3),
            approve=st.sampled_from([True, True, True, False]),
        )
        def eligible_clicks(
            self, request_id: int, data: st.DataObject, clicks: int, approve: bool
        ) -> None:
            for _ in range(clicks):  # distinct approvers, from different surfaces
                before = self.run(self.service.snapshot(request_id))
                assert before is not None
                if not before.eligible:
                    return
                user = data.draw(st.sampled_from(before.eligible))
                outcome = self.run(
                    self.service.decide(
                        request_id=request_id, user=user, approve=approve, surface="team_channel"
                    )
                )
                self.observe(outcome.snapshot)
                assert outcome.status in ("recorded", "closed")  # closed: its ttl ran out

        @rule(request_id=requests)
        def approvers_agree(self, request_id: int) -> None:
            """Eligible approvers approve one by one until the request leaves pending."""
            snap = self.run(self.service.snapshot(request_id))
            while snap is not None and snap.state == RequestState.pending and snap.eligible:
                outcome = self.run(
                    self.service.decide(
                        request_id=request_id, user=snap.eligible[-1], approve=True, surface="dm"
                    )
                )
                assert outcome.status in ("recorded", "closed")
                snap = outcome.snapshot
                self.observe(snap)

        @rule(request_id=requests, times=st.integers(1, 2), fail=st.booleans())
        def execute(self, request_id: int, times: int, fail: bool) -> None:
            self.executor.failing = "registry down" if fail else None
            for _ in range(times):
                self.observe(self.run(self.service.execute(request_id=request_id)))

        @rule(request_id=requests, data=st.data(), fail=st.booleans())
        def retry(self, request_id: int, data: st.DataObject, fail: bool) -> None:
            snap = self.run(self.service.snapshot(request_id))
            assert snap is not None
            user = data.draw(st.sampled_from([snap.requester, *snap.approvers, *PEOPLE]))
            self.executor.failing = "registry down" if fail else None
            after = self.run(self.service.retry(request_id=request_id, user=user))
            if isinstance(after, RequestSnapshot):
                self.observe(after)

        @rule(request_id=requests, user=people)
        def cancel(self, request_id: int, user: str) -> None:
            after = self.run(self.service.cancel(request_id=request_id, user=user))
            if isinstance(after, RequestSnapshot):
                assert user == after.requester
                self.observe(after)

        @rule(hours=st.sampled_from([1, 13, 25, 49, 80]))
        def clock_jump(self, hours: int) -> None:
            self.clock.advance(hours=hours)

        def ticked(self, *, deliver: bool) -> TickReport:
            report = self.run(self.service.tick(deliver=self.deliver if deliver else None))
            for reminder in report.reminders:
                assert reminder.request.requester not in reminder.users
                self.reminded[reminder.request.id] += 1
            return report

        @rule(deliver=st.booleans())
        def tick(self, deliver: bool) -> None:
            self.ticked(deliver=deliver)

        @rule()
        def a_while_later(self) -> None:
            """Whatever was approved but left unexecuted (its replica stopped) runs now."""
            self.clock.advance(minutes=2)
            report = self.ticked(deliver=True)
            for snap in report.executed:
                self.observe(snap)
            for request_id in self.seen:
                snap = self.run(self.service.snapshot(request_id))
                assert snap is not None and snap.state != RequestState.approved, snap

        # -- invariants ------------------------------------------------------------------
        @invariant()
        def promises_hold(self) -> None:
            if not self.seen:
                return
            records = self.run(self.service.audit())
            snaps = {i: self.run(self.service.snapshot(i)) for i in self.seen}
            by_model = {s.subject.model: i for i, s in snaps.items() if s and s.kind == "promotion"}
            calls = Counter(
                args["request_id"] if what == "raise_budget" else by_model[args["model"]]
                for what, args in self.executor.calls
            )
            for request_id, snap in snaps.items():
                assert snap is not None
                mine = [r for r in records if r.request_id == request_id]
                self.check(snap, mine, calls[request_id])
            # one open request per subject
            subjects = Counter(
                (s.subject.kind, getattr(s.subject, "model", None), getattr(s.subject, "team", ""))
                for s in snaps.values()
                if s and s.open
            )
            assert max(subjects.values(), default=0) <= 1, subjects
            # every notice is delivered at most once, and only notices of known requests
            ids = [i for i, _, _ in self.delivered]
            assert len(ids) == len(set(ids))

        def check(self, snap: RequestSnapshot, records: list[Any], calls: int) -> None:
            states = [r.state for r in records if r.state is not None]
            # one audit record per state change, along allowed edges, ending where it is now
            assert states[0] == RequestState.pending and records[0].action == "created"
            for a, b in zip(states, states[1:], strict=False):
                assert b in TRANSITIONS[a], (a, b)
            assert states[-1] == snap.state
            # every state we saw is on the recorded path, in order
            path = iter(states)
            assert all(any(s == p for p in path) for s in _dedupe(self.seen[snap.id]))
            actions = Counter(r.action for r in records)
            # each claimed execution called the executor once; at most one succeeded
            assert calls == actions["executing"] == actions["executed"] + actions["failed"]
            assert actions["executed"] <= 1
            voters = [v.user for v in snap.approvals]
            assert snap.requester not in voters and len(voters) == len(set(voters))
            # every vote has its audit record, by its voter
            decided = [*snap.approvals, *([snap.rejection] if snap.rejection else [])]
            for vote in decided:
                action = "approved" if vote.approve else "rejected"
                assert any(r.actor == vote.user and r.action == action for r in records), vote
            assert actions["approved"] + actions["rejected"] == len(decided)
            assert actions["reminded"] == self.reminded[snap.id]
            reached = RequestState.approved in states
            if reached:
                with transaction(engine) as conn:
                    raw = conn.execute(
                        select(REQUEST.c.policy).where(REQUEST.c.id == snap.id)
                    ).scalar_one()
                policy = ResolvedPolicy.model_validate_json(raw)
                assert rules.quorum_met(
                    policy,
                    requester=snap.requester,
                    approved_by=voters,
                    escalated=snap.escalated_at is not None,
                )
            if snap.state == RequestState.executed:
                assert reached and snap.result is not None

    return ApprovalMachine


def _dedupe(states: list[RequestState]) -> list[RequestState]:
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


@pytest.mark.slow  # 65 random histories of 20 steps, checked after every step
def test_random_histories_keep_every_promise(db_url, ops_config):
    engine = make_engine(db_url)
    # PostgreSQL round trips cost more: fewer histories there, the same rules.
    examples = 50 if db_url.startswith("sqlite") else 15
    try:
        run_state_machine_as_test(
            machine_for(engine, ops_config),
            settings=settings(max_examples=examples, stateful_step_count=20, deadline=None),
        )
    finally:
        engine.dispose()
