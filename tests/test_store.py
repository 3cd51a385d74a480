"""The store migrates to head on SQLite and PostgreSQL, and readiness reports it."""

from sqlalchemy import inspect

from bot.store.db import head_revision, make_engine, readiness, upgrade


def test_migrations_create_every_table_and_reach_head(db_engine):
    tables = set(inspect(db_engine).get_table_names())
    assert {"outbox_message", "channel_pace", "job_slot", "handled_event", "heartbeat"} <= tables
    assert readiness(db_engine) == (True, "ok")


def test_readiness_names_missing_migrations(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    ready, reason = readiness(engine)
    assert not ready
    assert f"code at {head_revision()}" in reason and "database at None" in reason


def test_readiness_reports_unreachable_database():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    ready, reason = readiness(engine)
    assert not ready and reason.startswith("database unreachable")


def test_upgrade_is_idempotent(db_url):
    upgrade(db_url)
    upgrade(db_url)
    assert readiness(make_engine(db_url))[0]
