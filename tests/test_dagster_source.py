"""Dagster adapter: parsing real GraphQL answers, GraphQL error shapes, and a real Dagster."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations import dagster as dagster_module
from integrations.dagster import DagsterSource
from integrations.errors import (
    SourceAuthError,
    SourceDataError,
    SourceNotFound,
    SourceUnavailable,
)
from integrations.models import RunState
from integrations.protocols import PipelineSource
from tests.peers.dagster import KNOWN_RUNS, DagsterServer
from tests.peers.runtime import free_port

CAPTURED = Path(__file__).parent / "fixtures" / "captured"
GRAPHQL = "http://dagster.test/graphql"
UI = "http://dagster.test"
TOKEN = "dgc-user-token-4b7e91"


def captured(name: str) -> Any:
    return json.loads((CAPTURED / f"dagster_{name}.json").read_text())


def captured_runs() -> list[dict[str, Any]]:
    return list(captured("runs")["data"]["runsOrError"]["results"])


class FakeDagster:
    """Plays a Dagster webserver from the captured answers, routing by the query's name."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides  # operation name -> body to answer instead
        self.requests: list[dict[str, Any]] = []

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if f"query {name}" in r["query"]]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) != ("POST", "/graphql"):
            return httpx.Response(405)
        body = json.loads(request.content)
        self.requests.append(body)
        operation = body["query"].split("(")[0].split("{")[0].split()[-1]
        if operation in self.overrides:
            return httpx.Response(200, json=self.overrides[operation])
        if operation == "Runs":
            results = captured_runs()
            job = (body["variables"].get("filter") or {}).get("pipelineName")
            results = [r for r in results if not job or r["jobName"] == job]
            return httpx.Response(
                200, json={"data": {"runsOrError": {"__typename": "Runs", "results": results}}}
            )
        name = {
            "Repositories": "repositories",
            "StepFailures": "step_failures",
            "Version": "version",
        }[operation]
        return httpx.Response(200, json=captured(name))


def source_with(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> DagsterSource:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return DagsterSource(GRAPHQL, client=client, **kwargs)


# -- parsing captured answers -----------------------------------------------------------------
def test_adapter_satisfies_the_pipeline_source_protocol() -> None:
    assert isinstance(DagsterSource(GRAPHQL), PipelineSource)
    assert DagsterSource(UI).graphql_url == GRAPHQL  # the web root is accepted too


def test_jobs_carry_cron_timezone_running_state_and_skip_the_implicit_asset_job() -> None:
    pipelines = {
        p.name: p
        for p in DagsterSource(GRAPHQL).parse_repositories(captured("repositories")["data"])
    }
    assert set(pipelines) == {"nightly_orders", "churn_features"}
    nightly, churn = pipelines["nightly_orders"], pipelines["churn_features"]
    assert (nightly.schedule, nightly.schedule_timezone) == ("0 2 * * *", "Europe/Berlin")
    assert nightly.paused is False and churn.paused is True  # churn's schedule is stopped
    assert nightly.tags == ("team:data",)
    assert nightly.description == "Orders from the shop database into the warehouse"
    assert nightly.url == f"{UI}/locations/defs.py/jobs/nightly_orders"


def test_jobs_of_named_repositories_link_with_repository_at_location() -> None:
    url = DagsterSource(GRAPHQL).job_url("etl", "analytics", "prod")
    assert url == f"{UI}/locations/analytics@prod/jobs/etl"


def test_runs_map_statuses_epoch_times_and_the_failed_step_with_its_log_link() -> None:
    source = DagsterSource(GRAPHQL)
    runs = [source.parse_run(r) for r in captured_runs()]
    assert sorted((r.pipeline, r.state) for r in runs) == sorted(
        (job, RunState.success if status == "SUCCESS" else RunState.failed)
        for job, _config, status, _step in KNOWN_RUNS.values()
    )
    (failed,) = [r for r in runs if r.state is RunState.failed]
    assert failed.failed_task == "load_to_warehouse"
    assert failed.started_at and failed.ended_at and failed.started_at.tzinfo is UTC
    assert failed.duration is not None and failed.duration > timedelta(0)
    assert failed.url == f"{UI}/runs/{failed.run_id}"
    link = urlsplit(failed.log_url or "")
    assert link.path == f"/runs/{failed.run_id}"
    assert parse_qs(link.query) == {
        "selection": ["load_to_warehouse"],
        "logs": ["step:load_to_warehouse"],
    }
    assert all(r.failed_task is None and r.log_url is None for r in runs if r is not failed)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("QUEUED", RunState.queued),
        ("STARTING", RunState.running),
        ("STARTED", RunState.running),
        ("SUCCESS", RunState.success),
        ("FAILURE", RunState.failed),
        ("CANCELED", RunState.cancelled),
        ("NOT_STARTED", RunState.queued),
    ],
)
def test_run_statuses_map_to_run_states(status: str, expected: RunState) -> None:
    raw = {**captured_runs()[0], "status": status, "stepStats": []}
    assert DagsterSource(GRAPHQL).parse_run(raw).state is expected


