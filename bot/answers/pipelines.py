"""`/ops status` and `/ops pipeline NAME`: every pipeline's state (failing, late, running, healthy)
and one pipeline's runs, owner, the models it feeds and what its failed runs cost.

The board reads each orchestrator twice at most (its pipeline list and all runs of the last
days, concurrently); only pipelines whose schedule is too rare to show a success in that
window get a recent_runs call of their own, a few at a time.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, match_name
from integrations.focus.analysis import main_currency, month_to_date
from integrations.hub import gather_partial
from integrations.models import (
    Pipeline,
    PipelineRun,
    PipelineStatus,
    RunState,
    SourceProblem,
    SpendQuery,
)
from integrations.pipeline_status import pipeline_status
from integrations.protocols import PipelineSource

RUN_WINDOW = timedelta(days=8)  # a weekly pipeline's last success is inside it
FALLBACK_RUNS = 10  # runs read one by one for pipelines the window shows no success of
FALLBACK_CONCURRENCY = 8
DETAIL_RUNS = 200  # runs read for `/ops pipeline`: a daily pipeline's month, several times over
RATE_RUNS = 30  # finished runs the success rate and median duration count
FINISHED = (RunState.success, RunState.failed)
NEVER = datetime.min.replace(tzinfo=UTC)


def merge_problems(*groups: Sequence[SourceProblem]) -> tuple[SourceProblem, ...]:
    """Problems once each: eight calls to one down source are one problem."""
    return tuple(dict.fromkeys(p for group in groups for p in group))


def finished_runs(runs: Sequence[PipelineRun]) -> list[PipelineRun]:
    return [r for r in runs if r.state in FINISHED]


def failing_streak(runs: Sequence[PipelineRun]) -> list[PipelineRun]:
    """The failed runs since the last success, newest first (empty when the last result passed)."""
    streak: list[PipelineRun] = []
    for run in finished_runs(runs):
        if run.state is not RunState.failed:
            break
        streak.append(run)
    return streak


def is_failing(status: PipelineStatus) -> bool:
    return bool(failing_streak(status.runs))


@dataclass(frozen=True)
class PipelineBoard:
    failing: list[PipelineStatus]  # newest failure first
    late: list[PipelineStatus]
    running: list[PipelineStatus]
    healthy: list[PipelineStatus]
    total: int
    problems: tuple[SourceProblem, ...]
    now: datetime
    team: str | None = None
    owners: dict[str, str | None] = field(default_factory=dict)  # pipeline -> team slug
    feeds: dict[str, tuple[str, ...]] = field(default_factory=dict)  # pipeline -> models

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    @property
    def attention(self) -> list[PipelineStatus]:
        """Failing, then late, then running: what the board lists one by one."""
        return [*self.failing, *self.late, *self.running]

    def owner_of(self, pipeline: str) -> str | None:
        return self.owners.get(pipeline)

    def models_fed_by(self, pipeline: str) -> tuple[str, ...]:
        return self.feeds.get(pipeline, ())


async def _source_runs(
    source: PipelineSource, since: datetime
) -> tuple[list[Pipeline], list[PipelineRun] | None]:
    """A source's pipelines and its runs since `since` (None: it cannot list runs in bulk)."""
    bulk = getattr(source, "runs_since", None)
    if bulk is None:
        return await source.list_pipelines(), None
    pipelines, runs = await asyncio.gather(source.list_pipelines(), bulk(since))
    return pipelines, runs


def _window_start(now: datetime) -> datetime:
    # Rounded down to the hour, so repeated asks within the hour hit the sources' cache.
    return (now - RUN_WINDOW).replace(minute=0, second=0, microsecond=0)


