"""The dead-man's switch hears from sources through the intake webhooks: Alertmanager's Watchdog
(a heartbeat naming one alert) records a sign of life and opens no incident; a generic source's
heartbeat without `alert` counts every event, which stays an alert."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bot.incidents.service import IncidentService
from bot.ops_config import OpsConfig
from bot.ops_config.incidents import Heartbeat
from bot.outbox import Outbox
from bot.services import Services, pinned_clock
from bot.settings import Settings
from bot.store.models import DetectorHeartbeat, Incident
from bot.webhooks import webhook_router
from tests.incidents.core.test_webhooks import (
    BEARER,
    CI_SECRET,
    GENERIC,
    am_alert,
    am_payload,
    rows,
    signed,
)

HEARD_AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
async def client(
    monkeypatch: pytest.MonkeyPatch, db_engine: Engine, example_config: OpsConfig, clock
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", BEARER["Authorization"].split()[1])
    monkeypatch.setenv("SWITCHBOARD_GENERIC_CI_SECRET", CI_SECRET)
    heartbeats = [
        Heartbeat.model_validate({"source": "alertmanager", "alert": "Watchdog", "interval": "5m"}),
        Heartbeat.model_validate({"source": "generic:ci", "interval": "1h"}),
    ]
    config = example_config.model_copy(
        update={"incidents": example_config.incidents.model_copy(update={"heartbeats": heartbeats})}
    )
    settings = Settings(
        slack_bot_token="xoxb-x", slack_signing_secret="s", database_url=str(db_engine.url)
    )  # type: ignore[call-arg]
    outbox = Outbox(db_engine)
    services = Services(
        settings=settings,
        engine=db_engine,
        clock=pinned_clock(HEARD_AT),
        outbox=outbox,
        ops_config=config,
        incidents=IncidentService(engine=db_engine, config=config, outbox=outbox, clock=clock),
    )
    app = FastAPI()
    app.include_router(webhook_router(services))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


def beats(engine: Engine) -> dict[str, float | None]:
    from sqlmodel import Session, select

    with Session(engine) as session:
        return {b.name: b.last_good_at for b in session.exec(select(DetectorHeartbeat)).all()}


async def test_the_watchdog_is_a_heartbeat_not_an_incident(client, db_engine):
    watchdog = am_alert("wd1", alertname="Watchdog", severity="none")
    answer = await client.post("/webhooks/alertmanager", json=am_payload(watchdog), headers=BEARER)
    assert answer.status_code == 200
    assert rows(db_engine, Incident) == []
    assert beats(db_engine) == {"source:alertmanager": HEARD_AT.timestamp()}


async def test_other_alertmanager_alerts_are_no_heartbeat(client, db_engine):
    answer = await client.post(
        "/webhooks/alertmanager", json=am_payload(am_alert("a1")), headers=BEARER
    )
    assert answer.status_code == 200
    assert len(rows(db_engine, Incident)) == 1
    assert beats(db_engine) == {}


async def test_any_event_of_a_generic_heartbeat_source_counts_and_stays_an_alert(client, db_engine):
    body = json.dumps(GENERIC).encode()
    answer = await client.post("/webhooks/generic/ci", content=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    assert len(rows(db_engine, Incident)) == 1
    assert beats(db_engine) == {"source:generic:ci": HEARD_AT.timestamp()}
