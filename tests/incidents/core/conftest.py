"""Incident fixtures: ops.example.yml, a movable epoch clock, the service on the test database,
and a fake Slack with an outbox sender that delivers what the service queued."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.incidents.service import IncidentService
from bot.ops_config import OpsConfig, load_ops_config
from bot.outbox import Outbox, OutboxSender
from tests.e2e.conftest import demo_app  # noqa: F401  (the whole app, for test_app.py)
from tests.fakeslack import FakeSlack

EXAMPLE = Path(__file__).resolve().parents[3] / "ops.example.yml"
START = 1_790_000_000.0  # 2026-09-21, any fixed moment
TOKEN = "xoxb-incidents-test"

# People and channels of ops.example.yml
ADMIN = "U0ADMIN01"
DATA_CHANNEL, ML_CHANNEL = "C0123DATA", "C0123MLPLAT"
ANNA, FARID, JONAS = "U0DE0ANNA", "U0ML0FARID", "U0AN0JONAS"


@dataclass
class EpochClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def example_config() -> OpsConfig:
    return load_ops_config(EXAMPLE)


@pytest.fixture
def clock() -> EpochClock:
    return EpochClock()


@pytest.fixture
def service(db_engine: Engine, example_config: OpsConfig, clock: EpochClock) -> IncidentService:
    return IncidentService(
        engine=db_engine, config=example_config, outbox=Outbox(db_engine), clock=clock
    )


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def sender(db_engine: Engine, slack: FakeSlack) -> AsyncIterator[OutboxSender]:
    made = OutboxSender(
        db_engine,
        base_url=slack.api_url,
        token=TOKEN,
        replica_id="incidents-test",
        channel_pace=0.0,
        lease_seconds=5.0,
        timeout=2.0,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    yield made
    await made.aclose()


async def deliver(sender: OutboxSender) -> int:
    """Send everything queued (parents before their replies and updates)."""
    total = 0
    for _ in range(50):
        sent = await sender.drain_once()
        total += sent
        if not sent:
            return total
    return total


def slack_calls(slack: FakeSlack) -> dict[str, list[dict[str, Any]]]:
    calls: dict[str, list[dict[str, Any]]] = {}
    for call in slack.calls:
        if call.ok:
            calls.setdefault(call.method, []).append(call.params)
    return calls
