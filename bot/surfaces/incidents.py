"""Incident buttons on a thread's root: Acknowledge, Resolve (a modal with an optional note),
Silence 1 h / 4 h / 24 h and Unsilence.

Every handler acks first. Who may act is the incident service's decision (the owning team's
members and leads, its on-call, admins); the button's value only says which incident. When the
on-call is a user group, its members are looked up here (usergroups.users.list, cached a minute)
for someone not otherwise allowed, and a failed lookup is explained to them. Silence on an
incident from Alertmanager creates a real silence there (its id is shown on the root);
elsewhere Switchboard mutes the incident's key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.notes import tell
from bot.incidents.service import IncidentService
from bot.incidents.silences import SilenceError, create_silence, expire_silence
from bot.services import Services
from bot.store.models import Incident
from bot.surfaces.usergroups import UsergroupLookupError, UsergroupMembers
from bot.views.approval_modals import read_form
from bot.views.field_errors import field_errors
from bot.views.ids import Action, Callback, FormField
from bot.views.incidents import SILENCE_HOURS, oncall_unknown, resolve_modal
from bot.views.mrkdwn import escape

log = structlog.get_logger(__name__)


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    return body["user"]["id"], (body.get("channel") or {}).get("id")


def _value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    selected = action.get("selected_option") or {}
    return str(selected.get("value") or action.get("value") or "")


def _incident_id(text: str) -> int | None:
    head = text.split(":", 1)[0]
    return int(head) if head.isdigit() else None


async def oncall_members(
    service: IncidentService,
    incident: Incident,
    user: str,
    *,
    client: AsyncWebClient,
    groups: UsergroupMembers,
) -> frozenset[str]:
    """The members of the owning team's on-call user group, asked of Slack only when they could
    change the answer (on-call is a group and `user` is not allowed otherwise); raises
    UsergroupLookupError when Slack does not say."""
    group = service.oncall_group(incident)
    if group is None or service.may_act(incident, user):
        return frozenset()
    return await groups.members(client, group)


def lookup_failed(service: IncidentService, incident: Incident, exc: UsergroupLookupError) -> str:
    team = service.config.teams.get(incident.team)
    return oncall_unknown(
        incident_id=incident.id or 0,
        team_name=(team.name or incident.team) if team else incident.team,
        group=exc.group,
        reason=exc.reason,
    )


async def silence(
    service: IncidentService,
    incident_id: int,
    user: str,
    hours: int,
    *,
    oncall: frozenset[str] = frozenset(),
) -> tuple[bool, str]:
    """Silence for `hours`: a real Alertmanager silence for its alerts, else a mute."""
    incident = await asyncio.to_thread(service.get, incident_id)
    if incident is None:
        return False, f"There is no incident #{incident_id}."
    if not service.may_act(incident, user, oncall_members=oncall):
        await asyncio.to_thread(service.act, incident_id, user, "silence")  # records the refusal
        return False, service.refusal(incident)
    now = service.clock()
    until = now + hours * 3600
    silence_id = None
    intake = service.config.incidents.alertmanager
    if incident.source == "alertmanager" and intake.api_url:
        try:
            silence_id = await create_silence(intake, incident, until=until, now=now, by=user)
        except SilenceError as exc:
            return False, f"Could not silence incident #{incident_id} in Alertmanager: {exc}"
    outcome = await asyncio.to_thread(
        service.act,
        incident_id,
        user,
        "silence",
        until=until,
        silence_id=silence_id,
        oncall_members=oncall,
    )
    said = f" (Alertmanager silence `{silence_id}`)" if silence_id else ""
    return outcome.ok, outcome.message if not outcome.ok else f"Silenced for {hours}h{said}."


async def unsilence(
    service: IncidentService,
    incident_id: int,
    user: str,
    *,
    oncall: frozenset[str] = frozenset(),
) -> tuple[bool, str]:
    incident = await asyncio.to_thread(service.get, incident_id)
    if incident is None:
        return False, f"There is no incident #{incident_id}."
    if incident.silence_id and service.may_act(incident, user, oncall_members=oncall):
        try:
            await expire_silence(service.config.incidents.alertmanager, incident.silence_id)
        except SilenceError as exc:
            return False, f"Could not expire the Alertmanager silence: {exc}"
    outcome = await asyncio.to_thread(
        service.act, incident_id, user, "unsilence", oncall_members=oncall
    )
    return outcome.ok, outcome.message


async def note_error(ack: AsyncAck, message: str) -> None:
    """The resolve-note modal stays open, saying why under its field (as plain text)."""
    await ack(response_action="errors", errors=field_errors({FormField.note: message}))


@dataclass(frozen=True)
class Press:
    """An incident button pressed by someone allowed to be told about it."""

    user: str
    channel: str | None
    service: IncidentService
    incident: Incident
    id: int
    oncall: frozenset[str]  # the on-call group's members, when the lookup was needed


def register(app: AsyncApp, *, services: Services, groups: UsergroupMembers | None = None) -> None:
    outbox = services.sending()
    groups = groups or UsergroupMembers()

    async def refuse(channel: str | None, user: str, text: str) -> None:
        await tell(outbox, channel=channel, user=user, text=text)

    async def pressed(
        body: dict[str, Any], client: AsyncWebClient, *, invalid: str, valid: bool = True
    ) -> Press | None:
        """Who pressed an incident button where, on which incident, and its on-call group's
        members (when needed); None when the person was already told why not (`invalid` for a
        button that names no incident, no such incident, or Slack did not say who is on call)."""
        user, channel = _where(body)
        service, found = services.incidents, _incident_id(_value(body))
        if service is None or found is None or not valid:
            await refuse(channel, user, invalid)
            return None
        incident = await asyncio.to_thread(service.get, found)
        if incident is None or incident.id is None:
            await refuse(channel, user, f"There is no incident #{found}.")
            return None
        try:
            members = await oncall_members(service, incident, user, client=client, groups=groups)
        except UsergroupLookupError as exc:
            log.warning("incidents.oncall_lookup_failed", group=exc.group, reason=exc.reason)
            await refuse(channel, user, escape(lookup_failed(service, incident, exc)))
            return None
        return Press(user, channel, service, incident, found, members)

    @app.action(Action.incident_ack)
    async def on_ack(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = await pressed(body, client, invalid="That button is not valid.")
        if press is None:
            return
        outcome = await asyncio.to_thread(
            press.service.act, press.id, press.user, "ack", oncall_members=press.oncall
        )
        if not outcome.ok:
            await refuse(press.channel, press.user, outcome.message)

    @app.action(Action.incident_resolve)
    async def on_resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = await pressed(body, client, invalid="That incident does not exist.")
        if press is None:
            return
        service, incident, user = press.service, press.incident, press.user
        if not service.may_act(incident, user, oncall_members=press.oncall):
            await asyncio.to_thread(service.act, press.id, user, "resolve")  # records the refusal
            await refuse(press.channel, user, service.refusal(incident))
            return
        await client.views_open(trigger_id=body["trigger_id"], view=resolve_modal(incident))

    @app.view(Callback.incident_resolve_note)
    async def on_resolve_note(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        service, found = services.incidents, _incident_id(str(view.get("private_metadata", "")))
        note = read_form(view.get("state", {}).get("values", {})).get(FormField.note)
        if service is None or found is None:
            await note_error(ack, "This form has expired.")
            return
        incident = await asyncio.to_thread(service.get, found)
        if incident is None:
            await note_error(ack, f"There is no incident #{found}.")
            return
        user = body["user"]["id"]
        try:  # cached since the Resolve click that opened this form, unless a minute went by
            oncall = await oncall_members(service, incident, user, client=client, groups=groups)
        except UsergroupLookupError as exc:
            await note_error(ack, lookup_failed(service, incident, exc))
            return
        outcome = await asyncio.to_thread(
            service.act, found, user, "resolve", note=note, oncall_members=oncall
        )
        if not outcome.ok:
            await note_error(ack, outcome.message)
            return
        await ack()

    @app.action(Action.incident_silence)
    async def on_silence(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = _value(body)
        hours_text = value.split(":", 1)[1] if ":" in value else ""
        hours = int(hours_text) if hours_text.isdigit() else 0
        valid = hours in SILENCE_HOURS
        press = await pressed(body, client, invalid="That button is not valid.", valid=valid)
        if press is None:
            return
        ok, message = await silence(press.service, press.id, press.user, hours, oncall=press.oncall)
        if not ok:
            await refuse(press.channel, press.user, message)

    @app.action(Action.incident_unsilence)
    async def on_unsilence(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = await pressed(body, client, invalid="That button is not valid.")
        if press is None:
            return
        ok, message = await unsilence(press.service, press.id, press.user, oncall=press.oncall)
        if not ok:
            await refuse(press.channel, press.user, message)
