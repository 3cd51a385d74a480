"""A local stand-in for Slack's Web API, for `switchboard demo`: the bot talks to it through the
same client and outbox it uses with Slack (SLACK_API_URL points here). Messages live in memory."""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse


class SandboxWorkspace:
    def __init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.home_views: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(1)

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "http://sandbox.local/",
                "team": "Demo Co",
                "user": "switchboard",
                "team_id": "T_DEMO",
                "user_id": "U_SWITCHBOARD",
                "bot_id": "B_SWITCHBOARD",
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = str(params.get("channel", ""))
            message = {
                "ts": self.next_ts(),
                "user": "U_SWITCHBOARD",
                "text": params.get("text", ""),
                "blocks": _json(params.get("blocks")) or [],
                "thread_ts": params.get("thread_ts"),
                "ephemeral_to": params.get("user") if method == "chat.postEphemeral" else None,
            }
            self.messages[channel].append(message)
            key = "message_ts" if method == "chat.postEphemeral" else "ts"
            return {"ok": True, "channel": channel, key: message["ts"], "message": message}
        if method == "chat.update":
            for message in self.messages.get(str(params.get("channel")), []):
                if message["ts"] == params.get("ts"):
                    message.update(
                        text=params.get("text", ""), blocks=_json(params.get("blocks")) or []
                    )
                    return {"ok": True, "channel": params["channel"], "ts": message["ts"]}
            return {"ok": False, "error": "message_not_found"}
        if method == "views.publish":
            self.home_views[str(params.get("user_id"))] = _json(params.get("view")) or {}
            return {"ok": True, "view": {"id": "V_HOME"}}
        if method == "users.info":
            return {
                "ok": True,
                "user": {
                    "id": params.get("user"),
                    "name": "demo",
                    "tz": "Europe/Berlin",
                    "tz_offset": 3600,
                    "real_name": "Demo User",
                },
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "DEMO"))[1:12]}}
        return {"ok": False, "error": "unknown_method"}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def webapi_router(workspace: SandboxWorkspace) -> APIRouter:
    router = APIRouter()

    @router.post("/sandbox/api/{method}")
    async def call(method: str, request: Request) -> JSONResponse:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        params.update(request.query_params)
        return JSONResponse(workspace.handle(method, params))

    return router
