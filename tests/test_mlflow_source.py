"""MLflow registry adapter: parsing real answers, failure modes, and a real MLflow 3 server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from integrations.errors import SourceAuthError, SourceDataError, SourceNotFound, SourceUnavailable
from integrations.http import redact
from integrations.mlflow import MlflowRegistry, version_filter
from integrations.protocols import ModelRegistry
from tests.peers.mlflow import AWKWARD_NAME, KNOWN_MODELS, MlflowServer
from tests.peers.runtime import free_port

CAPTURED = Path(__file__).parent / "fixtures" / "captured"
SECRET = "mlf-tok-3c1b9e7a2f55d0c4"
BASE = "http://mlflow.test"


def captured(name: str) -> dict:
    return json.loads((CAPTURED / f"mlflow_{name}.json").read_text())


def registry_with(handler: Callable, **kwargs) -> MlflowRegistry:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return MlflowRegistry(BASE, client=client, **kwargs)


def captured_api(request: httpx.Request) -> httpx.Response:
    """Plays an MLflow server from the captured answers."""
    path = request.url.path.removeprefix("/api/2.0/mlflow/")
    params = request.url.params
    if path == "registered-models/search":
        page = "page2" if params.get("page_token") else "page1"
        return httpx.Response(200, json=captured(f"registered_models_search_{page}"))
    if path == "registered-models/get":
        if params["name"] == "churn":
            return httpx.Response(200, json=captured("registered_model_get"))
        missing = captured("error_not_found")
        return httpx.Response(missing["status"], json=missing["body"])
    if path == "model-versions/search":
        return httpx.Response(200, json=captured("model_versions_search"))
    if path == "runs/get":
        body = captured("runs_get")
        if params["run_id"] == body["run"]["info"]["run_id"]:
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST"})
    return httpx.Response(404)


# -- parsing captured answers -----------------------------------------------------------------
def test_adapter_satisfies_the_model_registry_protocol():
    assert isinstance(MlflowRegistry(BASE), ModelRegistry)
    assert MlflowRegistry(BASE).name == "mlflow"


def test_registered_model_parses_aliases_tags_and_latest_version():
    raw = captured("registered_model_get")["registered_model"]
    model = MlflowRegistry(BASE).parse_model(raw)
    spec = KNOWN_MODELS["churn"]
    assert model.name == "churn" and model.source == "mlflow"
    assert model.aliases == spec.aliases
    assert model.tags == spec.tags
    assert model.description == spec.description
    assert model.latest_version == str(len(spec.version_metrics))
    assert model.updated_at is not None and model.updated_at.tzinfo is not None
    assert model.url == f"{BASE}/#/models/churn"


def test_run_metrics_take_the_latest_value_of_each_metric():
    metrics = MlflowRegistry.parse_run_metrics(captured("runs_get"))
    assert metrics == KNOWN_MODELS["churn"].version_metrics[-1]
    stepped = {"run": {"data": {"metrics": [
        {"key": "loss", "value": 0.9, "step": 0, "timestamp": 5},
        {"key": "loss", "value": 0.2, "step": 3, "timestamp": 1},
        {"key": "loss", "value": "bad", "step": 9, "timestamp": 9},
    ]}}}  # fmt: skip
    assert MlflowRegistry.parse_run_metrics(stepped) == {"loss": 0.2}


def test_version_links_point_at_the_mlflow_ui_with_encoded_names():
    registry = MlflowRegistry(BASE + "/")
    assert registry.version_url("churn", "3") == f"{BASE}/#/models/churn/versions/3"
    assert registry.model_url("a b/c'd") == f"{BASE}/#/models/a%20b%2Fc%27d"


async def test_list_models_follows_page_tokens():
    seen_tokens: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_tokens.append(request.url.params.get("page_token"))
        return captured_api(request)

    models = await registry_with(handler, page_size=2).list_models()
    first = captured("registered_models_search_page1")
    expected = {m["name"] for m in first["registered_models"]} | {
        m["name"] for m in captured("registered_models_search_page2")["registered_models"]
    }
    assert {m.name for m in models} == expected
    assert seen_tokens == [None, first["next_page_token"]]


async def test_versions_are_newest_first_with_run_metrics_and_aliases():
    versions = await registry_with(captured_api).versions("churn")
    assert [v.version for v in versions] == ["3", "2", "1"]
    by_version = {v.version: v for v in versions}
    assert by_version["2"].aliases == ("champion",)
    assert by_version["3"].aliases == ("challenger",)
    assert by_version["3"].metrics == KNOWN_MODELS["churn"].version_metrics[2]
    assert by_version["1"].metrics == {}  # its run is not in the capture: 404 is tolerated
    assert by_version["3"].tags == {"validated": "true"}
    assert by_version["3"].url == f"{BASE}/#/models/churn/versions/3"


async def test_unknown_model_is_none_for_get_and_not_found_for_versions():
    registry = registry_with(captured_api)
    assert await registry.get_model("no-such-model") is None
    with pytest.raises(SourceNotFound) as info:
        await registry.versions("no-such-model")
    assert "no-such-model" in str(info.value) and info.value.fix


async def test_run_metrics_are_fetched_concurrently():
    versions = captured("model_versions_search")
    in_flight, most = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        if request.url.path.endswith("runs/get"):
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.05)  # each answer waits, so concurrent asks overlap
            in_flight -= 1
            return httpx.Response(200, json=captured("runs_get"))
        if request.url.path.endswith("model-versions/search"):
            return httpx.Response(200, json=versions)
        return captured_api(request)

    result = await registry_with(handler).versions("churn")
    assert len(result) == len(versions["model_versions"]) == 3
    assert most == 3  # the three runs were asked at once, not one after another


# -- filter escaping ----------------------------------------------------------------------------
def test_plain_names_use_an_exact_filter():
    assert version_filter("churn") == ("name='churn'", False)


@given(st.text(min_size=1, max_size=40))
def test_any_name_gives_a_filter_with_one_unbroken_string_literal(name: str):
    filter_string, needs_exact = version_filter(name)
    literal = filter_string.split(" ", 2)[-1] if needs_exact else filter_string[len("name=") :]
    assert literal.startswith("'") and literal.endswith("'")
    inside = literal[1:-1]
    assert not any(c in inside for c in "'\"\\")
    assert needs_exact == any(c in name for c in "'\"\\")


# -- failures -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_raise_auth_error_without_the_token(status: int):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {SECRET}"
        return httpx.Response(status, text=f"bad token {SECRET}")  # a server echoing it back

    registry = registry_with(handler, token=SECRET)
    with capture_logs() as logs:
        with pytest.raises(SourceAuthError) as info:
            await registry.list_models()
    message = str(info.value)
    assert "mlflow" in message and str(status) in message
    assert info.value.fix
    assert SECRET not in message and SECRET not in repr(info.value.args)
    assert logs, "the failure should be logged"
    assert SECRET not in repr(logs)


async def test_probe_reports_auth_failure_without_raising_or_leaking_the_token():
    registry = registry_with(lambda r: httpx.Response(401, text=SECRET), token=SECRET)
    result = await registry.probe()
    assert result.reachable is True and result.authenticated is False
    assert result.fix and SECRET not in result.model_dump_json()


async def test_dead_server_is_unavailable_naming_source_url_and_fix():
    url = f"http://127.0.0.1:{free_port()}"
    registry = MlflowRegistry(url, timeout=2)
    with pytest.raises(SourceUnavailable) as info:
        await registry.get_model("churn")
    message = str(info.value)
    assert message.startswith("mlflow:")
    assert url in message
    assert info.value.fix and "running" in info.value.fix
    probe = await registry.probe()
    assert probe.reachable is False and probe.fix


@pytest.mark.looptime  # the event loop's clock is looptime's: the wait is exact, and instant
async def test_silent_server_times_out_within_the_timeout(silent_server: str):
    registry = MlflowRegistry(silent_server, timeout=0.5)
    started = asyncio.get_running_loop().time()
    with pytest.raises(SourceUnavailable) as info:
        await registry.versions("churn")
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.5)
    assert "0.5s" in str(info.value) and "timeout" in (info.value.fix or "")


async def test_reads_are_retried_after_a_503():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503) if len(calls) == 1 else captured_api(request)

    assert (await registry_with(handler).get_model("churn")).name == "churn"
    assert len(calls) == 2


async def test_set_alias_is_not_retried_after_the_server_saw_it():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(503)

    with pytest.raises(SourceUnavailable):
        await registry_with(handler).set_alias("churn", "champion", "3")
    assert calls == [{"name": "churn", "alias": "champion", "version": "3"}]


async def test_set_alias_is_retried_once_when_the_connection_failed():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={})

    await registry_with(handler).set_alias("churn", "champion", "3")
    assert len(calls) == 2


def test_redact_removes_tokens_from_text_urls_and_headers():
    text = (
        f"GET http://user:pw@host/x?token={SECRET}&a=1 Authorization: Bearer abcdefgh123 {SECRET}"
    )
    cleaned = redact(text, [SECRET])
    assert SECRET not in cleaned and "pw@" not in cleaned and "abcdefgh123" not in cleaned
    assert "a=1" in cleaned and "host/x" in cleaned


# -- the real MLflow 3 server ------------------------------------------------------------------


@pytest.fixture
def registry(mlflow_server: MlflowServer) -> MlflowRegistry:
    return MlflowRegistry(mlflow_server.url, timeout=10, page_size=2)


@pytest.mark.peers
async def test_live_list_models_returns_every_known_model_across_pages(registry: MlflowRegistry):
    models = {m.name: m for m in await registry.list_models()}
    assert set(KNOWN_MODELS) <= set(models)
    for name in ("churn", "fraud", "draft-ranker"):
        spec = KNOWN_MODELS[name]
        assert models[name].aliases == spec.aliases
        assert models[name].tags == spec.tags
    assert models["draft-ranker"].latest_version is None


@pytest.mark.peers
async def test_live_get_model_and_unknown_model(registry: MlflowRegistry):
    churn = await registry.get_model("churn")
    assert churn is not None
    assert churn.aliases == {"champion": "2", "challenger": "3"}
    assert churn.tags == {"team": "ml-platform"}
    assert churn.latest_version == "3"
    assert await registry.get_model("no-such-model") is None


@pytest.mark.peers
async def test_live_versions_carry_run_metrics_and_aliases(
    registry: MlflowRegistry, mlflow_server: MlflowServer
):
    spec = KNOWN_MODELS["churn"]
    versions = await registry.versions("churn")
    assert [v.version for v in versions] == ["3", "2", "1"]
    for v in versions:
        assert v.metrics == spec.version_metrics[int(v.version) - 1]
        assert v.run_id == mlflow_server.run_ids[("churn", v.version)]
        assert v.aliases == tuple(sorted(a for a, n in spec.aliases.items() if n == v.version))
        assert v.status == "READY"
    assert await registry.versions("draft-ranker") == []
    with pytest.raises(SourceNotFound):
        await registry.versions("no-such-model")


@pytest.mark.peers
async def test_live_name_with_quotes_and_backslash_finds_only_its_versions(
    registry: MlflowRegistry,
):
    model = await registry.get_model(AWKWARD_NAME)
    assert model is not None and model.name == AWKWARD_NAME
    versions = await registry.versions(AWKWARD_NAME)
    assert [(v.model, v.version) for v in versions] == [(AWKWARD_NAME, "1")]
    assert versions[0].metrics == KNOWN_MODELS[AWKWARD_NAME].version_metrics[0]


@pytest.mark.peers
async def test_live_set_alias_is_visible_through_the_rest_api(
    registry: MlflowRegistry, mlflow_server: MlflowServer
):
    async def alias_points_at() -> str:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                f"{mlflow_server.url}/api/2.0/mlflow/registered-models/alias",
                params={"name": "alias-playground", "alias": "production"},
            )
        response.raise_for_status()
        return response.json()["model_version"]["version"]

    await registry.set_alias("alias-playground", "production", "1")
    assert await alias_points_at() == "1"
    await registry.set_alias("alias-playground", "production", "2")
    assert await alias_points_at() == "2"
    model = await registry.get_model("alias-playground")
    assert model is not None and model.aliases["production"] == "2"


@pytest.mark.peers
async def test_live_set_alias_errors_name_the_problem(registry: MlflowRegistry):
    with pytest.raises(SourceNotFound):
        await registry.set_alias("alias-playground", "production", "99")
    with pytest.raises(SourceDataError) as info:
        await registry.set_alias("alias-playground", "bad alias!", "1")
    assert "alias" in str(info.value)


@pytest.mark.peers
async def test_live_probe_reaches_the_registry(registry: MlflowRegistry):
    result = await registry.probe()
    assert result.reachable and result.authenticated
    assert result.latency_ms is not None and result.latency_ms < 5000


@pytest.mark.peers
async def test_live_answers_still_have_the_shape_of_the_captured_ones(mlflow_server: MlflowServer):
    """If MLflow changes its JSON, the parsing tests above are testing a stale capture."""
    async with httpx.AsyncClient(base_url=f"{mlflow_server.url}/api/2.0/mlflow/") as client:
        live_model = (await client.get("registered-models/get", params={"name": "churn"})).json()
        live_versions = (
            await client.get("model-versions/search", params={"filter": "name='churn'"})
        ).json()
    model_keys = set(captured("registered_model_get")["registered_model"])
    assert model_keys <= set(live_model["registered_model"])
    version_keys = set(captured("model_versions_search")["model_versions"][0])
    assert version_keys <= set(live_versions["model_versions"][0])
