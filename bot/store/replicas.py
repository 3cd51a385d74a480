"""Replica liveness in the database: heartbeats, clean stops, and when a replica counts as gone.

Each replica that runs the scheduler beats every ``every`` seconds (scheduler.jobs.heartbeat).
It is *gone* — its outbox leases may be taken over at once instead of after they expire — when
it said it stopped cleanly, or when it missed GONE_AFTER_BEATS beats in a row. A replica with no
heartbeat row (a sender run without the scheduler, or one that has not beaten yet) is never
gone: its leases are waited out, as before heartbeats counted.

Times are the writer's and the reader's clocks (epoch seconds), as for the leases themselves:
replicas are assumed to keep their clocks within a second of each other (NTP).
"""

from __future__ import annotations

from sqlalchemy import FromClause, case
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from bot.store.db import upsert_dialect
from bot.store.models import Heartbeat, table_of

HEARTBEAT = table_of(Heartbeat)
# Missed beats before a replica counts as gone. A live replica whose event loop stalls longer
# than this loses its in-flight leases: at worst one message per channel is posted twice, the
# outbox's at-least-once rule. Four beats of 2 s ride out ordinary stalls.
GONE_AFTER_BEATS = 4


def write_heartbeat(
    engine: Engine, *, replica_id: str, now: float, started_at: float, every: float
) -> None:
    """Say ``replica_id`` is alive now and will beat again within ``every`` seconds."""
    values = {
        "replica": replica_id,
        "beat_at": now,
        "started_at": started_at,
        "every": every,
        "stopped_at": None,
    }
    dialect = upsert_dialect(engine.dialect.name)
    stmt = dialect.insert(HEARTBEAT).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["replica"], set_={k: v for k, v in values.items() if k != "replica"}
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def mark_stopped(engine: Engine, *, replica_id: str, now: float) -> None:
    """Say ``replica_id`` stopped cleanly: whatever it still holds is free from now on."""
    with engine.begin() as conn:
        conn.execute(
            HEARTBEAT.update()
            .where(HEARTBEAT.c.replica == replica_id)
            .values(stopped_at=now, beat_at=now)
        )


def gone_at(heartbeat: FromClause = HEARTBEAT) -> ColumnElement[float | None]:
    """When the replica of a heartbeat row counts as gone (NULL: not while it keeps beating).

    ``heartbeat`` is the table or an alias of it, joined by the caller.
    """
    c = heartbeat.c
    return case(
        (c.stopped_at.is_not(None), c.stopped_at),
        (c.every.is_not(None), c.beat_at + c.every * GONE_AFTER_BEATS),
        else_=None,
    )
