"""Who is in a Slack user group (usergroups.users.list, scope usergroups:read), cached briefly.

A team's on-call may be a user group that a rotation tool keeps current, so an answer is kept
for only a minute; a failed lookup is not kept, the next click asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from cachetools import TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

MEMBERS_TTL = 60.0  # seconds: a rotation's hand-over is seen within a minute
LOOKUP_TIMEOUT = 2.0  # seconds: a modal submission waiting on it must still ack within Slack's 3
GROUPS_KEPT = 1_000


class UsergroupLookupError(Exception):
    """Slack did not say who is in `group`; `reason` is Slack's error code or what went wrong."""

    def __init__(self, group: str, reason: str) -> None:
        super().__init__(f"usergroups.users.list {group}: {reason}")
        self.group, self.reason = group, reason


class UsergroupMembers:
    """Members of user groups, each answer kept for `ttl` seconds of `clock`."""

    def __init__(
        self,
        *,
        ttl: float = MEMBERS_TTL,
        timeout: float = LOOKUP_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self._kept: TTLCache[str, frozenset[str]] = TTLCache(
            maxsize=GROUPS_KEPT, ttl=ttl, timer=clock
        )

    async def members(self, client: AsyncWebClient, group: str) -> frozenset[str]:
        """The user ids in `group`; raises UsergroupLookupError when Slack does not say."""
        kept = self._kept.get(group)
        if kept is not None:
            return kept
        try:
            async with asyncio.timeout(self.timeout):
                answer = await client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            raise UsergroupLookupError(group, str(exc.response.get("error") or "error")) from exc
        except TimeoutError as exc:
            raise UsergroupLookupError(group, "no answer in time") from exc
        except Exception as exc:  # a network error: say so to the person, never a 500
            raise UsergroupLookupError(group, type(exc).__name__) from exc
        users = answer.get("users")
        if not isinstance(users, list):
            raise UsergroupLookupError(group, "an answer without users")
        found = frozenset(str(u) for u in users)
        self._kept[group] = found
        log.info("usergroup_members", group=group, members=len(found))
        return found
