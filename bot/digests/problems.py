"""Channels Slack refuses a digest in for good (the bot is not in it, it is archived or gone):
found on the digest's last root post once the outbox gave it up, told once to the digest's owners
by DM, shown in `/ops digest list`, and forgotten when a post there goes through again.

The outbox does not retry these errors (they are permanent), so each scheduled post tries once;
the other digests are not held up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.digests.models import DigestRecord
from bot.metrics import DIGEST_CHANNEL_PROBLEMS
from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.outbox.enqueue import enqueue_in
from bot.store.db import session_scope
from bot.store.models import OutboxMessage, OutboxStatus

log = structlog.get_logger(__name__)

CHANNEL_ERRORS = {
    "not_in_channel": "I am not a member of {channel}: invite me with `/invite @Switchboard`",
    "channel_not_found": "{channel} does not exist (or I cannot see it): fix `channel:` in ops.yml",
    "is_archived": "{channel} is archived: unarchive it or move the digest in ops.yml",
}
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
RECORD = DigestRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ChannelProblem:
    digest: str
    channel: str
    error: str
    since: float

    def words(self) -> str:
        channel = f"<#{self.channel}>" if self.channel[:1] in ("C", "G") else self.channel
        return CHANNEL_ERRORS.get(self.error, "{channel}: " + self.error).format(channel=channel)


def owners(config: OpsConfig, digest: Digest) -> list[str]:
    """Who hears about the digest's channel: the people of its teams, else the admins."""
    people = [
        p for slug in digest.teams or () if slug in config.teams for p in config.teams[slug].people
    ]
    return list(dict.fromkeys(people or config.workspace.admins))


def may_run(config: OpsConfig, digest: Digest, user: str) -> bool:
    """Admins, and the members (and leads) of the digest's teams; a digest of every team may be
    run by anyone in any team."""
    if user in config.workspace.admins:
        return True
    teams = digest.teams or list(config.teams)
    return any(user in config.teams[t].people for t in teams if t in config.teams)


def _error_of(last_error: str | None) -> str | None:
    text = (last_error or "").strip()
    return next((e for e in CHANNEL_ERRORS if text == e or text.startswith(e)), None)


def check_channels(engine: Engine, config: OpsConfig, *, now: float | None = None) -> list[str]:
    """Look at each digest's last root post: record a refused channel and queue one DM per owner
    (once per problem), or clear the problem once a post went through. Returns the digests
    newly reported. Safe on several replicas: the DMs' dedupe keys name the refused post."""
    now = time.time() if now is None else now
    digests = {d.name: d for d in config.digests}
    query = (
        select(
            RECORD.c.name,
            RECORD.c.problem,
            RECORD.c.problem_outbox_id,
            OUTBOX.c.id,
            OUTBOX.c.status,
            OUTBOX.c.channel,
            OUTBOX.c.last_error,
        )
        .join(OUTBOX, OUTBOX.c.id == RECORD.c.root_outbox_id)
        .where(OUTBOX.c.status != OutboxStatus.pending.value)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    reported: list[str] = []
    for row in rows:
        if row.status == OutboxStatus.sent.value:
            if row.problem is not None:
                _clear(engine, row.name)
            continue
        error = _error_of(row.last_error)
        if error is None or row.problem_outbox_id == row.id:
            continue
        digest = digests.get(row.name)
        if _record_problem(engine, row.name, row.channel, error, row.id, now, digest, config):
            reported.append(row.name)
    return reported


def _clear(engine: Engine, name: str) -> None:
    with session_scope(engine) as session:
        record = session.get(DigestRecord, name)
        if record is not None:
            record.problem = record.problem_channel = None
            record.problem_at = record.problem_outbox_id = None
            session.add(record)
    log.info("digest.channel_ok_again", digest=name)


def _record_problem(
    engine: Engine,
    name: str,
    channel: str,
    error: str,
    outbox_id: int,
    now: float,
    digest: Digest | None,
    config: OpsConfig,
) -> bool:
    """Store the problem; DM the owners if it is new (a different channel or error than the
    one already told). True when they were told."""
    with session_scope(engine) as session:
        record = session.get(DigestRecord, name, with_for_update=True)
        if record is None or record.problem_outbox_id == outbox_id:
            return False
        known = record.problem == error and record.problem_channel == channel
        record.problem, record.problem_channel, record.problem_outbox_id = error, channel, outbox_id
        record.problem_at = record.problem_at if known else now
        session.add(record)
        if known or digest is None:
            return False
        problem = ChannelProblem(name, channel, error, now)
        text = (
            f":warning: I could not post the digest `{name}`: {problem.words()}. "
            "I will not keep retrying; the next scheduled post tries again, and "
            "`/ops digest list` shows it until then."
        )
        for user in owners(config, digest):
            enqueue_in(
                session,
                method="chat.postMessage",
                channel=user,
                payload={"text": text},
                dedupe_key=f"digest:{name}:problem:{outbox_id}:{user}",
            )
    DIGEST_CHANNEL_PROBLEMS.labels(error=error).inc()
    log.warning("digest.channel_refused", digest=name, channel=channel, error=error)
    return True


def channel_problems(engine: Engine) -> dict[str, ChannelProblem]:
    """Every digest's current channel problem, for `/ops digest list`."""
    query = select(
        RECORD.c.name, RECORD.c.problem_channel, RECORD.c.problem, RECORD.c.problem_at
    ).where(RECORD.c.problem.is_not(None), RECORD.c.problem_channel.is_not(None))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        r.name: ChannelProblem(r.name, r.problem_channel, r.problem, r.problem_at or 0.0)
        for r in rows
    }
