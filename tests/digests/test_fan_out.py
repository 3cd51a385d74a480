"""Digests due at one slot share their work: each (section, team) board is worked out once and
each source question fetched once, however many digests ask; a build at another moment does not
reuse them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.digests import facts
from bot.digests.posting import DigestPoster, Outcome
from bot.ops_config.digests import Digest
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import upgrade

SLOT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin


@pytest.fixture
def services(tmp_path: Path) -> Services:
    db = f"sqlite:///{tmp_path / 'fan.db'}"
    upgrade(db)
    built = build_services(
        Settings(_env_file=None, database_url=db),  # type: ignore[call-arg]
        config_path=Path("ops.example.yml"),
        now=SLOT,
    )
    built.sources.timeout = 60  # type: ignore[union-attr]
    teams = [None, ["ml-platform"], ["data-eng"]]
    digests = [
        Digest.model_validate(
            {
                "name": f"fan-{i:02d}",
                "channel": f"C0FANOUT{i % 3}",
                "schedule": "0 9 * * MON",
                "timezone": "Europe/Berlin",
                "teams": teams[i % 3],
                "sections": ["pipelines", "models"],
            }
        )
        for i in range(30)
    ]
    assert built.ops_config is not None
    config = built.ops_config.model_copy(update={"digests": digests})
    return Services(
        settings=built.settings,
        engine=built.engine,
        clock=built.clock,
        outbox=built.outbox,
        ops_config=config,
        sources=built.sources,
    )


async def test_thirty_digests_due_together_work_out_each_board_once(services, monkeypatch):
    """The every-team boards a digest reads (pipelines, models) are worked out once for the 30
    digests due at the slot, whatever teams each covers; a later manual run builds afresh."""
    computed: Counter[str] = Counter()
    for name in ("pipeline_board", "model_board"):
        real = getattr(facts, name)

        async def counted(deps, real=real, name=name):  # type: ignore[no-untyped-def]
            computed[name] += 1
            await asyncio.sleep(0.05)  # a source taking its time: every digest is waiting now
            return await real(deps)

        monkeypatch.setattr(facts, name, counted)
    poster = DigestPoster(services, replica_id="fan")
    names = [d.name for d in services.ops_config.digests]  # type: ignore[union-attr]
    results = await poster.run_many(names, now=SLOT + timedelta(seconds=3))
    assert Counter(r.outcome for r in results) == {Outcome.posted: 30}
    assert computed == {"pipeline_board": 1, "model_board": 1}
    # A manual run later is built afresh (its own moment), not from the slot's boards.
    await poster.post_now("fan-01", now=SLOT + timedelta(minutes=5))
    assert computed == {"pipeline_board": 2, "model_board": 2}
