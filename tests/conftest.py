"""Shared fixtures: databases (SQLite and the real PostgreSQL) and settings for the app under test."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.settings import get_settings
from bot.store.db import make_engine, upgrade
from tests import demo_once
from tests.peers import PEER_FIXTURE_MODULES

pytest_plugins = [*PEER_FIXTURE_MODULES]

# The internal detectors would open incidents about the demo company in every app a test starts
# (posts in the channels those tests read). Their own tests turn them on explicitly; apps started
# as subprocesses inherit this.
os.environ.setdefault("SWITCHBOARD_DETECTORS", "false")


def _scratch_in_memory(root: str = "/dev/shm", room: int = 2 << 30) -> None:
    """Tests' scratch files (their SQLite databases, FOCUS files, the peers' homes) go to
    /dev/shm when it has room and TMPDIR names no other place: SQLite syncs each commit to disk,
    and on a shared virtual disk those waits were the larger part of the database tests' time.
    Set here, before pytest makes its temporary directories, and in the environment for the
    processes the tests start."""
    if os.environ.get("TMPDIR") or not os.path.isdir(root) or not os.access(root, os.W_OK):
        return
    if shutil.disk_usage(root).free < room:
        return
    os.environ["TMPDIR"] = root
    tempfile.tempdir = root


_scratch_in_memory()

# With PYTHONDONTWRITEBYTECODE set, pytest cannot cache the test modules it rewrites for its
# assertion messages and redoes all of them in every process (each xdist worker): ~5 s of CPU
# each time. The rewritten modules go to tests' __pycache__ directories (git-ignored).
sys.dont_write_bytecode = False

PG_ADMIN_URL = os.environ.get(
    "SWITCHBOARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads its own settings, and the CLI run in-process writes to a scratch database
    and cache.

    get_settings() is cached per process: without a fresh cache the environment a test sets
    (monkeypatch or CliRunner's env=) is silently ignored after the first call, and a bare
    `switchboard ask` would write ./switchboard.db into the checkout.
    """
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SWITCHBOARD_CACHE_DIR", str(tmp_path / "cache"))  # not the user's
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def demo_built_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The demo company's FOCUS files and run history are made once per session (demo_once)."""
    with pytest.MonkeyPatch.context() as patch:
        demo_once.install(demo_once.DemoOnce(tmp_path_factory.mktemp("demo-once")), patch)
        yield


@pytest.fixture(autouse=True)
def fresh_demo_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests of the demo generator itself (`pytest.mark.fresh_demo`) build everything anew."""
    if request.node.get_closest_marker("fresh_demo"):
        demo_once.uninstall(monkeypatch)


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {type(exc).__name__}: {exc}"[:300]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Skipped with its reason when PostgreSQL is unreachable, except in CI where it fails.
    """
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI must test on PostgreSQL)")
        pytest.skip(reason)
    name = f"sb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _truncate_all(engine: Engine) -> None:
    from sqlmodel import SQLModel

    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("migrated") / "switchboard.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, so one file is all of it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


_MIGRATED_PG: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "switchboard.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_server_url")
    if url not in _MIGRATED_PG:  # the session's database, migrated by its first test
        upgrade(url)
        _MIGRATED_PG.add(url)
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Base URL of a server that accepts connections and never answers (for timeout tests)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for writer in held:
        writer.close()
    server.close()


E2E = Path(__file__).parent / "e2e"
# These start the demo app (and the browser ones a real chromium) for their module or session.
SANDBOX_APP = tuple(
    Path(__file__).parent / "sandbox" / name
    for name in ("test_browser_flows.py", "test_browser_rendering.py", "test_sandbox_http.py")
)


# These start a subprocess (`serve`, the scheduler, a sender killed mid-drain, peer-like
# processes), wait out real Retry-After times, or search long: `slow`, as the marker says.
SLOW_MODULES = tuple(
    Path(__file__).parent / name
    for name in (
        "test_logging_secrets.py",
        "test_outbox_recovery.py",
        "test_serve_deadlines.py",
        "test_peer_runtime.py",
        "test_outbox_faults.py",
        "test_request_fuzz.py",
        "incidents/core/test_storm.py",
        "digests/scheduling/test_delivery.py",
        "digests/test_demo_digest.py",  # the demo app, its scheduler running
        "sandbox/test_demo_app.py",
    )
)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test under tests/e2e/ starts the whole app over HTTP beside a fake Slack, the
    sandbox's app and browser tests start the demo, and SLOW_MODULES: `slow`. A test's
    PostgreSQL run (`db_url` = postgresql) is marked `postgresql`, so the fast subset can leave
    the second database out."""
    for item in items:
        if item.path.is_relative_to(E2E) or item.path in (*SANDBOX_APP, *SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgresql)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/fixtures/golden/*.txt from the current `switchboard ask` output",
    )
