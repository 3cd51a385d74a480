"""Prefect adapter: parsing real Prefect 3 answers, auth and failure modes, and a real server."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations import prefect as prefect_module
from integrations.errors import SourceAuthError, SourceNotFound, SourceUnavailable
from integrations.models import RunState
from integrations.prefect import PrefectSource, task_name, ui_url_for
from integrations.protocols import PipelineSource
from tests.peers.prefect import KNOWN_DEPLOYMENTS, KNOWN_RUNS, PrefectServer
from tests.peers.runtime import free_port

CAPTURED = Path(__file__).parent / "fixtures" / "captured"
API = "http://prefect.test/api"
UI = "http://prefect.test"
AUTH = "switchboard:pw-8c2e4a6f1b"


def captured(name: str) -> Any:
    return json.loads((CAPTURED / f"prefect_{name}.json").read_text())


def captured_ids() -> dict[str, str]:
    """KNOWN_RUNS key -> flow run id in the capture (matched by flow and state)."""
    runs = captured("flow_runs")
    flows = {f["id"]: f["name"] for f in captured("flows")}
    ids = {}
    for key, (flow, state, _task) in KNOWN_RUNS.items():
        (match,) = [r for r in runs if flows[r["flow_id"]] == flow and r["state_type"] == state]
        ids[key] = match["id"]
    return ids


class FakePrefect:
    """Plays a Prefect server (with basic auth) from the captured answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.calls if p == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        body = json.loads(request.content) if request.content else {}
        self.calls.append((path, body))
        if path == "/health":
            return httpx.Response(200, json=True)
        expected = "Basic " + base64.b64encode(AUTH.encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"exception_message": "Unauthorized"})
        if body.get("offset", 0) > 0:
            return httpx.Response(200, json=[])
        if path == "/flows/filter":
            flows = captured("flows")
            wanted = ((body.get("flows") or {}).get("name") or {}).get("any_")
            return httpx.Response(200, json=[f for f in flows if not wanted or f["name"] in wanted])
        if path == "/flows/count":
            return httpx.Response(200, json=len(captured("flows")))
        if path == "/deployments/filter":
            return httpx.Response(200, json=captured("deployments"))
        if path == "/flow_runs/filter":
            runs = captured("flow_runs")
            flow_ids = ((body.get("flows") or {}).get("id") or {}).get("any_")
            return httpx.Response(
                200, json=[r for r in runs if not flow_ids or r["flow_id"] in flow_ids]
            )
        if path == "/task_runs/filter":
            return httpx.Response(200, json=captured("task_runs_failed"))
        return httpx.Response(404, json={"detail": "Not Found"})


