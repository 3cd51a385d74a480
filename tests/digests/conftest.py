"""The demo company as the app builds it, and what the digest tests compute on their own from its
data (the sources and ops.yml read directly, never the digest code's own helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.ops_config.digests import Digest
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine, upgrade
from bot.views.terminal import render_blocks
from integrations.models import RunState, SpendQuery
from tests.e2e.conftest import DEMO_NOW, demo_app, slack  # noqa: F401 (fixtures for the buttons)

BERLIN = ZoneInfo("Europe/Berlin")
EXAMPLE = Path("ops.example.yml")


@pytest.fixture(scope="module")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    url = f"sqlite:///{tmp_path_factory.mktemp('digests') / 'switchboard.db'}"
    upgrade(url)
    engine = make_engine(url)
    services = build_services(
        Settings(), engine=engine, config_path=EXAMPLE, now=DEMO_NOW, sends=False
    )
    assert services.sources is not None, "ops.example.yml did not load"
    services.sources.timeout = 60  # what is said is tested here, not how slowness degrades it
    yield services
    engine.dispose()


def digest(services: Services, name: str, **changes: Any) -> Digest:
    assert services.ops_config is not None
    found = next(d for d in services.ops_config.digests if d.name == name)
    return found.model_copy(update=changes)


def text_of(blocks: list[dict[str, Any]]) -> str:
    return render_blocks(blocks, width=400)


def raw_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return loaded


def money(amount: Decimal) -> str:
    """How the demo's USD amounts print: cents below 1,000."""
    return f"${amount:,.2f}" if abs(amount) < 1000 else f"${amount:,.0f}"


# -- computed independently -----------------------------------------------------------------------
WINDOW_END = DEMO_NOW.astimezone(BERLIN).date() + timedelta(days=1)  # the cost data's last day + 1
WINDOW_START = WINDOW_END - timedelta(days=7)


async def runs_of(services: Services, limit: int = 400) -> dict[str, list[Any]]:
    """Every pipeline's runs, newest first, straight from the orchestrators."""
    assert services.sources is not None
    names = [p.name for p in (await services.sources.all_pipelines()).value]
    out = {}
    for name in names:
        out[name] = list((await services.sources.recent_runs(name, limit=limit)).value)
    return out


def streak(runs: list[Any]) -> int:
    """Failed finished runs since the last success, counted by hand."""
    count = 0
    for run in sorted(runs, key=lambda r: r.started_at or DEMO_NOW, reverse=True):
        if run.state == RunState.running or run.state not in (RunState.success, RunState.failed):
            continue
        if run.state == RunState.success:
            break
        count += 1
    return count


async def spend_of(services: Services, start: date, end: date, **filters: Any) -> Decimal:
    assert services.sources is not None
    found = await services.sources.spend(SpendQuery(start=start, end=end, **filters))
    return found.value.totals.get("USD", Decimal(0))


def window_bounds() -> tuple[datetime, datetime]:
    return (
        datetime.combine(WINDOW_START, time(), BERLIN).astimezone(UTC),
        datetime.combine(WINDOW_END, time(), BERLIN).astimezone(UTC),
    )
