"""App Home's data: the user's teams at a glance (pipelines, models, budgets, incidents) and the
approvals waiting for them, fetched concurrently so a slow source gives a partial home."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from bot.answers.deps import AnswerDeps
from bot.answers.digests import SectionBoard, section_boards

log = structlog.get_logger(__name__)

HOME_SECTIONS = ("pipelines", "models", "budgets", "incidents")
HOME_TIMEOUT = 5.0  # seconds; App Home opens often and must feel instant


@dataclass(frozen=True)
class TeamGlance:
    team: str | None  # slug; None: every team (the user is in none)
    name: str
    channel: str | None
    boards: list[SectionBoard]


@dataclass(frozen=True)
class HomeData:
    user_id: str
    teams: list[TeamGlance]
    in_no_team: bool  # the user is in no team of ops.yml, so they see every team
    approvals_waiting: list[Any] | None  # RequestSnapshots; None: approvals are not set up
    now: datetime
    tz: ZoneInfo
    problems: list[str] = field(default_factory=list)  # parts that did not answer in time


def teams_of(deps: AnswerDeps, user_id: str) -> list[str]:
    """Slugs of the teams whose members or leads include the user, in ops.yml order."""
    return [slug for slug, team in deps.config.teams.items() if user_id in team.people]


async def _waiting(deps: AnswerDeps, user_id: str, timeout: float) -> tuple[list[Any] | None, str]:
    service = deps.approvals
    if service is None:
        return None, ""
    try:
        async with asyncio.timeout(timeout):
            return list(await service.waiting_for(user_id)), ""
    except Exception as exc:
        log.warning("home_approvals_failed", error=type(exc).__name__)
        return [], "approvals did not answer"


async def home_for(deps: AnswerDeps, user_id: str, *, timeout: float = HOME_TIMEOUT) -> HomeData:
    """The user's App Home; every part runs concurrently and anything slow is left out."""
    mine = teams_of(deps, user_id)
    slugs: list[str | None] = list(mine) if mine else [None]
    boards, (waiting, approvals_problem) = await asyncio.gather(
        section_boards(deps, sections=HOME_SECTIONS, teams=slugs, timeout=timeout),
        _waiting(deps, user_id, timeout),
    )
    glances = []
    for slug in slugs:
        team = deps.config.teams.get(slug) if slug else None
        glances.append(
            TeamGlance(
                team=slug,
                name=(team.name or slug) if team and slug else "Every team",
                channel=team.channel if team else None,
                boards=[b for b in boards if b.team == slug],
            )
        )
    problems = [f"{b.section}: {b.missing}" for b in boards if b.board is None and b.missing]
    if approvals_problem:
        problems.append(approvals_problem)
    return HomeData(
        user_id=user_id,
        teams=glances,
        in_no_team=not mine,
        approvals_waiting=waiting,
        now=deps.now,
        tz=deps.user_tz,
        problems=problems,
    )
