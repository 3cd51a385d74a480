"""Who asks, where, and what the bot answers with: `AskContext`, made per request by each surface."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.views.reply import Reply

if TYPE_CHECKING:
    # Only for annotations: importing the services builds in the whole app (DuckDB, approvals).
    from bot.answers.deps import AnswerDeps
    from bot.services import Services

NOT_CONFIGURED = Reply(
    text="I have no ops.yml loaded, so I know no pipelines, models or budgets yet. "
    "Set SWITCHBOARD_CONFIG to your ops.yml (start from ops.example.yml) and restart; "
    "`switchboard check-config` shows what is wrong with a file."
)


@dataclass(frozen=True, kw_only=True)
class AskContext:
    services: Services
    user_id: str = "U_TERMINAL"
    surface: str = "terminal"  # slash_command, mention, im, button, terminal, home, sandbox
    text: str = ""  # the command text as asked (set by the router), for "More" and "Share"
    page: int = 0  # which page of a long answer ("More" button)
    # The asking user's IANA zone (users.info); None: the workspace zone. A slash command passes
    # the lookup still under way, so its ack never waits on users.info: the router awaits it
    # (bounded by the lookup's own timeout) just before a handler answers.
    timezone: str | asyncio.Future[str | None] | None = None
    now: datetime | None = None  # fixed "now" for reproducible answers (tests, golden files)


def deps_for(ctx: AskContext) -> AnswerDeps | Reply:
    """The dependencies of the answer to `ctx`, or the reply that says why there are none."""
    # A zone still being looked up is not known yet: the router awaits it before handlers.
    zone = ctx.timezone if isinstance(ctx.timezone, str) else None
    found = ctx.services.answer_deps(now=ctx.now, user_zone=zone)
    return NOT_CONFIGURED if found is None else found
