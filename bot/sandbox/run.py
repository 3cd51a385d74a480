"""`switchboard demo`: the app, the demo company and the sandbox in one local process.

The app is built by the same ``create_app`` as ``serve``; the sandbox only adds its own routes
(Slack's Web API at /sandbox/slack, the page at /sandbox) and points SLACK_API_URL at itself.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import structlog
import uvicorn
from fastapi import FastAPI

from bot.app import create_app
from bot.logging import configure_logging
from bot.ops_config import load_ops_config
from bot.ops_config.example import example_config
from bot.sandbox import people as roster
from bot.sandbox.client import SandboxClient
from bot.sandbox.controls import ControlContext, SandboxClock, registered
from bot.sandbox.demo_digest import demo_config
from bot.sandbox.page import page_router
from bot.sandbox.slack_api import WebApi
from bot.sandbox.slack_api.http import slack_api_router
from bot.services import Services
from bot.settings import Settings

log = structlog.get_logger(__name__)

SLACK_PREFIX = "/sandbox/slack"
TEAM_NAME = "Acme Data (sandbox)"


class RealSlackNearby(RuntimeError):
    """Real Slack credentials are in the environment: the demo will not start beside them."""


def refuse_beside_real_slack(env: Settings) -> None:
    """A bot token aimed at slack.com means this is a real deployment's environment."""
    host = urlparse(env.api_url).hostname or ""
    token = env.slack_bot_token.get_secret_value() if env.slack_bot_token else ""
    if token and (host == "slack.com" or host.endswith(".slack.com")):
        raise RealSlackNearby(
            "SLACK_BOT_TOKEN is set and SLACK_API_URL points at Slack: this looks like a real "
            "deployment. The demo never uses them; unset them, or pass --beside-real-slack."
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_settings(*, port: int, database_url: str, config_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "slack_bot_token": "xoxb-sandbox",
            "slack_signing_secret": secrets.token_hex(16),
            "slack_api_url": f"http://127.0.0.1:{port}{SLACK_PREFIX}/api/",
            "database_url": database_url,
            "port": port,
            "switchboard_config": config_path,
            "switchboard_outbox_interval": 0.25,
        }
    )


def build_demo_app(
    *, port: int, database_url: str, config_path: Path, now: datetime | None = None
) -> FastAPI:
    """The app as ``serve`` builds it, plus the sandbox's Slack and page (``now`` pins the demo
    company's clock, for tests)."""
    settings = demo_settings(port=port, database_url=database_url, config_path=config_path)
    config = load_ops_config(config_path)
    people = roster.people(config)
    timezone = config.workspace.timezone
    api = WebApi(
        users=[p.as_slack_user(timezone) for p in people],
        channels=roster.channels(config),
        usergroups=roster.usergroups(config),
        base_url=f"http://127.0.0.1:{port}{SLACK_PREFIX}",
    )
    for source in config.incidents.generic.values():  # the sandbox signs its own alerts
        os.environ.setdefault(source.secret_env, secrets.token_hex(16))
    app = create_app(settings, now=now, before_jobs=fire_cascade)
    app_url = f"http://127.0.0.1:{port}"
    secret = settings.secret("slack_signing_secret")
    context = ControlContext(
        app=app, app_url=app_url, settings=settings, slack=api, clock=SandboxClock(), user=""
    )
    app.include_router(slack_api_router(api, prefix=SLACK_PREFIX))
    app.include_router(
        page_router(
            api,
            client=SandboxClient(api, app_url=app_url, signing_secret=secret),
            people=people,
            controls=registered(),
            context=context,
            team_name=TEAM_NAME,
        )
    )
    app.state.sandbox = api
    return app


def run_demo(
    *, host: str, port: int, database_url: str, env: Settings, beside_real_slack: bool
) -> None:
    configure_logging("INFO", "console")
    if not beside_real_slack:
        refuse_beside_real_slack(env)
    if not is_loopback(host):
        log.warning("sandbox_not_local", host=host, hint="anyone who reaches it can act as anyone")
    with example_config() as example, tempfile.TemporaryDirectory() as folder:
        # The sample ops.yml plus a digest every two minutes, so posting is seen at once.
        config_path = demo_config(example, Path(folder))
        app = build_demo_app(port=port, database_url=database_url, config_path=config_path)
        log.info(
            "demo_ready",
            sandbox=f"http://127.0.0.1:{port}/sandbox",
            hint='or in another terminal: switchboard ask "/ops status"',
        )
        # Long polls of an open page end within seconds; don't hold Ctrl+C for longer.
        uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=3)


async def fire_cascade(services: Services) -> None:
    """Once the database is migrated and before the scheduler's first detector run, the demo
    company's cascade goes through the real intake, upstream first: one thread in data-eng's
    channel (the detectors' own runs then find the same keys open and join them)."""
    if services.incidents is None:
        return
    from bot.incidents.demo import fire_demo_cascade

    try:
        await fire_demo_cascade(services.incidents, services.answer_deps())
    except Exception:  # the demo still runs without its incidents
        log.exception("demo.cascade_failed")
