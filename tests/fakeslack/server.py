"""FakeSlack: a real local HTTP server playing Slack's Web API, response_url and file uploads."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from . import payloads as P
from .blockkit import slack_error_code, validate_blocks, validate_view
from .socket_mode import SocketMode

if TYPE_CHECKING:
    from .signer import SlackSigner

log = structlog.get_logger(__name__)

JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")
RESPONSE_URL_USES = 5  # Slack honours a response_url up to 5 times


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


class Refusal(Exception):
    """Answer ``{"ok": false, "error": ...}``; ``invalid`` marks a request Slack calls malformed."""

    def __init__(
        self, error: str, *, invalid: bool = False, errors: list[str] | None = None
    ) -> None:
        super().__init__(error)
        self.error, self.invalid, self.errors = error, invalid, errors or []

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.errors:
            body["errors"] = self.errors
            body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in self.errors]}
        return body


class WebApi:
    """The workspace the fake keeps and the Web API methods the bot calls, with Slack's shapes."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}  # channel -> user ids; default: every user
        self.missing_channels: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> published Home tab
        self.files: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._open_ims: set[str] = set()
        self._seq = 0  # never reset, so ts and ids stay unique across reset()
        self.reset_workspace()
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda p: {},  # answered in dispatch, which knows the token
            "api.test": lambda p: {"args": {k: v for k, v in p.items() if k != "token"}},
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    base_url: str  # provided by FakeSlack

    def reset_workspace(self) -> None:
        """Default users and channels back, everything posted forgotten (same dict objects)."""
        with self._lock:
            self.users.clear()
            self.users.update(P.default_users())
            self.channels.clear()
            self.channels[P.DEFAULT_CHANNEL] = P.channel(P.DEFAULT_CHANNEL, "general")
            for store in (self.members, self.views, self.home_views, self.files, self._messages):
                store.clear()
            self.missing_channels.clear()
            self._ephemerals.clear()
            self._open_ims.clear()

    def messages(self, channel: str, *, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Messages in ``channel`` (user id: their DM) in order; ``thread_ts``: its replies."""
        with self._lock:
            found = self._messages.get(self._dm_for(channel), [])
            if thread_ts is not None:
                found = [
                    m for m in found if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
                ]
            return copy.deepcopy(found)

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and ephemeral response_url answers)."""
        with self._lock:
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if channel is None or e["channel"] == self._dm_for(channel)
                ]
            )

    def dispatch(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            raise Refusal("unknown_method")
        if method == "api.test":
            return handler(params)
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(params.get("token") or "")
        if not token:
            raise Refusal("not_authed")
        if not token.startswith(("xoxb-", "xoxp-")):
            raise Refusal("invalid_auth")
        if method == "auth.test":
            return P.auth_test(token)
        return handler(params)

    # -- helpers ------------------------------------------------------------------------------

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _new_ts(self) -> str:
        micros = self._next() * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _dm_for(self, channel: str) -> str:
        return P.dm_channel_id(channel) if channel[:1] in ("U", "W") else channel

    def _channel(self, params: dict[str, Any], key: str = "channel") -> str:
        channel = str(params.get(key) or "")
        if channel.startswith("#"):
            by_name = {c["name"]: cid for cid, c in self.channels.items()}
            channel = by_name.get(channel[1:], "")
        if channel[:1] in ("U", "W") and channel not in self.users:
            raise Refusal("channel_not_found")
        if channel[:1] not in ("C", "D", "G", "U", "W") or channel in self.missing_channels:
            raise Refusal("channel_not_found")
        return self._dm_for(channel)

    def _check_content(self, params: dict[str, Any], *, required: bool = True) -> None:
        if required and not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise Refusal("no_text", invalid=True)
        if len(str(params.get("text") or "")) > 40_000:
            raise Refusal("msg_too_long", invalid=True)
        if "blocks" in params:
            errors = validate_blocks(params["blocks"], "message")
            if errors:
                raise Refusal(slack_error_code(errors), invalid=True, errors=errors)

    def _find(self, channel: str, ts: Any) -> dict[str, Any]:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise Refusal("message_not_found")

    def _page(self, items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(str(params.get("cursor") or "0").removeprefix("next:") or 0)
        limit = int(params.get("limit") or 100) or 100
        end = start + limit
        cursor = f"next:{end}" if end < len(items) else ""
        return {key: items[start:end], "response_metadata": {"next_cursor": cursor}}

    def post(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        """Store a bot message in ``channel`` (threads keep Slack's reply bookkeeping)."""
        message = P.bot_message(params, self._new_ts())
        thread_ts = message.get("thread_ts")
        if thread_ts:
            for parent in self._messages.get(channel, []):
                if parent["ts"] == thread_ts:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = message["ts"]
        self._messages.setdefault(channel, []).append(message)
        return message

    def apply_response(
        self, body: dict[str, Any], *, channel: str | None, message_ts: str | None
    ) -> None:
        """What Slack does with a response_url body aimed at ``channel``/``message_ts``."""
        if body.get("delete_original") and channel and message_ts:
            self._messages[channel] = [
                m for m in self._messages.get(channel, []) if m["ts"] != message_ts
            ]
        elif body.get("replace_original") and channel and message_ts:
            for original in self._messages.get(channel, []):
                if original["ts"] == message_ts:
                    original.update(
                        {k: body[k] for k in ("text", "blocks", "attachments") if k in body}
                    )
        elif body.get("response_type") == "in_channel" and channel:
            self.post(channel, body)
        elif channel:
            self._ephemerals.append({**P.bot_message(body, self._new_ts()), "channel": channel})

    def store_upload(self, file_id: str, data: bytes) -> bool:
        record = self.files.get(file_id)
        if record is None:
            return False
        record["content"] = data
        return True

    # -- chat ----------------------------------------------------------------------------------

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        self._check_content(p)
        message = self.post(channel, p)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        message = self._find(channel, p.get("ts"))
        self._check_content(p, required=False)
        message.update({k: p[k] for k in ("text", "blocks", "attachments", "metadata") if k in p})
        message["edited"] = {"user": P.BOT_USER_ID, "ts": self._new_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if p.get("user") not in self.users:
            raise Refusal("user_not_in_channel")
        self._check_content(p)
        message = {**P.bot_message(p, self._new_ts()), "channel": channel, "to_user": p["user"]}
        self._ephemerals.append(message)
        return {"message_ts": message["ts"]}

    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        message = self._find(channel, p.get("ts"))
        self._messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        ts = self._find(channel, p.get("message_ts"))["ts"]
        link = f"https://{P.TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    # -- views ---------------------------------------------------------------------------------

    def _view_arg(self, p: dict[str, Any], kind: str) -> dict[str, Any]:
        view = p.get("view")
        errors = validate_view(view)
        if not errors and view["type"] != kind:
            errors = [f"type must be {kind} [json-pointer:/view/type]"]
        if errors:
            raise Refusal("invalid_arguments", invalid=True, errors=errors)
        return view

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            raise Refusal(
                "invalid_arguments", invalid=True, errors=["missing required field: trigger_id"]
            )
        view = P.view_object(self._view_arg(p, "modal"), view_id=f"V{self._next():09d}")
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (v["id"] for v in self.views.values() if v["external_id"] == p["external_id"]), None
            )
        old = self.views.get(str(view_id))
        if old is None:
            raise Refusal("not_found")
        if p.get("hash") and p["hash"] != old["hash"]:
            raise Refusal("hash_conflict")
        new = self._view_arg(p, old["type"])
        view = P.view_object(
            new,
            view_id=old["id"],
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
        )
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = str(p.get("user_id") or "")
        if user_id not in self.users:
            raise Refusal("user_not_found")
        old = self.home_views.get(user_id)
        view_id = old["id"] if old else f"V{self._next():09d}"
        view = P.view_object(self._view_arg(p, "home"), view_id=view_id)
        self.home_views[user_id] = self.views[view_id] = view
        return {"view": copy.deepcopy(view)}

    # -- conversations and users ---------------------------------------------------------------

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel in self.channels:
            return {"channel": copy.deepcopy(self.channels[channel])}
        if channel.startswith("D"):
            return {"channel": P.im_channel(channel, "U" + channel[1:])}
        return {"channel": P.channel(channel, is_private=channel.startswith("G"))}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            return {"channel": {"id": self._channel(p)}}
        users = p.get("users") or ""
        user_ids = sorted(users if isinstance(users, list) else str(users).split(","))
        if not user_ids or any(u not in self.users for u in user_ids):
            raise Refusal("user_not_found")
        if len(user_ids) == 1:
            channel = P.dm_channel_id(user_ids[0])
        else:
            channel = "G_" + "_".join(P.user_name(u).upper() for u in user_ids)
        body: dict[str, Any] = {"channel": {"id": channel}}
        if channel in self._open_ims:
            body.update(no_op=True, already_open=True)
        self._open_ims.add(channel)
        if str(p.get("return_im")).lower() == "true" and len(user_ids) == 1:
            body["channel"] = P.im_channel(channel, user_ids[0])
        return body

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        types = str(p.get("types") or "public_channel").split(",")
        found = [
            copy.deepcopy(c)
            for c in self.channels.values()
            if ("private_channel" if c["is_private"] else "public_channel") in types
        ]
        return self._page(found, p, "channels")

    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        members = self.members.get(channel, list(self.users))
        return self._page(list(members), p, "members")

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        found = self.users.get(str(p.get("user") or ""))
        if found is None:
            raise Refusal("user_not_found")
        return {"user": copy.deepcopy(found)}

    # -- files ---------------------------------------------------------------------------------

    def _files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length") or "").isdigit():
            raise Refusal(
                "invalid_arguments",
                invalid=True,
                errors=["filename and a numeric length are required"],
            )
        file_id = f"F{self._next():09d}"
        self.files[file_id] = {
            "id": file_id,
            "name": p["filename"],
            "title": p["filename"],
            "length": int(p["length"]),
            "content": None,
            "user": P.BOT_USER_ID,
        }
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise Refusal("invalid_arguments", invalid=True, errors=["files must be a JSON array"])
        records = [self.files.get(str(e.get("id"))) for e in entries if isinstance(e, dict)]
        if len(records) != len(entries) or any(r is None or r["content"] is None for r in records):
            raise Refusal("file_not_found")
        channel = self._channel(p, "channel_id") if p.get("channel_id") else None
        shared = []
        for entry, record in zip(entries, records, strict=True):
            assert record is not None
            record.update(title=entry.get("title") or record["name"], channel=channel)
            shared.append({"id": record["id"], "title": record["title"], "name": record["name"]})
        if channel:
            self.post(
                channel,
                {
                    "text": p.get("initial_comment") or "",
                    "files": shared,
                    "upload": True,
                    "thread_ts": p.get("thread_ts"),
                },
            )
        return {"files": [{"id": f["id"], "title": f["title"]} for f in shared]}


class FakeSlack(SocketMode, WebApi):
    """Slack on 127.0.0.1, served from its own thread: usable from sync, async and subprocess tests.

    ``with FakeSlack() as slack: client = AsyncWebClient(token="xoxb-1", base_url=slack.api_url)``

    Read ``calls``/``calls_to``/``messages``/``ephemerals``/``responses``/``invalid``; arrange
    ``fail_next``/``hang_next``/``answer_raw_next``/``users``/``channels``/``members``/``missing_channels``.
    ``signing_secret`` is only used by ``signer(app_url)`` to sign requests to the app.
    """

    def __init__(self, signing_secret: str | None = None) -> None:
        super().__init__()
        self.signing_secret = signing_secret
        self.port = 0
        self._calls: list[Call] = []
        self.invalid: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_targets: dict[str, tuple[str | None, str | None]] = {}
        self._response_uses: dict[str, int] = {}
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

    def response_url(
        self, name: str, *, channel: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url; with ``channel``/``message_ts`` it acts on that message like Slack's."""
        with self._lock:
            self._response_targets[name] = (channel, message_ts)
        return f"{self.base_url}/response/{name}"

    def signer(self, app_url: str) -> SlackSigner:
        """A SlackSigner for ``app_url`` whose default response_urls point back at this fake."""
        from .signer import SlackSigner

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
            self._response_targets.clear()
            self._response_uses.clear()
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
        params, bad_json = await _read_params(request)
        return await self._serve_call(
            request, method, params, lambda call: self._api(call, bad_json)
        )

    async def _on_response_url(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = None
        params = body if isinstance(body, dict) else {}
        name = request.match_info["name"]
        return await self._serve_call(
            request, "response_url", params, lambda call: self._response(call, name, body)
        )

    async def _on_upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        file_id = request.match_info["file_id"]
        params = {"file_id": file_id, "size": len(data)}
        return await self._serve_call(
            request, "file_upload", params, lambda call: self._upload(file_id, data)
        )

    async def _serve_call(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        answer: Callable[[Call], tuple[int, dict[str, Any], str | None]],
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
        headers: dict[str, str] = {}
        if fault and fault.raw is not None:
            call.status = fault.status
            return web.Response(status=fault.status, body=fault.raw, headers=fault.headers)
        if fault and fault.error:
            status, body, text = fault.status, {"ok": False, "error": fault.error}, None
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        else:
            with self._lock:
                status, body, text = answer(call)
        call.status, call.response = status, body
        log.debug("fake_slack.call", method=method, status=status, ok=body.get("ok"))
        if text is not None:  # response_url and uploads answer plain text like Slack's
            return web.Response(status=status, text=text, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    def _api(self, call: Call, bad_json: bool) -> tuple[int, dict[str, Any], str | None]:
        if call.method == "apps.connections.open":  # app-level token: see socket_mode.py
            return 200, self.apps_connections_open(call.params, call.headers), None
        try:
            if bad_json:
                raise Refusal("invalid_json")
            body = {"ok": True, **self.dispatch(call.method, call.params, call.headers)}
        except Refusal as refusal:
            body = refusal.body()
            if refusal.invalid:
                self.invalid.append(call)
        return 200, body, None

    def _response(self, call: Call, name: str, body: Any) -> tuple[int, dict[str, Any], str | None]:
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "invalid_payload"}, "invalid_payload"
        uses = self._response_uses[name] = self._response_uses.get(name, 0) + 1
        if uses > RESPONSE_URL_USES:
            return 404, {"ok": False, "error": "used_url"}, "used_url"
        if "blocks" in body:
            errors = validate_blocks(body["blocks"])
            if errors:
                self.invalid.append(call)
                code = slack_error_code(errors)
                return 400, {"ok": False, "error": code, "errors": errors}, code
        if not any(body.get(k) for k in ("text", "blocks", "delete_original")):
            self.invalid.append(call)
            return 400, {"ok": False, "error": "no_text"}, "no_text"
        channel, ts = self._response_targets.get(name, (None, None))
        self.apply_response(body, channel=channel, message_ts=ts)
        return 200, {"ok": True}, "ok"

    def _upload(self, file_id: str, data: bytes) -> tuple[int, dict[str, Any], str | None]:
        if not self.store_upload(file_id, data):
            return 404, {"ok": False, "error": "file_not_found"}, "file_not_found"
        return 200, {"ok": True}, f"OK - {len(data)}"


async def _read_params(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Query merged with a JSON or form body, JSON-in-form fields decoded; flags unreadable JSON."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return params, True
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass  # left as a string: validation reports it as Slack would
    return params, False
