"""A real Airflow 3 (`airflow standalone`) loaded with known DAGs and runs, one per test session.

Session fixture `airflow_server` -> AirflowServer. The DAG files (assets/airflow_dags/) are in
place before start; the runs in KNOWN_RUNS are triggered through `POST /api/v2/dags/{id}/dagRuns`
after unpausing their DAGs, and awaited. churn_features is paused again afterwards so a paused
DAG is part of what the tests see.

    python -m tests.peers.airflow --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.peers.plugin import BootedPeer, capture_main, session_peer, start_and_load
from tests.peers.runtime import (
    LOAD_TIMEOUT,
    PeerError,
    PeerProcess,
    checked,
    free_port,
    installed,
    poll_until,
    venv_bin,
)

ASSETS = Path(__file__).parent / "assets" / "airflow_dags"


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


@dataclass(kw_only=True)
class AirflowServer(BootedPeer):
    url: str
    username: str
    password: str
    venv: Path

    def token(self) -> str:
        return get_token(self.url, self.username, self.password)


def get_token(url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{url}/auth/token", json={"username": username, "password": password}, timeout=LOAD_TIMEOUT
    )
    if not response.is_success:
        raise PeerError(f"Airflow /auth/token -> {response.status_code} {response.text[:200]}")
    return str(response.json()["access_token"])


def load_known_runs(url: str, username: str, password: str) -> None:
    """Unpause, trigger KNOWN_RUNS, wait until each finished in its expected state."""
    headers = {"Authorization": f"Bearer {get_token(url, username, password)}"}
    with httpx.Client(base_url=f"{url}/api/v2", headers=headers, timeout=LOAD_TIMEOUT) as api:

        def parsed() -> bool:
            dags = checked(api.get("/dags", params={"limit": 100}), "Airflow GET /dags")["dags"]
            return set(KNOWN_DAGS) <= {d["dag_id"] for d in dags}

        poll_until("Airflow: parsing the DAG files", 180, parsed)
        for dag_id in KNOWN_DAGS:
            checked(
                api.patch(f"/dags/{dag_id}", json={"is_paused": False}),
                f"Airflow: unpause {dag_id}",
            )
        for run in KNOWN_RUNS:
            body = {"dag_run_id": run.run_id, "logical_date": None, "conf": run.conf}
            checked(
                api.post(f"/dags/{run.dag_id}/dagRuns", json=body), f"Airflow: trigger {run.run_id}"
            )

        def finished() -> dict[str, str] | None:
            answer = checked(
                api.get("/dags/~/dagRuns", params={"limit": 100}), "Airflow: list runs"
            )
            states = {r["dag_run_id"]: r["state"] for r in answer["dag_runs"]}
            if all(states.get(r.run_id) in ("success", "failed") for r in KNOWN_RUNS):
                return states
            return None

        states = poll_until("Airflow: the known runs", 240, finished)
        wrong = {r.run_id: states[r.run_id] for r in KNOWN_RUNS if states[r.run_id] != r.state}
        if wrong:
            raise PeerError(f"Airflow runs ended in unexpected states: {wrong}")
        for dag_id in PAUSED_AFTER_LOAD:
            checked(
                api.patch(f"/dags/{dag_id}", json={"is_paused": True}), f"Airflow: pause {dag_id}"
            )


def boot(home: Path) -> AirflowServer:
    """Install (cached), start on a free loopback port, wait until healthy, load KNOWN_RUNS."""
    venv, installing = installed("airflow")
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

    def load() -> dict[str, Any]:
        passwords = home / "simple_auth_manager_passwords.json.generated"
        poll_until("Airflow: the generated admin password", 60, passwords.exists)
        password = str(json.loads(passwords.read_text())["admin"])
        load_known_runs(url, "admin", password)
        return {"password": password}

    loaded = start_and_load("Airflow", process, load, install_seconds=installing)
    return AirflowServer(url=url, username="admin", venv=venv, **loaded)


airflow_server = session_peer("airflow_server", "airflow", boot)


# -- captured responses for the parsing unit tests ---------------------------------------------
def capture_responses(server: AirflowServer) -> dict[str, object]:
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
    bodies = {name: checked(response, name) for name, response in captured.items()}
    return bodies


if __name__ == "__main__":
    capture_main("airflow", boot, capture_responses, home_as="$AIRFLOW_HOME")