async def _statuses(
    deps: AnswerDeps, keep: Callable[[str], bool]
) -> tuple[list[PipelineStatus], tuple[SourceProblem, ...]]:
    """Every kept pipeline's status: one bulk call per source, then a few single ones."""
    sources = deps.sources.pipelines
    since = _window_start(deps.now)
    found, problems = await gather_partial(
        {key: functools.partial(_source_runs, src, since) for key, src in sources.items()},
        timeout=deps.sources.timeout,
    )
    picked: list[tuple[str, Pipeline, list[PipelineRun]]] = []
    bulk: dict[str, bool] = {}  # source key -> it listed its runs in bulk
    for key in sources:
        if key not in found:
            continue
        pipelines, runs = found[key]
        bulk[key] = runs is not None
        by_name: dict[str, list[PipelineRun]] = {}
        for run in runs or ():
            by_name.setdefault(run.pipeline, []).append(run)
        for pipeline in pipelines:
            if keep(pipeline.name):
                picked.append((key, pipeline, by_name.get(pipeline.name, [])))
    # A pipeline with no success in the window (a monthly job, or a source without bulk runs)
    # gets its own recent runs, so a rare schedule is not mistaken for a late one.
    slots = asyncio.Semaphore(FALLBACK_CONCURRENCY)

    async def own_runs(key: str, name: str) -> list[PipelineRun]:
        async with slots:
            return await sources[key].recent_runs(name, limit=FALLBACK_RUNS)

    needs = {
        f"{key}:{p.name}": (lambda k=key, n=p.name: own_runs(k, n))
        for key, p, runs in picked
        if not any(r.state is RunState.success for r in runs)
    }
    more, more_problems = await gather_partial(needs, timeout=deps.sources.timeout)
    statuses = []
    for key, pipeline, runs in picked:
        tag = f"{key}:{pipeline.name}"
        if tag in needs and tag not in more and not bulk[key]:
            continue  # no run could be read: it is neither healthy nor late, only unknown
        statuses.append(pipeline_status(pipeline, more.get(tag, runs), now=deps.now))
    return statuses, merge_problems(problems, _per_source(more_problems))


def _per_source(problems: Sequence[SourceProblem]) -> list[SourceProblem]:
    """One problem per source for its per-pipeline calls ("prefect:a", "prefect:b" -> "prefect")."""
    grouped: dict[str, list[SourceProblem]] = {}
    for problem in problems:
        grouped.setdefault(problem.source.split(":", 1)[0], []).append(problem)
    return [
        SourceProblem(
            source=key,
            reason=found[0].reason
            + (f" (and {len(found) - 1} more pipelines)" if len(found) > 1 else ""),
        )
        for key, found in grouped.items()
    ]


def _last_failure_at(status: PipelineStatus) -> datetime:
    run = failing_streak(status.runs)[0]
    return run.ended_at or run.started_at or run.scheduled_for or NEVER


async def pipeline_board(deps: AnswerDeps, *, team: str | None = None) -> PipelineBoard:
    """Every pipeline (or `team`'s, a known slug) sorted into failing, late, running, healthy."""
    config = deps.config
    statuses, problems = await _statuses(
        deps, lambda name: team is None or config.team_of_pipeline(name) == team
    )
    failing, late, running, healthy = [], [], [], []
    for status in statuses:
        if is_failing(status):
            failing.append(status)
        elif status.late:
            late.append(status)
        elif status.last_run is not None and status.last_run.state is RunState.running:
            running.append(status)
        else:
            healthy.append(status)
    failing.sort(key=_last_failure_at, reverse=True)
    late.sort(key=lambda s: (s.expected_by or deps.now, s.pipeline.name))
    names = [s.pipeline.name for s in statuses]
    return PipelineBoard(
        failing=failing,
        late=late,
        running=running,
        healthy=healthy,
        total=len(statuses),
        problems=problems,
        now=deps.now,
        team=team,
        owners={n: config.team_of_pipeline(n) for n in names},
        feeds={n: tuple(config.models_fed_by(n)) for n in names},
    )


# -- one pipeline -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunCost:
    """The pipeline's spend this month, and the part its failed runs are estimated to have cost
    (month's spend × failed run time / all run time)."""

    currency: str
    month_spend: Decimal
    failed_spend: Decimal
    failed_runs: int
    runs: int  # finished runs this month the estimate counts
    counted_since: date | None  # the oldest run counted, when the runs read did not reach the 1st


@dataclass(frozen=True)
class PipelineDetail:
    name: str
    status: PipelineStatus | None  # None: the orchestrators could not be read
    team: str | None  # owning team's slug
    team_name: str | None
    channel: str | None  # the owning team's channel (id or #name)
    trains: tuple[str, ...]
    feeds: tuple[str, ...]
    success_rate: float | None  # over the last RATE_RUNS finished runs
    median_duration: timedelta | None
    counted_runs: int
    cost: RunCost | None
    now: datetime
    problems: tuple[SourceProblem, ...] = ()

    @property
    def failed_last(self) -> PipelineRun | None:
        """The latest finished run, when it failed."""
        done = finished_runs(self.status.runs) if self.status else []
        return done[0] if done and done[0].state is RunState.failed else None

    @property
    def streak(self) -> list[PipelineRun]:
        return failing_streak(self.status.runs) if self.status else []


