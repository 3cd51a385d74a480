"""Digests under a clock the test moves: a composer that records what it was asked, services over
the test's database, and the outbox rows each post left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.digests.compose import ComposedDigest, DigestChart
from bot.digests.posting import DigestPoster
from bot.ops_config import OpsConfig, load_ops_config
from bot.ops_config.digests import Digest
from bot.ops_config.example import example_config
from bot.outbox import Outbox
from bot.services import Services
from bot.settings import Settings
from bot.store.models import OutboxMessage

# A tiny valid PNG (1x1): the chart's bytes as a composer hands them over.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class Composer:
    """Stands in for compose_digest: says which digest, when and how late, in its blocks."""

    replies: int = 0
    chart: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(
        self,
        services: Services,
        digest: Digest,
        *,
        now: datetime,
        previous: Mapping[str, Any] | None,
        late_by: timedelta | None = None,
    ) -> ComposedDigest | None:
        self.calls.append(
            {"name": digest.name, "now": now, "previous": previous, "late_by": late_by}
        )
        late = f" late by {int(late_by.total_seconds() // 60)} min" if late_by else ""
        text = f"{digest.name} at {now:%Y-%m-%d %H:%M}{late}"
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        replies = [
            [{"type": "section", "text": {"type": "mrkdwn", "text": f"{digest.name} detail {i}"}}]
            for i in range(self.replies)
        ]
        chart = (
            DigestChart(PNG, f"{digest.name}.png", "Spend by day", "Spend") if self.chart else None
        )
        return ComposedDigest(
            name=digest.name,
            channel=digest.channel,
            text=text,
            blocks=[section],
            replies=replies,
            chart=chart,
            state={"run": len(self.calls), "at": now.isoformat()},
            quiet=False,
        )


def digest(name: str, schedule: str, *, zone: str | None = "UTC", **more: Any) -> Digest:
    return Digest.model_validate(
        {"name": name, "channel": "C0DIGEST", "schedule": schedule, "timezone": zone, **more}
    )


def config_with(*digests: Digest) -> OpsConfig:
    with example_config() as path:
        base = load_ops_config(path)
    return base.model_copy(update={"digests": list(digests)})


def poster_for(
    engine: Engine, config: OpsConfig, composer: Composer, *, replica: str = "r1"
) -> DigestPoster:
    services = Services(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        engine=engine,
        outbox=Outbox(engine),
        ops_config=config,
    )
    return DigestPoster(services, replica_id=replica, compose=composer)


def roots(engine: Engine, name: str) -> list[OutboxMessage]:
    """The root posts queued for digest `name`, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.__table__)  # type: ignore[attr-defined]
            .where(OutboxMessage.dedupe_key.like(f"digest:{name}:%:root"))  # type: ignore[union-attr]
            .order_by(OutboxMessage.id)
        ).all()
    return list(rows)  # type: ignore[arg-type]


@pytest.fixture
def composer() -> Composer:
    return Composer()


@pytest.fixture
def sqlite_engine(migrated_sqlite: Any, tmp_path: Any) -> Any:
    """A migrated SQLite database of its own (time travel makes many small transactions)."""
    import shutil

    from bot.store.db import make_engine

    path = tmp_path / "digests.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
