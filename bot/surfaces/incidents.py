"""Incident buttons on a thread's root: Acknowledge, Resolve (a modal with an optional note),
Silence 1 h / 4 h / 24 h and Unsilence.

Every handler acks first. Who may act is the incident service's decision (the owning team's
members and leads, its on-call, admins); the button's value only says which incident. Silence on
an incident from Alertmanager creates a real silence there (its id is shown on the root);
elsewhere Switchboard mutes the incident's key.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.notes import tell
from bot.incidents.service import IncidentService
from bot.incidents.silences import SilenceError, create_silence, expire_silence
from bot.services import Services
from bot.views.approval_modals import read_form
from bot.views.field_errors import field_errors
from bot.views.ids import Action, Callback, FormField
from bot.views.incidents import SILENCE_HOURS, resolve_modal

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


async def silence(
    service: IncidentService, incident_id: int, user: str, hours: int
) -> tuple[bool, str]:
    """Silence for `hours`: a real Alertmanager silence for its alerts, else a mute."""
    incident = await asyncio.to_thread(service.get, incident_id)
    if incident is None:
        return False, f"There is no incident #{incident_id}."
    if not service.may_act(incident, user):
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
        service.act, incident_id, user, "silence", until=until, silence_id=silence_id
    )
    said = f" (Alertmanager silence `{silence_id}`)" if silence_id else ""
    return outcome.ok, outcome.message if not outcome.ok else f"Silenced for {hours}h{said}."


async def unsilence(service: IncidentService, incident_id: int, user: str) -> tuple[bool, str]:
    incident = await asyncio.to_thread(service.get, incident_id)
    if incident is None:
        return False, f"There is no incident #{incident_id}."
    if incident.silence_id and service.may_act(incident, user):
        try:
            await expire_silence(service.config.incidents.alertmanager, incident.silence_id)
        except SilenceError as exc:
            return False, f"Could not expire the Alertmanager silence: {exc}"
    outcome = await asyncio.to_thread(service.act, incident_id, user, "unsilence")
    return outcome.ok, outcome.message


async def note_error(ack: AsyncAck, message: str) -> None:
    """The resolve-note modal stays open, saying why under its field (as plain text)."""
    await ack(response_action="errors", errors=field_errors({FormField.note: message}))


def register(app: AsyncApp, *, services: Services) -> None:
    outbox = services.sending()

    async def refuse(channel: str | None, user: str, text: str) -> None:
        await tell(outbox, channel=channel, user=user, text=text)

    @app.action(Action.incident_ack)
    async def on_ack(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        service, found = services.incidents, _incident_id(_value(body))
        if service is None or found is None:
            await refuse(channel, user, "That button is not valid.")
            return
        outcome = await asyncio.to_thread(service.act, found, user, "ack")
        if not outcome.ok:
            await refuse(channel, user, outcome.message)

    @app.action(Action.incident_resolve)
    async def on_resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user, channel = _where(body)
        service, found = services.incidents, _incident_id(_value(body))
        incident = (
            await asyncio.to_thread(service.get, found) if service and found is not None else None
        )
        if service is None or incident is None or incident.id is None:
            await refuse(channel, user, "That incident does not exist.")
            return
        if not service.may_act(incident, user):
            await asyncio.to_thread(
                service.act, incident.id, user, "resolve"
            )  # records the refusal
            await refuse(channel, user, service.refusal(incident))
            return
        await client.views_open(trigger_id=body["trigger_id"], view=resolve_modal(incident))

    @app.view(Callback.incident_resolve_note)
    async def on_resolve_note(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        service, found = services.incidents, _incident_id(str(view.get("private_metadata", "")))
        note = read_form(view.get("state", {}).get("values", {})).get(FormField.note)
        if service is None or found is None:
            await note_error(ack, "This form has expired.")
            return
        outcome = await asyncio.to_thread(
            service.act, found, body["user"]["id"], "resolve", note=note
        )
        if not outcome.ok:
            await note_error(ack, outcome.message)
            return
        await ack()

    @app.action(Action.incident_silence)
    async def on_silence(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        value = _value(body)
        service, found = services.incidents, _incident_id(value)
        hours_text = value.split(":", 1)[1] if ":" in value else ""
        hours = int(hours_text) if hours_text.isdigit() else 0
        if service is None or found is None or hours not in SILENCE_HOURS:
            await refuse(channel, user, "That button is not valid.")
            return
        ok, message = await silence(service, found, user, hours)
        if not ok:
            await refuse(channel, user, message)

    @app.action(Action.incident_unsilence)
    async def on_unsilence(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        service, found = services.incidents, _incident_id(_value(body))
        if service is None or found is None:
            await refuse(channel, user, "That button is not valid.")
            return
        ok, message = await unsilence(service, found, user)
        if not ok:
            await refuse(channel, user, message)
