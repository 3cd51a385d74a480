"""What the detectors remember in the database: the alerts each one announced (so it speaks only
on change) and every detector's and heartbeat source's last sign of life (the dead-man's switch).

Times are UTC epoch seconds, as everywhere in the store. Writes are upserts that work the same on
PostgreSQL and SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, case, select, update
from sqlalchemy.engine import Connection, Engine

from bot.incidents.alerts import AlertEvent, AlertStatus, Severity, Subject, SubjectKind
from bot.store.db import upsert_dialect
from bot.store.models import DetectorAlert, DetectorHeartbeat, table_of

ALERT: Table = table_of(DetectorAlert)
BEAT: Table = table_of(DetectorHeartbeat)


def detector_name(detector: str) -> str:
    return f"detector:{detector}"


def source_name(source: str) -> str:
    return f"source:{source}"


@dataclass(frozen=True)
class Announced:
    """What was last said about one key."""

    key: str
    status: AlertStatus
    severity: Severity
    title: str
    subject: Subject | None
    labels: Mapping[str, str]
    changed_at: float


@dataclass(frozen=True)
class SignOfLife:
    name: str
    last_good_at: float | None
    last_run_at: float | None
    last_problem: str | None
    watched_since: float | None


def _upsert(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET the other given columns."""
    name = conn.dialect.name
    if name not in ("postgresql", "sqlite"):  # any other database: update, insert if missing
        where = [table.c[k] == values[k] for k in keys]
        changed = {k: v for k, v in values.items() if k not in keys}
        if conn.execute(update(table).where(*where).values(**changed)).rowcount == 0:
            conn.execute(table.insert().values(**values))
        return
    dialect_insert = upsert_dialect(name).insert
    stmt = dialect_insert(table).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={k: stmt.excluded[k] for k in values if k not in keys},
        )
    )


# -- announced alerts ---------------------------------------------------------------------------
def announced(engine: Engine, detector: str) -> dict[str, Announced]:
    """Every key `detector` has spoken about, with what it said last."""
    with engine.connect() as conn:
        rows = conn.execute(select(ALERT).where(ALERT.c.detector == detector)).all()
    return {
        row.dedup_key: Announced(
            key=row.dedup_key,
            status=AlertStatus(row.status),
            severity=Severity(row.severity),
            title=row.title,
            subject=(
                Subject(SubjectKind(row.subject_kind), row.subject_name)
                if row.subject_kind and row.subject_name
                else None
            ),
            labels=json.loads(row.labels) if row.labels else {},
            changed_at=row.changed_at,
        )
        for row in rows
    }


def changes(
    detector_source: str,
    before: Mapping[str, Announced],
    firing: Iterable[AlertEvent],
    *,
    complete: bool,
    now: datetime,
) -> list[AlertEvent]:
    """The events to send (pure): keys firing now that were not (or with another severity),
    then keys that were firing and are not any more, the latter only after a complete read."""
    out: list[AlertEvent] = []
    current: dict[str, AlertEvent] = {}
    for event in firing:
        current.setdefault(event.dedup_key, event)
    for key, event in current.items():
        last = before.get(key)
        if last is None or last.status is not AlertStatus.firing or last.severity != event.severity:
            out.append(event)
    if complete:
        for key, last in before.items():
            if last.status is AlertStatus.firing and key not in current:
                out.append(
                    AlertEvent(
                        source=detector_source,
                        dedup_key=key,
                        status=AlertStatus.resolved,
                        title=last.title,
                        severity=last.severity,
                        labels=dict(last.labels),
                        subject=last.subject,
                        ends_at=now,
                    )
                )
    return out


def remember(engine: Engine, detector: str, sent: Iterable[AlertEvent], *, now: float) -> None:
    """Record what was sent, in one transaction."""
    with engine.begin() as conn:
        for event in sent:
            _upsert(
                conn,
                ALERT,
                {
                    "detector": detector,
                    "dedup_key": event.dedup_key,
                    "status": event.status.value,
                    "severity": event.severity.value,
                    "title": event.title,
                    "subject_kind": event.subject.kind.value if event.subject else None,
                    "subject_name": event.subject.name if event.subject else None,
                    "labels": json.dumps(dict(event.labels), sort_keys=True),
                    "changed_at": now,
                },
                ("detector", "dedup_key"),
            )