def source_with(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> PrefectSource:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kwargs.setdefault("auth_string", AUTH)
    return PrefectSource(API, client=client, **kwargs)


# -- parsing captured answers -----------------------------------------------------------------
def test_adapter_satisfies_the_pipeline_source_protocol() -> None:
    assert isinstance(PrefectSource(API), PipelineSource)
    assert PrefectSource(API).name == "prefect"


def test_ui_links_derive_from_the_api_url_for_servers_and_cloud() -> None:
    assert ui_url_for("http://127.0.0.1:4200/api/") == "http://127.0.0.1:4200"
    cloud = "https://api.prefect.cloud/api/accounts/a1/workspaces/w2"
    assert ui_url_for(cloud) == "https://app.prefect.cloud/account/a1/workspace/w2"
    assert PrefectSource(API, ui_url="https://ui.example/").flow_run_url("x") == (
        "https://ui.example/runs/flow-run/x"
    )


def test_flows_take_cron_timezone_and_pause_state_from_their_deployments() -> None:
    source = PrefectSource(API)
    deployments = captured("deployments")
    pipelines = {p.name: p for p in (source.parse_flow(f, deployments) for f in captured("flows"))}
    for flow, (_name, cron, zone, paused) in KNOWN_DEPLOYMENTS.items():
        assert pipelines[flow].schedule == cron
        assert pipelines[flow].schedule_timezone == zone
        assert pipelines[flow].paused is paused
    assert pipelines["nightly_orders"].tags == ("team:data",)
    assert pipelines["nightly_orders"].url.startswith(f"{UI}/flows/flow/")


def test_flow_without_deployments_has_no_schedule_and_is_not_paused() -> None:
    pipeline = PrefectSource(API).parse_flow(captured("flows")[0], [])
    assert pipeline.schedule is None and pipeline.paused is False


@pytest.mark.parametrize(
    ("state_type", "expected"),
    [
        ("COMPLETED", RunState.success),
        ("FAILED", RunState.failed),
        ("CRASHED", RunState.failed),
        ("RUNNING", RunState.running),
        ("SCHEDULED", RunState.queued),
        ("PENDING", RunState.queued),
        ("CANCELLED", RunState.cancelled),
    ],
)
def test_state_types_map_to_run_states(state_type: str, expected: RunState) -> None:
    raw = {**captured("flow_runs")[0], "state_type": state_type}
    assert PrefectSource(API).parse_run(raw, {}).state is expected


def test_failed_run_names_its_task_error_and_links_to_the_task_run() -> None:
    source = PrefectSource(API)
    names = {f["id"]: f["name"] for f in captured("flows")}
    tasks = source.first_failed_tasks(captured("task_runs_failed"))
    runs = {r.run_id: r for r in (source.parse_run(r, names, tasks) for r in captured("flow_runs"))}
    ids = captured_ids()
    failed = runs[ids["nightly_fail"]]
    assert failed.pipeline == "nightly_orders" and failed.state is RunState.failed
    assert failed.failed_task == "load_to_warehouse"
    assert failed.error == "RuntimeError: warehouse rejected the load"
    task_id = captured("task_runs_failed")[0]["id"]
    assert failed.log_url == f"{UI}/runs/task-run/{task_id}"
    assert failed.url == f"{UI}/runs/flow-run/{ids['nightly_fail']}"
    ok = runs[ids["churn_ok"]]
    assert ok.pipeline == "churn_features" and ok.state is RunState.success
    assert ok.failed_task is None and ok.error is None and ok.log_url is None


def test_task_names_drop_only_prefects_generated_suffix() -> None:
    assert task_name({"name": "load_to_warehouse-dfd", "task_key": "load_to_warehouse-57f0"}) == (
        "load_to_warehouse"
    )
    assert task_name({"name": "load-all-abc", "task_key": "other-1"}) == "load-all-abc"


# -- calls against a fake played from captured answers ----------------------------------------
async def test_recent_runs_filter_by_flow_and_skip_runs_scheduled_for_the_future() -> None:
    fake = FakePrefect()
    runs = await source_with(fake).recent_runs("nightly_orders", limit=5)
    ids = captured_ids()
    assert [r.run_id for r in runs] == [ids["nightly_fail"], ids["nightly_ok"]]
    (body,) = fake.bodies("/flow_runs/filter")
    assert body["sort"] == "START_TIME_DESC" and body["limit"] == 5
    before = datetime.fromisoformat(body["flow_runs"]["expected_start_time"]["before_"])
    assert abs(before - datetime.now(UTC)) < timedelta(minutes=1)
    (task_body,) = fake.bodies("/task_runs/filter")
    assert task_body["flow_runs"]["id"]["any_"] == [ids["nightly_fail"]]  # only failed runs


async def test_unknown_flow_is_not_found_with_its_name() -> None:
    with pytest.raises(SourceNotFound) as info:
        await source_with(FakePrefect()).recent_runs("no_such_flow")
    assert str(info.value).startswith("prefect:") and "no_such_flow" in str(info.value)


async def test_runs_since_filters_on_start_time_and_names_each_runs_flow() -> None:
    fake = FakePrefect()
    since = datetime(2026, 1, 1, tzinfo=UTC)
    runs = await source_with(fake).runs_since(since)
    assert {r.pipeline for r in runs} == {"nightly_orders", "churn_features"}
    assert len(runs) == len(KNOWN_RUNS)
    (body,) = fake.bodies("/flow_runs/filter")
    assert datetime.fromisoformat(body["flow_runs"]["start_time"]["after_"]) == since


async def test_list_pipelines_reads_flows_and_deployments() -> None:
    pipelines = {p.name: p for p in await source_with(FakePrefect()).list_pipelines()}
    assert pipelines["nightly_orders"].schedule == "0 2 * * *"


async def test_wrong_auth_string_is_an_auth_error_that_never_shows_it() -> None:
    wrong = "switchboard:not-the-pw-61f0"
    with pytest.raises(SourceAuthError) as info:
        await source_with(FakePrefect(), auth_string=wrong).list_pipelines()
    text = f"{info.value} {info.value.fix}"
    assert text.startswith("prefect:") and "credentials" in text
    assert "not-the-pw-61f0" not in text
    assert base64.b64encode(wrong.encode()).decode() not in text


async def test_api_key_is_sent_as_a_bearer_token() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json=[])

    await source_with(handler, auth_string=None, api_key="pnu_key123").list_pipelines()
    assert seen and set(seen) == {"Bearer pnu_key123"}


async def test_probe_reports_authenticated_with_the_flow_count() -> None:
    result = await source_with(FakePrefect()).probe()
    assert result.reachable and result.authenticated and "2 flows" in result.detail
    bad = await source_with(FakePrefect(), auth_string="u:bad-secret-9").probe()
    assert bad.reachable and bad.authenticated is False and bad.fix
    assert "bad-secret-9" not in bad.model_dump_json()


async def test_dead_server_is_unavailable_naming_source_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(SourceUnavailable) as info:
        await PrefectSource(url, timeout=2).list_pipelines()
    assert str(info.value).startswith("prefect:") and url in str(info.value)
    assert info.value.fix


