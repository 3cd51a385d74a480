"""What an answer reads: the sources hub, ops.yml, budgets, the store, and "now" in the right zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.views.reply import Reply

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.budgets import StoredBudgets
    from bot.commands.dispatch import AskContext
    from bot.ops_config import OpsConfig
    from integrations.hub import Sources

NOT_CONFIGURED = Reply(
    text="I have no ops.yml loaded, so I know no pipelines, models or budgets yet. "
    "Set SWITCHBOARD_CONFIG to your ops.yml (start from ops.example.yml) and restart; "
    "`switchboard check-config` shows what is wrong with a file."
)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class AnswerDeps:
    sources: Sources
    config: OpsConfig
    budgets: StoredBudgets | None
    engine: Engine | None
    now: datetime  # aware, UTC
    user_tz: ZoneInfo  # the asking user's zone: how times are shown
    workspace_tz: ZoneInfo  # the workspace zone: what "today" and periods mean
    services: dict[str, Any]

    @property
    def today(self) -> date:
        """Today in the workspace zone: spend periods and month-end forecasts count from it."""
        return self.now.astimezone(self.workspace_tz).date()


def deps_for(ctx: AskContext) -> AnswerDeps | Reply:
    """The dependencies of an answer, or the reply that says why there are none."""
    services = ctx.services
    config = services.get("ops_config")
    sources = services.get("sources")
    if config is None or sources is None:
        return NOT_CONFIGURED
    now = ctx.now or services.get("now") or datetime.now(UTC)
    workspace = config.workspace.timezone
    return AnswerDeps(
        sources=sources,
        config=config,
        budgets=services.get("budgets"),
        engine=services.get("engine"),
        now=now.astimezone(UTC),
        # A zone still being looked up is not known yet: the router awaits it before handlers.
        user_tz=_zone(ctx.timezone if isinstance(ctx.timezone, str) else None, workspace),
        workspace_tz=_zone(workspace, "UTC"),
        services=services,
    )
