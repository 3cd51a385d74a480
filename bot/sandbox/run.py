"""`switchboard demo`: the app, the demo company and the sandbox in one local process."""

from __future__ import annotations

import secrets

import structlog
import uvicorn

from bot.app import create_app
from bot.logging import configure_logging
from bot.sandbox.page import page_router
from bot.sandbox.webapi import SandboxWorkspace, webapi_router
from bot.settings import Settings

log = structlog.get_logger(__name__)


def demo_settings(*, port: int, database_url: str) -> Settings:
    return Settings(
        slack_bot_token="xoxb-sandbox",
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=f"http://127.0.0.1:{port}/sandbox/api/",
        database_url=database_url,
        port=port,
        switchboard_config="ops.example.yml",
    )


def build_demo_app(*, port: int, database_url: str):  # type: ignore[no-untyped-def]
    settings = demo_settings(port=port, database_url=database_url)
    workspace = SandboxWorkspace()
    app = create_app(settings, services={"sandbox": workspace})
    app.include_router(webapi_router(workspace))
    app.include_router(
        page_router(
            workspace,
            app_url=f"http://127.0.0.1:{port}",
            signing_secret=settings.secret("slack_signing_secret"),
        )
    )
    return app


def run_demo(*, port: int, database_url: str) -> None:
    configure_logging("INFO", "console")
    app = build_demo_app(port=port, database_url=database_url)
    log.info(
        "demo_ready",
        sandbox=f"http://127.0.0.1:{port}/sandbox",
        hint='or in another terminal: switchboard ask "/ops help"',
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)
