"""The Web API client for calls made while handling a request (views.open, users.info …).

Posts to channels do not use this client: they go through the outbox (bot.outbox), which
retries durably. This client retries in memory, for calls that must happen now.
"""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

# In-request calls run while a user waits (a trigger_id lives 3 s), so retries stay few
# and short; anything that may wait longer belongs in the outbox.
CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 2
SERVER_ERROR_RETRIES = 2


def retry_handlers() -> list[AsyncRetryHandler]:
    """Connection errors, 429 (sleeps for Retry-After) and 500/503, each a bounded number of times.

    Timeouts are not retried: the request may have reached Slack, and e.g. a second
    views.open with the same trigger_id would fail anyway.
    """
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.2)
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff
        ),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(
            max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=backoff
        ),
    ]


def make_web_client(settings: Settings, *, timeout: int = 10) -> AsyncWebClient:
    """An AsyncWebClient on ``settings.api_url`` (Slack, GovSlack, the sandbox or a test fake).

    The token may be None (demo mode against the sandbox, which does not check it).
    """
    token = (
        settings.slack_bot_token.get_secret_value()
        if settings.slack_bot_token is not None
        else None
    )
    return AsyncWebClient(
        token=token,
        base_url=settings.api_url,
        timeout=timeout,
        retry_handlers=retry_handlers(),
    )
