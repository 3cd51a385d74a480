"""Two running apps on one PostgreSQL receive the same Alertmanager deliveries at the same time
(Alertmanager HA sends duplicates): one incident and one root per fingerprint."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.app import create_app
from bot.store.db import make_engine
from bot.store.models import Incident, OutboxMessage
from tests.e2e.conftest import ThreadedServer, app_settings, wait_until
from tests.fakeslack import FakeSlack
from tests.peers.runtime import free_port

TOKEN = "am-token-replicas"
KEYS = 25


def payload(n: int) -> dict:
    alert = {
        "status": "firing",
        "labels": {"alertname": f"DiskFull{n}", "team": "analytics", "severity": "warning"},
        "annotations": {"summary": f"disk {n} full"},
        "startsAt": "2026-12-03T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{n}",
    }
    return {"version": "4", "groupKey": f"g{n}", "truncatedAlerts": 0, "alerts": [alert]}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_apps_one_root_per_fingerprint(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    with FakeSlack() as slack:
        settings = app_settings(slack, db_url).model_copy(
            update={"switchboard_config": Path("ops.example.yml")}
        )
        apps = [create_app(settings), create_app(settings)]
        ports = [free_port(), free_port()]
        with ThreadedServer(apps[0], ports[0]), ThreadedServer(apps[1], ports[1]):
            answers: list[int] = []
            barrier = threading.Barrier(4)

            def send(port: int) -> None:
                barrier.wait()
                with httpx.Client(timeout=30) as http:
                    for n in range(KEYS):
                        answer = http.post(
                            f"http://127.0.0.1:{port}/webhooks/alertmanager",
                            json=payload(n),
                            headers={"Authorization": f"Bearer {TOKEN}"},
                        )
                        answers.append(answer.status_code)

            threads = [threading.Thread(target=send, args=(p,)) for p in ports * 2]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert answers == [200] * (4 * KEYS)
            engine = make_engine(db_url)
            with Session(engine) as session:
                incidents = session.exec(select(Incident)).all()
                roots = session.exec(
                    select(OutboxMessage).where(OutboxMessage.method == "chat.postMessage")
                ).all()
            engine.dispose()
            assert Counter(i.fingerprint for i in incidents) == {
                f"alertmanager:fp-{n}": 1 for n in range(KEYS)
            }
            assert all(i.alert_count == 1 for i in incidents)  # duplicates changed nothing
            assert len(roots) == KEYS

            def posted() -> list[str]:
                return [c.params["text"] for c in slack.calls_to("chat.postMessage")]

            assert wait_until(lambda: len(posted()) >= KEYS, timeout=60)
            assert len(posted()) == KEYS
