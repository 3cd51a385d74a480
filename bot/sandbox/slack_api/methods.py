"""The Web API methods an app calls, over the workspace state, with Slack's answers and errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import wire as P
from .blockkit import slack_error_code, validate_blocks, validate_view
from .workspace import SlackWorkspace

# Methods that only read: they change nothing a page would show.
READING = frozenset(
    {
        "auth.test",
        "api.test",
        "chat.getPermalink",
        "conversations.info",
        "conversations.list",
        "conversations.members",
        "users.info",
        "usergroups.users.list",
    }
)


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


class WebApi(SlackWorkspace):
    """A workspace answering the Web API methods the bot calls, in Slack's shapes."""

    def __init__(self, **workspace: Any) -> None:
        super().__init__(**workspace)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda p: {},  # answered in dispatch, which knows the token
            "api.test": lambda p: {"args": {k: v for k, v in p.items() if k != "token"}},
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    @property
    def method_names(self) -> list[str]:
        """Every Web API method this workspace answers."""
        return sorted(self._methods)

    def dispatch(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        """The body of a successful answer to ``method`` (without ``ok``), or a Refusal."""
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
        with self._lock:
            answer = handler(params)
            if method not in READING:
                self._changed()
            return answer

    # -- helpers ------------------------------------------------------------------------------

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

    # -- chat ----------------------------------------------------------------------------------

    def _postable(self, channel: str) -> str:
        if channel in self.archived_channels:
            raise Refusal("is_archived")
        if channel in self.outside_channels:
            raise Refusal("not_in_channel")
        return channel

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable(self._channel(p))
        self._check_content(p)
        message = self._store(channel, P.bot_message(p, self._new_ts()))
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
        message = self._find(channel, p.get("message_ts"))
        ts, thread_ts = message["ts"], message.get("thread_ts")
        link = f"https://{P.TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:  # a reply: Slack's link opens its thread at it
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    # -- views ---------------------------------------------------------------------------------

    def _view_arg(self, p: dict[str, Any], kind: str) -> dict[str, Any]:
        view = p.get("view")
        errors = validate_view(view)
        if not errors and isinstance(view, dict) and view["type"] != kind:
            errors = [f"type must be {kind} [json-pointer:/view/type]"]
        if errors or not isinstance(view, dict):
            raise Refusal("invalid_arguments", invalid=True, errors=errors)
        return view

    def _trigger(self, p: dict[str, Any]) -> str | None:
        """The user whose action made the trigger_id, when this workspace issued it."""
        if not p.get("trigger_id"):
            raise Refusal(
                "invalid_arguments", invalid=True, errors=["missing required field: trigger_id"]
            )
        return self._triggers.get(str(p["trigger_id"]))

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger(p)
        view = P.view_object(self._view_arg(p, "modal"), view_id=f"V{self._next():09d}")
        self.views[view["id"]] = view
        if user is not None:
            self.open_views[user] = [view["id"]]
        return {"view": copy.deepcopy(view)}

    def _views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger(p)
        stack = self.open_views.get(user, []) if user is not None else []
        top = self.views.get(stack[-1]) if stack else None
        view = P.view_object(
            self._view_arg(p, "modal"),
            view_id=f"V{self._next():09d}",
            root_view_id=top["root_view_id"] if top else None,
            previous_view_id=top["id"] if top else None,
        )
        self.views[view["id"]] = view
        if user is not None:
            self.open_views.setdefault(user, []).append(view["id"])
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
        self.view_errors.pop(view["id"], None)
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

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup") or "")
        if not group:
            raise Refusal("invalid_arguments", invalid=True, errors=["usergroup is required"])
        if group not in self.usergroups:
            raise Refusal("no_such_subteam")
        return {"users": list(self.usergroups[group])}

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
        if channel:
            self._postable(channel)
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
