"""Requests that must be refused: bad or missing signatures, replays, oversized bodies."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx


def _slash_body(text: str = "help") -> bytes:
    return urlencode(
        {
            "command": "/ops",
            "text": text,
            "user_id": "U_ALICE",
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": "http://127.0.0.1:9/r",
            "trigger_id": "1.2.3",
        }
    ).encode()


async def test_wrong_signature_is_401(running_app):
    resp = await running_app.signer.post_raw(
        _slash_body(),
        "application/x-www-form-urlencoded",
        headers={
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
        sign=False,
    )
    assert resp.status_code == 401


async def test_missing_signature_is_401(running_app):
    resp = await running_app.signer.post_raw(
        _slash_body(), "application/x-www-form-urlencoded", sign=False
    )
    assert resp.status_code == 401


async def test_signature_with_another_secret_is_401(running_app):
    from tests.fakeslack import SlackSigner

    impostor = SlackSigner("not-the-secret", running_app.url)
    assert (await impostor.slash_command(text="help")).status_code == 401


async def test_replayed_request_older_than_five_minutes_is_401(running_app):
    stale = int(time.time()) - 6 * 60
    resp = await running_app.signer.post_raw(
        _slash_body(), "application/x-www-form-urlencoded", timestamp=stale
    )
    assert resp.status_code == 401


async def test_body_modified_after_signing_is_401(running_app):
    body = _slash_body("help")
    headers = running_app.signer.sign(body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with httpx.AsyncClient() as client:
        resp = await client.post(
            running_app.url + "/slack/events", content=_slash_body("approvals"), headers=headers
        )
    assert resp.status_code == 401


async def test_oversized_body_is_413_before_any_handling(running_app):
    big = b"text=" + b"a" * (running_app.settings.switchboard_max_body_bytes + 1)
    resp = await running_app.signer.post_raw(big, "application/x-www-form-urlencoded")
    assert resp.status_code == 413
    assert not running_app.slack.calls_to("auth.test")  # bolt never saw it


async def test_oversized_chunked_body_without_content_length_is_413(running_app):
    limit = running_app.settings.switchboard_max_body_bytes

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    async with httpx.AsyncClient() as client:
        resp = await client.post(
            running_app.url + "/slack/events",
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert resp.status_code == 413


async def test_url_verification_answers_the_challenge(running_app):
    resp = await running_app.signer.url_verification("c-123")
    assert resp.status_code == 200 and resp.json()["challenge"] == "c-123"
