"""A Slack workspace in memory: people, user groups, channels, messages and threads, ephemerals,
views, files.

What Slack keeps between the calls an app makes, and what it does with a response_url body.
The Web API methods over this state are in ``methods.py``; HTTP is in ``http.py``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import wire as P
from .ratelimits import RateLimits

RESPONSE_URL_USES = 5  # Slack honours a response_url up to 5 times


@dataclass(frozen=True)
class ResponseTarget:
    """What a response_url acts on: a message in a channel (or an ephemeral one), for a user."""

    channel: str | None = None
    message_ts: str | None = None
    user: str | None = None
    ephemeral: bool = False


class SlackWorkspace:
    """The state Slack keeps; every read returns copies, every write holds the lock.

    ``users``/``channels``/``usergroups`` start from the given rosters (default: three people,
    #general and no user groups) and ``reset_workspace()`` brings them back. ``on_change``
    callbacks hear of every change, e.g. to push it to a page.
    """

    def __init__(
        self,
        *,
        users: Iterable[dict[str, Any]] | None = None,
        channels: Iterable[dict[str, Any]] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        base_url: str = "",
    ) -> None:
        self._lock = threading.RLock()
        self._initial_users = list(users) if users is not None else None
        self._initial_channels = list(channels) if channels is not None else None
        self._initial_usergroups = {g: list(u) for g, u in (usergroups or {}).items()}
        self._base_url = base_url
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}  # channel -> user ids; default: every user
        self.usergroups: dict[str, list[str]] = {}  # user group id S… -> its members' user ids
        self.missing_channels: set[str] = set()
        self.archived_channels: set[str] = set()  # posts answered is_archived
        self.outside_channels: set[str] = set()  # channels the bot is not in: not_in_channel
        # Slack's rate limits (sandbox.slack_api.ratelimits.RateLimits); None: no limits.
        self.rate_limits: RateLimits | None = None
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> published Home tab
        self.open_views: dict[str, list[str]] = {}  # user id -> their modal stack (view ids)
        self.view_errors: dict[str, dict[str, str]] = {}  # view id -> block_id -> error shown
        self.files: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._open_ims: set[str] = set()
        self._triggers: dict[str, str] = {}  # trigger_id -> the user whose action made it
        self._response_targets: dict[str, ResponseTarget] = {}
        self._response_uses: dict[str, int] = {}
        self._listeners: list[Callable[[], None]] = []
        self._seq = 0  # never reset, so ts and ids stay unique across reset()
        self._last_micros = 0
        self.version = 0
        self.reset_workspace()

    @property
    def base_url(self) -> str:
        """Where this workspace is served: response_urls and upload URLs are made under it."""
        return self._base_url

    def reset_workspace(self) -> None:
        """Default users and channels back, everything posted forgotten (same dict objects)."""
        with self._lock:
            self.users.clear()
            people = self._initial_users if self._initial_users is not None else None
            self.users.update(
                {u["id"]: copy.deepcopy(u) for u in people} if people else P.default_users()
            )
            self.channels.clear()
            if self._initial_channels is not None:
                self.channels.update({c["id"]: copy.deepcopy(c) for c in self._initial_channels})
            else:
                self.channels[P.DEFAULT_CHANNEL] = P.channel(P.DEFAULT_CHANNEL, "general")
            self.usergroups.clear()
            self.usergroups.update(copy.deepcopy(self._initial_usergroups))
            for store in (
                self.members,
                self.views,
                self.home_views,
                self.open_views,
                self.view_errors,
                self.files,
                self._messages,
                self._triggers,
                self._response_targets,
                self._response_uses,
            ):
                store.clear()
            self.missing_channels.clear()
            self.archived_channels.clear()
            self.outside_channels.clear()
            self._ephemerals.clear()
            self._open_ims.clear()
            self._changed()

    # -- change notification -------------------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after every change; returns a function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _changed(self) -> None:
        self.version += 1
        for listener in list(self._listeners):
            listener()

    # -- what tests and pages read -------------------------------------------------------------

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

    def visible_to(self, user: str, channel: str) -> list[dict[str, Any]]:
        """What ``user`` sees in ``channel``: its messages and the ephemerals meant for them,
        in ts order; ephemerals carry ``"ephemeral": True``."""
        with self._lock:
            channel = self._dm_for(channel)
            mine = [
                {**e, "ephemeral": True}
                for e in self._ephemerals
                if e["channel"] == channel and e.get("to_user") in (user, None)
            ]
            found = self._messages.get(channel, []) + mine
            return copy.deepcopy(sorted(found, key=lambda m: float(m["ts"])))

    def conversations(self) -> list[str]:
        """Every channel id anything was posted in, including DMs."""
        with self._lock:
            ids = set(self._messages) | {e["channel"] for e in self._ephemerals}
            return sorted(ids)

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message or ephemeral with ``ts`` in ``channel``, as stored (a copy)."""
        with self._lock:
            for message in self._messages.get(self._dm_for(channel), []):
                if message["ts"] == ts:
                    return copy.deepcopy(message)
            for message in self._ephemerals:
                if message["ts"] == ts and message["channel"] == self._dm_for(channel):
                    return copy.deepcopy(message)
            return None

    def view_stack(self, user: str) -> list[dict[str, Any]]:
        """The modals ``user`` has open, root first."""
        with self._lock:
            return [copy.deepcopy(self.views[v]) for v in self.open_views.get(user, [])]

    # -- what a Slack client does --------------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        """A trigger_id for an action of ``user``: a modal opened with it opens for them."""
        trigger = P.new_trigger_id()
        with self._lock:
            self._triggers[trigger] = user
        return trigger

    def post_as_user(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A person's message, as Slack stores it before telling the app about it."""
        with self._lock:
            message: dict[str, Any] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": self._new_ts(),
                "team": P.TEAM_ID,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            stored = self._store(self._dm_for(channel), message)
            self._changed()
            return copy.deepcopy(stored)

    def add_ephemeral(
        self, channel: str, user: str, body: dict[str, Any], *, sender: str | None = None
    ) -> dict[str, Any]:
        """An ephemeral message for ``user`` (the app's by default; ``sender`` e.g. Slackbot)."""
        with self._lock:
            message = {
                **P.bot_message(body, self._new_ts()),
                "channel": self._dm_for(channel),
                "to_user": user,
            }
            if sender is not None:
                message.pop("bot_id", None)
                message.pop("app_id", None)
                message["user"] = sender
            self._ephemerals.append(message)
            self._changed()
            return copy.deepcopy(message)

    def close_views(self, user: str, *, view_id: str | None = None) -> None:
        """Close ``view_id`` and every view pushed above it (default: all of ``user``'s)."""
        with self._lock:
            stack = self.open_views.get(user, [])
            if view_id in stack:
                del stack[stack.index(view_id) :]
            else:
                stack.clear()
            self._changed()

    def apply_view_response(
        self, user: str, view_id: str, answer: dict[str, Any]
    ) -> dict[str, Any] | None:
        """What Slack does with a view_submission's answer: close, errors, update, push, clear.

        Returns the error when the answer is one Slack would refuse (shown on the modal).
        """
        action = answer.get("response_action")
        with self._lock:
            stack = self.open_views.setdefault(user, [])
            current = self.views.get(view_id)
            if current is None:
                return {"error": "not_found"}
            self.view_errors.pop(view_id, None)
            if action is None:
                if stack and stack[-1] == view_id:
                    stack.pop()
            elif action == "clear":
                stack.clear()
            elif action == "errors":
                errors = answer.get("errors")
                if not isinstance(errors, dict):
                    return {"error": "errors must be an object of block_id: message"}
                self.view_errors[view_id] = {str(k): str(v) for k, v in errors.items()}
            elif action in ("update", "push"):
                problem = self._validated_view(answer.get("view"), "modal")
                if problem:
                    return {"error": "invalid view", "errors": problem}
                if action == "update":
                    view = P.view_object(
                        answer["view"],
                        view_id=view_id,
                        root_view_id=current["root_view_id"],
                        previous_view_id=current["previous_view_id"],
                    )
                    self.views[view_id] = view
                else:
                    view = P.view_object(
                        answer["view"],
                        view_id=f"V{self._next():09d}",
                        root_view_id=current["root_view_id"],
                        previous_view_id=view_id,
                    )
                    self.views[view["id"]] = view
                    stack.append(view["id"])
            else:
                return {"error": f"unknown response_action {action!r}"}
            self._changed()
            return None

    def _validated_view(self, view: Any, kind: str) -> list[str]:
        from .blockkit import validate_view

        errors = validate_view(view)
        if not errors and view.get("type") != kind:
            errors = [f"type must be {kind} [json-pointer:/view/type]"]
        return errors

    # -- response_url ----------------------------------------------------------------------------

    def response_url(
        self,
        name: str,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A response_url; with ``channel``/``message_ts`` it acts on that message like Slack's
        (``ephemeral``: the message is an ephemeral one of ``user``)."""
        with self._lock:
            self._response_targets[name] = ResponseTarget(channel, message_ts, user, ephemeral)
        return f"{self.base_url}/response/{name}"

    def aim_response_url(self, name: str, message_ts: str) -> None:
        """Point ``name`` at the ephemeral shown for it (a slash command's first answer)."""
        with self._lock:
            old = self._response_targets.get(name, ResponseTarget())
            self._response_targets[name] = ResponseTarget(
                old.channel, message_ts, old.user, ephemeral=True
            )

    def answer_response_url(self, name: str, body: Any) -> tuple[int, str, bool]:
        """Slack's answer to a POST on response_url ``name``: (status, text, malformed)."""
        from .blockkit import slack_error_code, validate_blocks

        if not isinstance(body, dict):
            return 400, "invalid_payload", False
        with self._lock:
            uses = self._response_uses[name] = self._response_uses.get(name, 0) + 1
            if uses > RESPONSE_URL_USES:
                return 404, "used_url", False
            if "blocks" in body:
                errors = validate_blocks(body["blocks"])
                if errors:
                    return 400, slack_error_code(errors), True
            if not any(body.get(k) for k in ("text", "blocks", "delete_original")):
                return 400, "no_text", True
            self.apply_response(body, self._response_targets.get(name, ResponseTarget()))
            return 200, "ok", False

    def apply_response(self, body: dict[str, Any], target: ResponseTarget) -> None:
        """What Slack does with a response_url body aimed at ``target``."""
        with self._lock:
            channel, ts = target.channel, target.message_ts
            if channel is not None:
                channel = self._dm_for(channel)
            if (
                target.ephemeral
                and ts
                and (body.get("delete_original") or body.get("replace_original"))
            ):
                self._apply_to_ephemeral(body, channel, ts, target)
            elif body.get("delete_original") and channel and ts:
                self._messages[channel] = [
                    m for m in self._messages.get(channel, []) if m["ts"] != ts
                ]
            elif body.get("replace_original") and channel and ts:
                for original in self._messages.get(channel, []):
                    if original["ts"] == ts:
                        original.update(
                            {k: body[k] for k in ("text", "blocks", "attachments") if k in body}
                        )
            elif body.get("response_type") == "in_channel" and channel:
                self.post(channel, body)
            elif channel:
                message = {**P.bot_message(body, self._new_ts()), "channel": channel}
                if target.user:
                    message["to_user"] = target.user
                self._ephemerals.append(message)
            self._changed()

    def _apply_to_ephemeral(
        self, body: dict[str, Any], channel: str | None, ts: str, target: ResponseTarget
    ) -> None:
        found = [e for e in self._ephemerals if e["ts"] == ts and e["channel"] == channel]
        if body.get("delete_original"):
            self._ephemerals = [e for e in self._ephemerals if e not in found]
            return
        if body.get("response_type") == "in_channel" and channel:
            # Replacing an ephemeral with an in_channel answer makes it visible to everyone.
            self._ephemerals = [e for e in self._ephemerals if e not in found]
            self.post(channel, body)
            return
        for original in found:
            original.update({k: body[k] for k in ("text", "blocks", "attachments") if k in body})
        if not found and channel:
            message = {**P.bot_message(body, self._new_ts()), "channel": channel}
            if target.user:
                message["to_user"] = target.user
            self._ephemerals.append(message)

    # -- storage helpers -------------------------------------------------------------------------

    def post(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        """Store a bot message in ``channel`` (threads keep Slack's reply bookkeeping)."""
        with self._lock:
            message = self._store(channel, P.bot_message(params, self._new_ts()))
            self._changed()
            return message

    def _store(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        thread_ts = message.get("thread_ts")
        if thread_ts:
            for parent in self._messages.get(channel, []):
                if parent["ts"] == thread_ts:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = message["ts"]
        self._messages.setdefault(channel, []).append(message)
        return message

    def store_upload(self, file_id: str, data: bytes) -> bool:
        with self._lock:
            record = self.files.get(file_id)
            if record is None:
                return False
            record["content"] = data
            return True

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _new_ts(self) -> str:
        # Slack's ts are time-based and unique per channel; here unique and increasing overall.
        self._next()
        micros = max(time.time_ns() // 1000, self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _dm_for(self, channel: str) -> str:
        return P.dm_channel_id(channel) if channel[:1] in ("U", "W") else channel
