"""The incident service: alerts in, one owned Slack thread per incident out (through the outbox).

`ingest` deduplicates by key with PagerDuty's semantics: a trigger for a key with an open
incident joins it; an acknowledged incident is not re-announced by later triggers; an instance
missing from a later group payload is not thereby resolved (only `resolved` resolves); a
duplicate (same instance, same start) changes nothing but when it was last seen; an acknowledge
racing a resolve never reopens it; a re-fire within `incidents.reopen_window` of the resolution
reopens the same incident in the same thread. Everything is committed before `ingest` returns.

Delivery: a new incident queues its root message in the same transaction that creates it (the
unique `incident.open_key` makes that happen once per key, whichever replica wins; the root's
outbox dedupe key makes the post itself unique). Later changes only mark the incident dirty and
append timeline events; `flush_due` (a job every few seconds, and right after a person acts)
queues at most one `chat.update` of the root and one thread reply with the news per incident per
`incidents.coalesce`, so a burst of alerts is one reply. Nothing here calls Slack.

An incident whose subject is downstream (ops.yml lineage) of another open incident's subject
joins that incident's thread: its message is a reply there, saying what probably caused it. An
upstream that opens after its downstream incidents links them instead: their roots (already in
their own channels) are edited to say what probably caused them, and the upstream lists them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.incidents.alerts import AlertEvent, AlertStatus, Subject, SubjectKind
from bot.incidents.routing import UNROUTED, Route, route, subject_of, upstream_of
from bot.ops_config import OpsConfig
from bot.ops_config.common import USERGROUP_ID_PATTERN
from bot.outbox import Outbox, enqueue_in
from bot.store.db import session_scope
from bot.store.models import (
    HandledEvent,
    Incident,
    IncidentAlert,
    IncidentEvent,
    IncidentStatus,
    OutboxMessage,
)
from bot.views.format import duration
from bot.views.incidents import RootView, news_reply, root_message
from bot.views.owners import person_ref

log = structlog.get_logger(__name__)

SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}
KEY_MAX = 255
RETRIES = 6  # a lost race for a key (IntegrityError) is retried against the winner's row
FLUSH_BATCH = 200
GROUP_TRUNCATED = "truncated"  # label the Alertmanager intake sets on a group's first event
UPSTREAM_KINDS = (SubjectKind.pipeline, SubjectKind.model)  # what lineage can put upstream


@dataclass
class IngestResult:
    accepted: int = 0
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicate: bool = False  # this delivery was handled before: nothing changed

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "opened": self.opened,
            "reopened": self.reopened,
            "updated": sorted(set(self.updated)),
            "resolved": self.resolved,
            "ignored": self.ignored,
        }


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    message: str
    incident_id: int | None = None


def _stamp(moment: Any) -> float | None:
    return moment.timestamp() if moment is not None else None


def _text(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class IncidentService:
    """Opens, updates and resolves incidents; every change is committed and its Slack side
    queued in the outbox."""

    def __init__(
        self,
        *,
        engine: Engine,
        config: OpsConfig,
        outbox: Outbox | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.config = config
        self.outbox = outbox
        self.clock = clock

    @property
    def coalesce(self) -> float:
        return self.config.incidents.coalesce.total_seconds()

    @property
    def reopen_window(self) -> float:
        return self.config.incidents.reopen_window.total_seconds()

    # -- intake ---------------------------------------------------------------------------------
    async def ingest(
        self, events: Sequence[AlertEvent], *, delivery: str | None = None
    ) -> IngestResult:
        """Apply `events` in order, committed before returning (AlertSink). `delivery` (at most
        64 characters) is recorded in the same transaction: the same delivery again changes
        nothing and says `duplicate`."""
        result = await asyncio.to_thread(self.ingest_sync, events, delivery)
        if self.outbox is not None and (result.opened or result.reopened):
            self.outbox.notify()
        return result

    def ingest_sync(
        self, events: Sequence[AlertEvent], delivery: str | None = None
    ) -> IngestResult:
        last: Exception | None = None
        for _ in range(RETRIES):
            result = IngestResult()
            try:
                with session_scope(self.engine) as session:
                    now = self.clock()
                    if delivery is not None:
                        if session.get(HandledEvent, delivery[:64]) is not None:
                            return IngestResult(duplicate=True)
                        session.add(HandledEvent(event_id=delivery[:64], handled_at=now))
                        session.flush()
                    for event in events:
                        self._apply(session, event, now, result)
                    self._render_new_roots(session, result.opened, now)
                return result
            except (IntegrityError, OperationalError) as exc:  # lost a race: redo on the winner
                last = exc
                log.info("incidents.ingest_retry", error=type(exc).__name__)
        assert last is not None
        raise last

    def _apply(self, session: Session, event: AlertEvent, now: float, result: IngestResult) -> None:
        key = _text(event.dedup_key.strip(), KEY_MAX)
        if not key:
            result.ignored.append("empty dedup_key")
            return
        result.accepted += 1
        incident = self._open_incident(session, key)
        if event.status is AlertStatus.resolved:
            if incident is None:
                result.ignored.append(f"{key}: resolved, but no open incident")
                return
            self._resolve_instance(session, incident, event, now, result)
            return
        if incident is not None:
            self._join(session, incident, event, now, result)
            return
        recent = self._recently_resolved(session, key, now)
        if recent is not None:
            if self._stale_refire(session, recent, event):
                result.ignored.append(f"{key}: a late copy of an alert already resolved")
                return
            self._reopen(session, recent, event, now, result)
            return
        self._create(session, key, event, now, result)

    def _render_new_roots(self, session: Session, opened: list[int], now: float) -> None:
        """Roots queued in this transaction show everything it applied (a group's 30 alerts
        in one payload make one root listing them, not a root and an update)."""
        for incident_id in opened:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.root_outbox_id is None or not incident.dirty:
                continue
            row = session.get(OutboxMessage, incident.root_outbox_id)
            if row is None:
                continue
            row.payload = json.dumps(self._root_payload(session, incident, now), ensure_ascii=False)
            incident.dirty = False
            session.add(row)
            session.add(incident)

    def _root_payload(self, session: Session, incident: Incident, now: float) -> dict[str, Any]:
        payload = root_message(self._view(session, incident), now=now)
        oncall = self._oncall(incident.team)
        if oncall:  # the root mentions on-call once, in the post that notifies (not in edits)
            payload["text"] = f"{person_ref(oncall)} {payload['text']}"
        return payload

    def _open_incident(self, session: Session, key: str) -> Incident | None:
        query = select(Incident).where(Incident.open_key == key).with_for_update()
        return session.exec(query).first()

    def _recently_resolved(self, session: Session, key: str, now: float) -> Incident | None:
        query = (
            select(Incident)
            .where(Incident.fingerprint == key)
            .where(Incident.status == IncidentStatus.resolved)
            .where(col(Incident.resolved_at) >= now - self.reopen_window)
            .order_by(col(Incident.id).desc())
            .with_for_update()
        )
        return session.exec(query).first()

    def _stale_refire(self, session: Session, incident: Incident, event: AlertEvent) -> bool:
        """A firing copy of an instance that already resolved with the same start (an HA
        Alertmanager peer late with its copy) is not a re-fire."""
        started = _stamp(event.starts_at)
        if started is None:
            return False
        alert = self._instance(session, incident, event)
        return alert is not None and alert.starts_at == started

    def _instance(
        self, session: Session, incident: Incident, event: AlertEvent
    ) -> IncidentAlert | None:
        name = _text(event.instance or incident.fingerprint, KEY_MAX)
        query = select(IncidentAlert).where(
            IncidentAlert.incident_id == incident.id, IncidentAlert.instance == name
        )
        return session.exec(query).first()

    def _event(
        self,
        session: Session,
        incident: Incident,
        kind: str,
        now: float,
        *,
        detail: str | None = None,
        actor: str | None = None,
        news: bool = False,
    ) -> None:
        assert incident.id is not None
        session.add(
            IncidentEvent(
                incident_id=incident.id,
                at=now,
                kind=kind,
                actor=actor,
                detail=detail,
                news=news,
                announced=not news,
            )
        )

    def _severity(self, event: AlertEvent, routed: Route | None) -> str:
        if routed is not None and routed.severity and "severity" not in event.labels:
            return routed.severity
        return event.severity.value

    def _create(
        self, session: Session, key: str, event: AlertEvent, now: float, result: IngestResult
    ) -> None:
        routed = route(self.config, event)
        subject = subject_of(event)
        upstream = self._upstream_incident(session, subject) if subject else None
        started = _stamp(event.starts_at) or now
        incident = Incident(
            fingerprint=key,
            open_key=key,
            title=_text(event.title or key, 2000),
            team=routed.team,
            severity=self._severity(event, routed),
            status=IncidentStatus.open,
            source=_text(event.source, 64),
            summary=event.summary or None,
            url=event.links[0].url if event.links else None,
            channel=routed.channel,
            alert_count=1,
            instance_count=1,
            opened_at=started,
            last_alert_at=now,
            route_reason=routed.reason,
            subject=str(subject) if subject else None,
            caused_by_id=upstream.id if upstream else None,
            labels=json.dumps(dict(event.labels), sort_keys=True),
            links=json.dumps([[link.title, link.url] for link in event.links]),
            flushed_at=now,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        self._add_instance(session, incident, event, now)
        self._event(session, incident, "opened", now, detail=f"{incident.title} ({routed.reason})")
        if upstream is not None:
            self._event(
                session, incident, "linked", now, detail=f"probably caused by #{upstream.id}"
            )
            self._event(
                session,
                upstream,
                "linked",
                now,
                detail=f"#{incident.id} {incident.title} ({incident.team}) joined this thread",
            )
            upstream.dirty = True
            session.add(upstream)
        self._post_root(session, incident, upstream, now)
        self._adopt_downstream(session, incident, now, fresh=True)
        result.opened.append(incident.id)

    def _add_instance(
        self, session: Session, incident: Incident, event: AlertEvent, now: float
    ) -> None:
        assert incident.id is not None
        session.add(
            IncidentAlert(
                incident_id=incident.id,
                instance=_text(event.instance or incident.fingerprint, KEY_MAX),
                status=AlertStatus.firing.value,
                starts_at=_stamp(event.starts_at),
                first_seen=now,
                last_seen=now,
            )
        )
        session.flush()

    def _post_root(
        self, session: Session, incident: Incident, upstream: Incident | None, now: float
    ) -> None:
        """Queue the root (or, for a linked incident, its message in the upstream thread)."""
        assert incident.id is not None
        channel = upstream.channel if upstream is not None else incident.channel
        if channel is None:
            log.warning(
                "incidents.nowhere_to_post", incident=incident.id, reason=incident.route_reason
            )
            return
        payload = self._root_payload(session, incident, now)
        parent = upstream.root_outbox_id if upstream is not None else None
        incident.root_outbox_id = enqueue_in(
            session,
            method="chat.postMessage",
            channel=channel,
            payload=payload,
            parent_id=parent,
            dedupe_key=f"incident:{incident.id}:root",
        )
        incident.channel = channel
        session.add(incident)

    def _oncall(self, team: str) -> str | None:
        found = self.config.teams.get(team)
        return found.oncall if found else None

    def _join(
        self,
        session: Session,
        incident: Incident,
        event: AlertEvent,
        now: float,
        result: IngestResult,
    ) -> None:
        assert incident.id is not None
        incident.last_alert_at = now
        alert = self._instance(session, incident, event)
        started = _stamp(event.starts_at)
        announce = incident.status == IncidentStatus.open
        changed = False
        if alert is None:
            self._add_instance(session, incident, event, now)
            incident.alert_count += 1
            incident.instance_count += 1
            name = event.instance or incident.fingerprint
            self._event(
                session, incident, "instance", now, detail=f"new instance {name}", news=announce
            )
            changed = True
        else:
            alert.last_seen = now
            refire = (
                alert.status == AlertStatus.resolved.value
                or (started is not None and alert.starts_at != started)
                or (started is None and event.instance is None)
            )
            if refire:
                incident.alert_count += 1
                alert.firings += 1
                was_resolved = alert.status == AlertStatus.resolved.value
                alert.status = AlertStatus.firing.value
                alert.starts_at = started
                if was_resolved:
                    self._event(
                        session,
                        incident,
                        "instance",
                        now,
                        detail=f"{alert.instance} fires again",
                        news=announce,
                    )
                changed = True
            session.add(alert)
        if GROUP_TRUNCATED in event.labels:  # Alertmanager's count of alerts it left out
            labels = json.loads(incident.labels or "{}")
            if labels.get(GROUP_TRUNCATED) != event.labels[GROUP_TRUNCATED]:
                labels[GROUP_TRUNCATED] = event.labels[GROUP_TRUNCATED]
                incident.labels = json.dumps(labels, sort_keys=True)
                changed = True
        severity = event.severity.value
        if SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(incident.severity, 9):
            self._event(
                session,
                incident,
                "severity",
                now,
                detail=f"severity {incident.severity} → {severity}",
                news=True,
            )
            incident.severity = severity
            changed = True
        if changed:
            incident.dirty = True
            result.updated.append(incident.id)
        session.add(incident)

    def _reopen(
        self,
        session: Session,
        incident: Incident,
        event: AlertEvent,
        now: float,
        result: IngestResult,
    ) -> None:
        assert incident.id is not None
        gap = duration(timedelta(seconds=now - (incident.resolved_at or now)))
        incident.status = IncidentStatus.open
        incident.open_key = incident.fingerprint
        incident.resolved_at = None
        incident.resolved_by = None
        incident.acknowledged_by = None
        incident.acknowledged_at = None
        incident.resolve_note = None
        incident.reopened += 1
        incident.alert_count += 1
        incident.last_alert_at = now
        incident.dirty = True
        alert = self._instance(session, incident, event)
        if alert is None:
            self._add_instance(session, incident, event, now)
            incident.instance_count += 1
        else:
            alert.status = AlertStatus.firing.value
            alert.starts_at = _stamp(event.starts_at)
            alert.last_seen = now
            alert.firings += 1
            session.add(alert)
        self._event(
            session,
            incident,
            "reopened",
            now,
            detail=f"fired again {gap} after it resolved",
            news=True,
        )
        session.add(incident)
        session.flush()  # the unique open_key is checked here: a racing replica's row wins
        self._relink_reopened(session, incident, now)
        self._adopt_downstream(session, incident, now, fresh=False)
        result.reopened.append(incident.id)

    def _resolve_instance(
        self,
        session: Session,
        incident: Incident,
        event: AlertEvent,
        now: float,
        result: IngestResult,
    ) -> None:
        assert incident.id is not None
        alert = self._instance(session, incident, event)
        if alert is not None and alert.status != AlertStatus.resolved.value:
            alert.status = AlertStatus.resolved.value
            alert.last_seen = now
            session.add(alert)
            session.flush()
        firing = session.exec(
            select(IncidentAlert.id).where(
                IncidentAlert.incident_id == incident.id,
                IncidentAlert.status == AlertStatus.firing.value,
            )
        ).first()
        if firing is not None:
            incident.dirty = True
            session.add(incident)
            result.updated.append(incident.id)
            return
        self._close(session, incident, now, by=None, note=None)
        result.resolved.append(incident.id)

    def _close(
        self, session: Session, incident: Incident, now: float, *, by: str | None, note: str | None
    ) -> None:
        took = duration(timedelta(seconds=max(0.0, now - incident.opened_at)))
        incident.status = IncidentStatus.resolved
        incident.open_key = None
        incident.resolved_at = now
        incident.resolved_by = by
        incident.resolve_note = note
        incident.dirty = True
        detail = f"resolved after {took}" + (f": {note}" if note else "")
        self._event(session, incident, "resolved", now, actor=by, detail=detail, news=True)
        session.add(incident)

    def _upstream_incident(self, session: Session, subject: Subject) -> Incident | None:
        """The open incident (the thread's own root, not a linked one) about a subject upstream
        of `subject`, nearest first."""
        for candidate in upstream_of(self.config, subject):
            query = (
                select(Incident)
                .where(col(Incident.open_key).is_not(None))
                .where(Incident.subject == str(candidate))
                .order_by(col(Incident.id))
            )
            found = session.exec(query).first()
            if found is not None:
                while found.caused_by_id is not None:
                    parent = session.get(Incident, found.caused_by_id)
                    if parent is None:
                        break
                    found = parent
                if found.root_outbox_id is not None:
                    return found
        return None

    def _adopt_downstream(
        self, session: Session, incident: Incident, now: float, *, fresh: bool
    ) -> None:
        """An upstream that opens (or reopens) after incidents downstream of it: each open one
        not yet linked to anything is linked to the upstream's root cause, with the open ones
        linked to it (every link points at a root cause, never along a chain), and their roots,
        already posted in their own channels, are edited to say what probably caused them.
        Runs on open and reopen only, so a redelivery links nothing again."""
        own = _parse_subject(incident.subject)
        if own is None or own.kind not in UPSTREAM_KINDS or incident.open_key is None:
            return
        assert incident.id is not None
        target, seen = incident, {incident.id}
        while target.caused_by_id is not None and target.caused_by_id not in seen:
            parent = session.get(Incident, target.caused_by_id)
            if parent is None or parent.id is None or parent.open_key is None:
                break
            seen.add(parent.id)
            target = parent
        unlinked = select(Incident.id, Incident.subject).where(
            col(Incident.open_key).is_not(None),
            col(Incident.caused_by_id).is_(None),
            col(Incident.subject).is_not(None),
            col(Incident.id).not_in(seen),
        )
        matching = [
            ident
            for ident, text in session.exec(unlinked.order_by(col(Incident.id))).all()
            if (subject := _parse_subject(text)) is not None
            and own in upstream_of(self.config, subject)
        ]
        adopted: list[Incident] = []
        for ident in matching:  # only the matching rows are locked, and checked again
            candidate = session.exec(
                select(Incident).where(Incident.id == ident).with_for_update()
            ).first()
            if candidate is None or candidate.caused_by_id is not None:
                continue
            if candidate.open_key is None:
                continue
            adopted.append(candidate)
            self._link_under(session, candidate, target, now, why="which opened later")
        if not adopted:
            return
        names = ", ".join(f"#{a.id} {a.title} ({a.team})" for a in adopted)
        # a root posted in this transaction already lists them; a live one says so in its thread
        self._event(
            session,
            target,
            "linked",
            now,
            detail=f"probably caused {names}, opened earlier",
            news=not (fresh and target is incident),
        )
        target.dirty = True
        session.add(target)
        session.flush()

    def _link_under(
        self, session: Session, incident: Incident, target: Incident, now: float, *, why: str
    ) -> None:
        """Link `incident`, and the open incidents linked to it, to `target` (every link points
        at a root cause, never along a chain); their roots are edited (coalesced) to say so."""
        followers = session.exec(
            select(Incident)
            .where(Incident.caused_by_id == incident.id)
            .where(col(Incident.open_key).is_not(None))  # resolved ones keep their history
            .order_by(col(Incident.id))
            .with_for_update()
        ).all()
        for linked in (incident, *followers):
            assert linked.id is not None
            linked.caused_by_id = target.id
            linked.dirty = True
            session.add(linked)
            self._event(
                session,
                linked,
                "linked",
                now,
                detail=f"probably caused by #{target.id} {target.title}, {why}",
            )

    def _relink_reopened(self, session: Session, incident: Incident, now: float) -> None:
        """A reopened incident's probable cause is decided again: an upstream still open still
        explains it; one that resolved meanwhile no longer does, and the incident links to the
        root cause of an upstream open now, if any, as a new incident would (else to nothing).
        Its message stays where it was posted, and its news with it (`_thread_root`)."""
        assert incident.id is not None
        was = session.get(Incident, incident.caused_by_id) if incident.caused_by_id else None
        if was is not None and was.open_key is not None:
            return
        subject = _parse_subject(incident.subject)
        upstream = self._upstream_incident(session, subject) if subject else None
        if upstream is not None and (upstream.open_key is None or upstream.id == incident.id):
            upstream = None  # only an open root cause explains it (and never itself)
        if upstream is None:
            if was is not None:
                incident.caused_by_id = None
                session.add(incident)
                self._event(
                    session,
                    incident,
                    "unlinked",
                    now,
                    detail=f"no longer linked to #{was.id} {was.title}, which resolved",
                    news=True,
                )
            return
        assert upstream.id is not None
        self._link_under(session, incident, upstream, now, why="open when this reopened")
        self._event(
            session,
            upstream,
            "linked",
            now,
            detail=f"probably caused #{incident.id} {incident.title} ({incident.team}), "
            "which reopened",
            news=True,
        )
        upstream.dirty = True
        session.add(upstream)

    # -- rendering ------------------------------------------------------------------------------
    def _view(self, session: Session, incident: Incident) -> RootView:
        assert incident.id is not None
        team = self.config.teams.get(incident.team)
        alerts = session.exec(
            select(IncidentAlert)
            .where(IncidentAlert.incident_id == incident.id)
            .where(IncidentAlert.status == AlertStatus.firing.value)
            .order_by(col(IncidentAlert.last_seen).desc(), col(IncidentAlert.id).desc())
            .limit(20)
        ).all()
        labels = json.loads(incident.labels or "{}")
        truncated = int(labels.get(GROUP_TRUNCATED, 0) or 0) if isinstance(labels, dict) else 0
        firing = session.exec(
            select(IncidentAlert.id).where(
                IncidentAlert.incident_id == incident.id,
                IncidentAlert.status == AlertStatus.firing.value,
            )
        ).all()
        instances = [a.instance for a in alerts]
        if len(firing) > len(instances):
            truncated += len(firing) - len(instances)
        caused = None
        if incident.caused_by_id is not None:
            upstream = session.get(Incident, incident.caused_by_id)
            if upstream is not None:
                state = "failing" if upstream.status != IncidentStatus.resolved else "resolved"
                opened = duration(timedelta(seconds=max(0.0, self.clock() - upstream.opened_at)))
                caused = f"{_subject_name(upstream)} {state} (#{upstream.id}, open {opened})"
        linked = session.exec(
            select(Incident).where(Incident.caused_by_id == incident.id).order_by(col(Incident.id))
        ).all()
        links = json.loads(incident.links or "[]")
        return RootView(
            id=incident.id,
            title=incident.title,
            severity=incident.severity,
            state=incident.status,
            team=incident.team,
            team_name=(team.name or incident.team) if team else "no owner",
            oncall=team.oncall if team else None,
            source=incident.source,
            summary=incident.summary or "",
            started=incident.opened_at,
            last_seen=incident.last_alert_at,
            alerts=incident.alert_count,
            instances=instances,
            truncated=truncated,
            links=[(str(t), str(u)) for t, u in links],
            acked_by=incident.acknowledged_by,
            resolved_by=incident.resolved_by,
            resolved_at=incident.resolved_at,
            resolve_note=incident.resolve_note,
            route_note=incident.route_reason
            if incident.team == UNROUTED or (incident.route_reason or "").startswith("unroutable")
            else None,
            caused_by=caused,
            linked=[f"#{i.id} {i.title} ({i.team}, {i.status})" for i in linked],
            muted_until=incident.muted_until,
            silence_id=incident.silence_id,
        )

    # -- coalesced delivery ---------------------------------------------------------------------
    def flush_due(self, *, only: int | None = None, force: bool = False) -> int:
        """Queue one root update (and one reply with the news) for each dirty incident whose
        coalescing interval has passed (`force`: now, for a person's action). Returns how
        many incidents were flushed. Each is claimed by a conditional update: two replicas
        flushing at once queue it once."""
        now = self.clock()
        query = select(Incident.id, Incident.flushed_at).where(col(Incident.dirty).is_(True))
        query = query.where(col(Incident.root_outbox_id).is_not(None))
        if only is not None:
            query = query.where(Incident.id == only)
        if not force:
            query = query.where(
                (col(Incident.flushed_at).is_(None))
                | (col(Incident.flushed_at) <= now - self.coalesce)
            )
        with session_scope(self.engine) as session:
            due = session.exec(query.order_by(col(Incident.id)).limit(FLUSH_BATCH)).all()
        flushed = 0
        for incident_id, was in due:
            if incident_id is not None and self._flush_one(incident_id, was, now):
                flushed += 1
        if flushed and self.outbox is not None:
            self.outbox.notify()
        return flushed

    def _flush_one(self, incident_id: int, was: float | None, now: float) -> bool:
        table = Incident.__table__  # type: ignore[attr-defined]
        with session_scope(self.engine) as session:
            claim = (
                update(table)
                .where(table.c.id == incident_id, table.c.dirty.is_(True))
                .where(table.c.flushed_at.is_(None) if was is None else table.c.flushed_at == was)
                .values(dirty=False, flushed_at=now)
            )
            if session.execute(claim).rowcount != 1:  # type: ignore[attr-defined]
                return False
            incident = session.get(Incident, incident_id)
            if incident is None or incident.root_outbox_id is None or incident.channel is None:
                return False
            payload = root_message(self._view(session, incident), now=now)
            enqueue_in(
                session,
                method="chat.update",
                channel=incident.channel,
                payload=payload,
                parent_id=incident.root_outbox_id,
            )
            news = session.exec(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id)
                .where(col(IncidentEvent.announced).is_(False))
                .order_by(col(IncidentEvent.id))
            ).all()
            if news:
                for item in news:
                    item.announced = True
                    session.add(item)
                muted = incident.muted_until is not None and incident.muted_until > now
                thread = self._thread_root(session, incident)
                shared = thread != incident.root_outbox_id  # another incident's thread
                lines = [self._news_line(incident, e, shared=shared) for e in news]
                if not muted or incident.status == IncidentStatus.resolved:
                    enqueue_in(
                        session,
                        method="chat.postMessage",
                        channel=incident.channel,
                        payload=news_reply(lines),
                        parent_id=thread,
                    )
        return True

    def _thread_root(self, session: Session, incident: Incident) -> int | None:
        """The thread its message is a reply in (posted linked to an upstream; it stays there
        when relinked or unlinked later); else the upstream's thread for an incident linked in
        the same channel; an incident linked after its root went out in another channel keeps
        its own thread."""
        if incident.root_outbox_id is not None:
            row = session.get(OutboxMessage, incident.root_outbox_id)
            if row is not None and row.parent_id is not None:
                return row.parent_id
        if incident.caused_by_id is not None:
            upstream = session.get(Incident, incident.caused_by_id)
            if (
                upstream is not None
                and upstream.root_outbox_id is not None
                and upstream.channel == incident.channel
            ):
                return upstream.root_outbox_id
        return incident.root_outbox_id

    @staticmethod
    def _news_line(incident: Incident, event: IncidentEvent, *, shared: bool) -> str:
        """One line of news; in another incident's thread (or linked to one) it says which
        incident it is about."""
        prefix = f"#{incident.id} " if shared or incident.caused_by_id is not None else ""
        detail = event.detail or event.kind
        if event.kind == "resolved":
            return f"{prefix}:white_check_mark: Resolved — {detail}"  # pings nobody
        if event.kind == "acknowledged":
            return f"{prefix}:eyes: {detail}"
        if event.kind == "reopened":
            return f"{prefix}:rotating_light: Reopened — {detail}"
        return f"{prefix}{detail}"

    # -- people acting on an incident -----------------------------------------------------------
    def may_act(
        self, incident: Incident, user: str, *, oncall_members: Collection[str] = ()
    ) -> bool:
        """Members, leads and the on-call of the owning team, and admins. When on-call is a
        user group, `oncall_members` are its members as Slack said (looked up by the caller:
        this service never calls Slack); they count for that team only."""
        if user in self.config.workspace.admins:
            return True
        team = self.config.teams.get(incident.team)
        if team is None:
            return False
        if user in team.people or user == team.oncall:
            return True
        return self.oncall_group(incident) is not None and user in oncall_members

    def oncall_group(self, incident: Incident) -> str | None:
        """The owning team's on-call when it is a Slack user group (S…), else None."""
        team = self.config.teams.get(incident.team)
        oncall = team.oncall if team else None
        return oncall if oncall and re.fullmatch(USERGROUP_ID_PATTERN, oncall) else None

    def refusal(self, incident: Incident) -> str:
        team = self.config.teams.get(incident.team)
        owner = f"the {team.name or incident.team} team" if team else "admins"
        return (
            f"Only {owner} (its members, leads and on-call) and Switchboard admins can act on "
            f"incident #{incident.id}."
        )

    def get(self, incident_id: int) -> Incident | None:
        with session_scope(self.engine) as session:
            return session.get(Incident, incident_id)

    def act(
        self,
        incident_id: int,
        user: str,
        what: str,
        *,
        note: str | None = None,
        until: float | None = None,
        silence_id: str | None = None,
        oncall_members: Collection[str] = (),
    ) -> ActionOutcome:
        """Acknowledge, resolve, silence or unsilence as `user` (checked here, not trusted from
        the button; `oncall_members` as for `may_act`); each action is an audit record and
        flushes the root at once."""
        now = self.clock()
        with session_scope(self.engine) as session:
            incident = session.exec(
                select(Incident).where(Incident.id == incident_id).with_for_update()
            ).first()
            if incident is None:
                return ActionOutcome(False, f"There is no incident #{incident_id}.")
            if not self.may_act(incident, user, oncall_members=oncall_members):
                self._event(session, incident, f"{what}_refused", now, actor=user)
                return ActionOutcome(False, self.refusal(incident), incident_id)
            outcome = self._do(session, incident, user, what, now, note, until, silence_id)
        if outcome.ok:
            self.flush_due(only=incident_id, force=True)
        return outcome

    def _do(
        self,
        session: Session,
        incident: Incident,
        user: str,
        what: str,
        now: float,
        note: str | None,
        until: float | None,
        silence_id: str | None,
    ) -> ActionOutcome:
        ident = incident.id
        if what == "ack":
            if incident.status != IncidentStatus.open:
                # an ack racing a resolve (or a second ack) changes nothing, never reopens
                return ActionOutcome(
                    False, f"Incident #{ident} is already {incident.status}.", ident
                )
            incident.status = IncidentStatus.acknowledged
            incident.acknowledged_by = user
            incident.acknowledged_at = now
            self._event(
                session,
                incident,
                "acknowledged",
                now,
                actor=user,
                detail=f"acknowledged by <@{user}>",
                news=True,
            )
        elif what == "resolve":
            if incident.status == IncidentStatus.resolved:
                return ActionOutcome(False, f"Incident #{ident} is already resolved.", ident)
            self._close(session, incident, now, by=user, note=note or None)
        elif what == "silence":
            if incident.status == IncidentStatus.resolved or until is None:
                return ActionOutcome(False, f"Incident #{ident} is resolved.", ident)
            incident.muted_until = until
            incident.silence_id = silence_id
            said = f"silenced for {duration(timedelta(seconds=until - now))}"
            if silence_id:
                said += f" (Alertmanager silence {silence_id})"
            self._event(session, incident, "silenced", now, actor=user, detail=said, news=True)
        elif what == "unsilence":
            incident.muted_until = None
            incident.silence_id = None
            self._event(
                session, incident, "unsilenced", now, actor=user, detail="unsilenced", news=True
            )
        else:
            return ActionOutcome(False, f"Unknown action {what!r}.", ident)
        incident.dirty = True
        session.add(incident)
        return ActionOutcome(True, f"Incident #{ident}: {what} recorded.", ident)

    def timeline(self, incident_id: int) -> tuple[Incident, list[IncidentEvent]] | None:
        with session_scope(self.engine) as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                return None
            events = session.exec(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id)
                .order_by(col(IncidentEvent.id))
            ).all()
            return incident, list(events)

    def muted(self, key: str) -> bool:
        with session_scope(self.engine) as session:
            found = session.exec(select(Incident).where(Incident.open_key == key)).first()
            return bool(found and found.muted_until and found.muted_until > self.clock())


def _subject_name(incident: Incident) -> str:
    if incident.subject and ":" in incident.subject:
        kind, name = incident.subject.split(":", 1)
        if kind == SubjectKind.pipeline.value:
            return name
        return f"{kind} {name}"
    return incident.title


def _parse_subject(text: str | None) -> Subject | None:
    if not text or ":" not in text:
        return None
    kind, name = text.split(":", 1)
    try:
        return Subject(SubjectKind(kind), name)
    except ValueError:
        return None
