"""Accepted means committed: the app answers an Alertmanager delivery 200, is killed (SIGKILL)
before it could post anything, and the root is posted by the restarted app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.fakeslack import FakeSlack
from tests.peers.runtime import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
TOKEN = "am-token-restart"


def start_app(db_url: str, slack_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack_url,
        "SLACK_BOT_TOKEN": "xoxb-restart",
        "SLACK_SIGNING_SECRET": "restart-signing",
        "SWITCHBOARD_CONFIG": str(REPO / "ops.example.yml"),
        "SWITCHBOARD_OUTBOX_INTERVAL": "0.2",
        "ALERTMANAGER_WEBHOOK_TOKEN": TOKEN,
        "PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    args = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert process.poll() is None, "the app exited"
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the app did not start")


def test_an_accepted_alert_is_posted_after_a_kill_and_restart(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'restart.db'}"
    port = free_port()
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # Slack unreachable: nothing can be posted
    first = start_app(db_url, nowhere, port)
    try:
        alert = {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "team": "analytics"},
            "annotations": {"summary": "disk full on warehouse-1"},
            "startsAt": "2026-12-03T10:00:00Z",
            "fingerprint": "restart-1",
        }
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/alertmanager",
            json={"version": "4", "groupKey": "g", "alerts": [alert]},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 200 and len(answer.json()["opened"]) == 1
    finally:
        first.kill()
        first.wait(timeout=10)
    with FakeSlack() as slack:
        second = start_app(db_url, slack.api_url, port)
        try:
            assert wait_until(
                lambda: any(
                    "disk full on warehouse-1" in c.params.get("text", "")
                    for c in slack.calls_to("chat.postMessage")
                ),
                timeout=60,
            )
            roots = [
                c
                for c in slack.calls_to("chat.postMessage")
                if c.params["channel"] == "C0123ANALYT"
            ]
            assert len(roots) == 1
        finally:
            second.terminate()
            second.wait(timeout=20)
