"""SlackSigner: sends the app signed Slack requests (commands, actions, views, events) over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from . import wire as P

if TYPE_CHECKING:
    from .workspace import SlackWorkspace

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Port 9 is "discard": a response_url no test arranged fails locally, never reaching the internet.
NOWHERE = "http://127.0.0.1:9/response/unset"


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's v0 signature: ``v0=`` + hex HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSigner:
    """Posts to ``app_url + "/slack/events"`` what Slack would, signed with the app's secret.

    With ``slack`` (a served workspace, e.g. the sandbox's or the tests' FakeSlack) default
    response_urls point at it, so ``respond()`` acts on ``slack.messages(...)`` as Slack's would.
    """

    def __init__(
        self,
        signing_secret: str,
        app_url: str,
        *,
        slack: SlackWorkspace | None = None,
        path: str = "/slack/events",
        timeout: float = 10.0,
    ) -> None:
        self.signing_secret = signing_secret
        self.url = app_url.rstrip("/") + path
        self.slack = slack
        self.timeout = timeout
        self._names = count(1)

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(self.signing_secret, ts, body),
        }

    async def post_raw(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """POST ``body`` as is; ``sign=False`` or an old ``timestamp`` make rejected requests."""
        sent = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if sign:
            sent.update(self.sign(body, timestamp))
        sent.update(headers or {})
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.post(self.url, content=body, headers=sent)

    def _response_url(self, kind: str, channel: str | None = None, ts: str | None = None) -> str:
        if self.slack is None:
            return NOWHERE
        return self.slack.response_url(
            f"{kind}-{next(self._names)}", channel=channel, message_ts=ts
        )

    async def slash_command(
        self,
        text: str = "help",
        command: str = "/ops",
        user_id: str = "U_ALICE",
        channel_id: str = P.DEFAULT_CHANNEL,
        response_url: str | None = None,
        trigger_id: str | None = None,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A slash command; without ``response_url`` one on the fake is made (``command-N``)."""
        form = P.slash_command_form(
            text=text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url or self._response_url("command", channel_id),
            trigger_id=trigger_id or P.new_trigger_id(),
        )
        return await self.post_raw(urlencode(form).encode(), FORM, headers, timestamp=timestamp)

    async def block_actions(
        self,
        action_id: str,
        value: str | None = None,
        user_id: str = "U_ALICE",
        channel_id: str = P.DEFAULT_CHANNEL,
        message_ts: str | None = None,
        block_id: str = "actions",
        response_url: str | None = None,
        view: dict[str, Any] | None = None,
        *,
        message: dict[str, Any] | None = None,
        text: str = "Button",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A button click on a message (``message``/``message_ts``) or, with ``view``, in a view.

        Pass the stored message (``slack.messages(ch)[-1]``) so the payload carries its blocks.
        """
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": text, "emoji": True},
            "type": "button",
            "action_ts": P.new_ts(),
        }
        if value is not None:
            action["value"] = value
        if view is None:
            ts = message_ts or (message or {}).get("ts") or P.new_ts()
            message = message or {
                "type": "message",
                "user": P.BOT_USER_ID,
                "bot_id": P.BOT_ID,
                "text": "",
                "ts": ts,
                "team": P.TEAM_ID,
            }
            response_url = response_url or self._response_url("action", channel_id, ts)
        payload = P.block_actions_payload(
            action=action,
            user_id=user_id,
            trigger_id=P.new_trigger_id(),
            channel_id=channel_id,
            message=message,
            response_url=response_url,
            view=view,
        )
        return await self._interactive(payload, headers)

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any] | None = None,
        private_metadata: str = "",
        user_id: str = "U_ALICE",
        *,
        view_id: str = "V_MODAL",
        blocks: list[dict[str, Any]] | None = None,
        title: str = "Switchboard",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A modal submit; ``values``: ``{block_id: {action_id: {"type": ..., "value": ...}}}``."""
        payload = P.view_submission_payload(
            callback_id=callback_id,
            values=values or {},
            private_metadata=private_metadata,
            user_id=user_id,
            trigger_id=P.new_trigger_id(),
            view_id=view_id,
            blocks=blocks or [],
            title=title,
        )
        return await self._interactive(payload, headers)

    async def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """An Events API delivery; a redelivery reuses ``event_id`` and sets ``retry_num``."""
        envelope = P.event_callback(
            event, event_id=event_id or P.new_event_id(), event_time=int(time.time())
        )
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        elif retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope).encode()
        return await self.post_raw(body, JSON, headers, timestamp=timestamp)

    async def url_verification(self, challenge: str) -> httpx.Response:
        body = {"token": P.VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return await self.post_raw(json.dumps(body).encode(), JSON)

    async def interactive(
        self, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Any interaction payload (block_actions, view_submission, view_closed), as a form."""
        return await self._interactive(payload, headers)

    async def _interactive(
        self, payload: dict[str, Any], headers: dict[str, str] | None
    ) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post_raw(body, FORM, headers)
