"""Delivering the outbox: each channel's head, paced, retried with backoff, channels in parallel."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import httpx
import structlog
from sqlalchemy.engine import Engine
from tenacity import RetryCallState, Retrying, wait_exponential_jitter

from bot.outbox import files, queue, wire
from bot.outbox.metrics import DEAD, FAILED, PENDING, SEND_SECONDS, SENT
from bot.outbox.queue import Head
from bot.redaction import redact
from bot.settings import Settings

log = structlog.get_logger(__name__)

MIN_IDLE = 0.02  # floor on the loop's sleep so a row that stays unclaimable cannot spin it


class OutboxSender:
    """Sends due outbox messages; several senders (replicas) may share one table.

    The HTTP client has no retry of its own: a failed attempt is written back to the row
    (attempts, not_before, last_error), so retries survive restarts and any replica can
    continue them.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        base_url: str,
        token: str | None = None,
        replica_id: str,
        channel_pace: float = 1.0,
        lease_seconds: float = 30.0,
        max_attempts: int = 8,
        timeout: float = 10.0,
        concurrency: int = 8,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        free_rate_limits: int = 20,
    ) -> None:
        if lease_seconds <= timeout:
            # A lease shorter than one call would let a second sender repeat a slow post.
            raise ValueError(f"lease_seconds ({lease_seconds}) must exceed timeout ({timeout})")
        self.engine = engine
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.replica_id = replica_id
        self.channel_pace = channel_pace
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.concurrency = concurrency
        self.free_rate_limits = free_rate_limits
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_base, max=backoff_max, jitter=backoff_base
        )
        # 429s are not failures of the message, so they do not use up max_attempts; past
        # this many per message (counted in this process) they start to, so a channel that
        # is rate limited forever still ends in "dead" rather than looping.
        self._rate_limits: dict[int, int] = {}
        self._inflight: dict[str, asyncio.Task[bool]] = {}
        self._dispatch_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._next_due: float | None = None
        self.sent_count = 0  # messages this sender delivered (for logs and tests)

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: Settings, *, replica_id: str, **overrides: Any
    ) -> OutboxSender:
        token = settings.slack_bot_token
        options: dict[str, Any] = {
            "base_url": settings.api_url,
            "token": token.get_secret_value() if token is not None else None,
            "replica_id": replica_id,
            "channel_pace": settings.switchboard_channel_pace,
            "max_attempts": settings.switchboard_outbox_max_attempts,
            "backoff_base": settings.switchboard_outbox_backoff,
        }
        options.update(overrides)
        return cls(engine, **options)

    # ---- public API -------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Send what is due now (at most each channel's head); returns how many were sent."""
        self._loop = asyncio.get_running_loop()
        tasks = await self._dispatch()
        results = await asyncio.gather(*tasks)
        return sum(results)

    async def run(self, stop: asyncio.Event, *, poll_interval: float | None = 1.0) -> None:
        """Deliver until ``stop`` is set.

        Sleeps until the next known due time (pacing, backoff, Retry-After), a ``wake()``,
        a finished send, or ``poll_interval`` (None: no polling — rely on wake-ups, e.g.
        from the scheduler's outbox sweep).
        """
        self._loop = asyncio.get_running_loop()
        log.info("outbox.sender_started", replica=self.replica_id)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._dispatch()
                    delay = self._idle_delay(poll_interval)
                except Exception:  # database down: keep the loop alive and try again later
                    log.exception("outbox.dispatch_failed")
                    delay = poll_interval or 1.0
                await self._sleep(stop, delay)
        finally:
            await self._finish_inflight()
            log.info("outbox.sender_stopped", replica=self.replica_id)

    def wake(self) -> None:
        """Look at the outbox now; safe to call from any thread (``Outbox.subscribe(wake)``)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def aclose(self) -> None:
        await self._finish_inflight()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- dispatching ------------------------------------------------------------------

    async def _dispatch(self) -> list[asyncio.Task[bool]]:
        async with self._dispatch_lock:
            now = time.time()
            scan = await asyncio.to_thread(queue.scan_heads, self.engine, now)
            PENDING.set(scan.pending)
            self._next_due = scan.next_due
            candidates = [h for h in scan.due if h.channel not in self._inflight][
                : max(self.concurrency - len(self._inflight), 0)
            ]
            claimed = await asyncio.to_thread(self._claim_all, candidates, now)
            if len(claimed) < len(candidates):
                # Lost a race for some heads: look again soon, not at once.
                self._note_due(time.time() + MIN_IDLE * 5)
            tasks = []
            for head in claimed:
                task = asyncio.create_task(self._deliver(head), name=f"outbox-{head.id}")
                self._inflight[head.channel] = task
                task.add_done_callback(functools.partial(self._on_done, head.channel))
                tasks.append(task)
            return tasks

    def _claim_all(self, heads: list[Head], now: float) -> list[Head]:
        return [
            h
            for h in heads
            if queue.claim(
                self.engine, h, owner=self.replica_id, now=now, lease_seconds=self.lease_seconds
            )
        ]

    def _on_done(self, channel: str, _task: asyncio.Task[bool]) -> None:
        self._inflight.pop(channel, None)
        self._wake.set()

    def _note_due(self, at: float) -> None:
        self._next_due = at if self._next_due is None else min(self._next_due, at)

    def _idle_delay(self, poll_interval: float | None) -> float | None:
        delay = None if self._next_due is None else max(self._next_due - time.time(), MIN_IDLE)
        if poll_interval is not None:
            delay = poll_interval if delay is None else min(delay, poll_interval)
        return delay

    async def _sleep(self, stop: asyncio.Event, delay: float | None) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _finish_inflight(self) -> None:
        # Cancelling a send would leave its lease to expire and the post to be repeated;
        # each send is bounded by the client timeout, so waiting for them is bounded too.
        pending = list(self._inflight.values())
        if pending:
            await asyncio.wait(pending, timeout=self.timeout + 5)

    # ---- one delivery -----------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self.concurrency * 2),
            )
        return self._client

    async def _deliver(self, head: Head) -> bool:
        try:
            return await self._deliver_unsafe(head)
        except Exception as exc:
            # Recording the outcome failed (the database went away, or a bug). Count it as a
            # failed attempt so that a failure that repeats ends dead after the budget instead
            # of re-posting the message every lease; if even that cannot be written, the lease
            # expires and the row is retried.
            log.exception("outbox.deliver_failed", id=head.id, channel=head.channel)
            FAILED.labels(reason="internal").inc()
            try:
                await self._retry_later(head, f"internal: {type(exc).__name__}")
            except Exception as again:
                log.warning(
                    "outbox.outcome_not_recorded",
                    id=head.id,
                    channel=head.channel,
                    error=type(again).__name__,
                )
            return False

    async def _deliver_unsafe(self, head: Head) -> bool:
        if head.parent_id is not None:
            problem = self._parent_problem(head)
            if problem is not None:
                await self._give_up(head, problem, reason="parent", count_attempt=False)
                return False
        body = wire.request_body(
            method=head.method,
            channel=head.channel,
            payload=head.payload,
            parent_ts=head.parent_ts,
            parent_channel=head.parent_channel,
        )
        started = time.monotonic()
        answer = await self._send(head, body)
        SEND_SECONDS.observe(time.monotonic() - started)
        if answer.outcome is wire.Outcome.sent:
            await self._record_sent(head, answer, body["channel"])
            return True
        FAILED.labels(reason=answer.reason).inc()
        error = redact(answer.error or answer.reason)
        if answer.outcome is wire.Outcome.permanent:
            await self._give_up(head, error, reason=answer.reason, count_attempt=True)
        elif answer.outcome is wire.Outcome.rate_limited:
            await self._rate_limited(head, error, answer.retry_after or wire.DEFAULT_RETRY_AFTER)
        else:
            await self._retry_later(head, error)
        return False

    async def _send(self, head: Head, body: dict[str, Any]) -> wire.Answer:
        """One delivery over HTTP; whatever goes wrong in it is an Answer, never an exception."""
        try:
            if head.method == files.UPLOAD_METHOD:
                return await files.upload(
                    self._http(),
                    base_url=self.base_url,
                    body=body,
                    token=self.token,
                    timeout=self.timeout,
                )
            return await wire.call(
                self._http(),
                base_url=self.base_url,
                method=head.method,
                body=body,
                token=self.token,
            )
        except Exception as exc:  # an answer no branch of wire/files expected
            log.warning(
                "outbox.unreadable_answer",
                id=head.id,
                channel=head.channel,
                error=type(exc).__name__,
                exc_info=True,
            )
            return wire.Answer(wire.Outcome.transient, "unexpected", f"{type(exc).__name__}")

    @staticmethod
    def _parent_problem(head: Head) -> str | None:
        if head.parent_status != "sent":
            return f"parent message {head.parent_id} is {head.parent_status or 'missing'}"
        if head.parent_ts is None:
            return f"parent message {head.parent_id} has no ts"
        return None

    async def _record_sent(self, head: Head, answer: wire.Answer, channel: str) -> None:
        now = time.time()
        first = await asyncio.to_thread(
            queue.record_sent,
            self.engine,
            head,
            now=now,
            ts=answer.ts,
            channel=answer.channel or channel,
            pace_until=now + self.channel_pace,
        )
        SENT.labels(method=head.method).inc()
        self.sent_count += 1
        self._rate_limits.pop(head.id, None)
        self._note_due(now + self.channel_pace)
        if not first:
            log.warning("outbox.delivered_twice", id=head.id, channel=head.channel)
        log.debug("outbox.sent", id=head.id, channel=head.channel, ts=answer.ts)

    async def _give_up(self, head: Head, error: str, *, reason: str, count_attempt: bool) -> None:
        await asyncio.to_thread(
            queue.record_dead,
            self.engine,
            head,
            owner=self.replica_id,
            error=error,
            count_attempt=count_attempt,
        )
        DEAD.labels(reason=reason).inc()
        self._rate_limits.pop(head.id, None)
        self._note_due(time.time())
        log.warning("outbox.dead", id=head.id, channel=head.channel, error=error)

    async def _retry_later(
        self, head: Head, error: str, *, wait: float | None = None, pause_channel: bool = False
    ) -> None:
        attempts = head.attempts + 1
        if attempts >= self.max_attempts:
            await self._give_up(
                head,
                f"{error} (after {attempts} attempts)",
                reason="attempts",
                count_attempt=True,
            )
            return
        if wait is None:
            state = RetryCallState(Retrying(), None, (), {})
            state.attempt_number = attempts
            wait = self._backoff(state)
        now = time.time()
        await asyncio.to_thread(
            queue.record_retry,
            self.engine,
            head,
            owner=self.replica_id,
            error=error,
            not_before=now + wait,
            count_attempt=True,
            channel_not_before=now + wait if pause_channel else None,
        )
        self._note_due(now + wait)
        log.info("outbox.retry", id=head.id, attempt=attempts, wait=round(wait, 2), error=error)

    async def _rate_limited(self, head: Head, error: str, retry_after: float) -> None:
        seen = self._rate_limits.get(head.id, 0) + 1
        self._rate_limits[head.id] = seen
        if seen > self.free_rate_limits:
            await self._retry_later(head, error, wait=retry_after, pause_channel=True)
            return
        now = time.time()
        await asyncio.to_thread(
            queue.record_retry,
            self.engine,
            head,
            owner=self.replica_id,
            error=error,
            not_before=now,
            count_attempt=False,
            channel_not_before=now + retry_after,
        )
        self._note_due(now + retry_after)
        log.info("outbox.rate_limited", id=head.id, channel=head.channel, retry_after=retry_after)
