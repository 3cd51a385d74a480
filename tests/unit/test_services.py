"""One builder makes the services of every process: what ops.yml configures, and what sends."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'sb.db'}")  # type: ignore[call-arg]


def test_without_ops_yml_only_the_process_parts_exist(settings: Settings, tmp_path: Path) -> None:
    services = build_services(settings, config_path=tmp_path / "missing.yml")
    assert services.outbox is not None
    configured = (services.ops_config, services.sources, services.budgets, services.approvals)
    assert configured == (None, None, None, None) and services.approval_notices is None
    assert services.answer_deps() is None


def test_with_ops_yml_every_member_is_built_and_shares_one_engine(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    services = build_services(settings, engine=engine, config_path=Path("ops.example.yml"), now=NOW)
    assert services.engine is engine and services.budgets is not None
    assert services.approvals is not None and services.approvals.engine is engine
    notices = services.approval_notices
    assert notices is not None and notices.approvals is services.approvals
    assert notices.outbox is services.outbox
    deps = services.answer_deps()
    assert deps is not None and deps.now == NOW and deps.approvals is services.approvals
    # each process builds its own cache of the evidence cards were first shown with
    again = build_services(settings, engine=engine, config_path=Path("ops.example.yml"), now=NOW)
    assert again.approval_notices is not None
    assert again.approval_notices.evidence is not notices.evidence


def test_what_may_not_send_has_no_outbox_and_tells_nobody(settings: Settings) -> None:
    services = build_services(settings, config_path=Path("ops.example.yml"), sends=False)
    assert services.outbox is None and services.approval_notices is None
    assert services.approvals is not None  # requests can still be read
    with pytest.raises(RuntimeError, match="send nothing"):
        services.sending()


def test_services_are_frozen(settings: Settings) -> None:
    services: Services = build_services(settings, config_path=Path("missing.yml"), sends=False)
    with pytest.raises(FrozenInstanceError):
        services.outbox = None  # type: ignore[misc]