@pytest.mark.looptime  # the event loop's clock is looptime's: the wait is exact, and instant
async def test_silent_server_times_out_within_the_timeout(silent_server: str) -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(SourceUnavailable) as info:
        await PrefectSource(silent_server + "/api", timeout=0.5).runs_since(datetime.now(UTC))
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.5)
    assert str(info.value).startswith("prefect:") and "0.5s" in str(info.value)


async def test_filter_pages_are_followed_until_a_short_page(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(prefect_module, "PAGE", 1)
    fake = FakePrefect()
    flows = captured("flows")

    def paged(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/api/flows/filter":
            fake.calls.append(("/flows/filter", body))
            return httpx.Response(200, json=flows[body["offset"] : body["offset"] + 1])
        return httpx.Response(200, json=[])

    pipelines = await source_with(paged).list_pipelines()
    assert sorted(p.name for p in pipelines) == sorted(f["name"] for f in flows)
    assert [b["offset"] for b in fake.bodies("/flows/filter")] == [0, 1, 2]


# -- the real Prefect 3 server -----------------------------------------------------------------
@pytest.fixture
def prefect(prefect_server: PrefectServer) -> PrefectSource:
    return PrefectSource(prefect_server.api_url, auth_string=prefect_server.auth_string, timeout=15)


@pytest.mark.peers
async def test_live_lists_flows_with_deployment_schedules(prefect: PrefectSource):
    pipelines = {p.name: p for p in await prefect.list_pipelines()}
    assert set(pipelines) == set(KNOWN_DEPLOYMENTS)
    for flow, (_name, cron, zone, paused) in KNOWN_DEPLOYMENTS.items():
        assert (pipelines[flow].schedule, pipelines[flow].schedule_timezone) == (cron, zone)
        assert pipelines[flow].paused is paused


@pytest.mark.peers
async def test_live_recent_runs_have_the_known_states_newest_first(
    prefect: PrefectSource, prefect_server: PrefectServer
):
    runs = await prefect.recent_runs("nightly_orders")
    ids = prefect_server.run_ids
    assert [(r.run_id, r.state) for r in runs] == [
        (ids["nightly_fail"], RunState.failed),
        (ids["nightly_ok"], RunState.success),
    ]


@pytest.mark.peers
async def test_live_failed_run_names_the_failing_task_error_and_log_link(
    prefect: PrefectSource, prefect_server: PrefectServer
):
    runs = {r.run_id: r for r in await prefect.recent_runs("nightly_orders")}
    failed = runs[prefect_server.run_ids["nightly_fail"]]
    assert failed.failed_task == "load_to_warehouse"
    assert failed.error == "RuntimeError: warehouse rejected the load"
    ui = prefect_server.api_url.removesuffix("/api")
    assert failed.log_url and failed.log_url.startswith(f"{ui}/runs/task-run/")


@pytest.mark.peers
async def test_live_runs_since_covers_every_flow(
    prefect: PrefectSource, prefect_server: PrefectServer
):
    since = datetime.fromtimestamp(prefect_server.loaded_after, tz=UTC)
    runs = await prefect.runs_since(since)
    assert {r.run_id for r in runs} == set(prefect_server.run_ids.values())
    assert {r.pipeline for r in runs} == {"nightly_orders", "churn_features"}
    assert await prefect.runs_since(datetime.now(UTC) + timedelta(hours=1)) == []


@pytest.mark.peers
async def test_live_probe_says_authenticated(prefect: PrefectSource):
    result = await prefect.probe()
    assert result.reachable and result.authenticated, result
    assert "2 flows" in result.detail


@pytest.mark.peers
async def test_live_wrong_auth_string_is_an_auth_error_saying_what_to_fix(
    prefect_server: PrefectServer,
):
    wrong = "switchboard:wrong-" + prefect_server.auth_string.partition(":")[2]
    source = PrefectSource(prefect_server.api_url, auth_string=wrong, timeout=15)
    with pytest.raises(SourceAuthError) as info:
        await source.list_pipelines()
    text = f"{info.value} {info.value.fix}"
    assert text.startswith("prefect:") and "credentials" in text
    assert wrong.partition(":")[2] not in text
    probe = await source.probe()
    assert probe.reachable and probe.authenticated is False


@pytest.mark.peers
async def test_live_answers_still_have_the_shape_of_the_captured_ones(
    prefect_server: PrefectServer,
):
    user, _, password = prefect_server.auth_string.partition(":")
    async with httpx.AsyncClient(base_url=prefect_server.api_url, auth=(user, password)) as api:
        runs = (await api.post("/flow_runs/filter", json={"limit": 1})).json()
        deployments = (await api.post("/deployments/filter", json={"limit": 1})).json()
    assert set(captured("flow_runs")[0]) <= set(runs[0])
    assert set(captured("deployments")[0]) <= set(deployments[0])
