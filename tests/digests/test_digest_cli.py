"""`switchboard digest run NAME [--dry-run]`: printed as it would be posted, or posted through the
outbox to Slack (the fake), with the demo company's digests."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from bot.cli import app
from bot.digests.compose import compose_digest
from bot.ops_config.example import example_config
from bot.services import build_services
from bot.settings import Settings
from bot.store.models import OutboxMessage
from bot.views.terminal import render_blocks
from tests.fakeslack import FakeSlack

runner = CliRunner()
AT = "2026-11-23T12:00:00"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _rows() -> list[str]:
    engine = create_engine(os.environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(select(OutboxMessage.channel)).all()]
    finally:
        engine.dispose()


def test_dry_run_prints_the_post_and_queues_nothing():
    result = runner.invoke(app, ["digest", "run", "ml-daily", "--dry-run", "--now", AT])
    assert result.exit_code == 0, result.output
    # What the post would carry, composed separately at the same moment.
    with example_config() as path:
        services = build_services(
            Settings(_env_file=None, database_url=os.environ["DATABASE_URL"]),  # type: ignore[call-arg]
            config_path=path,
            now=NOW,
            sends=False,
        )
    assert services.ops_config is not None
    ml_daily = next(d for d in services.ops_config.digests if d.name == "ml-daily")
    composed = asyncio.run(compose_digest(services, ml_daily, now=NOW, previous=None))
    assert composed is not None
    assert result.stdout.startswith("→ C0123MLPLAT\n")
    assert render_blocks(composed.blocks) in result.stdout
    assert "Preview" not in result.stdout
    assert _rows() == []


def test_run_of_an_unknown_digest_names_the_known_ones():
    result = runner.invoke(app, ["digest", "run", "payroll", "--dry-run"])
    assert result.exit_code == 2
    assert "no digest called 'payroll'" in result.stderr and "ml-daily" in result.stderr


@pytest.mark.slow  # delivers through the outbox at its real pace
def test_run_posts_it_now_through_the_outbox():
    with FakeSlack() as slack:
        env = {"SLACK_BOT_TOKEN": "xoxb-cli", "SLACK_API_URL": slack.api_url}
        result = runner.invoke(app, ["digest", "run", "finops-monthly", "--now", AT], env=env)
        assert result.exit_code == 0, result.output
        assert "posted to C0123FINANCE" in result.stdout
        posted = slack.messages("C0123FINANCE")
        (post,) = [m for m in posted if m.get("thread_ts", m["ts"]) == m["ts"]]  # one root
        assert "finops-monthly" in str(post["blocks"])
        assert all(m["thread_ts"] == post["ts"] for m in posted if m is not post)
        uploads = len(slack.calls_to("files.completeUploadExternal"))
    # Root, replies and chart: one outbox row each, all for the digest's channel.
    assert uploads == 1 and any("files" in m for m in posted)  # the chart, shown in the thread
    assert _rows() == ["C0123FINANCE"] * len(posted)
