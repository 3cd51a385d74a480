"""Real Prometheus scraping a known model exporter, and a real Alertmanager, as session fixtures.

`prometheus_server` -> PrometheusServer(url=..., exporter_url=...), ready once the first scrapes
give data for every model in PROFILES (so rate() and histogram_quantile() have two samples).
`alertmanager_server` -> AlertmanagerServer(url=...), started and ready-checked only.
Binaries come from the Debian packages (`.ci/provision-peers` installs them).

    python -m tests.peers.prometheus --capture tests/fixtures/captured   # refresh captured JSON
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.peers.model_exporter import PROFILES
from tests.peers.plugin import BootedPeer, capture_main, session_peer, start_and_load
from tests.peers.runtime import PeerError, PeerProcess, free_port

EXPORTER = Path(__file__).with_name("model_exporter.py")
SCRAPE_INTERVAL = "1s"
READY_QUERY = (
    "count(histogram_quantile(0.95, sum by (model, le) "
    "(rate(model_request_latency_seconds_bucket[5m]))) >= 0)"
)


@dataclass(kw_only=True)
class PrometheusServer(BootedPeer):
    url: str
    exporter_url: str


@dataclass(kw_only=True)
class AlertmanagerServer(BootedPeer):
    url: str

    @property
    def process(self) -> PeerProcess:
        return self.processes[0]


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
    start_and_load("model exporter", process)
    return process, port


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


def start_prometheus(home: Path) -> PrometheusServer:
    """The model exporter, then Prometheus scraping it, ready once every model has data."""
    binary = _binary("prometheus")
    exporter, exporter_port = start_exporter()
    exporter_target = f"127.0.0.1:{exporter_port}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_prometheus_config(home / "prometheus.yml", targets=[exporter_target])
    process = PeerProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={home / 'tsdb'}",
        ],
        cwd=home,
        health_url=f"{url}/-/ready",
        ready_timeout=30,
    )
    loaded = start_and_load(
        "Prometheus",
        process,
        lambda: {"load_seconds": wait_for_first_data(url, expected_series=len(PROFILES))},
        started=[exporter],
    )
    return PrometheusServer(url=url, exporter_url=f"http://{exporter_target}", **loaded)


def start_alertmanager(
    home: Path, *, webhook_url: str = "http://127.0.0.1:9/alerts"
) -> AlertmanagerServer:
    binary = _binary("prometheus-alertmanager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = home / "alertmanager.yml"
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
            f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        cwd=home,
        health_url=f"{url}/-/ready",
        ready_timeout=30,
    )
    return AlertmanagerServer(url=url, **start_and_load("Alertmanager", process))


prometheus_server = session_peer("prometheus_server", "prometheus", start_prometheus)
alertmanager_server = session_peer("alertmanager_server", "alertmanager", start_alertmanager)


def capture_responses(server: PrometheusServer) -> dict[str, object]:
    """Save real API answers as tests/fixtures/captured/prometheus_*.json for parsing tests."""
    time.sleep(3)  # a few more scrapes so the range answer has several points
    url = server.url

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
    return captured


if __name__ == "__main__":
    capture_main("prometheus", start_prometheus, capture_responses)
