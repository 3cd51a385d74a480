"""A real MLflow 3 tracking server + model registry, loaded with known models through its REST API.

Session fixtures (tests/peers/plugin.py): `mlflow_server` -> MlflowServer(url=...), holding
KNOWN_MODELS, so tests compare against this spec rather than against numbers repeated in each
test; `mlflow_webhook_server`, a second one for the webhook tests, which add versions and aliases
and need MLflow to see each webhook they add at once (its webhook cache is off).

    python -m tests.peers.mlflow --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from tests.peers.plugin import BootedPeer, capture_main, session_peer, start_and_load
from tests.peers.runtime import (
    LOAD_TIMEOUT,
    PeerError,
    PeerProcess,
    free_port,
    installed,
    locked,
    venv_bin,
)

# Test-only Fernet key: webhook secrets stored by the server must stay decryptable across
# restarts (PEERS.md), so it is fixed rather than generated per run. Never used outside tests.
WEBHOOK_ENCRYPTION_KEY = "prjkS-Q2cmri_HwgxpVfAIuY01CJ0yZs05qnUVvodZ4="

# A name that breaks naive filter strings: quotes of both kinds and a backslash.
AWKWARD_NAME = 'o\'neil "beta" \\ model'


@dataclass(frozen=True)
class KnownModel:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    version_metrics: tuple[dict[str, float], ...] = ()  # version i+1 -> its run's metrics
    aliases: dict[str, str] = field(default_factory=dict)


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            "churn",
            tags={"team": "ml-platform"},
            description="Customer churn classifier",
            version_metrics=(
                {"auc": 0.81, "f1": 0.62},
                {"auc": 0.86, "f1": 0.67},
                {"auc": 0.88, "f1": 0.69},
            ),
            aliases={"champion": "2", "challenger": "3"},
        ),
        KnownModel(
            "fraud",
            tags={"team": "risk"},
            version_metrics=({"auc": 0.93}, {"auc": 0.91}),
            aliases={"champion": "1"},
        ),
        KnownModel("draft-ranker", tags={"team": "search"}),
        KnownModel(AWKWARD_NAME, version_metrics=({"auc": 0.5},)),
        # Tests that write aliases use this one, so the others stay as specified.
        KnownModel("alias-playground", version_metrics=({"auc": 0.7}, {"auc": 0.72})),
    )
}


@dataclass(kw_only=True)
class MlflowServer(BootedPeer):
    url: str
    run_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, version) -> run

    @contextlib.contextmanager
    def one_test_at_a_time(self) -> Iterator[None]:
        """Across xdist workers too: MLflow delivers each event to every webhook registered for
        it, so tests registering webhooks at once would each receive the other's events."""
        with locked(Path(tempfile.gettempdir()) / f"sb-mlflow-{self.url.rsplit(':', 1)[1]}.lock"):
            yield


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, f"/api/2.0/mlflow/{path}", **kwargs)
    if not response.is_success:
        raise PeerError(
            f"loading MLflow data: {method} {path} -> {response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else {}


def load_known_models(url: str) -> dict[tuple[str, str], str]:
    """Create KNOWN_MODELS through the REST calls PEERS.md lists; returns their run ids."""
    run_ids: dict[tuple[str, str], str] = {}
    with httpx.Client(base_url=url, timeout=LOAD_TIMEOUT) as client:
        for model in KNOWN_MODELS.values():
            body: dict[str, Any] = {
                "name": model.name,
                "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
            }
            if model.description:
                body["description"] = model.description
            _call(client, "POST", "registered-models/create", json=body)
            for number, metrics in enumerate(model.version_metrics, start=1):
                run = _call(
                    client,
                    "POST",
                    "runs/create",
                    json={
                        "experiment_id": "0",
                        "run_name": f"{model.name}-v{number}",
                        "start_time": int(time.time() * 1000),
                    },
                )["run"]["info"]["run_id"]
                for key, value in metrics.items():
                    _call(
                        client,
                        "POST",
                        "runs/log-metric",
                        json={
                            "run_id": run,
                            "key": key,
                            "value": value,
                            "timestamp": int(time.time() * 1000),
                            "step": 0,
                        },
                    )
                _call(client, "POST", "runs/update", json={"run_id": run, "status": "FINISHED"})
                created = _call(
                    client,
                    "POST",
                    "model-versions/create",
                    json={
                        "name": model.name,
                        "source": f"runs:/{run}/model",
                        "run_id": run,
                    },
                )["model_version"]
                if created["version"] != str(number):
                    raise PeerError(
                        f"MLflow numbered {model.name} v{created['version']}, expected {number}"
                    )
                _call(
                    client,
                    "POST",
                    "model-versions/set-tag",
                    json={
                        "name": model.name,
                        "version": str(number),
                        "key": "validated",
                        "value": "true",
                    },
                )
                run_ids[(model.name, str(number))] = run
            for alias, version in model.aliases.items():
                _call(
                    client,
                    "POST",
                    "registered-models/alias",
                    json={"name": model.name, "alias": alias, "version": version},
                )
    return run_ids


def start_mlflow(home: Path, *, webhook_cache_ttl: int | None = None) -> MlflowServer:
    """Install (cached), start on a free loopback port, wait for /health, load KNOWN_MODELS."""
    venv, installing = installed("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": WEBHOOK_ENCRYPTION_KEY,
        # The job runner (a dozen huey worker processes) serves features no test uses and
        # would take a core while everything else boots.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    if webhook_cache_ttl is not None:
        env["MLFLOW_WEBHOOK_CACHE_TTL"] = str(webhook_cache_ttl)
    process = PeerProcess(
        "mlflow",
        [
            str(venv_bin(venv, "mlflow")),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--default-artifact-root",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        cwd=home,
        health_url=f"{url}/health",
        ready_timeout=180,
    )
    loaded = start_and_load(
        "MLflow", process, lambda: {"run_ids": load_known_models(url)}, install_seconds=installing
    )
    return MlflowServer(url=url, **loaded)


mlflow_server = session_peer("mlflow_server", "mlflow", start_mlflow)
# MLflow caches the webhooks of an event for 60 s; each webhook test adds and deletes its own,
# and with a TTL of 0 the server reads them afresh for every event.
mlflow_webhook_server = session_peer(
    "mlflow_webhook_server", "mlflow (webhooks)", partial(start_mlflow, webhook_cache_ttl=0)
)


def capture_responses(server: MlflowServer) -> dict[str, object]:
    """Save real REST answers as tests/fixtures/captured/mlflow_*.json for parsing unit tests.

    The only edit: artifact_uri, which holds the server's temp directory, becomes relative.
    """
    api = f"{server.url}/api/2.0/mlflow"
    with httpx.Client(timeout=30) as client:
        page1 = client.get(f"{api}/registered-models/search", params={"max_results": 2}).json()
        token = page1["next_page_token"]
        page2 = client.get(
            f"{api}/registered-models/search", params={"max_results": 100, "page_token": token}
        ).json()
        versions = client.get(
            f"{api}/model-versions/search", params={"filter": "name='churn'"}
        ).json()
        run_id = versions["model_versions"][0]["run_id"]
        run = client.get(f"{api}/runs/get", params={"run_id": run_id}).json()
        run["run"]["info"]["artifact_uri"] = f"./artifacts/0/{run_id}/artifacts"
        missing = client.get(f"{api}/registered-models/get", params={"name": "no-such-model"})
        captured = {
            "registered_models_search_page1": page1,
            "registered_models_search_page2": page2,
            "registered_model_get": client.get(
                f"{api}/registered-models/get", params={"name": "churn"}
            ).json(),
            "model_versions_search": versions,
            "runs_get": run,
            "error_not_found": {"status": missing.status_code, "body": missing.json()},
        }
    return captured


if __name__ == "__main__":
    capture_main("mlflow", start_mlflow, capture_responses)
