"""A real Prefect 3 server loaded with known flows, deployments and flow runs, one per session.

Session fixture `prefect_server` -> PrefectServer. The server requires basic auth
(PREFECT_SERVER_API_AUTH_STRING), so wrong credentials can be tested for real. assets/
prefect_flows.py runs the KNOWN_RUNS against it; deployments with cron schedules are then
created through the REST API (churn_features' is paused).

    python -m tests.peers.prefect --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tenacity import retry, retry_if_result, stop_after_delay, wait_exponential

from tests.peers import runtime
from tests.peers.plugin import BootedPeer, capture_main, session_peer, start_and_load

FLOWS_SCRIPT = Path(__file__).parent / "assets" / "prefect_flows.py"
USERNAME = "switchboard"

# key printed by the flow script -> (flow, expected state type, failing task)
KNOWN_RUNS: dict[str, tuple[str, str, str | None]] = {
    "churn_ok": ("churn_features", "COMPLETED", None),
    "nightly_ok": ("nightly_orders", "COMPLETED", None),
    "nightly_fail": ("nightly_orders", "FAILED", "load_to_warehouse"),
}
KNOWN_DEPLOYMENTS = {
    # flow -> (deployment name, cron, timezone, paused)
    "nightly_orders": ("nightly", "0 2 * * *", "Europe/Berlin", False),
    "churn_features": ("hourly", "0 * * * *", "UTC", True),
}


@dataclass(kw_only=True)
class PrefectServer(BootedPeer):
    api_url: str
    auth_string: str
    venv: Path
    run_ids: dict[str, str] = field(default_factory=dict)  # KNOWN_RUNS key -> flow run id


# Prefect answers 503 when its SQLite database is briefly locked (the server maps the
# OperationalError to "Service Unavailable"), which happens on a busy 2-core machine while other
# peers boot; its own client retries these, and so does the loader.
_TRANSIENT = frozenset({429, 502, 503, 504})


@retry(
    retry=retry_if_result(lambda response: response.status_code in _TRANSIENT),
    wait=wait_exponential(multiplier=0.5, max=5),
    stop=stop_after_delay(60),
    retry_error_callback=lambda state: state.outcome.result(),  # the last answer, checked below
)
def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(path, json=body)


def _client(server_api: str, auth_string: str) -> httpx.Client:
    user, _, password = auth_string.partition(":")
    return httpx.Client(base_url=server_api, auth=(user, password), timeout=runtime.LOAD_TIMEOUT)


def run_flows(venv: Path, api_url: str, auth_string: str, home: Path) -> dict[str, str]:
    """Run assets/prefect_flows.py against the server; returns its flow run ids."""
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_API_AUTH_STRING": auth_string,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    try:
        done = subprocess.run(
            [str(runtime.venv_bin(venv, "python")), str(FLOWS_SCRIPT)],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise runtime.PeerError(f"Prefect flow script did not finish: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise runtime.PeerError(f"Prefect flow script exited {done.returncode}:\n{tail}")
    return dict(json.loads(lines[-1]))


def load_known(api_url: str, auth_string: str, run_ids: dict[str, str]) -> None:
    """Check the runs' states and create the deployments with their cron schedules."""
    with _client(api_url, auth_string) as api:
        runs = runtime.checked(
            _post(
                api, "/flow_runs/filter", {"flow_runs": {"id": {"any_": list(run_ids.values())}}}
            ),
            "Prefect flow_runs/filter",
        )
        states = {r["id"]: r["state_type"] for r in runs}
        wrong = {k: states.get(i) for k, i in run_ids.items() if states.get(i) != KNOWN_RUNS[k][1]}
        if wrong:
            raise runtime.PeerError(f"Prefect runs ended in unexpected states: {wrong}")
        flows = runtime.checked(_post(api, "/flows/filter", {}), "Prefect flows/filter")
        flow_ids = {f["name"]: f["id"] for f in flows}
        for flow, (name, cron, zone, paused) in KNOWN_DEPLOYMENTS.items():
            runtime.checked(
                _post(
                    api,
                    "/deployments/",
                    {
                        "name": name,
                        "flow_id": flow_ids[flow],
                        "paused": paused,
                        "description": f"{flow} on a {cron} schedule",
                        "tags": [f"team:{'data' if flow == 'nightly_orders' else 'ml-platform'}"],
                        "schedules": [
                            {"schedule": {"cron": cron, "timezone": zone}, "active": True}
                        ],
                    },
                ),
                f"Prefect: create deployment {name}",
            )


def boot(home: Path) -> PrefectServer:
    """Install (cached), start on a free loopback port with basic auth, load KNOWN_RUNS."""
    venv, installing = runtime.installed("prefect")
    port = runtime.free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    auth_string = f"{USERNAME}:{secrets.token_urlsafe(12)}"
    process = runtime.PeerProcess(
        "prefect",
        [
            str(runtime.venv_bin(venv, "prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_API_AUTH_STRING": auth_string,
        },
        cwd=home,
        health_url=f"{api_url}/health",  # the one endpoint served without auth
        ready_timeout=180,
    )

    def load() -> dict[str, Any]:
        run_ids = run_flows(venv, api_url, auth_string, home)
        load_known(api_url, auth_string, run_ids)
        return {"run_ids": run_ids}

    loaded = start_and_load("Prefect", process, load, install_seconds=installing)
    return PrefectServer(api_url=api_url, auth_string=auth_string, venv=venv, **loaded)


prefect_server = session_peer("prefect_server", "prefect", boot)


# -- captured responses for the parsing unit tests ---------------------------------------------
def capture_responses(server: PrefectServer) -> dict[str, object]:
    """Save real answers as prefect_*.json; local paths become $PREFECT_HOME and $VENV."""
    failed = server.run_ids["nightly_fail"]
    with _client(server.api_url, server.auth_string) as api:
        captured = {
            "flows": api.post("/flows/filter", json={"sort": "NAME_ASC"}),
            "deployments": api.post("/deployments/filter", json={"sort": "NAME_ASC"}),
            "flow_runs": api.post(
                "/flow_runs/filter",
                json={
                    "flow_runs": {"id": {"any_": list(server.run_ids.values())}},
                    "sort": "START_TIME_DESC",
                },
            ),
            "task_runs_failed": api.post(
                "/task_runs/filter",
                json={
                    "flow_runs": {"id": {"any_": [failed]}},
                    "task_runs": {"state": {"type": {"any_": ["FAILED", "CRASHED"]}}},
                },
            ),
        }
    bodies = {name: runtime.checked(response, name) for name, response in captured.items()}
    return bodies


if __name__ == "__main__":
    capture_main("prefect", boot, capture_responses, home_as="$PREFECT_HOME")
