"""POST /webhooks/mlflow: deliveries signed as MLflow 3 signs them (mlflow/webhooks/delivery.py:
base64 HMAC-SHA256 over "{delivery_id}.{timestamp}.{payload}", prefixed "v1,"), checked for
authenticity, freshness, replays, size and shape; a tagged new version opens a promotion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.approvals.webhook import (
    MAX_BODY_BYTES,
    Rejected,
    parse,
    promotion_asked,
    sign,
    verify,
)
from tests.e2e.conftest import DEMO_NOW, ThreadedServer, app_settings
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as P
from tests.peers.runtime import free_port

SECRET = "whsec-test-0123456789"
ML = ["U0ML0EVA", "U0ML0FARID", "U0ML0GRETA", "U0ML0HIRO", "U0ML0INES"]


def mlflow_delivery(
    data: dict[str, Any],
    *,
    entity: str = "model_version",
    action: str = "created",
    secret: str = SECRET,
    timestamp: int | None = None,
    delivery_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers exactly as MLflow's _send_webhook_request builds them."""
    payload_json = json.dumps(
        {
            "entity": entity,
            "action": action,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": data,
        }
    )
    delivery_id = delivery_id or str(uuid.uuid4())
    unix_timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signed_content = f"{delivery_id}.{unix_timestamp}.{payload_json}"
    digest = hmac.new(secret.encode("utf-8"), signed_content.encode("utf-8"), hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": unix_timestamp,
        "X-MLflow-Signature": "v1," + base64.b64encode(digest.digest()).decode("utf-8"),
    }
    return payload_json.encode("utf-8"), headers


CREATED = {
    "name": "churn",
    "version": "14",
    "source": "models:/m-1",
    "run_id": "abc",
    "tags": {"switchboard.promote_to": "champion"},
    "description": "retrained on November data",
}


# -- verification (pure) ------------------------------------------------------------------------
def test_our_signature_is_the_one_mlflow_sends():
    body, headers = mlflow_delivery(CREATED)
    assert (
        sign(SECRET, headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"], body)
        == headers["X-MLflow-Signature"]
    )


def test_authentic_fresh_delivery_is_accepted():
    body, headers = mlflow_delivery(CREATED)
    assert (
        verify(secret=SECRET, headers=headers, body=body, now=time.time())
        == headers["X-MLflow-Delivery-Id"]
    )


@pytest.mark.parametrize("tamper", ["secret", "body", "missing", "stale", "future"])
def test_forged_missing_or_stale_signatures_are_refused(tamper):
    now = time.time()
    stamp = {"stale": int(now) - 301, "future": int(now) + 301}.get(tamper)
    body, headers = mlflow_delivery(
        CREATED, secret="other" if tamper == "secret" else SECRET, timestamp=stamp
    )
    if tamper == "body":
        body = body.replace(b"champion", b"production")
    if tamper == "missing":
        del headers["X-MLflow-Signature"]
    refused = verify(secret=SECRET, headers=headers, body=body, now=now)
    assert isinstance(refused, Rejected) and refused.status == 401


def test_malformed_json_is_a_400_with_a_reason():
    refused = parse(b"{not json")
    assert isinstance(refused, Rejected) and refused.status == 400 and "not JSON" in refused.message
    assert isinstance(parse(b"[1, 2]"), Rejected)


def test_only_a_tagged_new_version_asks_for_a_promotion():
    asked = promotion_asked({"entity": "model_version", "action": "created", "data": CREATED})
    assert asked and (asked.model, asked.version, asked.alias) == ("churn", "14", "champion")
    assert asked.reason == "retrained on November data"
    untagged = {**CREATED, "tags": {}}
    assert (
        promotion_asked({"entity": "model_version", "action": "created", "data": untagged}) is None
    )
    alias_set = {"name": "churn", "alias": "champion", "version": "14"}
    assert (
        promotion_asked({"entity": "model_version_alias", "action": "created", "data": alias_set})
        is None
    )


# -- over HTTP, with the running app --------------------------------------------------------------
@pytest.fixture
def webhook_app(tmp_path) -> Iterator[tuple[str, FakeSlack, Any]]:
    with FakeSlack() as slack:
        slack.users.update({u: P.user(u, u.lower(), u) for u in ML})
        settings = app_settings(slack, f"sqlite:///{tmp_path / 'hook.db'}").model_copy(
            update={
                "switchboard_config": Path("ops.example.yml"),
                "switchboard_webhook_secret": SecretStr(SECRET),
            }
        )
        app = create_app(settings, now=DEMO_NOW)
        port = free_port()
        with ThreadedServer(app, port):
            yield f"http://127.0.0.1:{port}/webhooks/mlflow", slack, app


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_tagged_version_opens_a_promotion_request_and_a_replay_is_ignored(webhook_app):
    url, slack, app = webhook_app
    body, headers = mlflow_delivery(CREATED)
    first = post(url, body, headers)
    assert first.status_code == 200 and first.json() == {"status": "requested", "request_id": 1}
    assert post(url, body, headers).json()["status"] == "duplicate"
    assert slack.wait_for(
        lambda s: (
            len([c for c in s.calls_to("chat.postMessage") if c.params["channel"] == "C0123MLPLAT"])
            == 1
        )
    )
    card = slack.messages("C0123MLPLAT")[0]
    assert "*mlflow* asks to promote *churn* v14 to *champion*" in json.dumps(card["blocks"])
    # the service account is nobody's id: every ml-platform person gets a DM, EVA included
    assert slack.wait_for(lambda s: all(s.messages(u) for u in ML))


def test_refused_deliveries_get_their_status_codes(webhook_app):
    url, _slack, _app = webhook_app
    body, headers = mlflow_delivery(CREATED, secret="wrong")
    assert post(url, body, headers).status_code == 401
    body, headers = mlflow_delivery(CREATED, timestamp=int(time.time()) - 600)
    assert post(url, body, headers).status_code == 401
    body, headers = mlflow_delivery({**CREATED, "description": "x" * MAX_BODY_BYTES})
    assert post(url, body, headers).status_code == 413
    delivery, stamp = str(uuid.uuid4()), str(int(time.time()))
    junk = b"{oops"
    bad = post(
        url,
        junk,
        {
            "X-MLflow-Delivery-Id": delivery,
            "X-MLflow-Timestamp": stamp,
            "X-MLflow-Signature": sign(SECRET, delivery, stamp, junk),
        },
    )
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]


