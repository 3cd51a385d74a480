""" "Fire an alert": a real signed generic webhook (POST /webhooks/generic/sandbox) to the running
app, exactly as any system would send one, so the incident thread appears in the team channel."""

from __future__ import annotations

import json
import time

import httpx

from bot.sandbox.controls import Control, ControlContext, ControlError, Field
from bot.settings import Settings
from bot.webhooks.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SOURCE = "sandbox"
TEAMS = ("data-eng", "ml-platform", "analytics")


async def fire(ctx: ControlContext, values: dict[str, str]) -> str:
    config = ctx.app.state.services.ops_config
    declared = config.incidents.generic.get(SOURCE) if config is not None else None
    if declared is None:
        raise ControlError("ops.yml has no incidents.generic.sandbox source.")
    secret = Settings.secret_env(declared.secret_env)
    if secret is None:
        raise ControlError(f"{declared.secret_env} is not set.")
    title = (values.get("title") or "").strip() or "Checkout latency high"
    body = json.dumps(
        {
            "title": title,
            "dedup_key": (values.get("key") or "").strip() or title.lower().replace(" ", "-"),
            "status": values.get("status") or "trigger",
            "severity": values.get("severity") or "warning",
            "labels": {"team": values.get("team") or TEAMS[0]},
            "summary": "Fired from the sandbox's controls.",
        }
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{ctx.app_url}/webhooks/generic/{SOURCE}", content=body, headers=headers
        )
    if answer.status_code != 200:
        raise ControlError(f"The app answered {answer.status_code}: {answer.text[:200]}")
    said = answer.json()
    if said.get("opened"):
        return f"Incident #{said['opened'][0]} opened: its thread is in the team's channel."
    if said.get("resolved"):
        return f"Incident #{said['resolved'][0]} resolved."
    return f"Accepted: {json.dumps(said)[:200]}"


FIRE_ALERT = Control(
    name="fire-alert",
    label="Fire an alert",
    help="Send a signed generic webhook; the same key again joins its thread, resolve closes it.",
    run=fire,
    fields=(
        Field("title", "Title", default="Checkout latency high"),
        Field("key", "Dedup key", default="checkout-latency"),
        Field("team", "Team", kind="choice", default=TEAMS[0], choices=TEAMS),
        Field(
            "severity",
            "Severity",
            kind="choice",
            default="warning",
            choices=("critical", "error", "warning", "info"),
        ),
        Field("status", "Status", kind="choice", default="trigger", choices=("trigger", "resolve")),
    ),
)
