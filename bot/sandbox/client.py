"""What Slack does when a person acts in the sandbox page: the signed request it sends the app
(slash command, event, block_actions, view_submission, view_closed, shortcut) and what it shows
of the app's answer (an ephemeral, an in-channel post, a modal's next state, an error)."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from bot.sandbox.slack_api import SlackSigner, WebApi, wire

log = structlog.get_logger(__name__)

FORM = "application/x-www-form-urlencoded"
SLACKBOT = "USLACKBOT"
COMMAND = "/ops"
BOT_HANDLE = "switchboard"


@dataclass(frozen=True)
class Outcome:
    """What the page is told after an action: nothing, or why Slack would show an error."""

    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.error is None, "error": self.error}


class SandboxClient:
    """Turns page actions into Slack's requests to the app at ``app_url``, signed for real."""

    def __init__(self, api: WebApi, *, app_url: str, signing_secret: str) -> None:
        self.api = api
        # Slack waits 3 s for an ack; the sandbox waits longer so a slow machine still shows
        # the answer, and reports the error Slack would show when the app does not answer.
        self.signer = SlackSigner(signing_secret, app_url, slack=api, timeout=30.0)
        self._names = itertools.count(1)

    def _handle(self, user: str) -> str:
        return str(self.api.users.get(user, {}).get("name") or wire.user_name(user))

    def _channel_name(self, channel: str) -> str:
        found = self.api.channels.get(channel)
        return str(found["name"]) if found else "directmessage"

    # -- typing ------------------------------------------------------------------------------

    async def send(
        self, *, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Outcome:
        """What the composer sends: a slash command, a mention of the bot, or a DM to it."""
        text = text.strip()
        if not text:
            return Outcome("Type a message, a mention of @switchboard or /ops …")
        if text.startswith("/"):
            return await self._slash(user=user, channel=channel, text=text)
        dm = channel == wire.dm_channel_id(user)
        stored = self.api.post_as_user(channel, user, self._mentions(text), thread_ts=thread_ts)
        if dm:
            event = wire.message_im_event(stored["text"], user_id=user, ts=stored["ts"])
            if thread_ts:
                event["thread_ts"] = thread_ts
        elif f"<@{wire.BOT_USER_ID}>" in stored["text"]:
            event = wire.app_mention_event(
                stored["text"],
                user_id=user,
                channel_id=channel,
                ts=stored["ts"],
                thread_ts=thread_ts,
            )
        else:
            return Outcome()  # the app hears only mentions and DMs (see manifest.yml)
        return self._checked(await self._deliver(self.signer.event(event)), "event")

    def _mentions(self, text: str) -> str:
        """`@switchboard` and `@eva` as Slack sends them: `<@U…>`; the rest stays as typed."""
        handles = {str(u.get("name")): uid for uid, u in self.api.users.items()}
        handles[BOT_HANDLE] = wire.BOT_USER_ID

        def swap(match: re.Match[str]) -> str:
            found = handles.get(match.group(1).lower())
            return f"<@{found}>" if found else match.group(0)

        # Slack escapes &, < and > in what people type, so a message can never forge markup.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"(?<![\w@])@([\w.-]+)", swap, escaped)

    async def _slash(self, *, user: str, channel: str, text: str) -> Outcome:
        command, _, rest = text.partition(" ")
        self.api.add_ephemeral(channel, user, {"text": text}, sender=user)
        if command != COMMAND:
            self.api.add_ephemeral(
                channel,
                user,
                {"text": f"`{command}` is not a valid command. Try `/ops help`."},
                sender=SLACKBOT,
            )
            return Outcome()
        name = f"command-{next(self._names)}"
        url = self.api.response_url(name, channel=channel, user=user, ephemeral=True)
        form = wire.slash_command_form(
            text=rest.strip(),
            command=COMMAND,
            user_id=user,
            channel_id=channel,
            response_url=url,
            trigger_id=self.api.issue_trigger(user),
            names=(self._handle(user), self._channel_name(channel)),
        )
        sent = await self._deliver(self.signer.post_raw(urlencode(form).encode(), FORM))
        if isinstance(sent, str) or sent.status_code != 200:
            problem = sent if isinstance(sent, str) else f"http_{sent.status_code}"
            self.api.add_ephemeral(
                channel,
                user,
                {"text": f'`{COMMAND}` failed with the error "{problem}"'},
                sender=SLACKBOT,
            )
            return Outcome()
        body = _ack_body(sent)
        if body is None:
            return Outcome()
        if body.get("response_type") == "in_channel":
            self.api.post(channel, body)
        else:
            shown = self.api.add_ephemeral(channel, user, body)
            self.api.aim_response_url(name, shown["ts"])
        return Outcome()

    # -- clicking ----------------------------------------------------------------------------

    async def click(
        self,
        *,
        user: str,
        action: dict[str, Any],
        channel: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> Outcome:
        """A click on an interactive element of a message, a modal or the Home tab.

        ``action`` is what the page knows: ``block_index``, ``action_id`` and the choice
        (``value``, ``selected_option``, ``selected_date`` …); the element itself is looked up
        in what Slack stored, so the app gets Slack's payload, not the page's.
        """
        if view_id is not None:
            view = self.api.views.get(view_id)
            if view is None:
                return Outcome("That view is closed.")
            blocks, where = view["blocks"], None
        elif channel and message_ts:
            where = self.api.find_message(channel, message_ts)
            if where is None:
                return Outcome("That message is gone.")
            blocks = where.get("blocks") or []
        else:
            return Outcome("A click needs a message or a view.")
        element, block_id = _element(blocks, action)
        if element is None:
            return Outcome("That element is not in the message any more.")
        sent_action = _action_payload(element, block_id, action)
        trigger = self.api.issue_trigger(user)
        if view_id is not None:
            payload = wire.block_actions_payload(
                action=sent_action,
                user_id=user,
                trigger_id=trigger,
                channel_id=None,
                message=None,
                response_url=None,
                view={**self.api.views[view_id], "state": {"values": state or {}}},
                handle=self._handle(user),
            )
        else:
            assert where is not None and channel is not None
            ephemeral = bool(where.get("to_user"))
            name = f"action-{next(self._names)}"
            url = self.api.response_url(
                name, channel=channel, message_ts=where["ts"], user=user, ephemeral=ephemeral
            )
            message = {k: v for k, v in where.items() if k not in ("channel", "to_user")}
            payload = wire.block_actions_payload(
                action=sent_action,
                user_id=user,
                trigger_id=trigger,
                channel_id=channel,
                message=message,
                response_url=url,
                view=None,
                is_ephemeral=ephemeral,
                state=state,
                handle=self._handle(user),
            )
            if ephemeral:
                del payload["message"]  # Slack does not send an ephemeral message back
        return self._checked(await self._deliver(self.signer.interactive(payload)), "action")

    # -- modals, Home and shortcuts --------------------------------------------------------------

    async def submit(self, *, user: str, view_id: str, values: dict[str, Any]) -> Outcome:
        """Submit a modal: the app's answer closes it, shows field errors, updates or pushes."""
        view = self.api.views.get(view_id)
        if view is None:
            return Outcome("That view is closed.")
        payload = wire.view_submission_payload(
            callback_id=view.get("callback_id") or "",
            values=values,
            private_metadata=view.get("private_metadata") or "",
            user_id=user,
            trigger_id=self.api.issue_trigger(user),
            view_id=view_id,
            blocks=view["blocks"],
            title=(view.get("title") or {}).get("text", ""),
            handle=self._handle(user),
        )
        payload["view"] = {**view, "state": {"values": values}}
        sent = await self._deliver(self.signer.interactive(payload))
        if isinstance(sent, str) or sent.status_code != 200:
            return self._checked(sent, "submission")
        problem = self.api.apply_view_response(user, view_id, _ack_body(sent) or {})
        if problem:
            return Outcome(f"Slack refused the app's answer: {problem}")
        return Outcome()

    async def close(self, *, user: str, view_id: str) -> Outcome:
        view = self.api.views.get(view_id)
        self.api.close_views(user, view_id=view_id)
        if view is None or not view.get("notify_on_close"):
            return Outcome()
        payload = {
            "type": "view_closed",
            "team": {"id": wire.TEAM_ID, "domain": wire.TEAM_DOMAIN},
            "user": {"id": user, "name": self._handle(user), "team_id": wire.TEAM_ID},
            "api_app_id": wire.API_APP_ID,
            "token": wire.VERIFICATION_TOKEN,
            "view": view,
            "is_cleared": False,
        }
        return self._checked(await self._deliver(self.signer.interactive(payload)), "view_closed")

    async def open_home(self, *, user: str) -> Outcome:
        event = wire.app_home_opened_event(user_id=user)
        return self._checked(await self._deliver(self.signer.event(event)), "event")

    async def shortcut(self, *, user: str, callback_id: str) -> Outcome:
        """A global shortcut (the ⚡ menu), as listed in manifest.yml."""
        payload = {
            "type": "shortcut",
            "token": wire.VERIFICATION_TOKEN,
            "action_ts": wire.new_ts(),
            "team": {"id": wire.TEAM_ID, "domain": wire.TEAM_DOMAIN},
            "user": {"id": user, "username": self._handle(user), "team_id": wire.TEAM_ID},
            "is_enterprise_install": False,
            "callback_id": callback_id,
            "trigger_id": self.api.issue_trigger(user),
        }
        return self._checked(await self._deliver(self.signer.interactive(payload)), "shortcut")

    # -- delivery ----------------------------------------------------------------------------

    async def _deliver(self, request: Any) -> httpx.Response | str:
        try:
            response: httpx.Response = await request
            return response
        except httpx.TimeoutException:
            return "operation_timeout"
        except httpx.HTTPError as exc:
            log.warning("sandbox.delivery_failed", error=type(exc).__name__)
            return "dispatch_failed"

    def _checked(self, sent: httpx.Response | str, what: str) -> Outcome:
        if isinstance(sent, str):
            return Outcome(f"Switchboard did not answer the {what} ({sent}).")
        if sent.status_code != 200:
            return Outcome(f"Switchboard answered the {what} with HTTP {sent.status_code}.")
        return Outcome()


def _ack_body(response: httpx.Response) -> dict[str, Any] | None:
    """The message in an ack, if any: JSON as Slack reads it, or plain text."""
    raw = response.content.strip()
    if not raw:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError:
            return {"text": raw.decode("utf-8", "replace")}
        return body if isinstance(body, dict) and body else None
    return {"text": raw.decode("utf-8", "replace")}


def _element(
    blocks: list[dict[str, Any]], action: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """The element ``action`` points at (block by index, element by action_id), and the block_id
    Slack would send (it makes one up for a block the app sent without)."""
    index = action.get("block_index")
    if not isinstance(index, int) or not 0 <= index < len(blocks):
        return None, ""
    block = blocks[index]
    block_id = str(block.get("block_id") or f"sandbox-block-{index}")
    candidates = [
        *block.get("elements", []),
        *([block["accessory"]] if isinstance(block.get("accessory"), dict) else []),
        *([block["element"]] if isinstance(block.get("element"), dict) else []),
    ]
    for element in candidates:
        if isinstance(element, dict) and element.get("action_id") == action.get("action_id"):
            return element, block_id
    return None, block_id


def _action_payload(
    element: dict[str, Any], block_id: str, action: dict[str, Any]
) -> dict[str, Any]:
    """One entry of a block_actions payload's ``actions``, as Slack builds it."""
    sent: dict[str, Any] = {
        "type": element.get("type"),
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "action_ts": wire.new_ts(),
    }
    kind = element.get("type")
    if kind == "button":
        sent["text"] = element.get("text")
        if "value" in element:
            sent["value"] = element["value"]
        if element.get("style"):
            sent["style"] = element["style"]
    elif kind in ("static_select", "overflow", "radio_buttons", "external_select"):
        chosen = _option(element, action.get("value"))
        if chosen is None:
            sent["selected_option"] = None
        else:
            sent["selected_option"] = chosen
    elif kind == "datepicker":
        sent["selected_date"] = action.get("value")
    elif kind in ("users_select", "conversations_select", "channels_select"):
        key = {"users_select": "selected_user", "channels_select": "selected_channel"}
        sent[key.get(str(kind), "selected_conversation")] = action.get("value")
    else:
        sent["value"] = action.get("value")
    return sent


def _option(element: dict[str, Any], value: Any) -> dict[str, Any] | None:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return next((o for o in options if o.get("value") == value), None)
