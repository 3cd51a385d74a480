"""Fuzzing what an outsider controls on the two signed endpoints: signature, timestamp and body.

Whatever arrives, `/slack/events` and `/webhooks/mlflow` answer 401 (not authentic or not
fresh), 400 (authentic but malformed) or 413 (too large): never 500, never an exception out of
the app. In-process through httpx's ASGITransport for volume, then a sample over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.settings import Settings
from tests.fakeslack import signature

SIGNING_SECRET = "fuzz-signing-secret-0123456789abcdef"
WEBHOOK_SECRET = "fuzz-webhook-secret-0123456789"
LIMIT = 4096  # SWITCHBOARD_MAX_BODY_BYTES here, so some bodies are over it
REFUSED = {400, 401, 413}


def app_settings(tmp: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-fuzz-0123456789",
        slack_signing_secret=SIGNING_SECRET,
        switchboard_webhook_secret=WEBHOOK_SECRET,
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp / 'fuzz.db'}",
        switchboard_config=tmp / "absent-ops.yml",
        switchboard_max_body_bytes=LIMIT,
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(app_settings(tmp_path_factory.mktemp("fuzz")), run_scheduler=False)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


def send(
    loop: asyncio.AbstractEventLoop, app: FastAPI, path: str, body: bytes, headers: dict[str, Any]
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # app exceptions are raised, not hidden
        async with httpx.AsyncClient(transport=transport, base_url="http://switchboard") as c:
            return await c.post(path, content=body, headers=headers)

    return loop.run_until_complete(go())


# -- what an outsider sends ----------------------------------------------------------------------
# Any bytes a header value can carry on the wire (HTTP forbids control characters but tab).
header_text = st.binary(max_size=80).map(
    lambda b: bytes(x for x in b if x == 0x09 or 0x20 <= x != 0x7F).strip(b" \t")
)
now = int(time.time())
stamps = st.one_of(
    header_text,
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: str(n).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda n: b"9" * n),
    st.sampled_from([str(now).encode(), str(now)[:-1].encode() + b"\xb2", b"\xd9\xa1" * 10]),
)
junk_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=LIMIT + 600),
    st.text(max_size=600).map(str.encode),
    junk_json.map(lambda v: json.dumps(v).encode()),
    junk_json.map(lambda v: ("payload=" + quote(json.dumps(v))).encode()),
    st.integers(min_value=1, max_value=60_000).map(lambda n: ("payload=" + "[" * n).encode()),
)
content_types = st.sampled_from(
    [b"application/x-www-form-urlencoded", b"application/json", b"text/plain", b"\xff"]
)


def not_an_object(value: Any) -> bool:
    return not isinstance(value, dict)


# Authentic but malformed: not UTF-8, or JSON that is not an object where one is needed.
malformed_slack = st.one_of(
    st.binary(min_size=1, max_size=200).map(lambda b: b"text=" + b"\xff" + b),
    junk_json.filter(not_an_object).map(lambda v: ("payload=" + quote(json.dumps(v))).encode()),
    st.integers(min_value=2, max_value=60_000).map(
        lambda n: ("payload=" + "[" * n + "]" * n).encode()
    ),
    st.text(min_size=1, max_size=40).map(lambda t: ("payload=" + quote("{" + t)).encode()),
)
malformed_json_value = st.one_of(
    st.binary(min_size=1, max_size=200).map(lambda b: b"\xff" + b),
    junk_json.filter(not_an_object).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=2, max_value=60_000).map(lambda n: ("[" * n + "]" * n).encode()),
)
# MLflow's body must moreover be an object with a `data` object.
malformed_json = st.one_of(
    malformed_json_value,
    st.dictionaries(st.text(max_size=8), junk_json)
    .filter(lambda d: not isinstance(d.get("data"), dict))
    .map(lambda d: json.dumps(d).encode()),
)

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def record(name: str, ran: list[int]) -> None:
    """Every example ran (hypothesis stops early only on a failure, which fails the test)."""
    print(f"fuzz: {name}: {len(ran)} cases")
    assert len(ran) >= FUZZ.max_examples, len(ran)


def not_fresh(stamp: bytes) -> bytes:
    """`stamp`, moved out of the replay window if it happens to be a fresh timestamp."""
    if stamp.isdigit() and len(stamp) <= 12 and abs(int(stamp) - time.time()) < 600:
        return b"1" + stamp
    return stamp


def test_unsigned_or_forged_slack_requests_are_refused(
    app: FastAPI, loop: asyncio.AbstractEventLoop
) -> None:
    ran: list[int] = []

    @FUZZ
    @given(body=bodies, stamp=stamps, given_signature=header_text, content_type=content_types)
    def example(body: bytes, stamp: bytes, given_signature: bytes, content_type: bytes) -> None:
        ran.append(1)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": given_signature,
        }
        resp = send(loop, app, "/slack/events", body, headers)
        assert resp.status_code == (413 if len(body) > LIMIT else 401), resp.text

    example()
    record("slack forged", ran)


def test_slack_requests_signed_over_a_bad_timestamp_are_refused(
    app: FastAPI, loop: asyncio.AbstractEventLoop
) -> None:
    """The signature is right for the timestamp given: only the timestamp is wrong (or stale)."""
    ran: list[int] = []

    @FUZZ
    @given(body=bodies, stamp=stamps.map(not_fresh))
    def example(body: bytes, stamp: bytes) -> None:
        ran.append(1)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(SIGNING_SECRET, stamp.decode("latin-1"), body),
        }
        resp = send(loop, app, "/slack/events", body, headers)
        assert resp.status_code == (413 if len(body) > LIMIT else 401), resp.text

    example()
    record("slack bad timestamp", ran)


def test_signed_malformed_slack_bodies_are_400(
    app: FastAPI, loop: asyncio.AbstractEventLoop
) -> None:
    ran: list[int] = []

    @FUZZ
    @given(body=malformed_slack, json_body=malformed_json_value, as_json=st.booleans())
    def example(body: bytes, json_body: bytes, as_json: bool) -> None:
        ran.append(1)
        sent = json_body if as_json else body
        kind = "application/json" if as_json else "application/x-www-form-urlencoded"
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": kind,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(SIGNING_SECRET, stamp, sent),
        }
        resp = send(loop, app, "/slack/events", sent, headers)
        assert resp.status_code == (413 if len(sent) > LIMIT else 400), resp.text

    example()
    record("slack signed malformed", ran)


def mlflow_signature(delivery: bytes, stamp: bytes, body: bytes) -> str:
    signed = delivery + b"." + stamp + b"." + body
    digest = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_unsigned_forged_or_stale_mlflow_deliveries_are_refused(
    app: FastAPI, loop: asyncio.AbstractEventLoop
) -> None:
    ran: list[int] = []

    @FUZZ
    @given(
        body=bodies,
        stamp=stamps.map(not_fresh),
        delivery=header_text,
        given_signature=header_text,
        sign=st.booleans(),
    )
    def example(
        body: bytes, stamp: bytes, delivery: bytes, given_signature: bytes, sign: bool
    ) -> None:
        ran.append(1)
        headers = {
            "Content-Type": "application/json",
            "X-MLflow-Delivery-Id": delivery,
            "X-MLflow-Timestamp": stamp,
            "X-MLflow-Signature": (
                mlflow_signature(delivery, stamp, body) if sign else given_signature
            ),
        }
        resp = send(loop, app, "/webhooks/mlflow", body, headers)
        assert resp.status_code in {401, 413}, resp.text

    example()
    record("mlflow forged or stale", ran)


def test_signed_malformed_mlflow_bodies_are_400(
    app: FastAPI, loop: asyncio.AbstractEventLoop
) -> None:
    ran: list[int] = []

    @FUZZ
    @given(body=malformed_json)
    def example(body: bytes) -> None:
        ran.append(1)
        delivery, stamp = str(uuid.uuid4()).encode(), str(int(time.time())).encode()
        headers = {
            "Content-Type": "application/json",
            "X-MLflow-Delivery-Id": delivery,
            "X-MLflow-Timestamp": stamp,
            "X-MLflow-Signature": mlflow_signature(delivery, stamp, body),
        }
        resp = send(loop, app, "/webhooks/mlflow", body, headers)
        assert resp.status_code == 400, resp.text

    example()
    record("mlflow signed malformed", ran)


@pytest.mark.slow
def test_a_sample_over_real_http_is_refused_the_same_way(tmp_path: Path) -> None:
    """uvicorn's own parsing in front of the app: the same answers, and never a 5xx."""
    from tests.e2e.conftest import ThreadedServer
    from tests.peers.runtime import free_port

    port = free_port()
    served = create_app(app_settings(tmp_path), run_scheduler=False)
    ran: list[int] = []
    with ThreadedServer(served, port), httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(body=bodies, stamp=stamps, given_signature=header_text, signed_bad=malformed_slack)
        def example(body: bytes, stamp: bytes, given_signature: bytes, signed_bad: bytes) -> None:
            ran.append(1)
            forged = http.post(
                "/slack/events",
                content=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": given_signature,
                },
            )
            assert forged.status_code == (413 if len(body) > LIMIT else 401), forged.text
            fresh = str(int(time.time()))
            signed = http.post(
                "/slack/events",
                content=signed_bad,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": fresh,
                    "X-Slack-Signature": signature(SIGNING_SECRET, fresh, signed_bad),
                },
            )
            assert signed.status_code == (413 if len(signed_bad) > LIMIT else 400), signed.text
            mlflow = http.post(
                "/webhooks/mlflow",
                content=body,
                headers={"X-MLflow-Timestamp": stamp, "X-MLflow-Signature": given_signature},
            )
            assert mlflow.status_code in {401, 413}, mlflow.text

        example()
    print(f"fuzz: over HTTP: {len(ran)} cases, 3 requests each")
    assert len(ran) >= 40
