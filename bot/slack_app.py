"""Builds the bolt AsyncApp and registers every Slack surface in one place."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.dispatch import CommandRouter
from bot.services import Services
from bot.settings import Settings
from bot.surfaces import actions, approval_requests, approvals, events, incidents, ops_command
from bot.surfaces.dedupe import dedupe_events
from bot.surfaces.user_zone import user_zone_middleware


def build_bolt_app(
    settings: Settings, *, client: AsyncWebClient, router: CommandRouter, services: Services
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=settings.secret("slack_signing_secret"),
        logger=logging.getLogger("switchboard.bolt"),
        # Socket Mode has no signatures to check; HTTP mode always verifies them.
        request_verification_enabled=True,
    )
    app.middleware(dedupe_events(services.engine))
    app.middleware(user_zone_middleware())
    ops_command.register(app, router=router, services=services)
    events.register(app, router=router, services=services)
    approvals.register(app, services=services)
    approval_requests.register(app, services=services)
    incidents.register(app, services=services)
    actions.register(app, router=router, services=services)
    return app
