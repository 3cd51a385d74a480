"""`switchboard audit export`: the approvals audit log as CSV or JSON, from a date on."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bot.approvals.export import COLUMNS, parse_since
from bot.approvals.service import ApprovalService
from bot.approvals.types import RequestSnapshot
from bot.cli import app
from bot.settings import get_settings
from tests.approvals.conftest import AN, DE, ML

runner = CliRunner()


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


async def history(service: ApprovalService, clock) -> RequestSnapshot:
    """One request made in October, decided in November."""
    clock.now = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    made = await service.request_promotion(
        requester=DE[0],
        model="ltv",
        version="6",
        alias="champion",
        reason='q4, "new" data',
        surface="command",
    )
    assert isinstance(made, RequestSnapshot)
    clock.now = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    await service.decide(request_id=made.id, user=AN[0], approve=True, surface="dm")
    await service.decide(
        request_id=made.id, user=ML[0], approve=False, reason="drift", surface="team_channel"
    )
    return made


async def test_csv_export_has_a_header_and_one_row_per_record_since_the_date(
    cli_db, service, clock
):
    made = await history(service, clock)
    result = runner.invoke(app, ["audit", "export", "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == ",".join(COLUMNS)
    assert [(r["request_id"], r["actor"], r["action"], r["state"]) for r in rows] == [
        (str(made.id), AN[0], "approved", ""),
        (str(made.id), ML[0], "rejected", "rejected"),
    ]
    assert rows[1]["at"] == "2026-11-01T10:00:00+00:00"
    assert json.loads(rows[1]["detail"])["reason"] == "drift"


async def test_json_export_to_a_file_keeps_every_record(cli_db, service, clock, tmp_path):
    await history(service, clock)
    target = tmp_path / "audit.json"
    result = runner.invoke(app, ["audit", "export", "--format", "json", "--output", str(target)])
    assert result.exit_code == 0, result.output
    records = json.loads(target.read_text())
    assert [r["action"] for r in records] == ["created", "routed", "approved", "rejected"]
    assert records[0]["detail"]["reason"] == 'q4, "new" data'
    assert records[0]["state"] == "pending" and records[0]["at"] == "2026-10-30T09:00:00+00:00"
    assert "4 record(s) written" in result.stderr


def test_bad_since_or_format_is_an_error(cli_db):
    bad_date = runner.invoke(app, ["audit", "export", "--since", "November"])
    bad_format = runner.invoke(app, ["audit", "export", "--format", "xml"])
    assert bad_date.exit_code == 2 and "not a date" in bad_date.stderr
    assert bad_format.exit_code == 2 and "csv or json" in bad_format.stderr


def test_since_reads_dates_and_timestamps_as_utc():
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:30:00+01:00") == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert parse_since("2026-11-01T08:30") == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
