"""The HTTP server `switchboard serve` runs: uvicorn with deadlines on every connection.

uvicorn 0.54 times out only idle keep-alive connections, and only once a response was sent: a
client that opens a connection and sends nothing, half its headers, or a body byte now and then
holds the connection (and its memory) for ever. Its h11 protocol is therefore given two
deadlines: the request's headers must arrive within ``header_timeout`` of its first byte (or of
the connection opening), and its body within ``body_timeout`` (plus a grace) of the headers. The
app answers a slow body itself first (408, ``bot.app.read_limited``, which starts its clock a
little later); this deadline closes what nothing reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.settings import Settings

MAX_HEADER_BYTES = 16 * 1024  # Slack's and MLflow's headers are well under 2 KB
BODY_GRACE_SECONDS = 2.0  # the app's own 408 for a slow body comes first
GRACEFUL_SHUTDOWN_SECONDS = 20  # then open connections are dropped; the outbox keeps its rows
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\nrequest too slow"
)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request does not arrive in time."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body"

    # uvicorn's H11Protocol narrows asyncio's BaseTransport to the Transport it is given (and
    # ignores the override); this one keeps its signature.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect("headers")

    def data_received(self, data: bytes) -> None:
        if self._waiting_for is None and self.conn.their_state is h11.IDLE:
            self._expect("headers")  # the first byte of the next request on this connection
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # arms uvicorn's keep-alive timer for the idle wait
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _follow_request(self) -> None:
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._expect("body")
        elif state is h11.IDLE:
            answered = self.cycle is not None and self.cycle.response_complete
            if answered and self.timeout_keep_alive_task is not None:
                self._cancel()  # idle between requests: uvicorn's keep-alive timeout applies
            elif self._waiting_for != "headers":
                # uvicorn cancels its keep-alive timer on any byte and re-arms it only after a
                # response: a body dripping in after an early answer would leave nothing armed.
                self._expect("headers")
        else:
            self._cancel()  # the whole request is in, or the connection is closing

    def _expect(self, what: str) -> None:
        self._cancel()
        seconds = self.header_timeout if what == "headers" else self.body_timeout
        self._waiting_for = what
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, None

    def _too_slow(self) -> None:
        waited, self._deadline, self._waiting_for = self._waiting_for, None, None
        if self.transport.is_closing():
            return
        # Debug, not info: how often this happens is up to whoever opens connections.
        self.logger.debug("Closing a connection whose request %s did not arrive in time", waited)
        if self.conn.our_state is h11.IDLE:  # no response started: say why before closing
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.transport.close()


def server_config(app: Any, settings: Settings, *, host: str) -> uvicorn.Config:
    """What `switchboard serve` runs: the app, our deadlines, uvicorn's own limits."""
    protocol = type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {
            "header_timeout": settings.switchboard_header_timeout,
            "body_timeout": settings.switchboard_body_timeout + BODY_GRACE_SECONDS,
        },
    )
    return uvicorn.Config(
        app,
        host=host,
        port=settings.port,
        log_config=None,
        http=protocol,
        ws="none",  # nothing here speaks WebSocket (Socket Mode dials out): no upgrades
        # uvicorn annotates int but only hands it to loop.call_later: fractional seconds work.
        timeout_keep_alive=settings.switchboard_keep_alive_timeout,  # type: ignore[arg-type]
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


async def client_gone(_request: Request, _exc: Exception) -> Response:
    """Handler of ClientDisconnect: the client hung up mid-body, or a deadline above cut it off.

    Nobody is left to read an answer, and what an outsider's connection does is no reason to
    log a traceback.
    """
    return Response(status_code=400)
