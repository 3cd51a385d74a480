"""Real Prometheus scraping a known model exporter, and a real Alertmanager, as session fixtures.

`prometheus_server` -> PrometheusServer(url=..., exporter_url=...), ready once the first scrapes
give data for every model in PROFILES (so rate() and histogram_quantile() have two samples).
`alertmanager_server` -> AlertmanagerServer(url=...), started and ready-checked only.
Binaries come from the Debian packages (`.ci/provision-peers` installs them).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.peers.model_exporter import PROFILES
from tests.peers.runtime import PeerError, PeerProcess, free_port, unavailable, write_captured

EXPORTER = Path(__file__).with_name("model_exporter.py")
SCRAPE_INTERVAL = "1s"
READY_QUERY = (
    "count(histogram_quantile(0.95, sum by (model, le) "
    "(rate(model_request_latency_seconds_bucket[5m]))) >= 0)"
)


@dataclass
class PrometheusServer:
    url: str
    exporter_url: str
    prometheus: PeerProcess
    exporter: PeerProcess
    first_data_seconds: float = 0.0


@dataclass
class AlertmanagerServer:
    url: str
    process: PeerProcess


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PeerError(f"`{name}` is not installed: run .ci/provision-peers (as root)")
    return path


def start_exporter() -> tuple[PeerProcess, int]:
    port = free_port()
    process = PeerProcess(
        "model-exporter",
        [sys.executable, str(EXPORTER), "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/metrics",
        ready_timeout=20,
    )
    process.start()
    try:
        return process.wait_ready(), port
    except BaseException:
        process.stop()
        raise


def write_prometheus_config(
    path: Path,
    *,
    targets: list[str],
    alertmanager: str | None = None,
    rule_files: list[Path] | None = None,
) -> Path:
    lines = [
        "global:",
        f"  scrape_interval: {SCRAPE_INTERVAL}",
        f"  evaluation_interval: {SCRAPE_INTERVAL}",
        "scrape_configs:",
        "  - job_name: models",
        "    static_configs:",
        f"      - targets: [{', '.join(repr(t) for t in targets)}]",
    ]
    if rule_files:
        lines += ["rule_files:", *(f"  - '{f}'" for f in rule_files)]
    if alertmanager:
        lines += [
            "alerting:",
            "  alertmanagers:",
            "    - static_configs:",
            f"        - targets: ['{alertmanager}']",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_for_first_data(url: str, *, expected_series: int, timeout: float = 45.0) -> float:
    """Poll until p95 is computable for every model (first scrapes done); seconds waited."""
    started = time.monotonic()
    last = "no answer"
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - started < timeout:
            try:
                body = client.get(f"{url}/api/v1/query", params={"query": READY_QUERY}).json()
                result = body.get("data", {}).get("result", [])
                count = int(float(result[0]["value"][1])) if result else 0
                if count >= expected_series:
                    return round(time.monotonic() - started, 2)
                last = f"{count}/{expected_series} models have data"
            except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
    raise PeerError(f"Prometheus at {url} had no exporter data after {timeout:g}s ({last})")


def start_prometheus(data_dir: Path) -> PrometheusServer:
    binary = _binary("prometheus")
    exporter, exporter_port = start_exporter()
    exporter_target = f"127.0.0.1:{exporter_port}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_prometheus_config(data_dir / "prometheus.yml", targets=[exporter_target])
    process = PeerProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={data_dir / 'tsdb'}",
        ],
        cwd=data_dir,
        health_url=f"{url}/-/ready",
        ready_timeout=30,
    )
    process.start()
    try:
        process.wait_ready()
        waited = wait_for_first_data(url, expected_series=len(PROFILES))
    except BaseException:
        process.stop()
        exporter.stop()
        raise
    return PrometheusServer(
        url=url,
        exporter_url=f"http://{exporter_target}",
        prometheus=process,
        exporter=exporter,
        first_data_seconds=waited,
    )


def start_alertmanager(
    data_dir: Path, *, webhook_url: str = "http://127.0.0.1:9/alerts"
) -> AlertmanagerServer:
    binary = _binary("prometheus-alertmanager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = data_dir / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: switchboard\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: switchboard\n"
        "    webhook_configs:\n"
        f"      - url: '{webhook_url}'\n"
        "        send_resolved: true\n"
    )
    process = PeerProcess(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        cwd=data_dir,
        health_url=f"{url}/-/ready",
        ready_timeout=30,
    )
    process.start()
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return AlertmanagerServer(url=url, process=process)


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    try:
        server = start_prometheus(tmp_path_factory.mktemp("prometheus"))
    except PeerError as exc:
        unavailable(f"Prometheus peer unavailable: {exc}")
    try:
        yield server
    finally:
        server.prometheus.stop()
        server.exporter.stop()


@pytest.fixture(scope="session")
def alertmanager_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerServer]:
    try:
        server = start_alertmanager(tmp_path_factory.mktemp("alertmanager"))
    except PeerError as exc:
        unavailable(f"Alertmanager peer unavailable: {exc}")
    try:
        yield server
    finally:
        server.process.stop()


def capture_responses(url: str, out_dir: Path) -> list[Path]:
    """Save real API answers as tests/fixtures/captured/prometheus_*.json for parsing tests."""

    from integrations.prometheus import DEFAULT_QUERIES, render_query

    def query(promql: str) -> dict:
        return client.get(f"{url}/api/v1/query", params={"query": promql}).json()

    with httpx.Client(timeout=30) as client:
        captured: dict[str, object] = {
            f"query_{metric}_recs": query(render_query(template, "recs"))
            for metric, template in DEFAULT_QUERIES.items()
        }
        captured["query_empty"] = query(render_query(DEFAULT_QUERIES["drift"], "ghost"))
        # fraud never fails, so errors/errors is 0/0: the NaN Prometheus returns for no traffic
        captured["query_nan"] = query(
            'sum(rate(model_request_errors_total{model="fraud"}[5m])) '
            '/ sum(rate(model_request_errors_total{model="fraud"}[5m]))'
        )
        captured["query_by_instance"] = query("model_drift_score")
        bad = client.get(f"{url}/api/v1/query", params={"query": "sum(rate(x[5m]"})
        captured["error_bad_query"] = {"status": bad.status_code, "body": bad.json()}
        now = time.time()
        captured["query_range_latency_p95_churn"] = client.get(
            f"{url}/api/v1/query_range",
            params={
                "query": render_query(DEFAULT_QUERIES["latency_p95"], "churn"),
                "start": f"{now - 6:.3f}",
                "end": f"{now:.3f}",
                "step": "2",
            },
        ).json()
        captured["buildinfo"] = client.get(f"{url}/api/v1/status/buildinfo").json()
    return write_captured(out_dir, "prometheus", captured)


if __name__ == "__main__":
    import tempfile

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/captured")
    live = start_prometheus(Path(tempfile.mkdtemp(prefix="prometheus-capture-")))
    try:
        time.sleep(3)  # a few more scrapes so the range answer has several points
        for written in capture_responses(live.url, target):
            print(written)
    finally:
        live.prometheus.stop()
        live.exporter.stop()