def test_scheduled_runs_carry_their_slot_from_the_schedule_tag() -> None:
    raw = {
        **captured_runs()[0],
        "tags": [{"key": "dagster/scheduled_execution_time", "value": "2026-11-23T01:00:00+00:00"}],
    }
    run = DagsterSource(GRAPHQL).parse_run(raw)
    assert run.scheduled_for == datetime(2026, 11, 23, 1, tzinfo=UTC)


def test_step_error_is_the_underlying_exception_not_dagsters_wrapper() -> None:
    error = DagsterSource(GRAPHQL).step_error(
        captured("step_failures")["data"], "load_to_warehouse"
    )
    assert error == "RuntimeError: warehouse rejected the load"


# -- GraphQL failure shapes ---------------------------------------------------------------------
def test_graphql_errors_array_is_a_data_error_with_the_message() -> None:
    with pytest.raises(SourceDataError) as info:
        DagsterSource(GRAPHQL).data_of(captured("runs_bad_filter"))
    assert str(info.value).startswith("dagster:")
    assert "does not exist in 'RunStatus' enum" in str(info.value)


async def test_python_error_result_is_unavailable_with_the_message() -> None:
    broken = {
        "data": {
            "repositoriesOrError": {
                "__typename": "PythonError",
                "message": "sqlite3.OperationalError: database is locked\n  File x.py, line 1",
            }
        }
    }
    with pytest.raises(SourceUnavailable) as info:
        await source_with(FakeDagster(Repositories=broken)).list_pipelines()
    assert "database is locked" in str(info.value) and "File x.py" not in str(info.value)


async def test_not_found_result_is_source_not_found() -> None:
    missing = {
        "data": {
            "logsForRun": {
                "__typename": "RunNotFoundError",
                "message": "Run r1 could not be found.",
            }
        }
    }
    source = source_with(FakeDagster(StepFailures=missing))
    with pytest.raises(SourceNotFound):
        source.member(missing["data"]["logsForRun"], "EventConnection")
    # While explaining a failure, a missing log only costs the error text.
    runs = await source.recent_runs("nightly_orders")
    failed = next(r for r in runs if r.state is RunState.failed)
    assert failed.failed_task == "load_to_warehouse" and failed.error is None


# -- calls against a fake played from captured answers ----------------------------------------
async def test_recent_runs_filter_by_job_and_explain_the_failure() -> None:
    fake = FakeDagster()
    runs = await source_with(fake).recent_runs("nightly_orders", limit=7)
    assert {r.state for r in runs} == {RunState.success, RunState.failed}
    assert [r.started_at for r in runs] == sorted((r.started_at for r in runs), reverse=True)
    failed = next(r for r in runs if r.state is RunState.failed)
    assert failed.error == "RuntimeError: warehouse rejected the load"
    (request,) = fake.operations("Runs")
    assert request["variables"]["filter"] == {"pipelineName": "nightly_orders"}
    assert request["variables"]["limit"] == 7
    assert len(fake.operations("StepFailures")) == 1  # only the failed run's log is read


async def test_unknown_job_is_not_found_with_its_name() -> None:
    with pytest.raises(SourceNotFound) as info:
        await source_with(FakeDagster()).recent_runs("no_such_job")
    assert str(info.value).startswith("dagster:") and "no_such_job" in str(info.value)


async def test_runs_since_sends_created_after_and_keeps_runs_started_since() -> None:
    fake = FakeDagster()
    starts = sorted(r["startTime"] for r in captured_runs())
    since = datetime.fromtimestamp(starts[1], tz=UTC)
    runs = await source_with(fake).runs_since(since)
    assert len(runs) == len(starts) - 1 and all(r.started_at >= since for r in runs)
    (request,) = fake.operations("Runs")
    assert request["variables"]["filter"] == {"createdAfter": since.timestamp()}


async def test_runs_since_pages_with_the_last_run_id_as_cursor(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dagster_module, "PAGE", 2)
    results = captured_runs()
    cursors: list[str | None] = []

    def paged(request: httpx.Request) -> httpx.Response:
        variables = json.loads(request.content)["variables"]
        cursors.append(variables["cursor"])
        start = 0 if variables["cursor"] is None else 2
        return httpx.Response(
            200,
            json={
                "data": {
                    "runsOrError": {"__typename": "Runs", "results": results[start : start + 2]}
                }
            },
        )

    runs = await source_with(paged).runs_since(datetime(2020, 1, 1, tzinfo=UTC))
    assert len(runs) == len(results)
    assert cursors == [None, results[1]["runId"]]


