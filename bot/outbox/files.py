"""Chart uploads through the outbox: the PNG is drawn at send time, then uploaded Slack's way.

The row stores the chart's spec (a few KB of JSON), not the image. Delivery is the external
upload that ``files.upload`` was retired for — what slack_sdk's ``files_upload_v2`` does:

1. ``files.getUploadURLExternal`` (filename, length, alt_txt) → upload_url, file_id;
2. POST the bytes to upload_url;
3. ``files.completeUploadExternal`` (files=[{id, title}], channel_id, thread_ts) shares the
   file in the channel, as a reply in the thread when thread_ts is given.

Every step is judged like any outbox call (429 Retry-After, 5xx/timeouts retried, permanent
errors dead), and a retry starts again at step 1: an upload that was never completed is not
shared, so Slack drops it. Completing is the only step that shows anything.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

import httpx

from bot.outbox import wire
from bot.outbox.wire import UPLOAD_METHOD
from bot.views.reply import ChartSpec

__all__ = ["UPLOAD_METHOD", "chart_payload", "check_payload", "png_payload", "upload"]

ALT_TEXT_MAX = 1000  # Slack's limit on a file's alt_txt
TITLE_MAX = 250


def chart_payload(
    spec: ChartSpec, *, filename: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """What an upload row stores: the spec to draw and how the file is named and described."""
    from bot.views.charts import spec_to_json

    payload: dict[str, Any] = {
        "chart": spec_to_json(spec),
        "filename": filename,
        "title": spec.title[:TITLE_MAX],
        "alt_txt": spec.alt_text[:ALT_TEXT_MAX],
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def png_payload(
    png: bytes, *, filename: str, title: str, alt_text: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """What an upload row stores for an image drawn already (a digest's chart): the PNG itself,
    base64 in the JSON payload, with its name and description."""
    payload: dict[str, Any] = {
        "png_b64": base64.b64encode(png).decode("ascii"),
        "filename": filename,
        "title": title[:TITLE_MAX],
        "alt_txt": alt_text[:ALT_TEXT_MAX],
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def _png(payload: dict[str, Any]) -> bytes:
    return base64.b64decode(str(payload["png_b64"]), validate=True)


def check_payload(payload: dict[str, Any]) -> str | None:
    """Why an upload payload cannot be sent, or None; checked when it is queued."""
    from bot.views.charts import spec_from_json

    if not str(payload.get("filename") or "").strip():
        return "a chart upload needs payload['filename']"
    if "png_b64" in payload:
        try:
            return None if _png(payload) else "payload['png_b64'] is empty"
        except (binascii.Error, ValueError) as exc:
            return f"payload['png_b64'] is not base64: {exc}"
    chart = payload.get("chart")
    if not isinstance(chart, dict):
        return "a chart upload needs payload['chart'] (a chart spec as JSON)"
    try:
        spec_from_json(chart)
    except (KeyError, TypeError, ValueError) as exc:
        return f"payload['chart'] is not a chart spec: {exc}"
    return None


def _render(chart: dict[str, Any]) -> bytes:
    from bot.views.charts import render_chart_png, spec_from_json

    return render_chart_png(spec_from_json(chart))


async def upload(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    body: dict[str, Any],
    token: str | None,
    timeout: float,
) -> wire.Answer:
    """Draw the chart in ``body`` and share it in ``body['channel']`` (and thread_ts).

    ``timeout`` bounds the three calls together, so one delivery stays within the sender's
    lease like a single call does.
    """
    try:
        png = _png(body) if "png_b64" in body else await asyncio.to_thread(_render, body["chart"])
    except Exception as exc:  # a spec that cannot be drawn will not draw on a retry either
        return wire.Answer(wire.Outcome.permanent, "render", f"chart not drawn: {exc}")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with asyncio.timeout(timeout):
            return await _three_steps(client, base_url, body, png, headers)
    except TimeoutError:
        return wire.Answer(wire.Outcome.transient, "timeout", f"upload took over {timeout:g}s")


async def _three_steps(
    client: httpx.AsyncClient,
    base_url: str,
    body: dict[str, Any],
    png: bytes,
    headers: dict[str, str],
) -> wire.Answer:
    ticket: dict[str, Any] = {"filename": body["filename"], "length": str(len(png))}
    if body.get("alt_txt"):
        ticket["alt_txt"] = body["alt_txt"]
    answer, data = await _form_call(
        client, base_url + "files.getUploadURLExternal", ticket, headers
    )
    if answer.outcome is not wire.Outcome.sent:
        return answer
    upload_url, file_id = data.get("upload_url"), data.get("file_id")
    if not isinstance(upload_url, str) or not isinstance(file_id, str):
        return wire.Answer(wire.Outcome.transient, "bad_response", "no upload_url/file_id")

    # The upload URL is pre-signed: the bot token is not sent to it (slack_sdk does not either).
    sent = await wire.post(client, upload_url, content=png)
    if isinstance(sent, wire.Answer):
        return sent
    if sent.status_code != 200:
        answer = wire.interpret(sent)  # 429 and 5xx mean what they mean for any call
        if answer.outcome is wire.Outcome.sent:  # 2xx but not 200 is not an accepted upload
            return wire.Answer(wire.Outcome.transient, "upload", f"HTTP {sent.status_code}")
        return answer

    complete: dict[str, Any] = {
        "files": json.dumps([{"id": file_id, "title": body.get("title") or body["filename"]}]),
        "channel_id": body["channel"],
    }
    if body.get("thread_ts"):
        complete["thread_ts"] = body["thread_ts"]
    answer, _ = await _form_call(
        client, base_url + "files.completeUploadExternal", complete, headers
    )
    if answer.outcome is not wire.Outcome.sent:
        return answer
    return wire.Answer(wire.Outcome.sent, "sent", channel=body["channel"])


async def _form_call(
    client: httpx.AsyncClient, url: str, form: dict[str, Any], headers: dict[str, str]
) -> tuple[wire.Answer, dict[str, Any]]:
    response = await wire.post(client, url, data=form, headers=headers)
    if isinstance(response, wire.Answer):
        return response, {}
    answer = wire.interpret(response)
    data = wire.read_json(response) if answer.outcome is wire.Outcome.sent else {}
    return answer, (data if isinstance(data, dict) else {})
