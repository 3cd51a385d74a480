"""`switchboard demo` wiring: the sandbox sends signed /ops requests through the real app path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from bot.sandbox.run import build_demo_app
from tests.e2e.conftest import ThreadedServer, free_port


def test_sandbox_command_goes_through_signed_slack_events(tmp_path):
    port = free_port()
    app = build_demo_app(
        port=port,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        config_path=Path("ops.example.yml"),
    )
    with ThreadedServer(app, port):
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(base + "/sandbox", timeout=10)
        assert page.status_code == 200 and "Switchboard sandbox" in page.text
        answer = httpx.post(
            base + "/sandbox/send",
            json={"user": "U0ML0EVA", "channel": "C0123MLPLAT", "text": "/ops help"},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["ok"]
        deadline = time.monotonic() + 30  # the ack carries help at once; this is a safety net
        shown = ""
        while "Switchboard: /ops commands" not in shown and time.monotonic() < deadline:
            state = httpx.get(base + "/sandbox/state", params={"user": "U0ML0EVA"}, timeout=10)
            shown = json.dumps(state.json()["messages"]["C0123MLPLAT"])
        assert "Switchboard: /ops commands" in shown
        assert "/ops budget-increase TEAM AMOUNT" in shown
        # an unsigned request to the same app is still refused: the sandbox signs like Slack does
        unsigned = httpx.post(
            base + "/slack/events", data={"command": "/ops", "text": "help"}, timeout=10
        )
        assert unsigned.status_code == 401
        assert httpx.get(base + "/readyz", timeout=10).json()["ready"] is True


def test_demo_app_loads_ops_config_sources_and_budgets(tmp_path):
    import asyncio

    app = build_demo_app(
        port=free_port(),
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        config_path=Path("ops.example.yml"),
    )
    services = app.state.services
    assert set(services.ops_config.teams) >= {"data-eng", "ml-platform", "analytics"}
    from bot.store.db import upgrade

    upgrade(f"sqlite:///{tmp_path / 'demo.db'}")

    async def read():  # type: ignore[no-untyped-def]
        return await services.sources.all_pipelines(), await services.budgets.budgets()

    pipelines, budgets = asyncio.run(read())
    assert not pipelines.partial and len(pipelines.value) == 41
    assert {b.team for b in budgets} == {"data-eng", "ml-platform", "analytics"}
