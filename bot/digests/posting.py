"""Posting digests: a schedule slot claimed once across replicas, then composed (bounded
concurrency) and queued in the outbox as root, thread replies and chart, with the state the next
run compares against, all in one transaction.

The outbox does the rest at Slack's pace: one message at a time per channel in queue order
(replies after their root), 429 Retry-After honoured, nothing lost across restarts.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.answers.digests import SLOT_SHARED
from bot.digests.compose import ComposedDigest, compose_digest
from bot.digests.models import DigestRecord
from bot.digests.schedule import (
    SlotDecision,
    decide,
    digest_trigger,
    digest_zone,
    latest_slot,
    slot_name,
)
from bot.metrics import DIGEST_BUILD, DIGEST_SLOTS
from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.outbox.enqueue import enqueue_in
from bot.outbox.files import UPLOAD_METHOD, png_payload
from bot.store.db import session_scope
from integrations.cache import TTLCache
from scheduler.slots import claim_slot

if TYPE_CHECKING:
    from bot.services import Services

log = structlog.get_logger(__name__)
T = TypeVar("T")

BUILD_CONCURRENCY = 32  # digests composed at once; their source questions are shared anyway
SHARED_BOARDS_TTL = 600.0  # seconds a slot's boards are kept for digests due at that moment


class Compose(Protocol):
    def __call__(
        self,
        services: Services,
        digest: Digest,
        *,
        now: datetime,
        previous: Mapping[str, Any] | None,
        late_by: timedelta | None = None,
    ) -> Awaitable[ComposedDigest | None]: ...


class Outcome(StrEnum):
    posted = "posted"
    late = "late"  # posted late, saying so
    missed = "missed"  # past the grace period: not posted
    quiet = "quiet"  # nothing to post (when_quiet: skip)
    elsewhere = "elsewhere"  # another replica (or an earlier run) has the slot
    failed = "failed"
    none = "none"  # the schedule never fired yet
    first = "first"  # passed before this digest was first seen here: nothing was missed


@dataclass(frozen=True)
class SlotResult:
    digest: str
    outcome: Outcome
    slot: str | None = None
    root_outbox_id: int | None = None


def message_ids(name: str, run: str) -> Callable[[str], str]:
    """Dedupe keys of one post's messages: `digest:NAME:RUN:root`, `…:reply:0`, `…:chart`."""
    return lambda part: f"digest:{name}:{run}:{part}"


