"""Socket Mode for FakeSlack: `apps.connections.open`, the websocket, envelopes out and acks in."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from . import payloads as P

log = structlog.get_logger(__name__)

SEND_TIMEOUT = 5.0  # seconds a test waits for an envelope to leave the fake's loop


class SocketModeRefusal(Exception):
    """`apps.connections.open` refused, with the error code Slack answers."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class SocketAck:
    """What the client sent back for one envelope, and how long after it was sent."""

    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float


@dataclass
class _Sent:
    envelope: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class SocketMode:
    """Mixed into FakeSlack: plays Slack's Socket Mode server as slack_sdk's clients expect it.

    Shapes follow slack_sdk's own socket mode tests: a `hello` on connect, envelopes
    ``{"envelope_id", "payload", "type", "accepts_response_payload", ...}`` out, and acks
    ``{"envelope_id", "payload"?}`` in. A connection URL is good for one connection, as Slack's.
    """

    _lock: threading.RLock
    _loop: asyncio.AbstractEventLoop | None

    @property
    def base_url(self) -> str:  # FakeSlack's
        raise NotImplementedError

    def _init_socket_mode(self) -> None:
        self._socket_tickets: set[str] = set()
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._socket_sent: dict[str, _Sent] = {}
        self._socket_acks: dict[str, SocketAck] = {}
        self.socket_unexpected: list[str] = []  # client messages that acked nothing we sent
        self.socket_connections_made = 0

    def _reset_socket_mode(self) -> None:
        """Forget envelopes and acks; open connections stay open."""
        with self._lock:
            self._socket_sent.clear()
            self._socket_acks.clear()
            self.socket_unexpected.clear()

    # -- Web API ----------------------------------------------------------------------------

    def apps_connections_open(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        """The whole answer to `apps.connections.open`, ``ok`` included."""
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(params.get("token") or "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        try:
            return {"ok": True, **self.connections_open(token)}
        except SocketModeRefusal as refusal:
            return {"ok": False, "error": refusal.error}

    def connections_open(self, token: str) -> dict[str, Any]:
        """`apps.connections.open`: only an app-level token (`xapp-`) gets a websocket URL."""
        if token.startswith(("xoxb-", "xoxp-")):
            raise SocketModeRefusal("not_allowed_token_type")
        if not token.startswith("xapp-"):
            raise SocketModeRefusal("invalid_auth")
        ticket = secrets.token_hex(8)
        with self._lock:
            self._socket_tickets.add(ticket)
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/socket/{ticket}"}

    # -- what tests read --------------------------------------------------------------------

    @property
    def socket_connected(self) -> bool:
        with self._lock:
            return any(not ws.closed for ws in self._sockets.values())

    @property
    def socket_acks(self) -> dict[str, dict[str, Any] | None]:
        """envelope_id -> the ack's payload (None for a plain ack); present once acked."""
        with self._lock:
            return {eid: ack.payload for eid, ack in self._socket_acks.items()}

    def socket_ack(self, envelope_id: str) -> SocketAck | None:
        with self._lock:
            return self._socket_acks.get(envelope_id)

    # -- what tests send --------------------------------------------------------------------

    def socket_send_slash_command(
        self,
        text: str = "help",
        user_id: str = "U_ALICE",
        channel_id: str = P.DEFAULT_CHANNEL,
        response_url: str = "http://127.0.0.1:9/response/unset",
        *,
        command: str = "/ops",
        trigger_id: str | None = None,
    ) -> str:
        """A slash command envelope; the client answers in its ack (accepts_response_payload)."""
        payload = P.slash_command_form(
            text=text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            trigger_id=trigger_id or P.new_trigger_id(),
        )
        return self._send_envelope("slash_commands", payload, accepts_response_payload=True)

    def socket_send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """An events_api envelope around the event_callback body; a redelivery reuses event_id."""
        payload = P.event_callback(
            event, event_id=event_id or P.new_event_id(), event_time=int(time.time())
        )
        return self._send_envelope(
            "events_api",
            payload,
            accepts_response_payload=False,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    def socket_send_interactive(self, payload: dict[str, Any]) -> str:
        """An interactive envelope (block_actions, view_submission, shortcut …)."""
        # Slack lets the ack carry a response only where HTTP mode could answer in the body.
        accepts = payload.get("type") in ("view_submission", "block_suggestion")
        return self._send_envelope("interactive", payload, accepts_response_payload=accepts)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's `disconnect` message: the client should open a new connection by itself."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake"},
        }
        self._send_raw(json.dumps(message))

    # -- internals --------------------------------------------------------------------------

    def _send_envelope(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "payload": payload, "type": kind, **extra}
        with self._lock:
            self._socket_sent[envelope_id] = _Sent(envelope)
        self._send_raw(json.dumps(envelope))
        return envelope_id

    def _send_raw(self, text: str) -> None:
        """Send on the newest open connection (Slack picks one of the app's connections)."""
        with self._lock:
            open_sockets = [ws for ws in self._sockets.values() if not ws.closed]
        if not open_sockets or self._loop is None:
            raise RuntimeError("no Socket Mode client is connected to the fake")
        future = asyncio.run_coroutine_threadsafe(open_sockets[-1].send_str(text), self._loop)
        future.result(SEND_TIMEOUT)

    def _hello(self) -> dict[str, Any]:
        with self._lock:
            count = sum(1 for ws in self._sockets.values() if not ws.closed)
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": P.API_APP_ID},
        }

    def _on_client_message(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            sent = self._socket_sent.get(str(envelope_id)) if envelope_id else None
            if sent is None or envelope_id in self._socket_acks:
                self.socket_unexpected.append(data)
                return
            payload = message.get("payload")
            self._socket_acks[str(envelope_id)] = SocketAck(
                envelope_id=str(envelope_id),
                payload=payload if isinstance(payload, dict) else None,
                seconds=time.monotonic() - sent.at,
            )
        log.debug("fake_slack.socket_ack", envelope_id=envelope_id)

    async def _on_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.match_info["ticket"]
        with self._lock:
            known = ticket in self._socket_tickets
            self._socket_tickets.discard(ticket)
        if not known:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        with self._lock:
            self._sockets[ticket] = ws
            self.socket_connections_made += 1
        try:
            await ws.send_str(json.dumps(self._hello()))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_client_message(msg.data)
        finally:
            with self._lock:
                self._sockets.pop(ticket, None)
        return ws

    async def _close_sockets(self) -> None:
        with self._lock:
            sockets = list(self._sockets.values())
        for ws in sockets:
            try:
                await asyncio.wait_for(ws.close(), 1.0)
            except (TimeoutError, ConnectionError):
                pass  # the client is gone already
