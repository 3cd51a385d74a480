"""Fixtures of the detector tests: the demo company's services, a recording sink, small fake
sources and a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.answers.deps import AnswerDeps, answer_deps
from bot.incidents.alerts import AlertEvent
from bot.ops_config import OpsConfig
from bot.ops_config.loader import load_ops_config
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine, upgrade
from tests.e2e.conftest import DEMO_NOW

EXAMPLE = Path("ops.example.yml")


class RecordingSink:
    """An AlertSink that keeps every batch it was given (and can be told to fail)."""

    def __init__(self) -> None:
        self.batches: list[list[AlertEvent]] = []
        self.fail_next = False

    async def ingest(self, events: Sequence[AlertEvent]) -> object:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the sink is down")
        self.batches.append(list(events))
        return None

    @property
    def events(self) -> list[AlertEvent]:
        return [e for batch in self.batches for e in batch]

    def keys(self, status: str | None = None) -> list[str]:
        return [e.dedup_key for e in self.events if status is None or e.status.value == status]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@dataclass
class Clock:
    """A clock the test moves; no test sleeps."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def example_config(**incidents: Any) -> OpsConfig:
    """ops.example.yml with its `incidents:` block updated by `incidents` (merged one level)."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    block = doc.setdefault("incidents", {})
    for key, value in incidents.items():
        if isinstance(value, dict) and isinstance(block.get(key), dict):
            block[key] = {**block[key], **value}
        else:
            block[key] = value
    return OpsConfig.model_validate(doc)


@pytest.fixture(scope="module")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """ops.example.yml and the demo company as of DEMO_NOW, with a migrated SQLite store."""
    url = f"sqlite:///{tmp_path_factory.mktemp('detectors') / 'switchboard.db'}"
    upgrade(url)
    engine = make_engine(url)
    services = build_services(
        Settings(), engine=engine, config_path=EXAMPLE, now=DEMO_NOW, sends=False
    )
    assert services.sources is not None, "ops.example.yml did not load"
    services.sources.timeout = 60  # what is tested is what they find, not a slow machine
    yield services
    engine.dispose()


@pytest.fixture
def demo_deps(demo_services: Services) -> AnswerDeps:
    found = demo_services.answer_deps(now=DEMO_NOW)
    assert found is not None
    return found


def deps_for(sources: Any, config: OpsConfig, now: datetime) -> AnswerDeps:
    return answer_deps(config=config, sources=sources, now=now)


__all__ = ["DEMO_NOW", "Clock", "RecordingSink", "deps_for", "example_config", "load_ops_config"]
