"""The store migrates to head on SQLite and PostgreSQL, and readiness reports it."""

from sqlalchemy import inspect

from bot.store.db import (
    MIGRATIONS,
    alembic_config,
    at_newest_revision,
    head_revision,
    make_engine,
    newest_revision,
    readiness,
    upgrade,
)


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


def test_each_migration_revision_is_its_file_prefix_and_the_newest_is_alembics_head():
    # upgrade() skips alembic when the database is at newest_revision(), read from file names:
    # that is right only while every migration is named after its revision.
    import re

    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = re.search(r'^revision = "([^"]+)"', path.read_text(), re.MULTILINE)
        assert found and found.group(1) == path.name[:4], path.name
    assert newest_revision() == head_revision()


def test_upgrade_runs_alembic_only_when_the_database_is_behind(db_url, monkeypatch):
    from alembic import command

    ran: list[str] = []
    real = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda cfg, rev: (ran.append(rev), real(cfg, rev))[1])
    upgrade(db_url)  # the fixture's database is at head already
    assert ran == [] and at_newest_revision(db_url)
    command.downgrade(alembic_config(db_url), "0008")
    try:
        assert not at_newest_revision(db_url)
        upgrade(db_url)
        assert ran == ["head"] and at_newest_revision(db_url)
    finally:  # the PostgreSQL database is the session's: leave it at head whatever happened
        real(alembic_config(db_url), "head")
    assert readiness(make_engine(db_url)) == (True, "ok")


def test_an_unreachable_database_is_not_taken_for_current():
    assert not at_newest_revision("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