class DigestPoster:
    """Runs digests for one process: `run_due` for the scheduler, `post_now` for people."""

    def __init__(
        self,
        services: Services,
        *,
        replica_id: str,
        compose: Compose = compose_digest,
        concurrency: int = BUILD_CONCURRENCY,
    ) -> None:
        if services.ops_config is None:
            raise ValueError("digests need an ops.yml")
        self.services = services
        self.config: OpsConfig = services.ops_config
        self.engine: Engine = services.engine
        self.replica_id = replica_id
        self.compose = compose
        self._builds = asyncio.Semaphore(concurrency)
        self._shared: TTLCache[Any] = TTLCache(ttl=SHARED_BOARDS_TTL, maxsize=4096)
        # SQLite lets one writer in at a time and makes the others sleep and retry: hundreds of
        # digests' claims at once are far faster taken in turn. PostgreSQL takes them together.
        self._serial = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._serial is None:
            return await asyncio.to_thread(fn, *args, **kwargs)
        async with self._serial:
            return await asyncio.to_thread(fn, *args, **kwargs)

    def digest(self, name: str) -> Digest | None:
        return next((d for d in self.config.digests if d.name == name), None)

    # -- the schedule ------------------------------------------------------------------------

    async def run_due(self, name: str, *, now: datetime) -> SlotResult:
        """Handle the latest slot of digest `name` at or before `now`: post it on time, post it
        late within its grace period, or skip it past that; nothing if it was handled already.

        Only the latest slot is ever considered, so after downtime the missed slots before it
        are never posted: there is no catch-up burst of stale digests.
        """
        digest = self.digest(name)
        if digest is None or not digest.enabled:
            return SlotResult(name, Outcome.none)
        slot = latest_slot(digest_trigger(digest, self.config), now)
        if slot is None:
            return SlotResult(name, Outcome.none)
        key = slot_name(slot, digest_zone(digest, self.config))
        decision = decide(slot, now, digest.grace)
        if decision is SlotDecision.too_late:
            # An old slot's claim may have been pruned (job_slot keeps a week): the record
            # remembers the last slot handled, so a monthly digest is not reported missed at
            # every restart.
            record = await self._db(self._record, name)
            if record is not None and record.last_slot is not None and record.last_slot >= key:
                return SlotResult(name, Outcome.elsewhere, key)
            if record is None:
                # First sight of this digest (a new install, a digest just added to ops.yml, the
                # demo's fresh database): its last slot passed before it existed here, so it
                # was not missed. The slot is remembered: from now on an outage is reported.
                log.info("digest.first_seen", digest=name, slot=key)
                await self._db(self._mark_slot, name, key, Outcome.first)
                DIGEST_SLOTS.labels(outcome=Outcome.first.value).inc()
                return SlotResult(name, Outcome.first, key)
        won = await self._db(claim_slot, self.engine, f"digest:{name}", key, self.replica_id)
        if not won:
            DIGEST_SLOTS.labels(outcome=Outcome.elsewhere.value).inc()
            return SlotResult(name, Outcome.elsewhere, key)
        if decision is SlotDecision.too_late:
            log.warning(
                "digest.slot_missed",
                digest=name,
                slot=key,
                late_by_s=int((now - slot).total_seconds()),
                grace_s=int(digest.grace.total_seconds()),
            )
            await self._db(self._mark_slot, name, key, Outcome.missed)
            DIGEST_SLOTS.labels(outcome=Outcome.missed.value).inc()
            return SlotResult(name, Outcome.missed, key)
        if decision is SlotDecision.late:
            return await self._post(digest, now=now, run=key, slot=key, late_by=now - slot)
        # On time: composed as of the slot itself, the moment every digest due with it shares,
        # so their boards are worked out once for all of them.
        token = SLOT_SHARED.set(self._shared)
        try:
            return await self._post(digest, now=slot, run=key, slot=key, late_by=None)
        finally:
            SLOT_SHARED.reset(token)

    async def run_many(self, names: list[str], *, now: datetime) -> list[SlotResult]:
        """Every named digest's due slot, concurrently (composing is bounded by the semaphore)."""
        return list(await asyncio.gather(*(self.run_due(n, now=now) for n in names)))

    # -- on request ----------------------------------------------------------------------------

    async def post_now(self, name: str, *, now: datetime, by: str | None = None) -> SlotResult:
        """Post digest `name` now (`/ops digest run`, `switchboard digest run`), outside its
        schedule: the next scheduled post still comes, and compares against this one."""
        digest = self.digest(name)
        if digest is None:
            raise LookupError(f"no digest called {name!r}")
        run = f"run-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        log.info("digest.run_requested", digest=name, by=by, run=run)
        return await self._post(digest, now=now, run=run, slot=None, late_by=None)

    async def preview(self, name: str, *, now: datetime) -> ComposedDigest | None:
        """The digest exactly as it would be posted now, without posting or storing anything."""
        digest = self.digest(name)
        if digest is None:
            raise LookupError(f"no digest called {name!r}")
        previous = await self._db(self._previous, name)
        async with self._builds:
            return await self.compose(self.services, digest, now=now, previous=previous)

    # -- one post --------------------------------------------------------------------------------

    async def _post(
        self,
        digest: Digest,
        *,
        now: datetime,
        run: str,
        slot: str | None,
        late_by: timedelta | None,
    ) -> SlotResult:
        name = digest.name
        try:
            previous = await self._db(self._previous, name)
            async with self._builds:
                started = time.monotonic()
                composed = await self.compose(
                    self.services, digest, now=now, previous=previous, late_by=late_by
                )
                DIGEST_BUILD.observe(time.monotonic() - started)
            if composed is None:
                await self._db(self._mark_slot, name, slot, Outcome.quiet)
                DIGEST_SLOTS.labels(outcome=Outcome.quiet.value).inc()
                log.info("digest.quiet", digest=name, slot=slot)
                return SlotResult(name, Outcome.quiet, slot)
            root = await self._db(self._enqueue, composed, run=run, slot=slot)
        except Exception:
            # The slot stays claimed: a half-understood failure must not post twice. The log
            # and the metric say it; `/ops digest run` posts it by hand.
            log.exception("digest.failed", digest=name, slot=slot)
            DIGEST_SLOTS.labels(outcome=Outcome.failed.value).inc()
            return SlotResult(name, Outcome.failed, slot)
        if self.services.outbox is not None:
            self.services.outbox.notify()
        outcome = Outcome.late if late_by is not None else Outcome.posted
        DIGEST_SLOTS.labels(outcome=outcome.value).inc()
        log.info("digest.queued", digest=name, slot=slot, run=run, root=root, late=bool(late_by))
        return SlotResult(name, outcome, slot, root)

    def _enqueue(self, composed: ComposedDigest, *, run: str, slot: str | None) -> int:
        """Root, replies and chart in the outbox, and the digest's record, in one transaction:
        either all of it will be posted and remembered, or none of it."""
        key = message_ids(composed.name, run)
        channel = composed.channel
        with session_scope(self.engine) as session:
            root = enqueue_in(
                session,
                method="chat.postMessage",
                channel=channel,
                payload=_message(composed.text, composed.blocks),
                dedupe_key=key("root"),
            )
            for index, blocks in enumerate(composed.replies):
                enqueue_in(
                    session,
                    method="chat.postMessage",
                    channel=channel,
                    payload=_message(_reply_text(composed, index), blocks),
                    parent_id=root,
                    dedupe_key=key(f"reply:{index}"),
                )
            if composed.chart is not None:
                chart = composed.chart
                enqueue_in(
                    session,
                    method=UPLOAD_METHOD,
                    channel=channel,
                    payload=png_payload(
                        chart.data,
                        filename=chart.filename,
                        title=chart.title,
                        alt_text=chart.alt_text,
                    ),
                    parent_id=root,
                    dedupe_key=key("chart"),
                )
            record = _record_in(session, composed.name)
            record.state = json.dumps(composed.state, separators=(",", ":"), default=str)
            record.posted_at = time.time()
            record.root_outbox_id = root
            if slot is not None:
                record.last_slot = max(slot, record.last_slot or "")
                record.last_outcome = Outcome.posted.value
            session.add(record)
        return root

    # -- the record ------------------------------------------------------------------------------

    def _record(self, name: str) -> DigestRecord | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(DigestRecord, name)

    def _previous(self, name: str) -> dict[str, Any] | None:
        record = self._record(name)
        if record is None or not record.state:
            return None
        loaded = json.loads(record.state)
        return loaded if isinstance(loaded, dict) else None

    def _mark_slot(self, name: str, slot: str | None, outcome: Outcome) -> None:
        if slot is None:
            return
        with session_scope(self.engine) as session:
            record = _record_in(session, name)
            record.last_slot = max(slot, record.last_slot or "")
            record.last_outcome = outcome.value
            session.add(record)


def _record_in(session: Session, name: str) -> DigestRecord:
    return session.get(DigestRecord, name, with_for_update=True) or DigestRecord(name=name)


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _reply_text(composed: ComposedDigest, index: int) -> str:
    return f"{composed.text}: details {index + 1} of {len(composed.replies)}"
