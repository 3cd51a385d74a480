"""`/ops models` and `/ops model NAME`: the model registry joined with serving health, owners,
cost (training pipelines + serving) and the state of the pipelines that feed each model.

Every source call of one answer runs concurrently; a slow or down source leaves its part out
and is listed in `problems`, so the answer is marked partial instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, match_name
from bot.answers.model_cost import ModelCost, model_cost
from bot.views.mrkdwn import escape
from integrations.focus.analysis import month_to_date
from integrations.hub import gather_partial
from integrations.models import (
    Model,
    ModelHealth,
    ModelVersion,
    Partial,
    PipelineRun,
    RunState,
    SourceProblem,
)
from integrations.names import one_typo_away

VERSIONS_SHOWN = 5
RUNS_READ = 10  # runs read per upstream pipeline to date the start of a failing streak
COST_DAYS = 30

BoardRow = tuple[Model, ModelHealth | None, str | None]  # model, health, owning team


def _merge(*groups: tuple[SourceProblem, ...]) -> tuple[SourceProblem, ...]:
    """Problems once each (twelve health calls to one down source are one problem)."""
    return tuple(dict.fromkeys(p for group in groups for p in group))


# -- the board ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelBoard:
    rows: list[BoardRow]  # unhealthy first, then by name
    problems: tuple[SourceProblem, ...] = ()
    team: str | None = None  # the team filter, when one was asked

    @property
    def unhealthy(self) -> list[BoardRow]:
        return [row for row in self.rows if row[1] is not None and not row[1].healthy]

    @property
    def partial(self) -> bool:
        return bool(self.problems)


async def model_board(deps: AnswerDeps, *, team: str | None = None) -> ModelBoard:
    """Registered models of every registry (or of one team, a slug) with their health."""
    listed = await deps.sources.all_models()
    models = [m for m in listed.value if team is None or deps.config.team_of_model(m.name) == team]
    healths = await asyncio.gather(*(deps.sources.model_health(m.name) for m in models))
    rows: list[BoardRow] = [
        (m, h.value, deps.config.team_of_model(m.name))
        for m, h in zip(models, healths, strict=True)
    ]
    rows.sort(key=lambda r: (r[1] is None or r[1].healthy, r[0].name))
    return ModelBoard(
        rows=rows,
        problems=_merge(listed.problems, *(h.problems for h in healths)),
        team=team,
    )


# -- one model ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegistryUnavailable(Unknown):
    """No registry answered, so a name cannot be checked: says so instead of "unknown model"."""

    reason: str = ""

    @property
    def message(self) -> str:
        return self.reason


@dataclass(frozen=True)
class IncidentThresholds:
    """When serving health opens an incident (ops.yml incidents.detectors); None: detector off."""

    drift: float | None = None
    latency_p95_ms: float | None = None


@dataclass(frozen=True)
class UpstreamPipeline:
    pipeline: str
    role: Literal["trains", "feeds"]
    last_run: PipelineRun | None = None  # newest finished run
    failing_since: datetime | None = None  # first failure of the current streak
    failed_runs: int = 0  # failures in the current streak (within the runs read)
    streak_reaches_back: bool = False  # every run read failed: it may have failed for longer
    known: bool = True  # False when its orchestrator did not answer

    @property
    def failing(self) -> bool:
        return self.failed_runs > 0


@dataclass(frozen=True)
class ModelDetail:
    model: Model
    asked: str  # the name as typed; differs from model.name when it was matched loosely
    versions: tuple[ModelVersion, ...]  # newest first, at most VERSIONS_SHOWN
    version_count: int
    aliased: dict[str, ModelVersion]  # alias -> its version, with evaluation metrics
    health: ModelHealth | None
    thresholds: IncidentThresholds
    team: str | None
    channel: str | None
    cost_mtd: ModelCost
    cost_30d: ModelCost
    upstream: tuple[UpstreamPipeline, ...] = ()
    problems: tuple[SourceProblem, ...] = field(default_factory=tuple)

    @property
    def failing_upstream(self) -> list[UpstreamPipeline]:
        return [u for u in self.upstream if u.failing]

    @property
    def matched_loosely(self) -> bool:
        return self.asked.casefold() != self.model.name.casefold()

    @property
    def partial(self) -> bool:
        return bool(self.problems)


def resolve_model(names: list[str], asked: str) -> str | Unknown:
    """A model name from what was typed: exact, fuzzy (entities.match_name), or one typo away.

    A dropped or swapped letter ("chrn") scores just under the fuzzy match's acceptance bar, so
    a name one typo away (names.is_typo) is taken when no other name is that close.
    """
    found = match_name(asked, names, kind="model")
    if isinstance(found, str):
        return found
    return one_typo_away(asked, names) or found


def thresholds(deps: AnswerDeps) -> IncidentThresholds:
    detectors = deps.config.incidents.detectors
    return IncidentThresholds(
        drift=detectors.model_drift.threshold if detectors.model_drift.enabled else None,
        latency_p95_ms=detectors.model_latency.p95_ms if detectors.model_latency.enabled else None,
    )


def _finished(run: PipelineRun) -> bool:
    return run.state not in (RunState.queued, RunState.running)


def upstream_state(
    pipeline: str, role: Literal["trains", "feeds"], runs: list[PipelineRun]
) -> UpstreamPipeline:
    """Whether a pipeline is failing now (its newest finished run failed) and since when."""
    finished = [r for r in runs if _finished(r) and r.state is not RunState.skipped]
    streak: list[PipelineRun] = []
    for run in finished:
        if run.state is not RunState.failed:
            break
        streak.append(run)
    first = streak[-1] if streak else None
    return UpstreamPipeline(
        pipeline=pipeline,
        role=role,
        last_run=finished[0] if finished else None,
        failing_since=(first.started_at or first.scheduled_for) if first else None,
        failed_runs=len(streak),
        streak_reaches_back=bool(streak) and len(streak) == len(finished),
    )


async def _versions(deps: AnswerDeps, model: Model) -> Partial[list[ModelVersion]]:
    """Versions from the registry that reported the model (any registry if none matches)."""
    registries = deps.sources.registries
    keys = [k for k in registries if k.split("#")[0] == model.source] or list(registries)

    def call(key: str) -> Callable[[], Awaitable[list[ModelVersion]]]:
        return lambda: registries[key].versions(model.name)

    found, problems = await gather_partial({k: call(k) for k in keys}, timeout=deps.sources.timeout)
    versions = next((found[k] for k in keys if found.get(k)), [])
    return Partial[list[ModelVersion]](value=list(versions), problems=problems)


async def _upstream(deps: AnswerDeps, model: str) -> Partial[list[UpstreamPipeline]]:
    training = deps.config.pipelines_training(model)
    lineage: list[tuple[str, Literal["trains", "feeds"]]] = [(p, "trains") for p in training] + [
        (p, "feeds") for p in deps.config.pipelines_feeding(model) if p not in training
    ]
    runs = await asyncio.gather(
        *(deps.sources.recent_runs(name, limit=RUNS_READ) for name, _ in lineage)
    )
    upstream = []
    for (name, role), found in zip(lineage, runs, strict=True):
        state = upstream_state(name, role, found.value)
        if found.problems and not found.value:
            state = UpstreamPipeline(pipeline=name, role=role, known=False)
        upstream.append(state)
    return Partial[list[UpstreamPipeline]](
        value=upstream, problems=_merge(*(r.problems for r in runs))
    )


def cost_periods(today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """Month to date and the last 30 days (today included), each [start, end)."""
    end = today + timedelta(days=1)
    return month_to_date(today), (end - timedelta(days=COST_DAYS), end)


async def model_detail(deps: AnswerDeps, name: str) -> ModelDetail | Unknown:
    """Everything about one model, or Unknown with suggestions when no model has that name."""
    listed = await deps.sources.all_models()
    by_name = {m.name: m for m in listed.value}
    found = resolve_model(list(by_name), name)
    if isinstance(found, Unknown) and listed.problems:
        # A registry that did not answer may well have it: say so rather than "unknown".
        down = escape("; ".join(f"{p.source}: {p.reason}" for p in listed.problems))
        if listed.value:
            reason = f"{found.message} A model registry did not answer ({down}) and may have it."
        else:
            reason = f"I could not reach the model registry ({down}), so I cannot look up models."
        return RegistryUnavailable("model", name, found.suggestions, reason=reason)
    if isinstance(found, Unknown):
        return found
    model = by_name[found]
    (mtd_start, mtd_end), (days_start, days_end) = cost_periods(deps.today)
    versions, health, mtd, last_30d, upstream = await asyncio.gather(
        _versions(deps, model),
        deps.sources.model_health(model.name),
        model_cost(deps, model.name, start=mtd_start, end=mtd_end),
        model_cost(deps, model.name, start=days_start, end=days_end),
        _upstream(deps, model.name),
    )
    by_version = {v.version: v for v in versions.value}
    aliased = {
        alias: by_version[version]
        for alias, version in model.aliases.items()
        if version in by_version
    }
    team = deps.config.team_of_model(model.name)
    owner = deps.config.teams.get(team) if team else None
    return ModelDetail(
        model=model,
        asked=name,
        versions=tuple(versions.value[:VERSIONS_SHOWN]),
        version_count=len(versions.value),
        aliased=aliased,
        health=health.value,
        thresholds=thresholds(deps),
        team=team,
        channel=owner.channel if owner else None,
        cost_mtd=mtd,
        cost_30d=last_30d,
        upstream=tuple(upstream.value),
        problems=_merge(
            listed.problems,
            versions.problems,
            health.problems,
            mtd.problems,
            last_30d.problems,
            upstream.problems,
        ),
    )
