"""What a digest says: compose_digest builds the root message (headline of what changed since
the previous digest of this name, cross-domain highlights, one line per section, drill-down
buttons), the thread replies with the details, the spend chart, and the state the next digest
compares with. The scheduled post, `switchboard digest run` and `/ops digest preview` all call
it, so a preview that works is a post that works.

Quiet rule (ops.yml `when_quiet`): with nothing changed since `previous`, `skip` posts nothing
(None), `short` posts one line, `full` posts the whole digest saying nothing changed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.answers.digests import SectionBoard
from bot.answers.models import ModelBoard
from bot.answers.spend import SpendAnswer
from bot.digests.facts import Facts, gather_facts
from bot.digests.headline import Change, changes, digest_state
from bot.digests.idle import IdleAsset, idle_assets
from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.services import Services
from bot.views.charts import render_chart_png
from bot.views.digests import (
    change_line,
    details_reply,
    digest_root,
    idle_reply,
    quiet_line,
    section_reply,
)
from bot.views.mrkdwn import section
from bot.views.reply import ChartSpec, Reply, quiet_mrkdwn, safe_fallback
from bot.views.spend import spend_chart
from bot.views.terminal import mrkdwn_to_text

Block = dict[str, Any]


@dataclass(frozen=True)
class DigestChart:
    """A PNG to upload into the digest's thread (Slack's external upload flow)."""

    data: bytes
    filename: str
    alt_text: str
    title: str


@dataclass(frozen=True)
class ComposedDigest:
    name: str
    channel: str
    text: str  # notification fallback text of the root
    blocks: list[dict[str, Any]]  # the root message (within Slack limits)
    replies: list[list[dict[str, Any]]]  # thread replies, in order (details)
    chart: DigestChart | None  # PNG to upload into the thread, or None
    state: dict[str, Any]  # JSON-able snapshot stored after posting; next run gets it as `previous`
    quiet: bool  # nothing changed since `previous`


def _quiet(blocks: list[Block]) -> list[Block]:
    return Reply(text="", blocks=blocks).quiet().blocks


def _previous_at(previous: Mapping[str, Any] | None) -> datetime | None:
    value = previous.get("at") if previous else None
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def digest_zone(config: OpsConfig | None, digest: Digest) -> str | None:
    """The zone a digest tells time in: its own `timezone`, else its one team's, else the
    workspace's."""
    if digest.timezone:
        return digest.timezone
    if config is None:
        return None
    teams = [config.teams[t] for t in digest.teams or () if t in config.teams]
    if len(teams) == 1 and teams[0].timezone:
        return teams[0].timezone
    return config.workspace.timezone


def _team_names(config: OpsConfig) -> dict[str, str]:
    return {slug: team.name or slug for slug, team in config.teams.items()}


def _boards(name: str, facts: Facts, config: OpsConfig) -> list[SectionBoard]:
    """The section's board for each team in scope (or one for every team), from the facts."""
    teams: list[str | None] = list(facts.teams) if facts.teams else [None]

    def mine(team: str | None, owner: str | None) -> bool:
        return team is None or owner == team

    if name in facts.missing:
        return [SectionBoard(name, t, None, facts.missing[name]) for t in teams]
    out: list[SectionBoard] = []
    for team in teams:
        board: Any = None
        if name == "pipelines" and facts.pipeline_board is not None:
            pb = facts.pipeline_board

            def keep(statuses: Sequence[Any], team: str | None = team) -> list[Any]:
                return [
                    s
                    for s in statuses
                    if mine(team, config.team_of_pipeline(s.pipeline.name))
                    and (
                        facts.teams is None
                        or config.team_of_pipeline(s.pipeline.name) in facts.teams
                    )
                ]

            parts = [keep(pb.failing), keep(pb.late), keep(pb.running), keep(pb.healthy)]
            board = replace(
                pb,
                failing=parts[0],
                late=parts[1],
                running=parts[2],
                healthy=parts[3],
                total=sum(len(p) for p in parts),
                team=team,
            )
        elif name == "models":
            rows = [r for r in facts.models if mine(team, r[2])]
            board = ModelBoard(rows=rows, team=team)
        elif name == "spend":
            board = next((a for t, a in facts.spend if t == team), None)
        elif name == "budgets" and facts.budget_board is not None:
            lines = [b for b in facts.budgets if mine(team, b.team)]
            board = replace(facts.budget_board, lines=lines)
        elif name == "approvals":
            board = [a for a in facts.approvals if mine(team, a.team)]
        elif name == "incidents":
            board = [i for i in facts.incidents if mine(team, i.team)]
        out.append(SectionBoard(name, team, board, "" if board is not None else "not available"))
    return out


