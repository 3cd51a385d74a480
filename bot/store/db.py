"""Database engine, sessions and migrations (SQLite by default, PostgreSQL through DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a migration runs: a database already at the newest revision
# (every `switchboard ask` after the first) needs none of it.
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def upsert_dialect(name: str) -> ModuleType:
    """The SQLAlchemy dialect module (postgresql for "postgresql", else sqlite) whose insert()
    has ON CONFLICT; imported when a write needs it, so a process that only reads (as
    `switchboard ask` does) never loads PostgreSQL's dialect."""
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql
    from sqlalchemy.dialects import sqlite

    return sqlite


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if revision == "head" and at_newest_revision(url):
        return  # what alembic would conclude too, without importing it and running env.py
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def newest_revision() -> str:
    """The newest migration's revision, read from file names: each migration's revision is its
    file's 4-digit prefix (a test holds every file to that and this to alembic's head)."""
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def at_newest_revision(url: str) -> bool:
    """Whether the database at `url` is stamped with the newest revision (False if unsure)."""
    try:
        with engine_for(url).connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except Exception:  # any driver error: let alembic connect and report it properly
        return False
    return [row[0] for row in versions] == [newest_revision()]


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def readiness(engine: Engine) -> tuple[bool, str]:
    """(ready, reason): the database answers and its schema is at the newest migration."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(engine)
    except Exception as exc:  # any driver error means "not ready", with its reason
        return False, f"database unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return False, f"migrations not current: database at {current}, code at {head}"
    return True, "ok"
