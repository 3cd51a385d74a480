"""What the sandbox page shows one person: the workspace as they see it, as JSON.

Messages are passed on as Slack stored them (text, blocks, files, thread bookkeeping); the page
renders the Block Kit itself, so a new kind of message needs no change here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.manifest import load_manifest
from bot.sandbox.controls import Control, SandboxClock
from bot.sandbox.people import Person
from bot.sandbox.slack_api import WebApi, wire

PNG = b"\x89PNG\r\n\x1a\n"


def shortcuts() -> list[dict[str, str]]:
    """The app's global shortcuts from manifest.yml, for the ⚡ menu."""
    listed = load_manifest().get("features", {}).get("shortcuts") or []
    return [
        {"name": s["name"], "callback_id": s["callback_id"]}
        for s in listed
        if s.get("type") == "global"
    ]


def page_state(
    api: WebApi,
    *,
    user: str,
    people: Iterable[Person],
    controls: Iterable[Control],
    clock: SandboxClock,
    team_name: str,
) -> dict[str, Any]:
    dm = wire.dm_channel_id(user)
    channels = sorted(api.channels.values(), key=lambda c: c["name"])
    shown = [c["id"] for c in channels] + [dm]
    return {
        "version": api.version,
        "team": team_name,
        "me": user,
        "time_zone": api.users.get(user, {}).get("tz"),
        "bot": {"id": wire.BOT_USER_ID, "name": "switchboard"},
        "people": [{"id": p.id, "name": p.name, "role": p.role} for p in people],
        "channels": [{"id": c["id"], "name": c["name"]} for c in channels],
        "dm": dm,
        "messages": {cid: [_message(api, m) for m in api.visible_to(user, cid)] for cid in shown},
        "home": api.home_views.get(user),
        "modals": [
            {**view, "errors": api.view_errors.get(view["id"], {})} for view in api.view_stack(user)
        ],
        "controls": [c.describe() for c in controls],
        "shortcuts": shortcuts(),
        "clock": clock.now().isoformat(timespec="minutes"),
    }


def _message(api: WebApi, message: dict[str, Any]) -> dict[str, Any]:
    files = []
    for shared in message.get("files") or []:
        record = api.files.get(str(shared.get("id")), {})
        content = record.get("content") or b""
        files.append(
            {
                "id": shared.get("id"),
                "title": shared.get("title") or shared.get("name") or "file",
                "image": content.startswith(PNG),
                "url": f"/sandbox/files/{shared.get('id')}",
            }
        )
    return {
        "ts": message["ts"],
        "user": message.get("user"),
        "from_app": bool(message.get("bot_id")),
        "text": message.get("text") or "",
        "blocks": message.get("blocks") or [],
        "attachments": message.get("attachments") or [],
        "files": files,
        "thread_ts": message.get("thread_ts"),
        "reply_count": message.get("reply_count", 0),
        "edited": "edited" in message,
        "ephemeral": bool(message.get("ephemeral")),
    }
