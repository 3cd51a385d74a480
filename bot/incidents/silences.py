"""Silences in Alertmanager (API v2) for the Silence buttons of incidents that came from it.

`POST {api_url}/api/v2/silences` with equality matchers on the incident's labels (an alert's
labels, or a group's common labels) answers `{"silenceID": ...}`; `DELETE
{api_url}/api/v2/silence/{id}` expires it (Unsilence). The token, if any, is sent as a bearer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from bot.incidents.service import GROUP_TRUNCATED
from bot.ops_config.incidents import AlertmanagerIntake
from bot.settings import Settings
from bot.store.models import Incident


class SilenceError(Exception):
    """Alertmanager could not be asked or refused; the message says which."""


def matchers(incident: Incident) -> list[dict[str, object]]:
    labels = json.loads(incident.labels or "{}")
    return [
        {"name": name, "value": str(value), "isRegex": False, "isEqual": True}
        for name, value in sorted(labels.items())
        if name != GROUP_TRUNCATED and not name.startswith("__")
    ]


def _client(config: AlertmanagerIntake) -> httpx.AsyncClient:
    if config.api_url is None:
        raise SilenceError("incidents.alertmanager.api_url is not set in ops.yml")
    headers = {}
    if config.token_env:
        token = Settings.secret_env(config.token_env)
        if token:
            headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(
        base_url=config.api_url.rstrip("/") + "/api/v2/", headers=headers, timeout=config.timeout
    )


async def create_silence(
    config: AlertmanagerIntake, incident: Incident, *, until: float, now: float, by: str
) -> str:
    """The id of a new silence on the incident's labels until `until`."""
    found = matchers(incident)
    if not found:
        raise SilenceError(f"incident #{incident.id} has no labels to silence on")
    body = {
        "matchers": found,
        "startsAt": datetime.fromtimestamp(now, UTC).isoformat(),
        "endsAt": datetime.fromtimestamp(until, UTC).isoformat(),
        "createdBy": f"switchboard:{by}",
        "comment": f"Silenced from Slack, incident #{incident.id}: {incident.title}"[:500],
    }
    try:
        async with _client(config) as http:
            answer = await http.post("silences", json=body)
    except httpx.HTTPError as exc:
        raise SilenceError(f"Alertmanager did not answer: {type(exc).__name__}") from exc
    if answer.status_code != 200:
        raise SilenceError(
            f"Alertmanager refused the silence ({answer.status_code}): {answer.text[:200]}"
        )
    silence = answer.json().get("silenceID")
    if not isinstance(silence, str):
        raise SilenceError("Alertmanager answered without a silenceID")
    return silence


async def expire_silence(config: AlertmanagerIntake, silence_id: str) -> None:
    try:
        async with _client(config) as http:
            answer = await http.delete(f"silence/{silence_id}")
    except httpx.HTTPError as exc:
        raise SilenceError(f"Alertmanager did not answer: {type(exc).__name__}") from exc
    if answer.status_code not in (200, 404):
        raise SilenceError(f"Alertmanager refused to expire {silence_id} ({answer.status_code})")
