"""FakeSlack: the workspace's Web API served on a local port for tests, with what tests need on top:
every call recorded, faults and pauses injected, Socket Mode, and a signer that talks to the app.

The Web API itself (state, methods, Slack's answers) is the sandbox's, in bot/sandbox/slack_api.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from bot.sandbox.slack_api.http import (
    Answer,
    answer_api,
    answer_response_url,
    answer_upload,
    read_params,
)
from bot.sandbox.slack_api.methods import WebApi
from bot.sandbox.slack_api.signer import SlackSigner

from .socket_mode import SocketMode

log = structlog.get_logger(__name__)


@dataclass
class Call:
    """One request the fake received; ``status``/``response`` are set once it is answered."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]  # lower-cased names
    at: float
    path: str = ""
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass
class _Fault:
    times: int
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    hang: float = 0.0
    raw: bytes | None = None  # answer these bytes as they are (see answer_raw_next)
    headers: dict[str, str] | None = None


class FakeSlack(SocketMode, WebApi):
    """Slack on 127.0.0.1, served from its own thread: usable from sync, async and subprocess tests.

    ``with FakeSlack() as slack: client = AsyncWebClient(token="xoxb-1", base_url=slack.api_url)``

    Read ``calls``/``calls_to``/``messages``/``ephemerals``/``responses``/``invalid``; arrange
    ``fail_next``/``hang_next``/``users``/``channels``/``members``/``usergroups``/
    ``missing_channels``.
    ``signing_secret`` is only used by ``signer(app_url)`` to sign requests to the app.
    """

    def __init__(self, signing_secret: str | None = None) -> None:
        super().__init__()
        self.signing_secret = signing_secret
        self.port = 0
        self._calls: list[Call] = []
        self.invalid: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None  # wakes hung requests
        self._init_socket_mode()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._thread is not None:
            raise RuntimeError("FakeSlack is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve,
            args=(sock, ready, errors),
            name=f"fake-slack-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(10) or errors:
            self.stop()
            raise RuntimeError(f"FakeSlack did not start: {errors[:1]}")
        return self

    def stop(self) -> None:
        loop, thread, self._thread = self._loop, self._thread, None
        if loop is None or thread is None:
            return
        if self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(
        self, sock: socket.socket, ready: threading.Event, errors: list[BaseException]
    ) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._on_api)
        app.router.add_post("/response/{name}", self._on_response_url)
        app.router.add_post("/upload/{file_id}", self._on_upload)
        app.router.add_get("/socket/{ticket}", self._on_socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            self._stopping = asyncio.Event()
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
        except BaseException as exc:  # reported to start() in the caller's thread
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close_sockets())
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def signer(self, app_url: str) -> SlackSigner:
        """A SlackSigner for ``app_url`` whose default response_urls point back at this fake."""
        if self.signing_secret is None:
            raise ValueError("FakeSlack(signing_secret=...) is needed to sign requests")
        return SlackSigner(signing_secret=self.signing_secret, app_url=app_url, slack=self)

    # -- what tests read ---------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, *, include_failed: bool = False) -> list[Call]:
        return [c for c in self.calls if c.method == method and (include_failed or c.ok)]

    def responses(self, name: str) -> list[dict[str, Any]]:
        """Bodies accepted at ``response_url(name)``, in order."""
        calls = self.calls_to("response_url")
        return [c.params for c in calls if c.path == f"/response/{name}"]

    def wait_for(self, predicate: Callable[[FakeSlack], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate(self)`` until true or ``timeout``; blocks the calling thread."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    async def wait_for_async(
        self, predicate: Callable[[FakeSlack], bool], timeout: float = 5.0
    ) -> bool:
        """``wait_for`` for async tests whose app runs on the test's own event loop."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # -- what tests arrange ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (``"*"``: any API method) with a failure.

        429 gets ``Retry-After`` (default 1 s) and ``ratelimited``; 5xx gets ``internal_error``;
        ``error`` alone answers HTTP 200 ``{"ok": false, "error": error}``.
        """
        if status is None or status == 200:
            if not error:
                raise ValueError("fail_next needs a non-200 status or an error")
            status = 200
        elif status == 429:
            retry_after = 1 if retry_after is None else retry_after
            error = error or "ratelimited"
        else:
            error = error or "internal_error"
        fault = _Fault(times=times, status=status, error=error, retry_after=retry_after)
        self._add_fault(method, fault)

    def hang_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``times`` calls, then answer normally.

        The request is still carried out after the pause, as Slack may do for a client that
        gave up waiting: a client that retries on timeout can post twice.
        """
        self._add_fault(method, _Fault(times=times, hang=seconds))

    def answer_raw_next(
        self,
        method: str,
        body: bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``body`` and ``headers`` as given.

        For answers Slack should never send: a body that claims ``Content-Encoding: gzip`` but
        is not, JSON nested too deep to parse, ``Retry-After: nan``. The call is not carried out.
        """
        self._add_fault(method, _Fault(times=times, status=status, raw=body, headers=headers))

    def reset(self) -> None:
        """Forget every call, message, view, file and pending fault; restore default users."""
        with self._lock:
            self._calls.clear()
            self.invalid.clear()
            self._faults.clear()
            self._reset_socket_mode()
            self.reset_workspace()

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for key in (method, "*" if method not in ("response_url", "file_upload") else ""):
                queue = self._faults.get(key)
                if queue:
                    fault = queue[0]
                    fault.times -= 1
                    if fault.times == 0:
                        queue.popleft()
                    return fault
        return None

    # -- HTTP --------------------------------------------------------------------------------

    async def _on_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, bad_json = read_params(
            request.query, await request.read(), request.headers.get("content-type", "")
        )
        return await self._serve_call(
            request, method, params, lambda call: self._api(call, bad_json)
        )

    async def _on_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.read()
        params = _json_object(raw)
        return await self._serve_call(
            request, "response_url", params, lambda call: answer_response_url(self, name, raw)[0]
        )

    async def _on_upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        file_id = request.match_info["file_id"]
        params = {"file_id": file_id, "size": len(data)}
        return await self._serve_call(
            request, "file_upload", params, lambda call: answer_upload(self, file_id, data)
        )

    async def _serve_call(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        answer: Callable[[Call], Answer],
    ) -> web.Response:
        call = Call(
            method,
            params,
            {k.lower(): v for k, v in request.headers.items()},
            time.time(),
            path=request.path,
        )
        with self._lock:
            self._calls.append(call)
        fault = self._take_fault(method)
        if fault and fault.hang:
            await self._pause(fault.hang)
        if fault and fault.raw is not None:
            call.status = fault.status
            return web.Response(status=fault.status, body=fault.raw, headers=fault.headers)
        if fault and fault.error:
            answered = Answer(fault.status, {"ok": False, "error": fault.error})
            if fault.retry_after is not None:
                answered.headers["Retry-After"] = str(fault.retry_after)
        else:
            with self._lock:
                answered = answer(call)
            if answered.invalid:
                self.invalid.append(call)
        call.status, call.response = answered.status, answered.body
        log.debug(
            "fake_slack.call", method=method, status=answered.status, ok=answered.body.get("ok")
        )
        if answered.text is not None:  # response_url and uploads answer plain text like Slack's
            return web.Response(
                status=answered.status, text=answered.text, headers=answered.headers
            )
        return web.json_response(answered.body, status=answered.status, headers=answered.headers)

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    def _api(self, call: Call, bad_json: bool) -> Answer:
        if call.method == "apps.connections.open":  # app-level token: see socket_mode.py
            return Answer(200, self.apps_connections_open(call.params, call.headers))
        return answer_api(self, call.method, call.params, call.headers, bad_json)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
