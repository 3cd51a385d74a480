"""`/ops status` and `/ops pipeline` answers over the demo company, and over sources that fail."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.answers.entities import Unknown
from bot.answers.pipelines import (
    PipelineDetail,
    failed_run_cost,
    failing_streak,
    pipeline_board,
    pipeline_detail,
    run_stats,
)
from integrations.demo import DemoCompany
from integrations.hub import Sources
from integrations.models import Pipeline, PipelineRun, RunState, SpendQuery
from tests.demo_once import count_builds
from tests.e2e.conftest import DEMO_NOW as NOW


def names(statuses) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.pipeline.name for s in statuses]


class Counting:
    """A pipeline source that counts the calls made to the source it wraps."""

    def __init__(self, inner, *, bulk: bool = True) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.calls: list[str] = []
        if bulk:
            self.runs_since = self._runs_since

    async def list_pipelines(self) -> list[Pipeline]:
        self.calls.append("list_pipelines")
        return await self.inner.list_pipelines()

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        self.calls.append(f"recent_runs:{pipeline}")
        return await self.inner.recent_runs(pipeline, limit=limit)

    async def _runs_since(self, since: datetime) -> list[PipelineRun]:
        self.calls.append("runs_since")
        return await self.inner.runs_since(since)

    async def probe(self):  # type: ignore[no-untyped-def]
        return await self.inner.probe()


class Hanging:
    """An orchestrator that never answers in time; counts the calls the hub gave up on."""

    name = "airflow"

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = 0

    async def _hang(self) -> list:  # type: ignore[type-arg]
        self.calls += 1
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return []

    async def list_pipelines(self) -> list[Pipeline]:
        return await self._hang()

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        return await self._hang()

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        return await self._hang()


# -- the board ----------------------------------------------------------------------------------
async def test_board_shows_the_demo_failures_with_task_owner_and_models_fed(deps):
    board = await pipeline_board(deps)
    assert board.total == 41 and not board.partial
    assert set(names(board.failing)) == {"nightly_orders", "crm_contacts_ingest", "ad_ctr_features"}
    orders = next(s for s in board.failing if s.pipeline.name == "nightly_orders")
    streak = failing_streak(orders.runs)
    assert streak[0].failed_task == "load_to_warehouse"
    assert streak[0].log_url and streak[0].log_url.endswith("/tasks/load_to_warehouse/logs")
    assert board.owner_of("nightly_orders") == "data-eng"
    assert board.models_fed_by("nightly_orders") == ("churn", "ltv", "recs")


async def test_board_sorts_every_pipeline_into_exactly_one_group(deps):
    board = await pipeline_board(deps)
    groups = [board.failing, board.late, board.running, board.healthy]
    assert sum(len(g) for g in groups) == board.total
    assert len({n for g in groups for n in names(g)}) == board.total
    assert names(board.late) == ["finance_daily_rollup"]
    late = board.late[0]
    assert late.late and late.expected_by is not None and late.expected_by < NOW
    assert "hourly_events_ingest" in names(board.running)
    assert all(s.last_run and s.last_run.state is RunState.running for s in board.running)


async def test_team_board_holds_only_that_teams_pipelines(deps):
    board = await pipeline_board(deps, team="data-eng")
    everyone = await pipeline_board(deps)
    mine = [
        n
        for n in names([*everyone.failing, *everyone.late, *everyone.running, *everyone.healthy])
        if deps.config.team_of_pipeline(n) == "data-eng"
    ]
    assert board.total == len(mine) > 0
    assert set(names(board.failing)) == {"nightly_orders", "crm_contacts_ingest"}
    assert board.team == "data-eng"


async def test_board_reads_each_source_in_bulk_not_pipeline_by_pipeline(deps):
    demo = Counting(DemoCompany(seed=42, now=NOW))
    board = await pipeline_board(replace(deps, sources=Sources(pipelines=[demo])))
    assert board.total == 41
    assert sorted(demo.calls) == ["list_pipelines", "runs_since"]


async def test_a_source_without_bulk_runs_is_read_per_pipeline_concurrently(deps):
    demo = Counting(DemoCompany(seed=42, now=NOW), bulk=False)
    board = await pipeline_board(replace(deps, sources=Sources(pipelines=[demo])))
    assert set(names(board.failing)) == {"nightly_orders", "crm_contacts_ingest", "ad_ctr_features"}
    assert len([c for c in demo.calls if c.startswith("recent_runs:")]) == 41


async def test_a_hanging_orchestrator_leaves_a_partial_board_not_an_error(deps):
    demo = DemoCompany(seed=42, now=NOW)
    await demo.runs_since(NOW)  # its run history is built once; the timeout is for the other
    hanging = Hanging()
    sources = Sources(pipelines=[demo, hanging], timeout=0.3)
    board = await pipeline_board(replace(deps, sources=sources))
    assert hanging.calls > 0 and hanging.cancelled == hanging.calls  # given up on, not awaited
    assert board.partial and board.total == 41
    assert [p.source for p in board.problems] == ["airflow"]
    assert "timed out" in board.problems[0].reason


async def test_pipelines_whose_runs_cannot_be_read_are_not_called_late(deps):
    class ListsButHangsOnRuns(Hanging):
        name = "prefect"
        runs_since = None  # type: ignore[assignment]  # no bulk listing: one call per pipeline

        async def list_pipelines(self) -> list[Pipeline]:
            return [
                Pipeline(name=name, source="prefect", schedule="0 * * * *")
                for name in ("hourly_sync", "hourly_export")
            ]

    sources = Sources(pipelines=[ListsButHangsOnRuns()], timeout=0.2)
    board = await pipeline_board(replace(deps, sources=sources))
    assert board.late == [] and board.healthy == [] and board.total == 0
    assert [p.source for p in board.problems] == ["prefect"]
    assert "and 1 more pipelines" in board.problems[0].reason


async def test_board_answers_fast_once_the_sources_are_warm(deps, monkeypatch):
    await pipeline_board(deps)
    builds = count_builds(monkeypatch)
    await pipeline_board(deps)
    assert builds == {}


# -- one pipeline -------------------------------------------------------------------------------
async def test_detail_matches_a_near_name_and_explains_the_failure(deps):
    found = await pipeline_detail(deps, "nightly-orders")
    assert isinstance(found, PipelineDetail)
    assert found.name == "nightly_orders" and found.team == "data-eng"
    assert found.channel == "C0123DATA" and found.feeds == ("churn", "ltv", "recs")
    failed = found.failed_last
    assert failed is not None and failed.failed_task == "load_to_warehouse"
    assert failed.error and "Disk Full" in failed.error
    assert len(found.streak) == 2
    assert found.success_rate is not None and 0 < found.success_rate < 1
    assert found.median_duration is not None and found.median_duration > timedelta(minutes=20)


async def test_detail_cost_is_the_month_spend_split_by_failed_run_time(deps):
    found = await pipeline_detail(deps, "nightly_orders")
    assert isinstance(found, PipelineDetail) and found.cost is not None and found.status
    direct = await deps.sources.spend(
        SpendQuery(start=date(2026, 11, 1), end=date(2026, 11, 24), pipeline="nightly_orders")
    )
    assert found.cost.month_spend == direct.value.totals["USD"] > 0
    month = [
        r
        for r in found.status.runs
        if r.state in (RunState.success, RunState.failed)
        and r.started_at
        and r.started_at >= datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    ]
    failed = sum((r.duration.total_seconds() for r in month if r.state is RunState.failed), 0.0)
    total = sum(r.duration.total_seconds() for r in month)
    expected = found.cost.month_spend * Decimal(failed) / Decimal(total)
    assert abs(found.cost.failed_spend - expected) < Decimal("0.01")
    assert found.cost.failed_runs == 2 and found.cost.counted_since is None


async def test_unknown_pipeline_gets_suggestions(deps):
    found = await pipeline_detail(deps, "nightly_ordrs_v2")
    assert isinstance(found, Unknown) and found.kind == "pipeline"
    assert "nightly_orders" in found.suggestions


# -- the arithmetic -----------------------------------------------------------------------------
def run(state: RunState, start: datetime, minutes: float, n: int = 0) -> PipelineRun:
    return PipelineRun(
        pipeline="p",
        run_id=f"r{n}",
        state=state,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
    )


def test_failed_share_of_spend_follows_run_time_not_run_count():
    day = datetime(2026, 11, 10, tzinfo=UTC)
    runs = [
        run(RunState.failed, day, 30, 1),
        run(RunState.success, day - timedelta(days=1), 10, 2),
        run(RunState.success, day - timedelta(days=2), 20, 3),
        run(RunState.success, datetime(2026, 10, 30, tzinfo=UTC), 600, 4),  # last month
    ]
    cost = failed_run_cost(runs, Decimal(120), "USD", datetime(2026, 11, 1, tzinfo=UTC))
    assert cost.failed_spend == Decimal("60.00")  # 30 of 60 minutes this month
    assert (cost.failed_runs, cost.runs, cost.counted_since) == (1, 3, None)


def test_runs_read_that_stop_short_of_the_month_say_from_when_they_count():
    runs = [run(RunState.success, datetime(2026, 11, 20 - i, tzinfo=UTC), 5, i) for i in range(3)]
    cost = failed_run_cost(runs, Decimal(10), "USD", datetime(2026, 11, 1, tzinfo=UTC))
    assert cost.counted_since == date(2026, 11, 18) and cost.failed_spend == 0


def test_stats_count_only_finished_runs():
    day = datetime(2026, 11, 10, tzinfo=UTC)
    runs = [
        PipelineRun(pipeline="p", run_id="now", state=RunState.running, started_at=day),
        run(RunState.failed, day - timedelta(hours=1), 4, 1),
        run(RunState.success, day - timedelta(hours=2), 2, 2),
        run(RunState.success, day - timedelta(hours=3), 8, 3),
        run(RunState.success, day - timedelta(hours=4), 6, 4),
    ]
    rate, median, counted = run_stats(runs)
    assert (rate, counted) == (0.75, 4)
    assert median == timedelta(minutes=4)
    assert [r.run_id for r in failing_streak(runs)] == ["r1"]
