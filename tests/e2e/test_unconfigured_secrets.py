"""An endpoint whose secret is not configured refuses every delivery (503), whatever key signed
it: without SWITCHBOARD_WEBHOOK_SECRET nobody can open a promotion through /webhooks/mlflow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import RunningApp


def _mlflow_delivery(secret: str) -> tuple[bytes, dict[str, str]]:
    """A model_version.created delivery signed as MLflow signs it, with ``secret``."""
    body = json.dumps(
        {
            "entity": "model_version",
            "action": "created",
            "timestamp": "2026-11-23T12:00:00+00:00",
            "data": {"name": "churn", "version": "14", "tags": {"switchboard.promote_to": "x"}},
        }
    ).encode()
    delivery, stamp = str(uuid.uuid4()), str(int(time.time()))
    signed = f"{delivery}.{stamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": "v1," + base64.b64encode(digest).decode(),
    }


@pytest.mark.parametrize("signed_with", ["", " ", "guess"])
def test_without_a_webhook_secret_mlflow_deliveries_are_refused_503(
    running_app: RunningApp, signed_with: str
) -> None:
    assert running_app.settings.switchboard_webhook_secret is None
    body, headers = _mlflow_delivery(signed_with)
    answer = httpx.post(f"{running_app.url}/webhooks/mlflow", content=body, headers=headers)
    assert answer.status_code == 503
    assert answer.json() == {"error": "SWITCHBOARD_WEBHOOK_SECRET is not set"}
    engine = running_app.app.state.engine
    with engine.connect() as conn:
        handled = conn.execute(text("SELECT count(*) FROM handled_event")).scalar_one()
    assert handled == 0  # not even recorded as a delivery