def _chart_spec(spend: Sequence[tuple[str | None, SpendAnswer]], label: str) -> ChartSpec | None:
    """The digest's spend chart: the one answer's, or the teams' daily spend added up."""
    answers = [a for _t, a in spend if not a.no_data and not a.empty]
    if not answers:
        return None
    if len(answers) == 1:
        return spend_chart(answers[0])
    currency = answers[0].currency
    same = [a for a in answers if a.currency == currency]
    days: dict[date, float] = {}
    before: dict[date, float] = {}
    for answer in same:
        for day, value in answer.daily:
            days[day] = days.get(day, 0.0) + float(value)
        for day, value in answer.previous_daily:
            before[day] = before.get(day, 0.0) + float(value)
    if len(days) < 2:
        return None
    series = tuple(sorted(days.items()))
    total = sum(v for _d, v in series)
    peak_day, peak = max(series, key=lambda item: (item[1], item[0]))
    alt = (
        f"Daily spend of {label} {same[0].period.during}: {total:,.2f} {currency} in total, "
        f"highest {peak:,.2f} {currency} on {peak_day:%d %b}; {same[0].previous.label} dimmed."
    )
    return ChartSpec(
        title=f"Daily spend: {label}, {same[0].period.label}",
        series=series,
        unit=currency,
        alt_text=alt,
        compare=tuple(sorted(before.items())),
    )


@functools.lru_cache(maxsize=64)
def _png(spec: ChartSpec) -> bytes:
    """Drawn once per distinct chart: digests of the same scope due together share it."""
    return render_chart_png(spec)


async def _chart(facts: Facts, label: str) -> DigestChart | None:
    spec = _chart_spec(facts.spend, label)
    if spec is None:
        return None
    png = await asyncio.to_thread(_png, spec)
    day = facts.now.date().isoformat()
    return DigestChart(
        data=png,
        filename=f"{facts.digest.name}-spend-{day}.png",
        alt_text=spec.alt_text,
        title=spec.title,
    )


def _fallback(name: str, found: Sequence[Change], *, first: bool, tz: Any) -> str:
    """The notification text: how many changes and the first few, in plain words."""
    if not found:
        return f"Digest {name}: " + ("nothing needs attention." if first else "nothing changed.")
    count = len(found)
    lines = "; ".join(mrkdwn_to_text(change_line(c, tz=tz)) for c in found[:3])
    more = f"; +{count - 3} more" if count > 3 else ""
    return safe_fallback(
        f"Digest {name}: {count} change{'s' if count != 1 else ''}: {lines}{more}"[:600]
    )


async def compose_digest(
    services: Services,
    digest: Digest,
    *,
    now: datetime,
    previous: Mapping[str, Any] | None,
    late_by: timedelta | None = None,
) -> ComposedDigest | None:
    """The digest as posted at `now`, compared with `previous` (the state of the last post of
    this name; None for the first). None: nothing changed and `when_quiet: skip`."""
    deps = services.answer_deps(now=now, user_zone=digest_zone(services.ops_config, digest))
    if deps is None:
        raise RuntimeError("digests need an ops.yml: none is loaded")
    config, tz = deps.config, deps.user_tz
    facts = await gather_facts(deps, digest)
    found = changes(facts, previous)
    quiet = previous is not None and not found
    if quiet and digest.when_quiet == "skip":
        return None
    state = digest_state(facts)
    previous_at = _previous_at(previous)
    if quiet and digest.when_quiet == "short":
        line = quiet_line(digest, previous_at, tz)
        return ComposedDigest(
            name=digest.name,
            channel=digest.channel,
            text=safe_fallback(mrkdwn_to_text(line)),
            blocks=[section(line)],
            replies=[],
            chart=None,
            state=state,
            quiet=True,
        )
    names = _team_names(config)
    idle: list[IdleAsset] = idle_assets(facts, config) if "idle" in digest.sections else []
    label = ", ".join(names.get(t, t) for t in facts.teams) if facts.teams else "all teams"
    chart = await _chart(facts, label) if "spend" in digest.sections else None
    root = digest_root(
        digest=digest,
        facts=facts,
        config=config,
        changes=found,
        idle=idle,
        previous_at=previous_at,
        first=previous is None,
        late_by=late_by,
        has_chart=chart is not None,
        team_names=names,
        tz=tz,
    )
    replies = [
        details_reply(
            facts=facts, changes=found, tz=tz, title="What changed, in full", team_names=names
        )
    ]
    for name in digest.sections:
        if name == "idle":
            replies.append(idle_reply(idle, days=digest.idle_after_days))
        else:
            replies.append(
                section_reply(name, _boards(name, facts, config), team_names=names, tz=tz)
            )
    # Posted for a whole channel: people named in it (requesters, on-call) are not notified.
    return ComposedDigest(
        name=digest.name,
        channel=digest.channel,
        text=quiet_mrkdwn(_fallback(digest.name, found, first=previous is None, tz=tz)),
        blocks=_quiet(root),
        replies=[_quiet(reply) for reply in replies],
        chart=chart,
        state=state,
        quiet=quiet,
    )


__all__ = ["ComposedDigest", "DigestChart", "compose_digest"]