# -- signs of life ------------------------------------------------------------------------------
def record_run(engine: Engine, name: str, *, at: float, problem: str | None) -> None:
    """A run of detector `name` (detector:<name>) finished at `at`; without a problem it was
    a good run, which is what the dead-man's switch watches."""
    values: dict[str, Any] = {"name": name, "last_run_at": at, "last_problem": problem}
    if problem is None:
        values["last_good_at"] = at
    with engine.begin() as conn:
        _upsert(conn, BEAT, values, ("name",))


def record_heartbeat(engine: Engine, source: str, at: datetime | float) -> None:
    """An event from alert `source` (alertmanager, generic:<name>) arrived at `at`: the intake
    calls this for every event a declared heartbeat counts (incidents.heartbeat_for). Never
    moves the last sign of life backwards (a late, out-of-order delivery)."""
    moment = at.astimezone(UTC).timestamp() if isinstance(at, datetime) else float(at)
    name = source_name(source)
    with engine.begin() as conn:
        name_dialect = conn.dialect.name
        if name_dialect in ("postgresql", "sqlite"):
            dialect_insert = upsert_dialect(name_dialect).insert
            stmt = dialect_insert(BEAT).values(name=name, last_good_at=moment, last_run_at=moment)
            newer = (BEAT.c.last_good_at.is_(None)) | (BEAT.c.last_good_at < moment)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name"],
                    set_={
                        "last_good_at": case((newer, moment), else_=BEAT.c.last_good_at),
                        "last_run_at": case((newer, moment), else_=BEAT.c.last_run_at),
                    },
                )
            )
            return
        row = conn.execute(select(BEAT.c.last_good_at).where(BEAT.c.name == name)).first()
        if row is None:
            conn.execute(BEAT.insert().values(name=name, last_good_at=moment, last_run_at=moment))
        elif row.last_good_at is None or row.last_good_at < moment:
            conn.execute(
                update(BEAT)
                .where(BEAT.c.name == name)
                .values(last_good_at=moment, last_run_at=moment)
            )


def signs_of_life(engine: Engine, names: Iterable[str], *, now: float) -> dict[str, SignOfLife]:
    """The watched names' last signs of life; a name seen for the first time is watched from
    `now` (its silence counts from when the switch started watching it)."""
    wanted = list(dict.fromkeys(names))
    with engine.begin() as conn:
        for name in wanted:
            _upsert_watch(conn, name, now)
        rows = conn.execute(select(BEAT).where(BEAT.c.name.in_(wanted))).all()
    return {
        row.name: SignOfLife(
            name=row.name,
            last_good_at=row.last_good_at,
            last_run_at=row.last_run_at,
            last_problem=row.last_problem,
            watched_since=row.watched_since,
        )
        for row in rows
    }


def _upsert_watch(conn: Connection, name: str, now: float) -> None:
    row = conn.execute(select(BEAT.c.watched_since).where(BEAT.c.name == name)).first()
    if row is not None and row.watched_since is not None:
        return
    name_dialect = conn.dialect.name
    if row is None and name_dialect in ("postgresql", "sqlite"):
        dialect_insert = upsert_dialect(name_dialect).insert
        conn.execute(
            dialect_insert(BEAT)
            .values(name=name, watched_since=now)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "watched_since": case(
                        (BEAT.c.watched_since.is_(None), now), else_=BEAT.c.watched_since
                    )
                },
            )
        )
        return
    if row is None:
        conn.execute(BEAT.insert().values(name=name, watched_since=now))
        return
    conn.execute(
        update(BEAT)
        .where(BEAT.c.name == name, BEAT.c.watched_since.is_(None))
        .values(watched_since=now)
    )
