"""Slack's wire shapes: workspace objects the fake answers with and requests Slack sends to apps.

Shapes follow bolt-python's and python-slack-sdk's own test payloads and Slack's docs.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T_SWITCH"
TEAM_DOMAIN = "switchboard-test"
TEAM_NAME = "Switchboard Test"
API_APP_ID = "A_SWITCH"
BOT_USER_ID = "U_BOT"
BOT_ID = "B_BOT"
VERIFICATION_TOKEN = "verification_token"  # deprecated by Slack but still sent in every payload
DEFAULT_CHANNEL = "C_GENERAL"

_TZ_LABELS = {
    ("Europe/Berlin", False): "Central European Time",
    ("Europe/Berlin", True): "Central European Summer Time",
    ("America/New_York", False): "Eastern Standard Time",
    ("America/New_York", True): "Eastern Daylight Time",
}
_seq = count(1)


def user(
    user_id: str,
    name: str,
    real_name: str,
    tz: str = "Europe/Berlin",
    *,
    email: str | None = None,
    is_admin: bool = False,
    is_bot: bool = False,
    deleted: bool = False,
) -> dict[str, Any]:
    """A users.info ``user`` object; tz_offset is computed for today so DST is right."""
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    dst = bool(now.dst())
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": deleted,
        "color": "9f69e7",
        "real_name": real_name,
        "tz": tz,
        "tz_label": _TZ_LABELS.get((tz, dst), now.tzname() or tz),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "profile": {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": name,
            "display_name_normalized": name,
            "email": email or f"{name}@example.com",
            "image_48": f"https://avatars.example.com/{name}_48.png",
            "team": TEAM_ID,
        },
        "is_admin": is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
        "has_2fa": False,
    }


def default_users() -> dict[str, dict[str, Any]]:
    """Three people in two time zones, and the bot itself."""
    people = [
        user("U_ALICE", "alice", "Alice Adams", "Europe/Berlin", is_admin=True),
        user("U_BOB", "bob", "Bob Brown", "Europe/Berlin"),
        user("U_CAROL", "carol", "Carol Chen", "America/New_York"),
        user(BOT_USER_ID, "switchboard", "Switchboard", "America/Los_Angeles", is_bot=True),
    ]
    return {p["id"]: p for p in people}


def user_name(user_id: str) -> str:
    """The handle Slack shows for a user id: ``U_ALICE`` -> ``alice``."""
    return user_id.removeprefix("U_").removeprefix("W_").lower()


def channel(
    channel_id: str, name: str | None = None, *, is_private: bool = False
) -> dict[str, Any]:
    """A conversations.info ``channel`` object for a public or private channel."""
    name = name or channel_name(channel_id)
    return {
        "id": channel_id,
        "name": name,
        "name_normalized": name,
        "is_channel": not is_private,
        "is_group": is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": is_private,
        "is_archived": False,
        "is_general": name == "general",
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": True,
        "created": 1_600_000_000,
        "creator": "U_ALICE",
        "context_team_id": TEAM_ID,
        "shared_team_ids": [TEAM_ID],
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
    }


def im_channel(channel_id: str, user_id: str) -> dict[str, Any]:
    """A conversations.info ``channel`` object for a direct message with ``user_id``."""
    return {
        "id": channel_id,
        "created": 1_600_000_000,
        "is_im": True,
        "is_org_shared": False,
        "context_team_id": TEAM_ID,
        "user": user_id,
        "is_user_deleted": False,
        "priority": 0,
    }


def channel_name(channel_id: str) -> str:
    """A readable name for an id tests invent: ``C_ML_ONCALL`` -> ``ml-oncall``."""
    return channel_id.removeprefix("C_").removeprefix("G_").lower().replace("_", "-")


def dm_channel_id(user_id: str) -> str:
    """The stable DM channel id the fake gives a user: ``U_ALICE`` -> ``D_ALICE``."""
    return "D" + user_id[1:]


def new_trigger_id() -> str:
    return f"{int(time.time())}.{next(_seq)}.{secrets.token_hex(16)}"


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def new_ts() -> str:
    """A message ts for requests Slack sends about messages the fake never stored."""
    return f"{time.time():.6f}"


def _user_ref(user_id: str, name: str | None = None) -> dict[str, str]:
    name = name or user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def slash_command_form(
    *,
    text: str,
    command: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    names: tuple[str, str] | None = None,
) -> dict[str, str]:
    """The form fields of a slash command request, in the order Slack sends them.

    ``names``: the user's handle and the channel's name, when known (else made from the ids).
    """
    handle, where = names or (user_name(user_id), channel_name(channel_id))
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": where,
        "user_id": user_id,
        "user_name": handle,
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions_payload(
    *,
    action: dict[str, Any],
    user_id: str,
    trigger_id: str,
    channel_id: str | None,
    message: dict[str, Any] | None,
    response_url: str | None,
    view: dict[str, Any] | None,
    is_ephemeral: bool = False,
    state: dict[str, Any] | None = None,
    handle: str | None = None,
) -> dict[str, Any]:
    """A block_actions payload from a message (channel, message, response_url) or a view.

    ``state``: the values of the message's inputs (``{block_id: {action_id: value}}``).
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user_ref(user_id, handle),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V_MODAL")}
        payload["view"] = view
    else:
        if channel_id is None or message is None:
            raise ValueError("a block_actions payload needs a view, or a channel_id and a message")
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name(channel_id)}
        payload["message"] = message
        payload["state"] = {"values": state or {}}
        payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def view_submission_payload(
    *,
    callback_id: str,
    values: dict[str, Any],
    private_metadata: str,
    user_id: str,
    trigger_id: str,
    view_id: str,
    blocks: list[dict[str, Any]],
    title: str,
    handle: str | None = None,
) -> dict[str, Any]:
    """A view_submission payload; ``values`` is ``view.state.values``."""
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user_ref(user_id, handle),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": blocks,
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": API_APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(event: dict[str, Any], *, event_id: str, event_time: int) -> dict[str, Any]:
    """The Events API envelope around ``event``."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_hex(8)}",
    }


def app_mention_event(
    text: str,
    *,
    user_id: str = "U_ALICE",
    channel_id: str = DEFAULT_CHANNEL,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An ``app_mention``; ``text`` should contain ``<@U_BOT>`` as Slack's does."""
    ts = ts or new_ts()
    event = {
        "client_msg_id": secrets.token_hex(8),
        "type": "app_mention",
        "text": text,
        "user": user_id,
        "ts": ts,
        "team": TEAM_ID,
        "channel": channel_id,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message_im_event(
    text: str, *, user_id: str = "U_ALICE", ts: str | None = None
) -> dict[str, Any]:
    """A ``message`` event in the user's DM with the bot (the ``message.im`` subscription)."""
    ts = ts or new_ts()
    return {
        "client_msg_id": secrets.token_hex(8),
        "type": "message",
        "text": text,
        "user": user_id,
        "ts": ts,
        "team": TEAM_ID,
        "channel": dm_channel_id(user_id),
        "event_ts": ts,
        "channel_type": "im",
    }


def app_home_opened_event(*, user_id: str = "U_ALICE", tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": dm_channel_id(user_id),
        "tab": tab,
        "event_ts": new_ts(),
    }


def bot_message(params: dict[str, Any], ts: str) -> dict[str, Any]:
    """The message object Slack stores for a chat.postMessage from the bot."""
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": TEAM_ID,
        "text": params.get("text") or "",
        "ts": ts,
    }
    for key in MESSAGE_FIELDS:
        if params.get(key) is not None:
            message[key] = params[key]
    return message


MESSAGE_FIELDS = (
    "blocks",
    "attachments",
    "thread_ts",
    "reply_broadcast",
    "metadata",
    "username",
    "icon_emoji",
    "icon_url",
    "files",
    "upload",
)


def view_object(
    view: dict[str, Any],
    *,
    view_id: str,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    """The view object views.open/update/push/publish answer with."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": view.get("type"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id or view_id,
        "app_id": API_APP_ID,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }


def auth_test(token: str) -> dict[str, Any]:
    """auth.test for a bot token (xoxb-) or a user token (xoxp-, acting as U_ALICE)."""
    body = {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "team_id": TEAM_ID,
        "is_enterprise_install": False,
    }
    if token.startswith("xoxb-"):
        return {**body, "user": "switchboard", "user_id": BOT_USER_ID, "bot_id": BOT_ID}
    return {**body, "user": "alice", "user_id": "U_ALICE"}
