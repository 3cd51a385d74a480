"""`switchboard demo`: the app, the demo company and the sandbox in one local process."""

from __future__ import annotations

import secrets
from pathlib import Path

import structlog
import uvicorn

from bot.app import create_app
from bot.logging import configure_logging
from bot.ops_config.example import example_config
from bot.sandbox.page import page_router
from bot.sandbox.webapi import SandboxWorkspace, webapi_router
from bot.settings import Settings

log = structlog.get_logger(__name__)


def demo_settings(*, port: int, database_url: str, config_path: Path) -> Settings:
    return Settings(
        slack_bot_token="xoxb-sandbox",
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=f"http://127.0.0.1:{port}/sandbox/api/",
        database_url=database_url,
        port=port,
        switchboard_config=config_path,
    )


def build_demo_app(  # type: ignore[no-untyped-def]
    *, port: int, database_url: str, config_path: Path
):
    settings = demo_settings(port=port, database_url=database_url, config_path=config_path)
    workspace = SandboxWorkspace()
    app = create_app(settings)
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
    with example_config() as config_path:
        app = build_demo_app(port=port, database_url=database_url, config_path=config_path)
        log.info(
            "demo_ready",
            sandbox=f"http://127.0.0.1:{port}/sandbox",
            hint='or in another terminal: switchboard ask "/ops status"',
        )
        uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)
