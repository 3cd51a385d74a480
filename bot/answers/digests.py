"""What a digest shows and when: each configured section's board for the digest's teams, fetched
concurrently under one deadline (a slow source leaves its section marked, never the digest out),
and the schedule of every digest in words with its next run. App Home reuses the sections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError

from bot.answers.budgets import budget_board
from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown
from bot.answers.incidents import incident_list
from bot.answers.models import model_board
from bot.answers.pipelines import pipeline_board
from bot.answers.spend import spend_answer
from bot.ops_config.digests import Digest
from integrations.cache import TTLCache

T = TypeVar("T")
log = structlog.get_logger(__name__)

SECTIONS_TIMEOUT = 8.0  # seconds for every section of one digest or home tab
SPEND_PERIOD = "7d"  # what a digest's spend section covers


@dataclass(frozen=True)
class SectionBoard:
    section: str  # pipelines, models, spend, budgets, approvals, incidents
    team: str | None  # None: every team
    board: Any | None  # the answer's board; None when it is not available
    missing: str = ""  # why there is no board ("timed out", "not available yet")


async def _pipelines(deps: AnswerDeps, team: str | None) -> Any:
    return await pipeline_board(deps, team=team)


async def _models(deps: AnswerDeps, team: str | None) -> Any:
    return await model_board(deps, team=team)


async def _spend(deps: AnswerDeps, team: str | None) -> Any:
    answer = await spend_answer(deps, team=team, period=SPEND_PERIOD)
    if isinstance(answer, Unknown):
        raise LookupError(answer.message)
    return answer


async def _budgets(deps: AnswerDeps, team: str | None) -> Any:
    return await budget_board(deps, team=team)


async def _incidents(deps: AnswerDeps, team: str | None) -> Any:
    return await incident_list(deps, team=team)


async def _approvals(deps: AnswerDeps, team: str | None) -> Any:
    """Pending requests of the team (or of every team), oldest first."""
    service = deps.approvals
    if service is None:
        raise LookupError("approvals are not set up")
    teams = [team] if team else list(deps.config.teams)
    people = {
        p for slug in teams if slug in deps.config.teams for p in deps.config.teams[slug].people
    }
    waiting = await asyncio.gather(*(service.waiting_for(user) for user in sorted(people)))
    found = {s.id: s for group in waiting for s in group if team is None or s.team == team}
    return sorted(found.values(), key=lambda s: s.created_at)


FETCHERS: dict[str, Callable[[AnswerDeps, str | None], Awaitable[Any]]] = {
    "pipelines": _pipelines,
    "models": _models,
    "spend": _spend,
    "budgets": _budgets,
    "approvals": _approvals,
    "incidents": _incidents,
}


# What the digests composed for one schedule slot share: hundreds due at the same minute are
# composed for the same moment, so each board (a section's for a team, every team's pipelines…)
# is worked out once and the others wait for it (single flight). Set by the digest poster
# around a scheduled build only; elsewhere every answer loads its own.
SLOT_SHARED: ContextVar[TTLCache[Any] | None] = ContextVar("slot_shared", default=None)


async def once_per_slot(
    deps: AnswerDeps, what: tuple[Any, ...], load: Callable[[], Awaitable[T]]
) -> T:
    """`load()`, or what another digest of the same slot loaded for `what` at `deps.now`."""
    cache = SLOT_SHARED.get()
    if cache is None:
        return await load()
    found: T = await cache.get_or_load((*what, deps.now, id(deps.config)), load)
    return found


async def _one(deps: AnswerDeps, section: str, team: str | None) -> SectionBoard:
    return await once_per_slot(
        deps, ("section", section, team), lambda: _board(deps, section, team)
    )


async def _board(deps: AnswerDeps, section: str, team: str | None) -> SectionBoard:
    fetch = FETCHERS.get(section)
    if fetch is None:
        return SectionBoard(section, team, None, "unknown section")
    try:
        return SectionBoard(section, team, await fetch(deps, team))
    except Exception as exc:
        log.warning("section_failed", section=section, team=team, error=type(exc).__name__)
        reason = str(exc) if isinstance(exc, LookupError) else "failed on my side"
        return SectionBoard(section, team, None, reason)


async def section_boards(
    deps: AnswerDeps,
    *,
    sections: Sequence[str],
    teams: Sequence[str | None],
    timeout: float = SECTIONS_TIMEOUT,
) -> list[SectionBoard]:
    """Every (section, team) board, concurrently; what is not done by `timeout` is marked."""
    pairs = [(s, t) for s in sections for t in teams]
    tasks = [asyncio.ensure_future(_one(deps, s, t)) for s, t in pairs]
    done, pending = await asyncio.wait(tasks, timeout=timeout) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    results = []
    for (section, team), task in zip(pairs, tasks, strict=True):
        if task in done and not task.cancelled():
            results.append(task.result())
        else:
            results.append(SectionBoard(section, team, None, f"timed out after {timeout:g} s"))
    return results


# -- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestPlan:
    digest: Digest
    schedule_words: str
    next_run: datetime | None  # None when disabled or the schedule never fires again
    team_names: tuple[str, ...]  # () means every team
    problem: str | None = None  # why its last post was refused (its channel), in words


_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def _days(field: str) -> str | None:
    parts = []
    for part in field.lower().split(","):
        if "-" in part:
            start, _, end = part.partition("-")
            if start not in _DAYS or end not in _DAYS:
                return None
            parts.append(f"{_DAYS[start]} to {_DAYS[end]}")
        elif part in _DAYS:
            parts.append(_DAYS[part] + "s")
        else:
            return None
    return " and ".join(parts)


def schedule_in_words(cron: str) -> str:
    """'0 9 * * MON' → 'Mondays at 09:00'; anything unusual is shown as the cron itself."""
    fields = cron.split()
    if len(fields) != 5:
        return f"cron `{cron}`"
    minute, hour, day, month, weekday = fields
    if not (minute.isdigit() and hour.isdigit()) or month != "*":
        return f"cron `{cron}`"
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday == "*":
        return f"every day {at}"
    if day == "*" and (days := _days(weekday)):
        return f"{days} {at}"
    if day.isdigit() and weekday == "*":
        return f"on day {int(day)} of every month {at}"
    return f"cron `{cron}`"


def digest_plans(deps: AnswerDeps) -> list[DigestPlan]:
    """Every digest in ops.yml with its schedule in words, its next run and a channel problem."""
    from bot.digests.problems import channel_problems
    from bot.digests.schedule import digest_trigger

    try:
        problems = channel_problems(deps.engine) if deps.engine is not None else {}
    except SQLAlchemyError:  # a store without the digest table (not migrated): list the rest
        log.warning("digest.problems_unreadable")
        problems = {}
    plans = []
    for digest in deps.config.digests:
        next_run = None
        if digest.enabled:
            try:
                next_run = digest_trigger(digest, deps.config).get_next_fire_time(None, deps.now)
            except Exception:  # a schedule that never fires again is shown without a next run
                next_run = None
        names = tuple(
            deps.config.teams[t].name or t for t in digest.teams or () if t in deps.config.teams
        )
        problem = problems.get(digest.name)
        words = problem.words() if problem is not None else None
        plans.append(DigestPlan(digest, schedule_in_words(digest.schedule), next_run, names, words))
    return plans


def find_digest(deps: AnswerDeps, name: str) -> Digest | None:
    return next((d for d in deps.config.digests if d.name == name), None)
