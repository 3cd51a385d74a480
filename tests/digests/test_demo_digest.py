"""`switchboard demo` posts a digest of its own every two minutes, and the sandbox's "Run a digest
now" control posts any digest at once; both land in the sandbox's channels."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.ops_config import load_ops_config
from bot.sandbox.demo_digest import DEMO_DIGEST, demo_config
from bot.sandbox.run import build_demo_app
from tests.peers.runtime import free_port


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, object]]:
    config = demo_config(Path("ops.example.yml"), tmp_path)
    port = free_port()
    app = build_demo_app(
        port=port, database_url=f"sqlite:///{tmp_path / 'demo.db'}", config_path=config
    )
    app.state.services.sources.timeout = 60
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the demo did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(30)


def _posts(app, channel: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in app.state.sandbox.messages(channel) if m.get("blocks")]


def _wait(predicate, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_demo_config_adds_a_two_minute_digest_to_the_sample(tmp_path):
    config = load_ops_config(demo_config(Path("ops.example.yml"), tmp_path))
    sample = load_ops_config(Path("ops.example.yml"))
    assert [d.name for d in config.digests] == [d.name for d in sample.digests] + ["demo-pulse"]
    pulse = config.digests[-1]
    assert pulse.schedule == "*/2 * * * *" and pulse.channel == DEMO_DIGEST["channel"]


def test_the_demo_posts_its_digest_on_schedule_and_the_sandbox_shows_it(demo):
    url, app = demo
    # Started within two minutes of a slot: the catch-up posts that slot at once.
    assert _wait(lambda: bool(_posts(app, "C0DEMOPULSE")))
    (post,) = _posts(app, "C0DEMOPULSE")
    assert "demo-pulse" in str(post["blocks"])
    assert "Late by" not in str(post["blocks"])  # a slot that just passed is not late
    seen = httpx.get(f"{url}/sandbox/state", params={"user": "U0ADMIN01"}, timeout=30)
    seen.raise_for_status()
    assert "demo-pulse" in str(seen.json()["messages"]["C0DEMOPULSE"])


def test_run_a_digest_now_control_posts_it_and_names_the_known_ones_when_asked_wrong(demo):
    url, app = demo
    ran = httpx.post(
        f"{url}/sandbox/controls/run-digest",
        json={"user": "U0ML0EVA", "values": {"digest": "ml-daily"}},
        timeout=60,
    )
    assert ran.json()["ok"] and "Posting ml-daily" in ran.json()["said"], ran.json()
    assert _wait(lambda: bool(_posts(app, "C0123MLPLAT")))
    assert "ml-daily" in str(_posts(app, "C0123MLPLAT")[0]["blocks"])
    wrong = httpx.post(
        f"{url}/sandbox/controls/run-digest",
        json={"user": "U0ML0EVA", "values": {"digest": "payroll"}},
        timeout=30,
    )
    assert wrong.status_code == 400 and "demo-pulse" in wrong.json()["error"]
