"""The demo company's domain services as the app builds them, for the answer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers.deps import AnswerDeps
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine, upgrade
from tests.e2e.conftest import DEMO_NOW


@pytest.fixture(scope="module")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """ops.example.yml and the demo company as of DEMO_NOW, with a migrated SQLite store.

    Module-scoped: a module that changes it (a budget set, a source swapped) keeps the change
    to itself.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('answers') / 'switchboard.db'}"
    upgrade(url)
    engine = make_engine(url)
    services = build_services(
        Settings(), engine=engine, config_path=Path("ops.example.yml"), now=DEMO_NOW, sends=False
    )
    assert services.sources is not None, "ops.example.yml did not load"
    # These tests check what the answers say, not how a slow source degrades them (test_hub
    # does): on a loaded CI machine the demo's DuckDB queries can outlast the 5 s default.
    services.sources.timeout = 60
    yield services
    engine.dispose()


@pytest.fixture
def deps(demo_services: Services) -> AnswerDeps:
    found = demo_services.answer_deps(now=DEMO_NOW)
    assert isinstance(found, AnswerDeps), "ops.example.yml did not load"
    return found
