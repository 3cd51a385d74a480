"""ApprovalService: requests, decisions, execution exactly once, expiry, reminders, the audit log.

The rules live here and in policy.py; the database work in store.py (sync, run in a thread);
the Slack surface calls these methods and renders what they return. Nothing here trusts who
the caller says may approve: eligibility comes from the policy stored with the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from bot.approvals import intake, store
from bot.approvals import policy as rules
from bot.approvals.audit import audit_records
from bot.approvals.decisions import SYSTEM, decide_locked, expire_if_due
from bot.approvals.notices import deliver_notices
from bot.approvals.snapshot import policy_of, snapshot_of
from bot.approvals.store import REQUEST, epoch
from bot.approvals.ticks import run_tick, stalled_approvals
from bot.approvals.types import (
    AuditRecord,
    BudgetSubject,
    DecisionOutcome,
    Executor,
    NoticeHandler,
    PromotionSubject,
    Refused,
    RequestKind,
    RequestSnapshot,
    RequestState,
    Subject,
    TickReport,
    UnknownRequest,
)
from bot.budgets import StoredBudgets
from bot.ops_config import OpsConfig
from integrations.http import redact
from integrations.hub import Sources

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def subject_key(subject: Subject) -> str:
    """What 'the same request' means: one open request per model alias, or per team budget."""
    if isinstance(subject, PromotionSubject):
        return f"promotion:{subject.model}:{subject.alias}"
    return f"budget_increase:{subject.team}"


class ApprovalService:
    def __init__(
        self,
        *,
        engine: Engine,
        config: OpsConfig,
        executor: Executor,
        clock: Callable[[], datetime] = utc_now,
        catalog: Sources | None = None,
        budgets: StoredBudgets | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.executor = executor
        self.clock = clock
        self.catalog = catalog
        self.budgets = budgets

    def _now(self) -> float:
        return epoch(self.clock())

    # -- requests --------------------------------------------------------------------------
    async def request_promotion(
        self,
        *,
        requester: str,
        model: str,
        version: str,
        alias: str,
        reason: str | None,
        surface: str,
    ) -> RequestSnapshot | Refused:
        admitted = await intake.admit_promotion(
            self.config,
            self.catalog,
            requester=requester,
            model=model,
            version=version,
            alias=alias,
        )
        return await self._open(admitted, requester=requester, reason=reason, surface=surface)

    async def request_budget_increase(
        self, *, requester: str, team: str, amount: Decimal, reason: str | None, surface: str
    ) -> RequestSnapshot | Refused:
        admitted = await intake.admit_budget_increase(
            self.config, self.budgets, requester=requester, team=team, amount=amount
        )
        return await self._open(admitted, requester=requester, reason=reason, surface=surface)

    async def _open(
        self,
        admitted: intake.Admitted | Refused,
        *,
        requester: str,
        reason: str | None,
        surface: str,
    ) -> RequestSnapshot | Refused:
        if isinstance(admitted, Refused):
            log.info("approval.refused", requester=requester, reason=admitted.reason)
            return admitted
        now = self._now()
        policy = admitted.policy
        kind = (
            RequestKind.promotion
            if isinstance(admitted.subject, PromotionSubject)
            else RequestKind.budget_increase
        )
        remind = policy.remind_every_seconds
        escalate_after = policy.escalate_after_seconds
        open_key = subject_key(admitted.subject)
        subject_json = admitted.subject.model_dump_json()
        values = {
            "kind": kind.value,
            "state": RequestState.pending.value,
            "subject": subject_json,
            "policy": policy.model_dump_json(),
            "requester": requester,
            "team": admitted.team,
            "reason": reason,
            "surface": surface,
            "created_at": now,
            "expires_at": now + policy.ttl_seconds,
            "next_reminder_at": now + remind if remind else None,
            "escalate_at": now + escalate_after if escalate_after else None,
            "open_key": open_key,
        }
        routed_to = rules.approvers(policy, requester=requester)

        def write() -> int | Refused:
            with store.transaction(self.engine) as conn:
                request_id = store.create(conn, values=values)
                if request_id is None:
                    return self._already_open(conn, open_key, admitted.subject)
                store.audit(
                    conn,
                    request_id=request_id,
                    at=now,
                    actor=requester,
                    action="created",
                    surface=surface,
                    state=RequestState.pending,
                    detail={"subject": json.loads(subject_json), "reason": reason},
                )
                store.audit(
                    conn,
                    request_id=request_id,
                    at=now,
                    actor=SYSTEM,
                    action="routed",
                    detail={
                        "policy": policy.name,
                        "approvers": routed_to,
                        "required": policy.required,
                        "quorum": policy.quorum,
                        "excluded": policy.excluded,
                    },
                )
                store.notice(conn, request_id=request_id, kind="announce", at=now)
                return request_id

        made = await asyncio.to_thread(write)
        if isinstance(made, Refused):
            log.info("approval.refused", requester=requester, reason=made.reason)
            return made
        log.info("approval.created", id=made, kind=kind.value, policy=policy.name)
        return await self._get(made)

    @staticmethod
    def _already_open(conn: Connection, open_key: str, subject: Subject) -> Refused:
        other = store.open_request_for(conn, open_key)
        what = (
            f"{subject.alias} of {subject.model}"
            if isinstance(subject, PromotionSubject)
            else f"the {subject.team} budget"
        )
        return Refused(
            reason=f"request #{other} for {what} is still open; decide, cancel or let it "
            "expire before asking again",
            open_request=other,
        )

    async def open_request(self, subject: Subject) -> int | None:
        """The open request for this subject (model+alias, or team budget), if any."""

        def work() -> int | None:
            with store.transaction(self.engine) as conn:
                return store.open_request_for(conn, subject_key(subject))

        return await asyncio.to_thread(work)

    # -- decisions -------------------------------------------------------------------------
    async def decide(
        self,
        *,
        request_id: int,
        user: str,
        approve: bool,
        reason: str | None = None,
        surface: str,
    ) -> DecisionOutcome:
        now = self._now()

        def work() -> tuple[store.Stored, DecisionOutcome]:
            with store.transaction(self.engine) as conn:
                stored = store.read(conn, request_id) if store.lock(conn, request_id) else None
                if stored is None:
                    raise UnknownRequest(request_id)
                decided = decide_locked(
                    conn,
                    stored,
                    user=user,
                    approve=approve,
                    reason=reason,
                    surface=surface,
                    now=now,
                )
                after = store.read(conn, request_id) or stored
            outcome = DecisionOutcome(
                status=decided.status,
                snapshot=snapshot_of(after),
                message=decided.message,
                execute=decided.execute,
            )
            return after, outcome

        _stored, outcome = await asyncio.to_thread(work)
        log.info(
            "approval.decision",
            id=request_id,
            user=user,
            approve=approve,
            status=outcome.status,
            execute=outcome.execute,
        )
        return outcome

    async def cancel(self, *, request_id: int, user: str) -> RequestSnapshot | Refused:
        now = self._now()

        def work() -> Refused | None:
            with store.transaction(self.engine) as conn:
                stored = store.read(conn, request_id) if store.lock(conn, request_id) else None
                if stored is None:
                    raise UnknownRequest(request_id)
                if user != stored.request.requester:
                    return Refused(reason="Only the requester can cancel a request.")
                expire_if_due(conn, stored, now=now)
                if not store.transition(
                    conn,
                    request_id=request_id,
                    from_state=RequestState.pending,
                    to_state=RequestState.cancelled,
                    at=now,
                    actor=user,
                    action="cancelled",
                    decided_at=now,
                ):
                    state = (store.read(conn, request_id) or stored).request.state
                    return Refused(
                        reason=f"Only a pending request can be cancelled; this one is {state}."
                    )
                return None

        refused = await asyncio.to_thread(work)
        return refused or await self._get(request_id)

    # -- execution -------------------------------------------------------------------------
    async def execute(self, *, request_id: int) -> RequestSnapshot:
        """Carry out an approved request, once: the replica whose claim (approved -> executing)
        wins calls the executor; everyone else gets the current snapshot."""
        now = self._now()

        def claim() -> bool:
            with store.transaction(self.engine) as conn:
                if store.read(conn, request_id) is None:
                    raise UnknownRequest(request_id)
                return store.transition(
                    conn,
                    request_id=request_id,
                    from_state=RequestState.approved,
                    to_state=RequestState.executing,
                    at=now,
                    actor=SYSTEM,
                    action="executing",
                    claimed_at=now,
                )

        if not await asyncio.to_thread(claim):
            return await self._get(request_id)
        snapshot = await self._get(request_id)
        try:
            result = await self._run(snapshot)
        except Exception as exc:
            error = redact(str(exc) or type(exc).__name__)[:2000]
            log.warning("approval.execution_failed", id=request_id, error=error)
            await self._finish(request_id, RequestState.failed, claimed=now, error=error)
        else:
            log.info("approval.executed", id=request_id, result=result)
            await self._finish(request_id, RequestState.executed, claimed=now, result=result)
        return await self._get(request_id)

    async def _run(self, snapshot: RequestSnapshot) -> str:
        subject = snapshot.subject
        if isinstance(subject, BudgetSubject):
            why = f"approval #{snapshot.id}" + (f": {snapshot.reason}" if snapshot.reason else "")
            return await self.executor.raise_budget(
                team=subject.team,
                amount=subject.amount,
                by=snapshot.requester,
                reason=why,
                request_id=snapshot.id,
            )
        return await self.executor.set_alias(
            model=subject.model,
            alias=subject.alias,
            version=subject.version,
            expected=subject.current_version,
        )

    async def _finish(
        self,
        request_id: int,
        state: RequestState,
        *,
        claimed: float,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        now = self._now()
        fields: dict[str, Any] = (
            {"result": result, "executed_at": now, "error": None}
            if state == RequestState.executed
            else {"error": error}
        )
        detail: dict[str, Any] = {"result": result} if result else {"error": error}
        # From executing, normally. If the tick took this execution for interrupted (it ran
        # very long) and marked it failed, a success still wins: a done change is never hidden.
        attempts: list[tuple[RequestState, dict[str, Any], float | None]] = [
            (RequestState.executing, detail, None)
        ]
        if state == RequestState.executed:
            attempts.append((RequestState.failed, {**detail, "late": True}, claimed))

        def write() -> None:
            with store.transaction(self.engine) as conn:
                for from_state, said, claim in attempts:
                    if store.transition(
                        conn,
                        request_id=request_id,
                        from_state=from_state,
                        to_state=state,
                        at=now,
                        actor=SYSTEM,
                        action=state.value,
                        detail=said,
                        extra=None if claim is None else REQUEST.c.claimed_at == claim,
                        **fields,
                    ):
                        return

        await asyncio.to_thread(write)

    async def retry(self, *, request_id: int, user: str) -> RequestSnapshot | Refused:
        """Run a failed execution again (approvers, admins or the requester may ask)."""
        now = self._now()
        admins = set(self.config.workspace.admins)

        def work() -> Refused | None:
            with store.transaction(self.engine) as conn:
                stored = store.read(conn, request_id) if store.lock(conn, request_id) else None
                if stored is None:
                    raise UnknownRequest(request_id)
                row = stored.request
                may = {
                    row.requester,
                    *admins,
                    *rules.approvers(policy_of(stored), requester=row.requester),
                }
                if user not in may:
                    return Refused(
                        reason="Only its approvers, an admin or the requester can retry a request."
                    )
                if not store.transition(
                    conn,
                    request_id=request_id,
                    from_state=RequestState.failed,
                    to_state=RequestState.approved,
                    at=now,
                    actor=user,
                    action="retried",
                    detail={"previous_error": row.error},
                ):
                    return Refused(
                        reason=f"Only a failed request can be retried; this one is {row.state}."
                    )
                return None

        refused = await asyncio.to_thread(work)
        return refused or await self.execute(request_id=request_id)

    # -- reading ---------------------------------------------------------------------------
    async def snapshot(self, request_id: int) -> RequestSnapshot | None:
        def work() -> RequestSnapshot | None:
            with store.transaction(self.engine) as conn:
                stored = store.read(conn, request_id)
            return snapshot_of(stored) if stored else None

        return await asyncio.to_thread(work)

    async def _get(self, request_id: int) -> RequestSnapshot:
        found = await self.snapshot(request_id)
        if found is None:
            raise UnknownRequest(request_id)
        return found

    async def _many(self, *conditions: object) -> list[RequestSnapshot]:
        def work() -> list[RequestSnapshot]:
            with store.transaction(self.engine) as conn:
                return [snapshot_of(s) for s in store.read_many(conn, *conditions)]

        return await asyncio.to_thread(work)

    async def waiting_for(self, user: str) -> list[RequestSnapshot]:
        """Pending requests this user may still decide, oldest first."""
        now = self._now()
        pending = await self._many(REQUEST.c.state == RequestState.pending.value)
        return [s for s in pending if user in s.eligible and epoch(s.expires_at) > now]

    async def requested_by(self, user: str) -> list[RequestSnapshot]:
        """Requests this user made, newest first."""
        return list(reversed(await self._many(REQUEST.c.requester == user)))

    async def record_copy(
        self,
        *,
        request_id: int,
        channel: str,
        kind: str,
        outbox_id: int | None = None,
        ts: str | None = None,
    ) -> None:
        now = self._now()

        def work() -> None:
            with store.transaction(self.engine) as conn:
                if store.read(conn, request_id) is None:
                    raise UnknownRequest(request_id)
                store.save_copy(
                    conn,
                    request_id=request_id,
                    channel=channel,
                    kind=kind,
                    outbox_id=outbox_id,
                    ts=ts,
                    at=now,
                )

        await asyncio.to_thread(work)

    # -- time ------------------------------------------------------------------------------
    async def tick(
        self, *, now: datetime | None = None, deliver: NoticeHandler | None = None
    ) -> TickReport:
        """Expire, remind and escalate (each exactly once across replicas), run approved
        requests whose execution stalled, then deliver every notice not yet delivered."""
        at = epoch(now or self.clock())
        report = await asyncio.to_thread(run_tick, self.engine, now=at)
        stalled = await asyncio.to_thread(stalled_approvals, self.engine, now=at)
        executed = [await self.execute(request_id=i) for i in stalled]
        sent = await self.deliver_notices(deliver) if deliver is not None else 0
        return report.model_copy(update={"executed": executed, "notices_sent": sent})

    async def deliver_notices(
        self, deliver: NoticeHandler, *, request_id: int | None = None
    ) -> int:
        """Hand undelivered notices to `deliver` (see notices.deliver_notices)."""
        return await deliver_notices(self.engine, deliver, now=self._now, request_id=request_id)

    async def audit(
        self, *, since: datetime | None = None, request_id: int | None = None
    ) -> list[AuditRecord]:
        return await asyncio.to_thread(
            audit_records, self.engine, since=since, request_id=request_id
        )
