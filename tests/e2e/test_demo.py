"""`switchboard demo` wiring: the sandbox sends signed /ops requests through the real app path."""

from __future__ import annotations

import httpx

from bot.sandbox.run import build_demo_app
from tests.e2e.conftest import ThreadedServer, free_port


def test_sandbox_command_goes_through_signed_slack_events(tmp_path):
    port = free_port()
    app = build_demo_app(port=port, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    with ThreadedServer(app, port):
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(base + "/sandbox", timeout=10)
        assert page.status_code == 200 and "Switchboard sandbox" in page.text
        answer = httpx.post(base + "/sandbox/command", data={"text": "/ops help"}, timeout=10)
        assert answer.status_code == 200
        assert "Switchboard: /ops commands" in answer.text
        assert "/ops budget-increase TEAM AMOUNT" in answer.text
        # an unsigned request to the same app is still refused: the sandbox signs like Slack does
        unsigned = httpx.post(
            base + "/slack/events", data={"command": "/ops", "text": "help"}, timeout=10
        )
        assert unsigned.status_code == 401
        assert httpx.get(base + "/readyz", timeout=10).json()["ready"] is True
