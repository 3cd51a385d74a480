"""A real Airflow 3 (`airflow standalone`) loaded with known DAGs and runs, one per test session.

Session fixture `airflow_server` -> AirflowServer. The DAG files (assets/airflow_dags/) are in
place before start; the runs in KNOWN_RUNS are triggered through `POST /api/v2/dags/{id}/dagRuns`
after unpausing their DAGs, and awaited. churn_features is paused again afterwards so a paused
DAG is part of what the tests see.

Boot starts in the background as soon as collection shows a test needs it, so the three
orchestrators start side by side; the fixture only waits for it.

    python -m tests.peers.airflow --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

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

ASSETS = Path(__file__).parent / "assets" / "airflow_dags"
FIXTURE = "airflow_server"
BOOT_TIMEOUT = 420.0


@dataclass(frozen=True)
class KnownRun:
    dag_id: str
    run_id: str
    state: str
    conf: dict[str, Any] = field(default_factory=dict)
    failed_task: str | None = None


KNOWN_RUNS = (
    KnownRun("nightly_orders", "sb_nightly_ok", "success", {"fail": False}),
    KnownRun("nightly_orders", "sb_nightly_fail", "failed", {"fail": True}, "load_to_warehouse"),
    KnownRun("churn_features", "sb_churn_ok", "success"),
)
KNOWN_DAGS = {"nightly_orders": "0 2 * * *", "churn_features": "0 * * * *"}
PAUSED_AFTER_LOAD = {"churn_features"}


@dataclass
class AirflowServer:
    url: str
    username: str
    password: str
    process: PeerProcess
    home: Path
    venv: Path
    loaded_after: float = 0.0  # epoch seconds just before the first run was triggered
    install_seconds: float = 0.0
    ready_seconds: float = 0.0
    load_seconds: float = 0.0

    def token(self) -> str:
        return get_token(self.url, self.username, self.password)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def get_token(url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{url}/auth/token", json={"username": username, "password": password}, timeout=30
    )
    if not response.is_success:
        raise PeerError(f"Airflow /auth/token -> {response.status_code} {response.text[:200]}")
    return str(response.json()["access_token"])


def _check(response: httpx.Response, what: str) -> Any:
    if not response.is_success:
        raise PeerError(f"Airflow {what} -> {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def _wait(what: str, timeout: float, probe: Any) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(1.0)
    raise PeerError(f"Airflow: {what} not done after {timeout:g}s")


def load_known_runs(url: str, username: str, password: str) -> None:
    """Unpause, trigger KNOWN_RUNS, wait until each finished in its expected state."""
    headers = {"Authorization": f"Bearer {get_token(url, username, password)}"}
    with httpx.Client(base_url=f"{url}/api/v2", headers=headers, timeout=30) as api:

        def parsed() -> bool:
            dags = _check(api.get("/dags", params={"limit": 100}), "GET /dags")["dags"]
            return set(KNOWN_DAGS) <= {d["dag_id"] for d in dags}

        _wait("parsing the DAG files", 180, parsed)
        for dag_id in KNOWN_DAGS:
            _check(api.patch(f"/dags/{dag_id}", json={"is_paused": False}), f"unpause {dag_id}")
        for run in KNOWN_RUNS:
            body = {"dag_run_id": run.run_id, "logical_date": None, "conf": run.conf}
            _check(api.post(f"/dags/{run.dag_id}/dagRuns", json=body), f"trigger {run.run_id}")

        def finished() -> dict[str, str] | None:
            answer = _check(api.get("/dags/~/dagRuns", params={"limit": 100}), "list runs")
            states = {r["dag_run_id"]: r["state"] for r in answer["dag_runs"]}
            if all(states.get(r.run_id) in ("success", "failed") for r in KNOWN_RUNS):
                return states
            return None

        states = _wait("the known runs", 240, finished)
        wrong = {r.run_id: states[r.run_id] for r in KNOWN_RUNS if states[r.run_id] != r.state}
        if wrong:
            raise PeerError(f"Airflow runs ended in unexpected states: {wrong}")
        for dag_id in PAUSED_AFTER_LOAD:
            _check(api.patch(f"/dags/{dag_id}", json={"is_paused": True}), f"pause {dag_id}")


def boot() -> AirflowServer:
    """Install (cached), start on a free loopback port, wait until healthy, load KNOWN_RUNS."""
    started = time.monotonic()
    venv = peer_venv("airflow", PEER_REQUIREMENTS["airflow"])
    installed = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="sb-airflow-"))
    shutil.copytree(ASSETS, home / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = PeerProcess(
        "airflow",
        [str(venv_bin(venv, "airflow")), "standalone"],
        env={
            "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            # Task processes report to the API server; its default URL assumes port 8080.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        },
        cwd=home,
        health_url=f"{url}/api/v2/monitor/health",
        ready_timeout=240,
    )
    process.start()
    try:
        process.wait_ready()
        ready = time.monotonic()
        passwords = home / "simple_auth_manager_passwords.json.generated"
        _wait("the generated admin password", 60, passwords.exists)
        password = json.loads(passwords.read_text())["admin"]
        loaded_after = time.time()
        load_known_runs(url, "admin", password)
    except BaseException as exc:
        tail = process.log_tail(40)
        process.stop()
        shutil.rmtree(home, ignore_errors=True)
        if isinstance(exc, PeerError | httpx.HTTPError | OSError | KeyError | ValueError):
            # The peer misbehaved while being loaded: say so with its own last words.
            detail = str(exc) if "log lines" in str(exc) else f"{exc!r}\nlast log lines:\n{tail}"
            raise PeerError(f"Airflow start/load failed: {detail}") from exc
        raise
    done = time.monotonic()
    return AirflowServer(
        url=url,
        username="admin",
        password=password,
        process=process,
        home=home,
        venv=venv,
        loaded_after=loaded_after,
        install_seconds=round(installed - started, 1),
        ready_seconds=round(ready - installed, 1),
        load_seconds=round(done - ready, 1),
    )


# -- background boot (see runtime.BackgroundBoot), shared by the fixture and the session hooks --
_peer = BackgroundBoot("airflow", FIXTURE, boot, BOOT_TIMEOUT)
pytest_collection_finish = _peer.collection_finish
pytest_sessionfinish = _peer.session_finish
pytest_terminal_summary = _peer.terminal_summary


@pytest.fixture(scope="session")
def airflow_server() -> Iterator[AirflowServer]:
    yield _peer.server()


# -- captured responses for the parsing unit tests ---------------------------------------------
def capture_responses(server: AirflowServer, out_dir: Path) -> list[Path]:
    """Save real answers as airflow_*.json; local paths become $AIRFLOW_HOME and $VENV."""
    headers = {"Authorization": f"Bearer {server.token()}"}
    base = "/dags/nightly_orders/dagRuns/sb_nightly_fail"
    with httpx.Client(base_url=f"{server.url}/api/v2", headers=headers, timeout=30) as api:
        captured = {
            "dags": api.get("/dags", params={"limit": 100, "order_by": "dag_id"}),
            "dag_runs_nightly_orders": api.get(
                "/dags/nightly_orders/dagRuns", params={"order_by": "-run_after", "limit": 20}
            ),
            "dag_runs_all": api.get(
                "/dags/~/dagRuns", params={"order_by": "-start_date", "limit": 100}
            ),
            "task_instances_failed_run": api.get(f"{base}/taskInstances", params={"limit": 100}),
            "task_log_failed": api.get(
                f"{base}/taskInstances/load_to_warehouse/logs/1",
                params={"full_content": "true"},
                headers={"Accept": "application/json"},
            ),
            "health": api.get("/monitor/health"),
        }
    bodies = {name: _check(response, name) for name, response in captured.items()}
    return write_captured(
        out_dir,
        "airflow",
        bodies,
        replace={str(server.home): "$AIRFLOW_HOME", str(server.venv): "$VENV"},
    )


if __name__ == "__main__":
    if sys.argv[1:2] != ["--capture"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.peers.airflow --capture OUT_DIR")
    peer = boot()
    try:
        for written in capture_responses(peer, Path(sys.argv[2])):
            print(written)
    finally:
        peer.stop()
