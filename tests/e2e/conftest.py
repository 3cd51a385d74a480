"""The running app over real HTTP: uvicorn on a loopback port, talking to the fake Slack server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bot.app import create_app
from bot.settings import Settings
from tests.fakeslack import FakeSlack, SlackSigner
from tests.peers.runtime import free_port

SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"


@dataclass
class RunningApp:
    url: str
    app: FastAPI
    slack: FakeSlack
    signer: SlackSigner
    settings: Settings


class ThreadedServer:
    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def app_settings(slack: FakeSlack, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        slack_bot_token="xoxb-e2e-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=db_url,
        switchboard_outbox_interval=0.2,
        switchboard_channel_pace=0.05,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def running_app(slack: FakeSlack, tmp_path) -> Iterator[RunningApp]:
    """The whole app on SQLite (the PostgreSQL variants use `running_app_on`)."""
    yield from _run(slack, f"sqlite:///{tmp_path / 'e2e.db'}")


@pytest.fixture
def running_app_on(slack: FakeSlack, db_url: str) -> Iterator[RunningApp]:
    """The whole app, once on SQLite and once on PostgreSQL."""
    yield from _run(slack, db_url)


# The moment the demo company is seen at in answer tests: its data is deterministic for it.
DEMO_NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo_app(slack: FakeSlack, tmp_path) -> Iterator[RunningApp]:
    """The whole app with ops.example.yml and the demo company as of DEMO_NOW (SQLite)."""
    yield from _run(
        slack, f"sqlite:///{tmp_path / 'e2e.db'}", config=Path("ops.example.yml"), now=DEMO_NOW
    )


@pytest.fixture
def demo_app_on(slack: FakeSlack, db_url: str) -> Iterator[RunningApp]:
    """As demo_app, once on SQLite and once on PostgreSQL."""
    yield from _run(slack, db_url, config=Path("ops.example.yml"), now=DEMO_NOW)


def _run(
    slack: FakeSlack, db_url: str, *, config: Path | None = None, now: datetime | None = None
) -> Iterator[RunningApp]:
    settings = app_settings(slack, db_url)
    if config is not None:
        settings = settings.model_copy(update={"switchboard_config": config})
    app = create_app(settings, now=now)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ThreadedServer(app, port):
        yield RunningApp(
            url=url,
            app=app,
            slack=slack,
            signer=SlackSigner(SIGNING_SECRET, url),
            settings=settings,
        )


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5)
