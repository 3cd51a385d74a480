"""Airflow adapter: parsing real Airflow 3 answers, auth and failure modes, and a real Airflow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations import airflow as airflow_module
from integrations.airflow import AirflowSource, error_summary
from integrations.errors import SourceAuthError, SourceNotFound, SourceUnavailable
from integrations.models import RunState
from integrations.protocols import PipelineSource
from tests.peers.airflow import KNOWN_DAGS, KNOWN_RUNS, PAUSED_AFTER_LOAD, AirflowServer
from tests.peers.runtime import free_port

CAPTURED = Path(__file__).parent / "fixtures" / "captured"
BASE = "http://airflow.test"
PASSWORD = "pw-5e1d7c9a0b3f"
JWT = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLTFkOGY"


def captured(name: str) -> Any:
    return json.loads((CAPTURED / f"airflow_{name}.json").read_text())


class FakeAirflow:
    """Plays an Airflow 3 API server from the captured answers; counts calls per path."""

    def __init__(self, *, tokens: tuple[str, ...] = (JWT,), reject: int = 0) -> None:
        self.tokens = list(tokens)
        self.reject = reject  # how many authenticated calls to refuse with 401 first
        self.calls: list[httpx.Request] = []

    def paths(self, fragment: str) -> list[httpx.Request]:
        return [r for r in self.calls if fragment in r.url.path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        path = request.url.path
        if path == "/auth/token":
            body = json.loads(request.content)
            if body != {"username": "admin", "password": PASSWORD}:
                return httpx.Response(401, json={"detail": "Invalid credentials"})
            return httpx.Response(201, json={"access_token": self.tokens.pop(0)})
        if path == "/api/v2/monitor/health":
            return httpx.Response(200, json=captured("health"))
        if request.headers.get("Authorization") != f"Bearer {JWT}":
            return httpx.Response(403, json={"detail": "Invalid JWT token"})
        if self.reject:
            self.reject -= 1
            return httpx.Response(401, json={"detail": "Token expired"})
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path.removeprefix("/api/v2"), request.url.params
        if path == "/dags":
            dags = captured("dags")
            offset, limit = int(params.get("offset", 0)), int(params["limit"])
            return httpx.Response(
                200,
                json={
                    "dags": dags["dags"][offset : offset + limit],
                    "total_entries": len(dags["dags"]),
                },
            )
        if path == "/dags/nightly_orders/dagRuns":
            return httpx.Response(200, json=captured("dag_runs_nightly_orders"))
        if path == "/dags/~/dagRuns":
            return httpx.Response(200, json=captured("dag_runs_all"))
        if path.endswith("/sb_nightly_fail/taskInstances"):
            return httpx.Response(200, json=captured("task_instances_failed_run"))
        if path.endswith("/taskInstances/load_to_warehouse/logs/1"):
            return httpx.Response(200, json=captured("task_log_failed"))
        if path.startswith("/dags/"):
            return httpx.Response(404, json={"detail": "The Dag with dag_id was not found"})
        return httpx.Response(404)


def source_with(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> AirflowSource:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kwargs.setdefault("username", "admin")
    kwargs.setdefault("password", PASSWORD)
    return AirflowSource(BASE, client=client, **kwargs)


# -- parsing captured answers -----------------------------------------------------------------
def test_adapter_satisfies_the_pipeline_source_protocol() -> None:
    assert isinstance(AirflowSource(BASE), PipelineSource)
    assert AirflowSource(BASE).name == "airflow"


def test_dags_carry_cron_schedule_pause_state_tags_and_ui_link() -> None:
    source = AirflowSource(BASE)
    pipelines = {p.name: p for p in map(source.parse_dag, captured("dags")["dags"])}
    assert {n: p.schedule for n, p in pipelines.items()} == KNOWN_DAGS
    nightly = pipelines["nightly_orders"]
    assert nightly.paused is False and pipelines["churn_features"].paused is True
    assert nightly.tags == ("orders", "team:data")
    assert nightly.description == "Orders from the shop database into the warehouse"
    assert nightly.url == f"{BASE}/dags/nightly_orders"
    assert nightly.source == "airflow"


def test_dag_runs_map_states_times_and_link_to_the_run_page() -> None:
    source = AirflowSource(BASE)
    runs = {r.run_id: r for r in map(source.parse_run, captured("dag_runs_all")["dag_runs"])}
    assert {k: r.state for k, r in runs.items()} == {
        k.run_id: RunState(k.state) for k in KNOWN_RUNS
    }
    failed = runs["sb_nightly_fail"]
    assert failed.pipeline == "nightly_orders"
    assert failed.started_at is not None and failed.started_at.tzinfo is not None
    assert failed.duration is not None and failed.duration > timedelta(0)
    assert failed.scheduled_for is not None  # manual runs have no logical date: run_after
    assert failed.url == f"{BASE}/dags/nightly_orders/runs/sb_nightly_fail"


def test_run_ids_are_encoded_in_links() -> None:
    source = AirflowSource(BASE)
    url = source.task_url("d", "scheduled__2026-11-23T02:00:00+00:00", "t", map_index=3)
    assert (
        url == f"{BASE}/dags/d/runs/scheduled__2026-11-23T02%3A00%3A00%2B00%3A00/tasks/t/mapped/3"
    )


def test_failing_task_is_the_one_that_failed_itself_not_its_downstream_fallout() -> None:
    source = AirflowSource(BASE)
    instances = captured("task_instances_failed_run")["task_instances"]
    assert source.failing_task(instances)["task_id"] == "load_to_warehouse"
    fallout = {"task_id": "publish", "state": "upstream_failed", "end_date": None}
    later = {"task_id": "notify", "state": "failed", "end_date": "2099-01-01T00:00:00Z"}
    assert source.failing_task([*instances, fallout, later])["task_id"] == "load_to_warehouse"
    assert source.failing_task([fallout]) is None


def test_error_summary_reads_the_exception_from_the_structured_task_log() -> None:
    content = captured("task_log_failed")["content"]
    assert error_summary(content) == "RuntimeError: warehouse rejected the load"
    assert error_summary([{"event": "all good"}]) is None
    assert error_summary("not a list") is None


def test_api_root_in_the_base_url_is_tolerated() -> None:
    assert AirflowSource(f"{BASE}/api/v2/").base_url == BASE


# -- calls against a fake played from captured answers ----------------------------------------
async def test_list_pipelines_follows_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(airflow_module, "PAGE", 1)
    fake = FakeAirflow()
    pipelines = await source_with(fake).list_pipelines()
    assert sorted(p.name for p in pipelines) == sorted(KNOWN_DAGS)
    assert [r.url.params["offset"] for r in fake.paths("/api/v2/dags")] == ["0", "1"]


async def test_failed_run_names_its_failing_task_error_and_log_link() -> None:
    runs = await source_with(FakeAirflow()).recent_runs("nightly_orders")
    assert [r.run_id for r in runs] == ["sb_nightly_fail", "sb_nightly_ok"]
    failed, ok = runs
    assert failed.state is RunState.failed and ok.state is RunState.success
    assert failed.failed_task == "load_to_warehouse"
    assert failed.error == "RuntimeError: warehouse rejected the load"
    assert (
        failed.log_url == f"{BASE}/dags/nightly_orders/runs/sb_nightly_fail/tasks/load_to_warehouse"
    )
    assert ok.failed_task is None and ok.log_url is None


async def test_unknown_dag_is_not_found_with_its_name() -> None:
    with pytest.raises(SourceNotFound) as info:
        await source_with(FakeAirflow()).recent_runs("no_such_dag")
    assert "no_such_dag" in str(info.value) and str(info.value).startswith("airflow:")


async def test_runs_since_asks_every_dag_for_runs_started_since_in_utc() -> None:
    fake = FakeAirflow()
    berlin = timezone(timedelta(hours=1))
    runs = await source_with(fake).runs_since(datetime(2026, 11, 23, 11, 30, tzinfo=berlin))
    (request,) = fake.paths("/dags/~/dagRuns")
    assert request.url.params["start_date_gte"] == "2026-11-23T10:30:00Z"
    assert {r.run_id for r in runs} == {k.run_id for k in KNOWN_RUNS}
    failed = next(r for r in runs if r.state is RunState.failed)
    assert failed.failed_task == "load_to_warehouse" and failed.log_url
    assert not fake.paths("/logs/")  # the cross-DAG listing skips fetching logs


async def test_login_token_is_fetched_once_and_reused() -> None:
    fake = FakeAirflow()
    source = source_with(fake)
    await source.list_pipelines()
    await source.recent_runs("nightly_orders")
    assert len(fake.paths("/auth/token")) == 1


async def test_concurrent_first_calls_share_one_login() -> None:
    fake = FakeAirflow()

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # every call gets to start before any answer arrives
        return fake(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    source = AirflowSource(BASE, client=client, username="admin", password=PASSWORD)
    answers = await asyncio.gather(*(source.recent_runs("nightly_orders") for _ in range(4)))
    assert all(answers) and len(fake.paths("/auth/token")) == 1


async def test_expired_token_is_renewed_once_and_the_call_succeeds() -> None:
    fake = FakeAirflow(tokens=(JWT, JWT), reject=1)
    pipelines = await source_with(fake).list_pipelines()
    assert len(pipelines) == 2
    assert len(fake.paths("/auth/token")) == 2


async def test_token_rejected_again_after_renewal_is_an_auth_error() -> None:
    fake = FakeAirflow(tokens=(JWT, JWT, JWT), reject=5)
    with pytest.raises(SourceAuthError) as info:
        await source_with(fake).list_pipelines()
    assert len(fake.paths("/auth/token")) == 2  # renewed once, not in a loop
    assert "password" in (info.value.fix or "")


async def test_wrong_password_is_an_auth_error_that_never_shows_the_password() -> None:
    with pytest.raises(SourceAuthError) as info:
        await source_with(FakeAirflow(), password="wrong-" + PASSWORD).list_pipelines()
    text = f"{info.value} {info.value.fix}"
    assert text.startswith("airflow:") and "username and password" in text
    assert PASSWORD not in text


async def test_rejected_static_token_is_an_auth_error_without_the_token() -> None:
    fake = FakeAirflow()
    source = source_with(fake, username=None, password=None, token="tok-" + JWT[::-1])
    with pytest.raises(SourceAuthError) as info:
        await source.list_pipelines()
    assert "token" in (info.value.fix or "") and JWT[::-1] not in str(info.value)
    assert not fake.paths("/auth/token")


async def test_probe_reports_health_and_authentication() -> None:
    result = await source_with(FakeAirflow()).probe()
    assert result.reachable and result.authenticated
    assert "authenticated" in result.detail and "2 DAGs" in result.detail
    bad = await source_with(FakeAirflow(), password="nope-nope").probe()
    assert bad.reachable is True and bad.authenticated is False and bad.fix
    assert "nope-nope" not in bad.model_dump_json()


async def test_dead_server_is_unavailable_naming_source_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceUnavailable) as info:
        await AirflowSource(url, token=JWT, timeout=2).list_pipelines()
    assert str(info.value).startswith("airflow:") and url in str(info.value)
    assert info.value.fix and JWT not in str(info.value)
    probe = await AirflowSource(url, timeout=2).probe()
    assert probe.reachable is False and probe.fix


@pytest.mark.looptime  # the event loop's clock is looptime's: the wait is exact, and instant
async def test_silent_server_times_out_within_the_timeout(silent_server: str) -> None:
    source = AirflowSource(silent_server, token=JWT, timeout=0.5)
    started = asyncio.get_running_loop().time()
    with pytest.raises(SourceUnavailable) as info:
        await source.recent_runs("nightly_orders")
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.5)
    assert str(info.value).startswith("airflow:") and "0.5s" in str(info.value)


# -- the real Airflow 3 ------------------------------------------------------------------------
@pytest.fixture
def airflow(airflow_server: AirflowServer) -> AirflowSource:
    return AirflowSource(
        airflow_server.url,
        username=airflow_server.username,
        password=airflow_server.password,
        timeout=15,
    )


@pytest.mark.peers
async def test_live_lists_known_dags_with_schedules_and_pause_state(airflow: AirflowSource):
    pipelines = {p.name: p for p in await airflow.list_pipelines()}
    assert {n: p.schedule for n, p in pipelines.items()} == KNOWN_DAGS
    assert {n for n, p in pipelines.items() if p.paused} == PAUSED_AFTER_LOAD


@pytest.mark.peers
async def test_live_recent_runs_have_the_known_states_newest_first(airflow: AirflowSource):
    runs = await airflow.recent_runs("nightly_orders")
    expected = {k.run_id: RunState(k.state) for k in KNOWN_RUNS if k.dag_id == "nightly_orders"}
    assert {r.run_id: r.state for r in runs} == expected
    starts = [r.started_at for r in runs]
    assert all(starts) and starts == sorted(starts, reverse=True)


@pytest.mark.peers
async def test_live_failed_run_names_the_failing_task_error_and_a_working_log_link(
    airflow: AirflowSource,
):
    runs = {r.run_id: r for r in await airflow.recent_runs("nightly_orders")}
    failed = runs["sb_nightly_fail"]
    assert failed.failed_task == "load_to_warehouse"
    assert failed.error == "RuntimeError: warehouse rejected the load"
    assert failed.log_url and failed.log_url.endswith(
        "/dags/nightly_orders/runs/sb_nightly_fail/tasks/load_to_warehouse"
    )
    async with httpx.AsyncClient() as client:
        assert (await client.get(failed.log_url)).status_code == 200  # the UI serves the route


@pytest.mark.peers
async def test_live_runs_since_covers_every_dag_and_respects_the_start(
    airflow: AirflowSource, airflow_server: AirflowServer
):
    since = datetime.fromtimestamp(airflow_server.loaded_after, tz=UTC)
    runs = await airflow.runs_since(since)
    assert {r.run_id for r in runs} == {k.run_id for k in KNOWN_RUNS}
    assert all(r.started_at is not None and r.started_at >= since for r in runs)
    failed = next(r for r in runs if r.run_id == "sb_nightly_fail")
    assert failed.failed_task == "load_to_warehouse"
    assert await airflow.runs_since(datetime.now(UTC) + timedelta(hours=1)) == []


@pytest.mark.peers
async def test_live_probe_says_authenticated(airflow: AirflowSource):
    result = await airflow.probe()
    assert result.reachable and result.authenticated, result
    assert "2 DAGs" in result.detail


@pytest.mark.peers
async def test_live_wrong_password_is_an_auth_error_saying_what_to_fix(
    airflow_server: AirflowServer,
):
    wrong = "not-" + airflow_server.password
    source = AirflowSource(airflow_server.url, username="admin", password=wrong, timeout=15)
    with pytest.raises(SourceAuthError) as info:
        await source.list_pipelines()
    text = f"{info.value} {info.value.fix}"
    assert text.startswith("airflow:") and "password" in text
    assert wrong not in text and airflow_server.password not in text
    probe = await source.probe()
    assert probe.authenticated is False and wrong not in probe.model_dump_json()


@pytest.mark.peers
async def test_live_static_token_works_and_a_forged_one_is_refused(airflow_server: AirflowServer):
    token = airflow_server.token()
    good = AirflowSource(airflow_server.url, token=token, timeout=15)
    assert len(await good.list_pipelines()) == len(KNOWN_DAGS)
    forged = token[:-6] + "AAAAAA"
    with pytest.raises(SourceAuthError) as info:
        await AirflowSource(airflow_server.url, token=forged, timeout=15).list_pipelines()
    assert forged not in f"{info.value} {info.value.fix}"


@pytest.mark.peers
async def test_live_answers_still_have_the_shape_of_the_captured_ones(
    airflow_server: AirflowServer,
):
    """If Airflow changes its JSON, the parsing tests above test a stale capture."""
    headers = {"Authorization": f"Bearer {airflow_server.token()}"}
    async with httpx.AsyncClient(base_url=f"{airflow_server.url}/api/v2", headers=headers) as api:
        dags = (await api.get("/dags")).json()
        runs = (await api.get("/dags/~/dagRuns")).json()
    assert set(captured("dags")["dags"][0]) <= set(dags["dags"][0])
    assert set(captured("dag_runs_all")["dag_runs"][0]) <= set(runs["dag_runs"][0])