def run_stats(runs: Sequence[PipelineRun]) -> tuple[float | None, timedelta | None, int]:
    """Success rate and median duration of the last RATE_RUNS finished runs, and how many."""
    done = finished_runs(runs)[:RATE_RUNS]
    if not done:
        return None, None, 0
    rate = sum(r.state is RunState.success for r in done) / len(done)
    durations = sorted(d for r in done if (d := r.duration) is not None)
    median = statistics.median_low(durations) if durations else None
    return rate, median, len(done)


def failed_run_cost(
    runs: Sequence[PipelineRun], spend: Decimal, currency: str, month_start: datetime
) -> RunCost:
    """Split the month's spend by run time: failed runs' share of the time is their share of
    the cost (an estimate; the bill has no per-run line)."""
    month = [r for r in finished_runs(runs) if r.started_at and r.started_at >= month_start]
    total = sum((r.duration or timedelta() for r in month), timedelta())
    failed = [r for r in month if r.state is RunState.failed]
    failed_time = sum((r.duration or timedelta() for r in failed), timedelta())
    share = Decimal(0)
    if total > timedelta():
        share = Decimal(failed_time.total_seconds()) / Decimal(total.total_seconds())
    # The runs read may stop short of the 1st (a busy hourly pipeline): say from when they count.
    oldest = min((r.started_at for r in month if r.started_at), default=None)
    reached = len(finished_runs(runs)) > len(month) or oldest is None
    return RunCost(
        currency=currency,
        month_spend=spend,
        failed_spend=(spend * share).quantize(Decimal("0.01")),
        failed_runs=len(failed),
        runs=len(month),
        counted_since=None if reached or oldest is None else oldest.date(),
    )


async def pipeline_names(deps: AnswerDeps) -> tuple[list[str], tuple[SourceProblem, ...]]:
    found = await deps.sources.all_pipelines()
    return [p.name for p in found.value], found.problems


async def pipeline_detail(deps: AnswerDeps, name: str) -> PipelineDetail | Unknown:
    """One pipeline (`name` as typed, matched fuzzily): runs, stats, owner, lineage, run cost."""
    names, problems = await pipeline_names(deps)
    found = match_name(name, names, kind="pipeline")
    config = deps.config
    if isinstance(found, Unknown):
        if names or not problems:
            return found
        return PipelineDetail(
            name=name,
            status=None,
            team=None,
            team_name=None,
            channel=None,
            trains=(),
            feeds=(),
            success_rate=None,
            median_duration=None,
            counted_runs=0,
            cost=None,
            now=deps.now,
            problems=problems,
        )
    start, end = month_to_date(deps.today)
    pipeline, runs, spend = await asyncio.gather(
        deps.sources.find_pipeline(found),
        deps.sources.recent_runs(found, limit=DETAIL_RUNS),
        deps.sources.spend(SpendQuery(start=start, end=end, pipeline=found)),
    )
    problems = merge_problems(problems, pipeline.problems, runs.problems, spend.problems)
    status = pipeline_status(pipeline.value, runs.value, now=deps.now) if pipeline.value else None
    rate, median, counted = run_stats(status.runs if status else [])
    cost = None
    if not spend.problems:
        currency = main_currency(spend.value)
        month_start = datetime.combine(start, datetime.min.time(), deps.workspace_tz)
        cost = failed_run_cost(
            status.runs if status else [],
            spend.value.totals.get(currency, Decimal(0)),
            currency,
            month_start,
        )
    lineage = config.lineage.get(found)
    team = config.team_of_pipeline(found)
    owner = config.teams.get(team) if team else None
    return PipelineDetail(
        name=found,
        status=status,
        team=team,
        team_name=(owner.name or team) if owner else None,
        channel=owner.channel if owner else None,
        trains=tuple(lineage.trains) if lineage else (),
        feeds=tuple(lineage.feeds) if lineage else (),
        success_rate=rate,
        median_duration=median,
        counted_runs=counted,
        cost=cost,
        now=deps.now,
        problems=problems,
    )
