"""A real Dagster (`dagster dev`) loaded with known jobs and runs, one per test session.

Session fixture `dagster_server` -> DagsterServer. assets/dagster_defs.py is served as `defs.py`;
the KNOWN_RUNS are launched through GraphQL `launchRun` and awaited. Dagster ignores SIGTERM to
its process group, so PeerProcess.stop() kills every process it started.

    python -m tests.peers.dagster --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

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
    free_port,
    installed,
    poll_until,
    venv_bin,
)

DEFS = Path(__file__).parent / "assets" / "dagster_defs.py"
LOCATION = "defs.py"
REPOSITORY = "__repository__"

# name -> (job, run config, expected status, failing step)
KNOWN_RUNS: dict[str, tuple[str, dict[str, Any], str, str | None]] = {
    "nightly_ok": (
        "nightly_orders",
        {"ops": {"load_to_warehouse": {"config": {"fail": False}}}},
        "SUCCESS",
        None,
    ),
    "nightly_fail": ("nightly_orders", {}, "FAILURE", "load_to_warehouse"),
    "churn_ok": ("churn_features", {}, "SUCCESS", None),
}
LAUNCH = """
mutation Launch($location: String!, $repository: String!, $job: String!,
                $config: RunConfigData) {
  launchRun(executionParams: {
    selector: {repositoryLocationName: $location, repositoryName: $repository, jobName: $job},
    runConfigData: $config}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
JOBS = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { jobs { name } } } } }"""
STATUSES = """
query Statuses($ids: [String!]) {
  runsOrError(filter: {runIds: $ids}) { __typename ... on Runs { results { runId status } } }
}"""
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
# Launch runs straight away instead of queueing them for the daemon's next poll.
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


@dataclass(kw_only=True)
class DagsterServer(BootedPeer):
    graphql_url: str
    venv: Path
    run_ids: dict[str, str] = field(default_factory=dict)  # KNOWN_RUNS key -> run id


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, timeout=LOAD_TIMEOUT
    )
    if not response.is_success or response.json().get("errors"):
        raise PeerError(f"Dagster GraphQL -> {response.status_code} {response.text[:300]}")
    return dict(response.json()["data"])


def load_known_runs(url: str) -> dict[str, str]:
    """Wait for the code location, launch KNOWN_RUNS, wait until each ended as expected."""

    def jobs_loaded() -> bool:
        answer = graphql(url, JOBS)["repositoriesOrError"]
        names = {j["name"] for n in answer.get("nodes", []) for j in n["jobs"]}
        return {"nightly_orders", "churn_features"} <= names

    poll_until("Dagster: loading defs.py", 120, jobs_loaded)
    run_ids = {}
    for key, (job, config, _status, _step) in KNOWN_RUNS.items():
        variables = {"location": LOCATION, "repository": REPOSITORY, "job": job, "config": config}
        launched = graphql(url, LAUNCH, variables)["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise PeerError(f"Dagster launchRun {key}: {launched}")
        run_ids[key] = launched["run"]["runId"]

    def finished() -> dict[str, str] | None:
        answer = graphql(url, STATUSES, {"ids": list(run_ids.values())})["runsOrError"]
        statuses = {r["runId"]: r["status"] for r in answer["results"]}
        return statuses if all(statuses.get(i) in TERMINAL for i in run_ids.values()) else None

    statuses = poll_until("Dagster: the known runs", 240, finished)
    wrong = {k: statuses[i] for k, i in run_ids.items() if statuses[i] != KNOWN_RUNS[k][2]}
    if wrong:
        raise PeerError(f"Dagster runs ended in unexpected states: {wrong}")
    return run_ids


def boot(home: Path) -> DagsterServer:
    """Install (cached), start `dagster dev` on a free loopback port, load KNOWN_RUNS."""
    venv, installing = installed("dagster")
    (home / "dagster_home").mkdir()
    (home / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)
    shutil.copy(DEFS, home / LOCATION)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = PeerProcess(
        "dagster",
        [str(venv_bin(venv, "dagster")), "dev", "-f", LOCATION, "-h", "127.0.0.1", "-p", str(port)],
        env={"DAGSTER_HOME": str(home / "dagster_home")},
        cwd=home,
        health_url=f"{base}/server_info",
        ready_timeout=180,
    )

    loaded = start_and_load(
        "Dagster",
        process,
        lambda: {"run_ids": load_known_runs(f"{base}/graphql")},
        install_seconds=installing,
    )
    return DagsterServer(graphql_url=f"{base}/graphql", venv=venv, **loaded)


dagster_server = session_peer("dagster_server", "dagster", boot)


# -- captured responses for the parsing unit tests ---------------------------------------------
def capture_responses(server: DagsterServer) -> dict[str, object]:
    """Save real GraphQL answers (the adapter's own queries) as dagster_*.json."""
    from integrations import dagster as adapter

    url = server.graphql_url
    failed = server.run_ids["nightly_fail"]
    captured = {
        "repositories": graphql(url, adapter.REPOSITORIES),
        "runs": graphql(url, adapter.RUNS, {"filter": {}, "limit": 20}),
        "step_failures": graphql(url, adapter.STEP_FAILURES, {"runId": failed, "limit": 1000}),
        "version": graphql(url, adapter.VERSION),
        "runs_bad_filter": httpx.post(
            url, json={"query": "{ runsOrError(filter: {statuses: [NOPE]}) { __typename } }"}
        ).json(),
    }
    bodies = {
        name: body if name == "runs_bad_filter" else {"data": body}
        for name, body in captured.items()
    }
    return bodies


if __name__ == "__main__":
    capture_main("dagster", boot, capture_responses, home_as="$DAGSTER_DIR")
