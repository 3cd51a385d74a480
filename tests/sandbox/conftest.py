"""The sandbox as a newcomer meets it: `switchboard demo`'s app on a loopback port (once per test
session), and for browser tests Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from bot.sandbox.run import build_demo_app
from bot.sandbox.slack_api import WebApi
from tests.peers.runtime import free_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root here, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A safety net for a hung page, not a speed check: every wait is for a state of the page.
PAGE_TIMEOUT_MS = 120_000


@dataclass
class Sandbox:
    url: str
    app: FastAPI

    @property
    def slack(self) -> WebApi:
        return self.app.state.sandbox  # type: ignore[no-any-return]

    @property
    def services(self) -> Any:
        return self.app.state.services


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`switchboard demo` as it runs for a newcomer (its own SQLite file, ops.example.yml)."""
    port = free_port()
    db = tmp_path_factory.mktemp("sandbox") / "demo.db"
    app = build_demo_app(
        port=port, database_url=f"sqlite:///{db}", config_path=Path("ops.example.yml")
    )
    # These tests check what a person sees, not how a slow source degrades answers (test_hub
    # does): on a loaded machine the demo's first DuckDB queries can outlast the 5 s default.
    app.state.services.sources.timeout = 60
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.05)
    try:
        yield Sandbox(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(30)


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (uv sync installs the dev group)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"chromium not found at {CHROMIUM}: run .ci/provision-browser"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium; skipped with the reason locally, a failure in CI.

    Module-scoped on purpose: Playwright's sync API keeps an event loop running in this thread
    while it is open, and every later test that runs asyncio would find it there.
    """
    missing = _browser_missing()
    if missing:
        if IN_CI:
            pytest.fail(missing + " (CI must run the browser tests)")
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the flows' screenshots go (SWITCHBOARD_SCREENSHOTS keeps them, e.g. for docs/)."""
    kept = os.environ.get("SWITCHBOARD_SCREENSHOTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser: Any, sandbox: Sandbox) -> Iterator[Any]:
    """A fresh browser context (its own storage) with the sandbox page's errors collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.page_errors = errors
    try:
        yield opened
    finally:
        context.close()
    assert errors == [], f"the page raised: {errors}"
