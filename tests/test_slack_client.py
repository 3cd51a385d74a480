"""The in-request Web API client: Slack's URL from settings, bounded retries on 429 and 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from bot.settings import Settings
from bot.slack_client import make_web_client
from tests.fakeslack import FakeSlack

TOKEN = "xoxb-client-test"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def settings_for(slack: FakeSlack, token: str | None = TOKEN) -> Settings:
    return Settings(_env_file=None, slack_api_url=slack.api_url, slack_bot_token=token)  # type: ignore[call-arg, arg-type]


async def test_client_uses_the_configured_api_url_and_bot_token(slack: FakeSlack) -> None:
    client = make_web_client(settings_for(slack), timeout=3)
    assert client.base_url == slack.api_url
    result = await client.auth_test()
    assert result["ok"] is True
    assert slack.calls[-1].headers["authorization"] == f"Bearer {TOKEN}"


async def test_client_without_token_is_allowed_for_the_demo(slack: FakeSlack) -> None:
    client = make_web_client(settings_for(slack, token=None))
    assert client.token is None


@pytest.mark.slow  # waits out a real Retry-After
async def test_rate_limited_call_waits_retry_after_and_succeeds(slack: FakeSlack) -> None:
    client = make_web_client(settings_for(slack), timeout=3)
    slack.fail_next("conversations.info", status=429, retry_after=1)
    result = await client.conversations_info(channel="C_GENERAL")
    assert result["ok"] is True
    limited, retried = slack.calls
    assert [limited.status, retried.status] == [429, 200]
    assert retried.at - limited.at >= 1.0  # Slack saw the retry no sooner than Retry-After


@pytest.mark.slow  # waits out real retry backoff
async def test_server_error_is_retried_a_bounded_number_of_times(slack: FakeSlack) -> None:
    client = make_web_client(settings_for(slack), timeout=3)
    slack.fail_next("users.info", status=500)
    assert (await client.users_info(user="U_ALICE"))["ok"] is True

    slack.fail_next("users.info", status=500, times=10)
    with pytest.raises(SlackApiError):
        await client.users_info(user="U_ALICE")
    assert len(slack.calls_to("users.info", include_failed=True)) == 2 + 3  # 1 + 2 retries


def test_client_retries_connection_errors_rate_limits_and_server_errors() -> None:
    client = make_web_client(Settings(_env_file=None))  # type: ignore[call-arg]
    kinds = {type(h): h.max_retry_count for h in client.retry_handlers}
    assert set(kinds) == {
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    }
    assert all(1 <= n <= 3 for n in kinds.values())