async def test_token_goes_in_dagster_plus_header_and_rejection_is_an_auth_error() -> None:
    seen: list[httpx.Headers] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(401, text="Unauthorized")

    with pytest.raises(SourceAuthError) as info:
        await source_with(proxy, token=TOKEN).list_pipelines()
    assert seen[0]["Dagster-Cloud-Api-Token"] == TOKEN
    text = f"{info.value} {info.value.fix}"
    assert text.startswith("dagster:") and "token" in text and TOKEN not in text
    probe = await source_with(proxy, token=TOKEN).probe()
    assert probe.authenticated is False and TOKEN not in probe.model_dump_json()


async def test_probe_reports_the_dagster_version() -> None:
    result = await source_with(FakeDagster()).probe()
    version = captured("version")["data"]["version"]
    assert result.reachable and result.authenticated and version in result.detail


async def test_dead_server_is_unavailable_naming_source_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"
    with pytest.raises(SourceUnavailable) as info:
        await DagsterSource(url, timeout=2).list_pipelines()
    assert str(info.value).startswith("dagster:") and url in str(info.value)
    assert info.value.fix


@pytest.mark.looptime  # the event loop's clock is looptime's: the wait is exact, and instant
async def test_silent_server_times_out_within_the_timeout(silent_server: str) -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(SourceUnavailable) as info:
        await DagsterSource(silent_server + "/graphql", timeout=0.5).recent_runs("nightly_orders")
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.5)
    assert str(info.value).startswith("dagster:") and "0.5s" in str(info.value)


# -- the real Dagster ----------------------------------------------------------------------------
@pytest.fixture
def dagster(dagster_server: DagsterServer) -> DagsterSource:
    return DagsterSource(dagster_server.graphql_url, timeout=15)


@pytest.mark.peers
async def test_live_lists_jobs_with_schedules(dagster: DagsterSource):
    pipelines = {p.name: p for p in await dagster.list_pipelines()}
    assert set(pipelines) == {"nightly_orders", "churn_features"}
    nightly = pipelines["nightly_orders"]
    assert (nightly.schedule, nightly.schedule_timezone, nightly.paused) == (
        "0 2 * * *",
        "Europe/Berlin",
        False,
    )
    assert pipelines["churn_features"].paused is True


@pytest.mark.peers
async def test_live_recent_runs_have_the_known_states(
    dagster: DagsterSource, dagster_server: DagsterServer
):
    runs = await dagster.recent_runs("nightly_orders")
    ids = dagster_server.run_ids
    assert {r.run_id: r.state for r in runs} == {
        ids["nightly_fail"]: RunState.failed,
        ids["nightly_ok"]: RunState.success,
    }
    assert [r.started_at for r in runs] == sorted((r.started_at for r in runs), reverse=True)


@pytest.mark.peers
async def test_live_failed_run_names_the_failing_step_error_and_a_working_log_link(
    dagster: DagsterSource, dagster_server: DagsterServer
):
    runs = {r.run_id: r for r in await dagster.recent_runs("nightly_orders")}
    failed = runs[dagster_server.run_ids["nightly_fail"]]
    assert failed.failed_task == "load_to_warehouse"
    assert failed.error == "RuntimeError: warehouse rejected the load"
    assert failed.log_url and failed.log_url.startswith(f"{dagster.base_url}/runs/{failed.run_id}?")
    async with httpx.AsyncClient() as client:
        assert (await client.get(failed.log_url)).status_code == 200


@pytest.mark.peers
async def test_live_runs_since_covers_every_job(
    dagster: DagsterSource, dagster_server: DagsterServer
):
    since = datetime.fromtimestamp(dagster_server.loaded_after, tz=UTC)
    runs = await dagster.runs_since(since)
    assert {r.run_id for r in runs} == set(dagster_server.run_ids.values())
    assert await dagster.runs_since(datetime.now(UTC) + timedelta(hours=1)) == []


@pytest.mark.peers
async def test_live_probe_says_authenticated(dagster: DagsterSource):
    result = await dagster.probe()
    assert result.reachable and result.authenticated, result
    assert "Dagster 1." in result.detail


@pytest.mark.peers
async def test_live_bad_query_is_a_data_error_naming_the_problem(dagster: DagsterSource):
    with pytest.raises(SourceDataError) as info:
        await dagster.query("query Bad { runsOrError(filter: {statuses: [NOPE]}) { __typename } }")
    assert "NOPE" in str(info.value)


@pytest.mark.peers
async def test_live_answers_still_have_the_shape_of_the_captured_ones(dagster: DagsterSource):
    live = await dagster.query(dagster_module.RUNS, {"filter": {}, "limit": 1})
    assert set(captured_runs()[0]) <= set(live["runsOrError"]["results"][0])
