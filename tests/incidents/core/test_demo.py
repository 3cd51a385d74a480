"""The demo company's cascade is one thread, and the sandbox's "Fire an alert" sends a real signed
generic webhook to the running app."""

from __future__ import annotations

import json

import pytest

from bot.incidents.demo import fire_demo_cascade
from bot.sandbox.controls import ControlContext, ControlError, SandboxClock, registered
from tests.e2e.conftest import RunningApp, wait_until
from tests.incidents.core.conftest import DATA_CHANNEL, deliver, slack_calls


async def test_demo_cascade_is_one_thread_saying_what_caused_it(service, sender, slack, demo_deps):
    results = await fire_demo_cascade(service, demo_deps)
    assert [len(r.opened) for r in results] == [1, 1, 1]  # all three found in the demo's data
    await deliver(sender)
    posts = slack_calls(slack)["chat.postMessage"]
    assert [p["channel"] for p in posts] == [DATA_CHANNEL] * 3
    assert [bool(p.get("thread_ts")) for p in posts] == [False, True, True]
    said = json.dumps(posts[1:])
    assert said.count("Probably caused by *nightly_orders failing") == 2
    again = await fire_demo_cascade(service, demo_deps)
    assert [(r.opened, r.updated) for r in again] == [([], [])] * 3  # a restart changes nothing


async def test_fire_an_alert_control_posts_a_signed_webhook(demo_app: RunningApp, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_GENERIC_SANDBOX_SECRET", "sandbox-secret-1")
    [control] = [c for c in registered() if c.name == "fire-alert"]
    ctx = ControlContext(
        app=demo_app.app,
        app_url=demo_app.url,
        settings=demo_app.settings,
        slack=demo_app.slack,  # type: ignore[arg-type]
        clock=SandboxClock(),
        user="U0ML0EVA",
    )
    told = await control.run(
        ctx, {"title": "Disk full", "team": "analytics", "severity": "critical"}
    )
    assert told.startswith("Incident #") and "opened" in told
    assert wait_until(
        lambda: any(
            c.params.get("channel") == "C0123ANALYT" and "Disk full" in c.params.get("text", "")
            for c in demo_app.slack.calls_to("chat.postMessage")
        )
    )
    monkeypatch.delenv("SWITCHBOARD_GENERIC_SANDBOX_SECRET")
    with pytest.raises(ControlError, match="not set"):
        await control.run(ctx, {})
