"""The intake webhooks over HTTP (in process): Alertmanager's bearer/basic auth, the generic
webhook's signature and replay window, schema errors naming the field, 413, idempotent
redelivery, and the group-by-groupKey threads."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.incidents.service import IncidentService
from bot.ops_config import OpsConfig
from bot.outbox import Outbox
from bot.services import Services
from bot.settings import Settings
from bot.store.models import Incident, IncidentAlert, OutboxMessage
from bot.webhooks import webhook_router
from bot.webhooks.generic import sign

TOKEN = "am-token-0123456789"
CI_SECRET = "generic-ci-secret-42"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("SWITCHBOARD_GENERIC_CI_SECRET", CI_SECRET)


@pytest.fixture
async def client(
    secrets: None, db_engine: Engine, example_config: OpsConfig, clock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        slack_bot_token="xoxb-x", slack_signing_secret="s", database_url=str(db_engine.url)
    )  # type: ignore[call-arg]
    outbox = Outbox(db_engine)
    service = IncidentService(engine=db_engine, config=example_config, outbox=outbox, clock=clock)
    services = Services(
        settings=settings,
        engine=db_engine,
        outbox=outbox,
        ops_config=example_config,
        incidents=service,
    )
    app = FastAPI()
    app.include_router(webhook_router(services))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


def am_alert(fingerprint: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "ModelLatencyHigh", "severity": "critical", **labels},
        "annotations": {"summary": "churn p95 over 250 ms", "runbook_url": "https://run.book/x"},
        "startsAt": "2026-12-03T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-03T10:20:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def am_payload(
    *alerts: dict[str, Any], group_key: str = '{}:{alertname="X"}', truncated: int = 0
) -> dict[str, Any]:
    common = alerts[0]["labels"] if alerts else {}
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated,
        "status": "firing",
        "receiver": "switchboard",
        "groupLabels": {"alertname": common.get("alertname", "")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def rows(engine: Engine, model: type) -> list[Any]:
    with Session(engine) as session:
        return list(session.exec(select(model).order_by(col(model.id))).all())


async def test_alertmanager_needs_the_bearer_token(client):
    body = am_payload(am_alert("a1"))
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    answer = await client.post("/webhooks/alertmanager", json=body, headers=wrong)
    assert answer.status_code == 401 and "does not match" in answer.json()["error"]
    basic = base64.b64encode(f"x:{TOKEN}".encode()).decode()
    answer = await client.post(
        "/webhooks/alertmanager", json=body, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 401
    ok = await client.post("/webhooks/alertmanager", json=body, headers=BEARER)
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"


async def test_alertmanager_basic_auth(client, db_engine, example_config, monkeypatch):
    from bot.ops_config.incidents import AlertmanagerAuth
    from bot.webhooks.alertmanager import authorized

    monkeypatch.setenv("AM_USER", "am")
    monkeypatch.setenv("AM_PASS", "pa:ss")
    auth = AlertmanagerAuth(username_env="AM_USER", password_env="AM_PASS")
    good = base64.b64encode(b"am:pa:ss").decode()
    bad = base64.b64encode(b"am:pass").decode()
    assert authorized(auth, f"Basic {good}") is None
    assert authorized(auth, f"Basic {bad}").status == 401
    assert authorized(auth, f"Bearer {TOKEN}").status == 401


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(alerts="x"), "alerts must be a list"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts[0].status"),
        (lambda p: p["alerts"][0].pop("fingerprint"), "alerts[0].fingerprint"),
        (lambda p: p["alerts"][0].update(labels={"a": 1}), "alerts[0].labels"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda p: p.update(version="3"), "version"),
    ],
)
async def test_alertmanager_schema_errors_name_the_field(client, mutate, field):
    body = am_payload(am_alert("a1"))
    mutate(body)
    answer = await client.post("/webhooks/alertmanager", json=body, headers=BEARER)
    assert answer.status_code == 400 and field in answer.json()["error"]


async def test_alertmanager_not_json_and_too_large(client):
    answer = await client.post("/webhooks/alertmanager", content=b"{nope", headers=BEARER)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]
    huge = b" " * (4 * 1024 * 1024 + 1)
    assert (
        await client.post("/webhooks/alertmanager", content=huge, headers=BEARER)
    ).status_code == 413


async def test_alertmanager_redelivery_changes_nothing_and_resolve_resolves(client, db_engine):
    body = am_payload(am_alert("a1"))
    await client.post("/webhooks/alertmanager", json=body, headers=BEARER)
    before = (rows(db_engine, Incident), rows(db_engine, OutboxMessage))
    again = await client.post("/webhooks/alertmanager", json=body, headers=BEARER)
    assert again.json()["opened"] == [] and again.json()["updated"] == []
    after = (rows(db_engine, Incident), rows(db_engine, OutboxMessage))
    assert [(i.alert_count, i.dirty) for i in after[0]] == [
        (i.alert_count, i.dirty) for i in before[0]
    ]
    assert len(after[1]) == len(before[1]) == 1
    [incident] = after[0]
    assert (incident.team, incident.severity) == ("ml-platform", "critical")  # routes[1]
    assert json.loads(incident.links)[:2] == [
        ["Source", "http://prometheus:9090/graph?g0.expr=x"],
        ["Runbook", "https://run.book/x"],
    ]
    resolved = await client.post(
        "/webhooks/alertmanager", json=am_payload(am_alert("a1", "resolved")), headers=BEARER
    )
    assert resolved.json()["resolved"] == [incident.id]


async def test_group_by_groupkey_is_one_thread_listing_fingerprints(client, db_engine):
    alerts = [am_alert(f"fp{n:03d}", alertname="NodeDown", severity="warning") for n in range(30)]
    answer = await client.post(
        "/webhooks/alertmanager",
        json=am_payload(*alerts, truncated=470, group_key='{}:{alertname="NodeDown"}'),
        headers=BEARER,
    )
    assert answer.status_code == 200 and len(answer.json()["opened"]) == 1
    [incident] = rows(db_engine, Incident)
    assert incident.instance_count == 30 and len(rows(db_engine, IncidentAlert)) == 30
    [root] = rows(db_engine, OutboxMessage)
    text = root.payload
    # the newest 10 are shown, then 20 more listed and 470 truncated by Alertmanager
    assert "`fp029`" in text and "+490 more" in text
    # a later payload without most fingerprints resolves none of them
    await client.post(
        "/webhooks/alertmanager",
        json=am_payload(alerts[0], group_key='{}:{alertname="NodeDown"}'),
        headers=BEARER,
    )
    assert rows(db_engine, Incident)[0].status == "open"
    assert {a.status for a in rows(db_engine, IncidentAlert)} == {"firing"}


def signed(body: bytes, *, secret: str = CI_SECRET, at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "X-Switchboard-Timestamp": stamp,
        "X-Switchboard-Signature": sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


GENERIC = {
    "title": "Checkout latency high",
    "dedup_key": "checkout",
    "severity": "error",
    "labels": {"service": "checkout"},
}


async def test_generic_signature_replay_and_redelivery(client, db_engine):
    body = json.dumps(GENERIC).encode()
    assert (await client.post("/webhooks/generic/ci", content=body)).status_code == 401
    bad = signed(body, secret="other")
    assert (await client.post("/webhooks/generic/ci", content=body, headers=bad)).status_code == 401
    stale = signed(body, at=time.time() - 301)
    answer = await client.post("/webhooks/generic/ci", content=body, headers=stale)
    assert answer.status_code == 401 and "300 s" in answer.json()["error"]
    tampered = signed(body)
    answer = await client.post("/webhooks/generic/ci", content=body + b" ", headers=tampered)
    assert answer.status_code == 401
    headers = signed(body)
    first = await client.post("/webhooks/generic/ci", content=body, headers=headers)
    assert first.status_code == 200 and len(first.json()["opened"]) == 1
    again = await client.post("/webhooks/generic/ci", content=body, headers=headers)
    assert again.json() == {"status": "duplicate"}
    [incident] = rows(db_engine, Incident)
    assert (incident.alert_count, incident.team, incident.severity) == (1, "data-eng", "error")
    assert incident.route_reason == "incidents.generic.ci.team"
    assert (
        await client.post("/webhooks/generic/nope", content=body, headers=headers)
    ).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"dedup_key": "k"}, "title"),
        ({"title": "t"}, "dedup_key"),
        ({"title": "t", "dedup_key": "k", "status": "open"}, "status"),
        ({"title": "t", "dedup_key": "k", "severity": "huge"}, "severity"),
        ({"title": "t", "dedup_key": "k", "labels": ["x"]}, "labels"),
        ({"title": "t", "dedup_key": "k", "links": [{"url": "javascript:x"}]}, "links[0].url"),
        ([1, 2], "JSON object"),
    ],
)
async def test_generic_schema_errors_name_the_field(client, payload, field):
    body = json.dumps(payload).encode()
    answer = await client.post("/webhooks/generic/ci", content=body, headers=signed(body))
    assert answer.status_code == 400 and field in answer.json()["error"]


async def test_generic_resolve_and_size_limit(client, db_engine):
    body = json.dumps(GENERIC).encode()
    await client.post("/webhooks/generic/ci", content=body, headers=signed(body))
    done = json.dumps({**GENERIC, "status": "resolve"}).encode()
    answer = await client.post("/webhooks/generic/ci", content=done, headers=signed(done))
    assert len(answer.json()["resolved"]) == 1
    huge = b"x" * (256 * 1024 + 1)
    assert (
        await client.post("/webhooks/generic/ci", content=huge, headers=signed(huge))
    ).status_code == 413
