"""`/ops models` and `/ops model NAME` over the demo company: real facts, partial answers, names."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown
from bot.answers.models import (
    ModelDetail,
    RegistryUnavailable,
    model_board,
    model_detail,
    resolve_model,
    upstream_state,
)
from bot.commands.context import AskContext
from bot.router import build_router
from integrations.errors import SourceUnavailable
from integrations.hub import Sources
from integrations.models import ModelHealth, PipelineRun, RunState
from tests.demo_once import count_builds
from tests.e2e.conftest import DEMO_NOW as NOW


class DownMetrics:
    name = "prometheus"

    async def model_health(self, model: str) -> ModelHealth:
        raise SourceUnavailable(self.name, "connection refused", "start Prometheus")


class SlowMetrics:
    """Answers no health call in time; counts how many it held at once."""

    name = "prometheus"

    def __init__(self) -> None:
        self.calls = self.running = self.most = 0

    async def model_health(self, model: str) -> ModelHealth:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(5)
        finally:
            self.running -= 1
        raise AssertionError("the hub should have given up first")


class DownRegistry:
    name = "mlflow"

    async def list_models(self) -> list:
        raise SourceUnavailable(self.name, "HTTP 503")


def with_sources(deps: AnswerDeps, timeout: float = 30, **groups: object) -> AnswerDeps:
    """The demo company's sources with some groups replaced (e.g. a down metrics source); a
    down source fails at once, so only a slow one needs a short timeout."""
    demo = deps.sources
    kept = {
        "pipelines": list(demo.pipelines.values()),
        "registries": list(demo.registries.values()),
        "metrics": list(demo.metrics.values()),
        "costs": list(demo.costs.values()),
    }
    return replace(deps, sources=Sources(**(kept | groups), timeout=timeout))  # type: ignore[arg-type]


async def detail(deps: AnswerDeps, name: str) -> ModelDetail:
    found = await model_detail(deps, name)
    assert isinstance(found, ModelDetail), getattr(found, "message", found)
    return found


# -- the board ------------------------------------------------------------------------------------
async def test_board_lists_every_registered_model_with_recs_unhealthy_for_drift(deps):
    board = await model_board(deps)
    names = {model.name for model, _health, _team in board.rows}
    registered = {m.name for m in (await deps.sources.all_models()).value}
    assert names == registered and len(names) == 12
    unhealthy = {model.name: health for model, health, _team in board.unhealthy}
    assert "recs" in unhealthy
    assert any("drift" in p for p in unhealthy["recs"].problems)
    # churn drifts on the stale features of the failing nightly_orders (the demo's cascade)
    assert any("drift" in p for p in unhealthy["churn"].problems)
    assert "fraud" not in unhealthy
    assert board.problems == ()


async def test_board_puts_unhealthy_models_first(deps):
    board = await model_board(deps)
    flags = [health is not None and not health.healthy for _m, health, _t in board.rows]
    assert flags == sorted(flags, reverse=True) and flags[0]


async def test_board_rows_carry_the_owning_team_from_ops_yml(deps):
    board = await model_board(deps)
    teams = {model.name: team for model, _health, team in board.rows}
    assert teams["ltv"] == "analytics" and teams["churn"] == "ml-platform"


async def test_team_filter_keeps_only_that_teams_models(deps):
    board = await model_board(deps, team="analytics")
    assert [model.name for model, _h, _t in board.rows] == ["ltv"]
    assert board.team == "analytics"


async def test_down_metrics_source_marks_the_board_partial_and_still_lists_models(deps):
    board = await model_board(with_sources(deps, metrics=[DownMetrics()]))
    assert len(board.rows) == 12
    assert all(health is None for _m, health, _t in board.rows)
    # twelve failed calls to one source are one problem, not twelve
    assert [p.source for p in board.problems] == ["prometheus"]
    assert "connection refused" in board.problems[0].reason


async def test_slow_metrics_source_times_out_quickly_and_concurrently(deps):
    metrics = SlowMetrics()
    board = await model_board(with_sources(deps, timeout=0.3, metrics=[metrics]))
    assert board.partial and "timed out" in board.problems[0].reason
    # the twelve health calls waited out one timeout together, not twelve one after another
    assert metrics.most == metrics.calls == 12


# -- one model ------------------------------------------------------------------------------------
async def test_churn_detail_has_aliases_versions_newest_first_and_health(deps):
    found = await detail(deps, "churn")
    assert found.model.name == "churn" and not found.matched_loosely
    assert set(found.aliased) == {"champion", "challenger"}
    assert found.aliased["champion"].version == found.model.aliases["champion"]
    assert found.aliased["champion"].metrics  # evaluation metrics to compare
    numbers = [int(v.version) for v in found.versions]
    assert numbers == sorted(numbers, reverse=True) and 0 < len(numbers) <= 5
    assert found.version_count >= len(numbers)
    assert found.health is not None and found.health.drift is not None
    assert found.health.drift > found.thresholds.drift and not found.health.healthy
    assert found.thresholds.drift == deps.config.incidents.detectors.model_drift.threshold
    assert found.team == "ml-platform" and found.channel == deps.config.teams["ml-platform"].channel


async def test_churn_is_fed_by_nightly_orders_which_is_failing(deps):
    found = await detail(deps, "churn")
    failing = {u.pipeline: u for u in found.failing_upstream}
    assert set(failing) == {"nightly_orders"}
    runs = (await deps.sources.recent_runs("nightly_orders", limit=10)).value
    assert runs[0].state is RunState.failed
    assert failing["nightly_orders"].failing_since is not None
    assert failing["nightly_orders"].failing_since <= runs[0].started_at
    assert failing["nightly_orders"].last_run.failed_task == "load_to_warehouse"


async def test_recs_detail_is_unhealthy_because_it_drifts(deps):
    found = await detail(deps, "recs")
    assert found.health is not None and not found.health.healthy
    assert found.health.drift > found.thresholds.drift


async def test_typo_finds_churn_and_says_it_matched_loosely(deps):
    found = await detail(deps, "chrn")
    assert found.model.name == "churn" and found.matched_loosely and found.asked == "chrn"


async def test_unknown_model_gets_suggestions_not_an_answer(deps):
    found = await model_detail(deps, "frod_scorer")
    assert isinstance(found, Unknown) and not isinstance(found, ModelDetail)
    assert found.kind == "model" and "fraud" in found.suggestions


async def test_injection_in_a_model_name_comes_back_escaped(deps):
    found = await model_detail(deps, "<!channel>")
    assert isinstance(found, Unknown)
    assert "<!channel>" not in found.message and "&lt;!channel&gt;" in found.message


async def test_down_registry_says_so_instead_of_calling_the_model_unknown(deps):
    found = await model_detail(with_sources(deps, registries=[DownRegistry()]), "churn")
    assert isinstance(found, RegistryUnavailable)
    assert "could not reach the model registry" in found.message and "503" in found.message


async def test_down_metrics_source_marks_the_detail_partial_but_keeps_cost_and_versions(deps):
    found = await detail(with_sources(deps, metrics=[DownMetrics()]), "churn")
    assert found.health is None and found.partial
    assert [p.source for p in found.problems] == ["prometheus"]
    assert found.versions and found.cost_mtd.total.get("USD", 0) > 0


async def test_detail_of_one_model_answers_within_a_second_once_sources_are_warm(deps, monkeypatch):
    await detail(deps, "ltv")
    builds = count_builds(monkeypatch)
    await detail(deps, "fraud")
    assert builds == {}  # nothing the first answer built is built again


# -- small rules ----------------------------------------------------------------------------------
def test_one_typo_is_forgiven_only_when_a_single_name_is_that_close():
    assert resolve_model(["churn", "fraud", "recs"], "chrn") == "churn"
    assert isinstance(resolve_model(["cat", "car"], "cas"), Unknown)  # two names one edit away
    assert isinstance(resolve_model(["churn"], "xy"), Unknown)


def run(state: RunState, hour: int) -> PipelineRun:
    at = datetime(2026, 11, 23, hour, tzinfo=UTC)
    return PipelineRun(pipeline="p", run_id=f"r{hour}", state=state, started_at=at, ended_at=at)


def test_failing_streak_starts_at_the_oldest_failure_after_the_last_success():
    runs = [
        run(RunState.running, 9),
        run(RunState.failed, 8),
        run(RunState.failed, 7),
        run(RunState.success, 6),
        run(RunState.failed, 5),
    ]
    state = upstream_state("p", "feeds", runs)
    assert state.failing and state.failed_runs == 2
    assert state.failing_since == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert not state.streak_reaches_back


def test_a_pipeline_whose_last_finished_run_succeeded_is_not_failing():
    state = upstream_state("p", "trains", [run(RunState.success, 9), run(RunState.failed, 8)])
    assert not state.failing and state.failing_since is None


async def test_router_answers_models_and_model_commands(demo_services):
    router = build_router()
    ctx = AskContext(services=demo_services, now=NOW)
    board = await router.answer("models", ctx)
    one = await router.answer("/ops model churn", ctx)
    assert "unhealthy" in board.text and "recs" in board.text
    assert one.text.startswith("churn")


async def test_unknown_name_while_a_registry_is_down_says_the_registry_may_have_it(deps):
    demo = list(deps.sources.registries.values())
    found = await model_detail(with_sources(deps, registries=[*demo, DownRegistry()]), "<b>x")
    assert isinstance(found, RegistryUnavailable)
    assert "I don't know a model called `&lt;b&gt;x`" in found.message
    assert "mlflow: HTTP 503" in found.message and "may have it" in found.message