def test_other_events_are_acknowledged_and_ignored(webhook_app):
    url, slack, _app = webhook_app
    body, headers = mlflow_delivery(
        {"name": "churn", "alias": "champion", "version": "14"}, entity="model_version_alias"
    )
    answer = post(url, body, headers)
    assert answer.status_code == 200 and answer.json() == {"status": "ignored"}


# -- a real MLflow 3 server delivering to the running app -----------------------------------------
@pytest.fixture
def real_mlflow(tmp_path, monkeypatch) -> Iterator[Any]:
    from tests.peers.mlflow import start_mlflow
    from tests.peers.runtime import PeerError, unavailable

    data = tmp_path / "mlflow"
    data.mkdir()
    # MLflow caches "no webhook for this event" for 60 s after loading its data; keep it short.
    monkeypatch.setenv("MLFLOW_WEBHOOK_CACHE_TTL", "1")
    try:
        server = start_mlflow(data)  # its own server: this test adds a version
    except PeerError as exc:
        unavailable(f"MLflow peer unavailable: {exc}")
    try:
        yield server
    finally:
        server.process.stop()


def test_a_real_mlflow_server_delivers_a_signed_version_created_that_opens_a_request(
    real_mlflow, tmp_path
):
    example = Path("ops.example.yml").read_text()
    config = tmp_path / "ops.yml"
    config.write_text(
        example.replace(
            "  demo: {enabled: true, seed: 42}",
            f"  mlflow: {{url: '{real_mlflow.url}', timeout: 10}}\n  demo: {{enabled: false}}",
        )
    )
    with FakeSlack() as slack:
        slack.users.update({u: P.user(u, u.lower(), u) for u in ML})
        settings = app_settings(slack, f"sqlite:///{tmp_path / 'real.db'}").model_copy(
            update={"switchboard_config": config, "switchboard_webhook_secret": SecretStr(SECRET)}
        )
        app = create_app(settings)
        port = free_port()
        with (
            ThreadedServer(app, port),
            httpx.Client(base_url=f"{real_mlflow.url}/api/2.0/mlflow/", timeout=30) as mlflow,
        ):
            hook = mlflow.post(
                "webhooks",
                json={
                    "name": "switchboard",
                    "url": f"http://127.0.0.1:{port}/webhooks/mlflow",
                    "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
                    "secret": SECRET,
                    "status": "ACTIVE",
                },
            )
            assert hook.is_success, hook.text
            time.sleep(1.05)  # let the server's webhook cache expire
            run_id = real_mlflow.run_ids[("churn", "3")]
            created = mlflow.post(
                "model-versions/create",
                json={
                    "name": "churn",
                    "source": f"runs:/{run_id}/model",
                    "run_id": run_id,
                    "description": "retrained, please promote",
                    "tags": [{"key": "switchboard.promote_to", "value": "champion"}],
                },
            )
            assert created.is_success, created.text
            version = created.json()["model_version"]["version"]
            assert slack.wait_for(lambda s: s.messages("C0123MLPLAT"), timeout=30), (
                real_mlflow.process.log_tail()
            )
            card = json.dumps(slack.messages("C0123MLPLAT")[0]["blocks"])
            assert f"*mlflow* asks to promote *churn* v{version} to *champion*" in card
            assert "retrained, please promote" in card
            assert "from v2 to v" in card  # the alias holder as MLflow reports it
