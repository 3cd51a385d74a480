"""What an answer reads: the sources hub, ops.yml, budgets, the store, and "now" in the right zones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.budgets import StoredBudgets
    from bot.ops_config import OpsConfig
    from integrations.hub import Sources


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


class WaitingApprovals(Protocol):
    """What answers read of the approval service (bot.approvals.service.ApprovalService): the
    requests waiting for one person's decision (RequestSnapshots)."""

    async def waiting_for(self, user: str) -> Sequence[Any]: ...


@dataclass(frozen=True)
class AnswerDeps:
    sources: Sources
    config: OpsConfig
    budgets: StoredBudgets | None
    engine: Engine | None
    now: datetime  # aware, UTC
    user_tz: ZoneInfo  # the asking user's zone: how times are shown
    workspace_tz: ZoneInfo  # the workspace zone: what "today" and periods mean
    approvals: WaitingApprovals | None = None  # None: approvals are not set up

    @property
    def today(self) -> date:
        """Today in the workspace zone: spend periods and month-end forecasts count from it."""
        return self.now.astimezone(self.workspace_tz).date()


def answer_deps(
    *,
    config: OpsConfig,
    sources: Sources,
    now: datetime,
    budgets: StoredBudgets | None = None,
    engine: Engine | None = None,
    approvals: WaitingApprovals | None = None,
    user_zone: str | None = None,
) -> AnswerDeps:
    """The dependencies of one answer given at `now`, shown in `user_zone` (an IANA name; None,
    unknown or invalid: the workspace zone)."""
    workspace = config.workspace.timezone
    return AnswerDeps(
        sources=sources,
        config=config,
        budgets=budgets,
        engine=engine,
        now=now.astimezone(UTC),
        user_tz=_zone(user_zone, workspace),
        workspace_tz=_zone(workspace, "UTC"),
        approvals=approvals,
    )
