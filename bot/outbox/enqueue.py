"""Putting messages into the outbox (idempotently) and waking the senders of this process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.outbox.files import UPLOAD_METHOD, check_payload
from bot.store.db import session_scope
from bot.store.models import OutboxMessage, OutboxStatus

log = structlog.get_logger(__name__)

SUPPORTED_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete", UPLOAD_METHOD}
)
# Methods that act on an existing message and so need its ts (from the parent or the payload).
NEEDS_TS = frozenset({"chat.update", "chat.delete"})


class OutboxError(ValueError):
    """The message cannot be queued as asked (unknown method, missing ts, unknown parent)."""


def _validate(method: str, payload: dict[str, Any], parent_id: int | None) -> None:
    if method not in SUPPORTED_METHODS:
        raise OutboxError(
            f"{method!r} is not sent through the outbox; use one of {sorted(SUPPORTED_METHODS)}"
        )
    if method in NEEDS_TS and parent_id is None and not payload.get("ts"):
        raise OutboxError(f"{method} needs parent_id (an outbox message) or payload['ts']")
    if method == UPLOAD_METHOD:
        problem = check_payload(payload)
        if problem is not None:
            raise OutboxError(problem)


def _find_by_dedupe_key(session: Session, dedupe_key: str) -> int | None:
    return session.exec(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ).first()


def enqueue_in(
    session: Session,
    *,
    method: str,
    channel: str,
    payload: dict[str, Any],
    parent_id: int | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Queue a message inside the caller's transaction (the transactional-outbox pattern).

    The message is sent only if that transaction commits; call ``Outbox.notify()`` after the
    commit so this process's sender looks at once instead of at its next poll.
    """
    _validate(method, payload, parent_id)
    if dedupe_key is not None:
        existing = _find_by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing
    if parent_id is not None and session.get(OutboxMessage, parent_id) is None:
        raise OutboxError(f"parent outbox message {parent_id} does not exist")
    row = OutboxMessage(
        channel=channel,
        method=method,
        payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        parent_id=parent_id,
        dedupe_key=dedupe_key,
        status=OutboxStatus.pending,
        created_at=time.time(),
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


class _Wakeable(Protocol):
    def wake(self) -> None: ...


class Outbox:
    """The producer side: ``enqueue`` records a message and wakes this process's senders."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._listeners: list[Callable[[], None]] = []

    def enqueue(
        self,
        *,
        method: str,
        channel: str,
        payload: dict[str, Any],
        parent_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> int:
        """Queue one message in its own transaction; returns its id.

        parent_id names another outbox message: a chat.postMessage/postEphemeral becomes a
        reply in its thread (thread_ts), a chat.update/chat.delete acts on it (ts), a
        files.uploadV2 (a chart, see bot.outbox.files) is shared in its thread, and the
        message waits until the parent has been sent. Enqueueing an existing dedupe_key
        again returns the first message's id and queues nothing.
        """
        kwargs: dict[str, Any] = dict(
            method=method,
            channel=channel,
            payload=payload,
            parent_id=parent_id,
            dedupe_key=dedupe_key,
        )
        try:
            with session_scope(self.engine) as session:
                msg_id = enqueue_in(session, **kwargs)
        except IntegrityError:
            # A concurrent enqueue with the same dedupe_key committed between our lookup
            # and our insert: its row is the answer.
            if dedupe_key is None:
                raise
            with session_scope(self.engine) as session:
                existing = _find_by_dedupe_key(session, dedupe_key)
            if existing is None:
                raise
            return existing
        log.debug("outbox.enqueued", id=msg_id, method=method, channel=channel)
        self.notify()
        return msg_id

    async def aenqueue(self, **kwargs: Any) -> int:
        """``enqueue`` from async code, without blocking the event loop on the database."""
        return await asyncio.to_thread(lambda: self.enqueue(**kwargs))

    def status(self, msg_id: int) -> OutboxMessage:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(OutboxMessage, msg_id)
        if row is None:
            raise LookupError(f"no outbox message {msg_id}")
        return row

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (thread-safe, non-blocking, e.g. ``OutboxSender.wake``) on notify."""
        self._listeners.append(listener)

    def attach(self, sender: _Wakeable) -> None:
        """Wake ``sender`` (an OutboxSender in this process) after every enqueue."""
        self.subscribe(sender.wake)

    def notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken listener must not fail the enqueue that called us
                log.exception("outbox.notify_failed")
