"""A real Prometheus rule fires into a real Alertmanager, which posts its webhook to the running app
with a bearer token: firing opens one thread, resolving resolves it with its duration, a re-fire
reopens the same thread, and the Silence menu creates a real silence in Alertmanager's API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from tests.e2e.conftest import SIGNING_SECRET, ThreadedServer, app_settings, wait_until
from tests.fakeslack import FakeSlack, SlackSigner
from tests.fakeslack import payloads as P
from tests.peers.plugin import start_and_load
from tests.peers.prometheus import _binary, write_prometheus_config
from tests.peers.runtime import PeerProcess, free_port

pytestmark = [pytest.mark.peers, pytest.mark.slow]

TOKEN = "am-bearer-peer-test"
ML_CHANNEL, FARID = "C0123MLPLAT", "U0ML0FARID"
EXAMPLE = Path(__file__).resolve().parents[3] / "ops.example.yml"


class Metric:
    """`switchboard_test_value` served for Prometheus to scrape; the test sets it."""

    def __init__(self) -> None:
        self.value = 1
        metric = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = f"switchboard_test_value {metric.value}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def peers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    metric = Metric()
    am_port, app_port = free_port(), free_port()
    am_url = f"http://127.0.0.1:{am_port}"
    config = tmp_path / "ops.yml"
    config.write_text(
        EXAMPLE.read_text()
        .replace("api_url: http://127.0.0.1:9093", f"api_url: {am_url}")
        .replace("coalesce: 30s", "coalesce: 2s")
    )
    (tmp_path / "am").mkdir()
    am_config = tmp_path / "am" / "alertmanager.yml"
    am_config.write_text(
        "route:\n  receiver: switchboard\n  group_by: [alertname]\n  group_wait: 1s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: switchboard\n    webhook_configs:\n"
        f"      - url: 'http://127.0.0.1:{app_port}/webhooks/alertmanager'\n"
        "        send_resolved: true\n        http_config:\n          authorization:\n"
        f"            type: Bearer\n            credentials: '{TOKEN}'\n"
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: switchboard\n    rules:\n      - alert: ModelLatencyHigh\n"
        "        expr: switchboard_test_value > 0\n"
        "        labels: {severity: critical, model: churn}\n"
        "        annotations: {summary: 'churn p95 latency over 250 ms'}\n"
    )
    prom_port = free_port()
    prom_config = write_prometheus_config(
        tmp_path / "prometheus.yml",
        targets=[f"127.0.0.1:{metric.port}"],
        alertmanager=f"127.0.0.1:{am_port}",
        rule_files=[rules],
    )
    with FakeSlack() as slack:
        slack.users.update({FARID: P.user(FARID, "farid", "Farid")})
        settings = app_settings(slack, f"sqlite:///{tmp_path / 'app.db'}").model_copy(
            update={"switchboard_config": config}
        )
        app = create_app(settings)
        with ThreadedServer(app, app_port):
            am = PeerProcess(
                "alertmanager",
                [
                    _binary("prometheus-alertmanager"),
                    f"--config.file={am_config}",
                    f"--storage.path={tmp_path / 'am' / 'data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                cwd=tmp_path / "am",
                health_url=f"{am_url}/-/ready",
                ready_timeout=30,
            )
            start_and_load("Alertmanager", am)
            prom = PeerProcess(
                "prometheus",
                [
                    _binary("prometheus"),
                    f"--config.file={prom_config}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                ],
                cwd=tmp_path,
                health_url=f"http://127.0.0.1:{prom_port}/-/ready",
                ready_timeout=30,
            )
            try:
                start_and_load("Prometheus", prom)
                yield {
                    "slack": slack,
                    "metric": metric,
                    "am": am_url,
                    "signer": SlackSigner(SIGNING_SECRET, f"http://127.0.0.1:{app_port}"),
                }
            finally:
                prom.stop()
                am.stop()
                metric.server.shutdown()


def roots(slack: FakeSlack) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == ML_CHANNEL and not c.params.get("thread_ts")
    ]


def updates(slack: FakeSlack) -> list[str]:
    return [json.dumps(c.params) for c in slack.calls_to("chat.update")]


async def test_prometheus_alertmanager_to_one_thread_and_a_real_silence(peers):
    slack, metric = peers["slack"], peers["metric"]
    assert wait_until(lambda: len(roots(slack)) == 1, timeout=90)
    root = roots(slack)[0]
    assert "CRITICAL" in root.params["text"] and "churn p95 latency" in root.params["text"]
    metric.value = 0  # the rule stops firing: Prometheus resolves, Alertmanager tells us
    assert wait_until(lambda: any("resolved" in u and "after" in u for u in updates(slack)), 90)

    def replies() -> list[str]:
        return [
            c.params["text"]
            for c in slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == root.response["ts"]
        ]

    assert wait_until(lambda: any("Resolved" in t and "resolved after" in t for t in replies()), 30)
    metric.value = 1  # fires again within the reopen window: the same thread reopens
    assert wait_until(
        lambda: any(
            "Reopened" in c.params.get("text", "") for c in slack.calls_to("chat.postMessage")
        ),
        90,
    )
    assert len(roots(slack)) == 1
    message = {"type": "message", "ts": root.response["ts"], "blocks": root.params["blocks"]}
    clicked = await peers["signer"].block_actions(
        "incident_silence", "1:1", user_id=FARID, channel_id=ML_CHANNEL, message=message
    )
    assert clicked.status_code == 200

    def silences() -> list[dict]:
        found = httpx.get(f"{peers['am']}/api/v2/silences", timeout=5).json()
        return [s for s in found if s["createdBy"] == f"switchboard:{FARID}"]

    assert wait_until(lambda: len(silences()) == 1, 30)
    [silence] = silences()
    assert silence["status"]["state"] == "active"
    assert {
        "name": "alertname",
        "value": "ModelLatencyHigh",
        "isRegex": False,
        "isEqual": True,
    } in silence["matchers"]
    assert wait_until(lambda: any(silence["id"] in u for u in updates(slack)), 30)
