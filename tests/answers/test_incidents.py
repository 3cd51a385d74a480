"""Open incidents from the store: which count as open, their order, a team's, and their threads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.answers.incidents import incident_list, incident_threads
from bot.incidents.queries import RootPost, open_incidents, root_posts
from bot.store.db import session_scope
from bot.store.models import Incident, OutboxMessage

T0 = 1_795_000_000.0


def incident(fingerprint: str, **kw: Any) -> Incident:
    status = kw.pop("status", "open")
    values: dict[str, Any] = {
        "fingerprint": fingerprint,
        "open_key": None if status == "resolved" else fingerprint,
        "title": f"{fingerprint} fired",
        "team": "ml-platform",
        "severity": "warning",
        "status": status,
        "source": "alertmanager",
        "opened_at": T0,
        "last_alert_at": T0,
    }
    return Incident(**(values | kw))


def add(engine, *rows: Any) -> list[Any]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for row in rows:
            session.add(row)
        session.flush()
        for row in rows:
            session.refresh(row)
    return list(rows)


@dataclass
class Deps:
    """The part of AnswerDeps the incident answers read."""

    engine: Any
    services: dict[str, Any] = field(default_factory=dict)


def test_open_and_acknowledged_incidents_are_listed_most_severe_first(db_engine):
    add(
        db_engine,
        incident("a", severity="warning", last_alert_at=T0 + 50),
        incident("b", severity="critical", status="acknowledged", acknowledged_by="U0ML0EVA"),
        incident("c", severity="critical", status="resolved"),
        incident("d", severity="warning", last_alert_at=T0 + 90, team="data-eng"),
    )
    found = open_incidents(db_engine, team=None)
    assert [i.fingerprint for i in found] == ["b", "d", "a"]
    assert found[0].acknowledged_by == "U0ML0EVA"


def test_a_team_sees_only_its_own_open_incidents(db_engine):
    add(db_engine, incident("a"), incident("d", team="data-eng"), incident("e", team="analytics"))
    assert [i.fingerprint for i in open_incidents(db_engine, team="data-eng")] == ["d"]
    assert open_incidents(db_engine, team="finance") == []


def test_root_post_is_known_once_the_outbox_sent_it(db_engine):
    sent, pending = add(
        db_engine,
        OutboxMessage(
            channel="C0123MLPLAT",
            method="chat.postMessage",
            payload="{}",
            created_at=time.time(),
            status="sent",
            result_ts="1795000000.000100",
            result_channel="C0123MLPLAT",
        ),
        OutboxMessage(
            channel="C0123DATA", method="chat.postMessage", payload="{}", created_at=time.time()
        ),
    )
    posted, waiting = add(
        db_engine,
        incident("a", channel="C0123MLPLAT", root_outbox_id=sent.id),
        incident("b", channel="C0123DATA", root_outbox_id=pending.id),
    )
    posts = root_posts(db_engine, [posted, waiting])
    assert posts == {posted.id: RootPost(channel="C0123MLPLAT", ts="1795000000.000100")}


async def test_answers_read_the_store_off_the_event_loop(db_engine):
    (row,) = add(db_engine, incident("a", severity="critical"))
    listed = await incident_list(Deps(db_engine), team="ml-platform")  # type: ignore[arg-type]
    assert [i.id for i in listed] == [row.id]
    assert await incident_threads(Deps(db_engine), listed) == {}  # type: ignore[arg-type]


async def test_without_a_store_there_are_no_incidents():
    assert await incident_list(Deps(None)) == []  # type: ignore[arg-type]
