"""A real Prefect 3 server loaded with known flows, deployments and flow runs, one per session.

Session fixture `prefect_server` -> PrefectServer. The server requires basic auth
(PREFECT_SERVER_API_AUTH_STRING), so wrong credentials can be tested for real. assets/
prefect_flows.py runs the KNOWN_RUNS against it; deployments with cron schedules are then
created through the REST API (churn_features' is paused).

Boot starts in the background as soon as collection shows a test needs it.

    python -m tests.peers.prefect --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tenacity import retry, retry_if_result, stop_after_delay, wait_exponential

from tests.peers.runtime import (
    PEER_REQUIREMENTS,
    BackgroundBoot,
    PeerError,
    PeerProcess,
    free_port,
    peer_venv,
    venv_bin,
    write_captured,
)

FLOWS_SCRIPT = Path(__file__).parent / "assets" / "prefect_flows.py"
FIXTURE = "prefect_server"
BOOT_TIMEOUT = 420.0
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


@dataclass
class PrefectServer:
    api_url: str
    auth_string: str
    process: PeerProcess
    home: Path
    venv: Path
    run_ids: dict[str, str] = field(default_factory=dict)  # KNOWN_RUNS key -> flow run id
    loaded_after: float = 0.0
    install_seconds: float = 0.0
    ready_seconds: float = 0.0
    load_seconds: float = 0.0

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.home, ignore_errors=True)


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


def _check(response: httpx.Response, what: str) -> Any:
    if not response.is_success:
        raise PeerError(f"Prefect {what} -> {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def _client(server_api: str, auth_string: str) -> httpx.Client:
    user, _, password = auth_string.partition(":")
    return httpx.Client(base_url=server_api, auth=(user, password), timeout=30)


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
            [str(venv_bin(venv, "python")), str(FLOWS_SCRIPT)],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"Prefect flow script did not finish: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise PeerError(f"Prefect flow script exited {done.returncode}:\n{tail}")
    return dict(json.loads(lines[-1]))


def load_known(api_url: str, auth_string: str, run_ids: dict[str, str]) -> None:
    """Check the runs' states and create the deployments with their cron schedules."""
    with _client(api_url, auth_string) as api:
        runs = _check(
            _post(
                api, "/flow_runs/filter", {"flow_runs": {"id": {"any_": list(run_ids.values())}}}
            ),
            "flow_runs/filter",
        )
        states = {r["id"]: r["state_type"] for r in runs}
        wrong = {k: states.get(i) for k, i in run_ids.items() if states.get(i) != KNOWN_RUNS[k][1]}
        if wrong:
            raise PeerError(f"Prefect runs ended in unexpected states: {wrong}")
        flows = _check(_post(api, "/flows/filter", {}), "flows/filter")
        flow_ids = {f["name"]: f["id"] for f in flows}
        for flow, (name, cron, zone, paused) in KNOWN_DEPLOYMENTS.items():
            _check(
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
                f"create deployment {name}",
            )


def boot() -> PrefectServer:
    """Install (cached), start on a free loopback port with basic auth, load KNOWN_RUNS."""
    started = time.monotonic()
    venv = peer_venv("prefect", PEER_REQUIREMENTS["prefect"])
    installed = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="sb-prefect-"))
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    auth_string = f"{USERNAME}:{secrets.token_urlsafe(12)}"
    process = PeerProcess(
        "prefect",
        [
            str(venv_bin(venv, "prefect")),
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
    process.start()
    try:
        process.wait_ready()
        ready = time.monotonic()
        loaded_after = time.time()
        run_ids = run_flows(venv, api_url, auth_string, home)
        load_known(api_url, auth_string, run_ids)
    except BaseException as exc:
        tail = process.log_tail(40)
        process.stop()
        shutil.rmtree(home, ignore_errors=True)
        if isinstance(exc, PeerError | httpx.HTTPError | OSError | KeyError | ValueError):
            # The peer misbehaved while being loaded: say so with its own last words.
            detail = str(exc) if "log lines" in str(exc) else f"{exc!r}\nlast log lines:\n{tail}"
            raise PeerError(f"Prefect start/load failed: {detail}") from exc
        raise
    done = time.monotonic()
    return PrefectServer(
        api_url=api_url,
        auth_string=auth_string,
        process=process,
        home=home,
        venv=venv,
        run_ids=run_ids,
        loaded_after=loaded_after,
        install_seconds=round(installed - started, 1),
        ready_seconds=round(ready - installed, 1),
        load_seconds=round(done - ready, 1),
    )


# -- background boot (see runtime.BackgroundBoot), shared by the fixture and the session hooks --
_peer = BackgroundBoot("prefect", FIXTURE, boot, BOOT_TIMEOUT)
pytest_collection_finish = _peer.collection_finish
pytest_sessionfinish = _peer.session_finish
pytest_terminal_summary = _peer.terminal_summary


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[PrefectServer]:
    yield _peer.server()


# -- captured responses for the parsing unit tests ---------------------------------------------
def capture_responses(server: PrefectServer, out_dir: Path) -> list[Path]:
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
    bodies = {name: _check(response, name) for name, response in captured.items()}
    return write_captured(
        out_dir,
        "prefect",
        bodies,
        replace={str(server.home): "$PREFECT_HOME", str(server.venv): "$VENV"},
    )


if __name__ == "__main__":
    if sys.argv[1:2] != ["--capture"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.peers.prefect --capture OUT_DIR")
    peer = boot()
    try:
        print(
            f"install {peer.install_seconds}s, ready {peer.ready_seconds}s, "
            f"load {peer.load_seconds}s"
        )
        for written in capture_responses(peer, Path(sys.argv[2])):
            print(written)
    finally:
        peer.stop()
