"""Everything the bot's handlers, webhooks and jobs work with, built once per process by
`build_services`: the app, `python -m scheduler`, `switchboard ask` and the demo all use it.

A member is added in two lines: its field below (optional when it needs ops.yml) and its
construction in `build_services`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from bot.settings import Settings

if TYPE_CHECKING:
    # Built in build_services, imported there: a process that sends nothing (`switchboard ask`)
    # never imports the outbox or approval delivery, and help never imports any of it.
    from sqlalchemy.engine import Engine

    from bot.answers.deps import AnswerDeps
    from bot.approvals.service import ApprovalService
    from bot.budgets import StoredBudgets
    from bot.delivery.approvals import ApprovalNotifier
    from bot.incidents.service import IncidentService
    from bot.ops_config import OpsConfig
    from bot.outbox import Outbox
    from integrations.hub import Sources

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def pinned_clock(moment: datetime) -> Clock:
    """A clock that always says `moment` (the demo company, tests and golden files)."""
    return lambda: moment


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    clock: Clock = system_clock  # "now" for answers: pinned for reproducible answers
    # Where everything for Slack is queued; None where nothing may be sent (`switchboard ask`).
    outbox: Outbox | None = None
    # What ops.yml configures; all None without an ops.yml (the bot then answers help only).
    ops_config: OpsConfig | None = None
    sources: Sources | None = None
    budgets: StoredBudgets | None = None
    approvals: ApprovalService | None = None
    # Tells people about approval requests; needs approvals and an outbox.
    approval_notices: ApprovalNotifier | None = None
    # Alerts in, incident threads out (through the outbox; None where nothing is sent).
    incidents: IncidentService | None = None

    def sending(self) -> Outbox:
        """The outbox, for what only runs where messages are sent (Slack surfaces, webhooks)."""
        if self.outbox is None:
            raise RuntimeError("these services send nothing (built with sends=False)")
        return self.outbox

    def answer_deps(
        self, *, now: datetime | None = None, user_zone: str | None = None
    ) -> AnswerDeps | None:
        """What an answer given at `now` (default: the clock) in `user_zone` reads; None
        without an ops.yml."""
        if self.ops_config is None or self.sources is None:
            return None
        from bot.answers.deps import answer_deps

        return answer_deps(
            config=self.ops_config,
            sources=self.sources,
            budgets=self.budgets,
            engine=self.engine,
            approvals=self.approvals,
            now=now or self.clock(),
            user_zone=user_zone,
        )


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    config_path: Path | None = None,
    now: datetime | None = None,
    sends: bool = True,
    demo_cache: Path | None = None,
) -> Services:
    """The services of one process.

    ops.yml (`config_path`, default SWITCHBOARD_CONFIG) and what it configures, when the file
    exists: a missing file leaves them out (the bot still answers help); an invalid one raises
    OpsConfigError with every problem listed, rather than running on a half-understood
    configuration. `now` pins the clock (the demo company's data is deterministic for it).
    `sends=False` builds no outbox: nothing is queued for Slack (`switchboard ask`).
    `demo_cache` keeps the demo company's spend files between processes (the CLI's).
    """
    from bot.approvals.executor import SourcesExecutor
    from bot.approvals.service import ApprovalService
    from bot.budgets import StoredBudgets
    from bot.ops_config import load_ops_config
    from bot.sources import build_sources
    from bot.store.db import engine_for

    engine = engine or engine_for(settings.database_url)
    outbox = None
    if sends:
        from bot.outbox import Outbox

        outbox = Outbox(engine)
    base = Services(
        settings=settings,
        engine=engine,
        clock=pinned_clock(now) if now is not None else system_clock,
        outbox=outbox,
    )
    path = config_path or settings.switchboard_config
    if not path.is_file():
        log.warning("no_ops_config", path=str(path))
        return base
    config = load_ops_config(path)
    built = build_sources(config, now=now, demo_cache=demo_cache)
    budgets = StoredBudgets(engine, config, mirror=built.budget_mirror)
    approvals = ApprovalService(
        engine=engine,
        config=config,
        catalog=built.sources,
        budgets=budgets,
        executor=SourcesExecutor(built.sources, budgets),
    )
    configured = replace(
        base, ops_config=config, sources=built.sources, budgets=budgets, approvals=approvals
    )
    if configured.outbox is None:
        return configured
    from bot.delivery.approvals import ApprovalNotifier, EvidenceCache

    notices = ApprovalNotifier(
        outbox=configured.outbox,
        approvals=approvals,
        config=config,
        answers=configured.answer_deps,
        evidence=EvidenceCache(),
    )
    from bot.incidents.service import IncidentService

    incidents = IncidentService(engine=engine, config=config, outbox=configured.outbox)
    return replace(configured, approval_notices=notices, incidents=incidents)
