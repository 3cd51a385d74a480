"""What an outsider (unsigned) or a malformed signed request gets from `switchboard serve`: 401,
400 or a clear answer, never a 500; and the log of the whole run holds no secret, no traceback,
no request body and no line a body wrote.

One real server (a subprocess, JSON logs, ops.example.yml, the fake Slack) for the module; each
test reads the server's log so far.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.views.ids import Action, Callback, FormField
from tests.fakeslack import FakeSlack, SlackSigner, signature
from tests.peers.runtime import free_port
from tests.serving import REPO, process_env, serving

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-hostile-input-LeakMeNot-0123",
    "SLACK_SIGNING_SECRET": "hostile-input-signing-secret-LeakMeNot",
    "SWITCHBOARD_WEBHOOK_SECRET": "hostile-input-webhook-secret-LeakMeNot",
}
ALICE = "U0DE0ANNA"  # a data-eng member of ops.example.yml


@dataclass
class Served:
    url: str
    slack: FakeSlack
    signer: SlackSigner
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hostile")
    with FakeSlack() as slack:
        env = process_env(
            **SECRETS,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=f"sqlite:///{tmp / 'hostile.db'}",
            SWITCHBOARD_CONFIG=str(REPO / "ops.example.yml"),
            PORT=str(free_port()),
            LOG_FORMAT="json",
            SWITCHBOARD_OUTBOX_INTERVAL="0.2",
            SWITCHBOARD_CHANNEL_PACE="0.05",
        )
        log = tmp / "serve.log"
        with serving(env, cwd=tmp, log=log):
            url = f"http://127.0.0.1:{env['PORT']}"
            yield Served(
                url, slack, SlackSigner(SECRETS["SLACK_SIGNING_SECRET"], url, slack=slack), log
            )


def assert_clean_log(served: Served) -> None:
    """The log so far: every line JSON (none forged), no secret, no traceback, no 5xx."""
    text = served.log_text()
    assert [name for name, value in SECRETS.items() if value in text] == []
    assert "Traceback" not in text
    lines = served.log_lines()  # raises if a line is not JSON
    assert [line for line in lines if "exception" in line or "exc_info" in line] == []
    assert [line for line in lines if line.get("level") in ("error", "critical")] == []


def post(served: Served, path: str, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    return httpx.post(served.url + path, content=body, headers=headers, timeout=30)


def slack_headers(body: bytes, *, stamp: str | None = None, sign: bool = True) -> dict[str, Any]:
    stamp = str(int(time.time())) if stamp is None else stamp
    headers: dict[str, Any] = {"Content-Type": FORM, "X-Slack-Request-Timestamp": stamp}
    if sign:
        headers["X-Slack-Signature"] = signature(SECRETS["SLACK_SIGNING_SECRET"], stamp, body)
    return headers


# For malformed stamps only; a valid signature is stamped when it is sent.
NOW = str(int(time.time()))
UNSIGNED = {
    "payload=notjson": (b"payload=notjson", {"X-Slack-Signature": "v0=" + "0" * 64}),
    "payload=null": (b"payload=null", {"X-Slack-Signature": "v0=" + "1" * 64}),
    "payload=[]": (b"payload=%5B%5D", {"X-Slack-Signature": "v0=" + "2" * 64}),
    "json null": (b"null", {"Content-Type": "application/json", "X-Slack-Signature": "v0=0"}),
    "json []": (b"[]", {"Content-Type": "application/json", "X-Slack-Signature": "v0=0"}),
    "invalid utf-8": (b"text=\xff\xfe\xfd", {"X-Slack-Signature": "v0=" + "3" * 64}),
    "no signature": (b"command=%2Fops&text=help", {}),
    "non-numeric stamp": (b"x=1", {"X-Slack-Request-Timestamp": "soon"}),
    "fractional stamp": (b"x=1", {"X-Slack-Request-Timestamp": NOW + ".5"}),
    "4000-digit stamp": (b"x=1", {"X-Slack-Request-Timestamp": "9" * 4000}),
    "superscript stamp": (b"x=1", {"X-Slack-Request-Timestamp": NOW[:-1].encode() + b"\xb2"}),
    "non-ASCII signature": (b"x=1", {"X-Slack-Signature": b"v0=" + b"\xe9" * 64}),
}


@pytest.mark.parametrize("case", list(UNSIGNED))
def test_unsigned_malformed_requests_are_401_without_a_traceback(served: Served, case: str) -> None:
    body, extra = UNSIGNED[case]
    headers = slack_headers(body, sign=False)
    headers.setdefault("X-Slack-Signature", "v0=" + "f" * 64)
    headers.update(extra)
    if case == "no signature":
        del headers["X-Slack-Signature"]
    resp = post(served, "/slack/events", body, headers)
    assert resp.status_code == 401, resp.text
    assert "error" in resp.json()
    assert_clean_log(served)


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


SIGNED_MALFORMED = {
    "payload=notjson": (b"payload=notjson", FORM, "payload is not JSON"),
    "payload=null": (b"payload=null", FORM, "payload is not a JSON object"),
    "payload=[]": (b"payload=%5B%5D", FORM, "payload is not a JSON object"),
    "json null": (b"null", "application/json", "body is not a JSON object"),
    "json []": (b"[]", "application/json", "body is not a JSON object"),
    "payload={}": (b"payload=%7B%7D", FORM, "payload has no type"),
    "json {}": (b"{}", "application/json", "body has no type"),
    "invalid utf-8": (b"text=\xff\xfe", FORM, "body is not UTF-8"),
    "50,000-deep payload": (
        ("payload=" + _deep(50_000)).encode(),
        FORM,
        "payload is not JSON",
    ),
}


@pytest.mark.parametrize("case", list(SIGNED_MALFORMED))
def test_signed_malformed_bodies_are_400_with_the_reason(served: Served, case: str) -> None:
    body, content_type, reason = SIGNED_MALFORMED[case]
    headers = {**slack_headers(body), "Content-Type": content_type}
    resp = post(served, "/slack/events", body, headers)
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"error": reason}
    assert_clean_log(served)


def test_a_rejected_body_is_logged_as_one_line_with_its_size_never_its_content(
    served: Served,
) -> None:
    forged = b'\n{"event": "forged_by_body", "level": "critical"}\n'
    body = b"text=" + forged + b"junk" * 225_000 + forged  # about 900 KB, under the 1 MB limit
    forged_signature = {"X-Slack-Signature": "v0=" + "a" * 64}
    resp = post(
        served, "/slack/events", body, {**slack_headers(body, sign=False), **forged_signature}
    )
    assert resp.status_code == 401  # the line is written before the answer is sent
    rejected = [
        line
        for line in served.log_lines()
        if line.get("event") == "slack_request.rejected" and line.get("size") == len(body)
    ]
    assert len(rejected) == 1 and rejected[0]["reason"] == "signature does not match"
    assert "forged_by_body" not in served.log_text() and "junkjunk" not in served.log_text()
    assert len(served.log_text()) < len(body)  # the body itself is nowhere in the log
    assert_clean_log(served)


# -- MLflow webhook -------------------------------------------------------------------------------
def mlflow_headers(body: bytes, stamp: bytes | str) -> dict[str, Any]:
    delivery = str(uuid.uuid4())
    raw = stamp.encode("latin-1") if isinstance(stamp, str) else stamp
    signed = delivery.encode() + b"." + raw + b"." + body
    digest = hmac.new(SECRETS["SWITCHBOARD_WEBHOOK_SECRET"].encode(), signed, hashlib.sha256)
    import base64

    return {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": raw,
        "X-MLflow-Signature": "v1," + base64.b64encode(digest.digest()).decode(),
    }


@pytest.mark.parametrize(
    "stamp",
    [NOW[:-1].encode() + b"\xb2", "9" * 400, NOW + ".0", "-" + NOW],
    ids=["superscript-two", "400 digits", "fractional", "negative"],
)
def test_mlflow_timestamps_that_are_not_bounded_ascii_seconds_are_401(
    served: Served, stamp: bytes | str
) -> None:
    body = json.dumps({"entity": "model_version", "action": "created", "data": {}}).encode()
    resp = post(served, "/webhooks/mlflow", body, mlflow_headers(body, stamp))
    assert resp.status_code == 401, resp.text
    assert "X-MLflow-Timestamp" in resp.json()["error"]
    assert_clean_log(served)


def test_a_signed_50000_deep_mlflow_body_is_400(served: Served) -> None:
    body = ('{"data": ' + _deep(50_000) + "}").encode()
    resp = post(served, "/webhooks/mlflow", body, mlflow_headers(body, str(int(time.time()))))
    assert resp.status_code == 400, resp.text
    assert "nested too deeply" in resp.json()["error"]
    assert_clean_log(served)


# -- signed but meaningless interactions ----------------------------------------------------------
def ephemerals_to(served: Served, user: str) -> list[str]:
    calls = served.slack.calls_to("chat.postEphemeral")
    return [str(c.params.get("text")) for c in calls if c.params.get("user") == user]


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ('{"request_id": 987654}', "That request does not exist."),
        ('{"request_id": 99999999999999999999999}', "That button is not valid."),
        ("not json", "That button is not valid."),
    ],
    ids=["unknown id", "overflowing id", "not json"],
)
@pytest.mark.parametrize("action", [Action.approval_approve, Action.approval_cancel])
def test_a_button_naming_no_request_is_answered_ephemerally(
    served: Served, action: str, value: str, answer: str
) -> None:
    user = "U_ALICE"  # a member of the fake workspace's channel: ephemeral notes reach her
    before = len(ephemerals_to(served, user))
    resp = asyncio.run(served.signer.block_actions(action, value=value, user_id=user))
    assert resp.status_code == 200
    assert served.slack.wait_for(lambda s: len(ephemerals_to(served, user)) > before, 10)
    assert ephemerals_to(served, user)[before:] == [answer]
    assert_clean_log(served)


def test_a_reject_reason_for_a_request_that_does_not_exist_is_a_field_error(
    served: Served,
) -> None:
    resp = asyncio.run(
        served.signer.view_submission(
            Callback.approval_reject_reason,
            values={FormField.reason: {"reason": {"type": "plain_text_input", "value": "no"}}},
            private_metadata='{"request_id": 2147483647}',
        )
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "response_action": "errors",
        "errors": {FormField.reason: "That request does not exist."},
    }
    assert_clean_log(served)


@pytest.mark.parametrize(
    "values",
    [
        ["not", "a", "mapping"],
        {FormField.team: "data-eng", FormField.amount: {"a": {"value": {"nested": 1}}}},
        {FormField.team: {"t": {"selected_option": "data-eng"}}, FormField.amount: {"a": 5}},
    ],
    ids=["values a list", "values not objects", "options not objects"],
)
def test_a_budget_form_with_malformed_values_gets_field_errors(served: Served, values: Any) -> None:
    resp = asyncio.run(
        served.signer.view_submission(Callback.budget_increase_request, values=values)
    )
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) <= {FormField.team, FormField.amount}
    assert answer["errors"]
    assert_clean_log(served)


# -- commands --------------------------------------------------------------------------------------
async def ask(served: Served, text: str) -> str:
    name = f"h{uuid.uuid4().hex[:10]}"
    resp = await served.signer.slash_command(
        text=text, user_id=ALICE, response_url=served.slack.response_url(name)
    )
    assert resp.status_code == 200
    body = resp.json()
    if "Working on it" in body.get("text", ""):
        assert await asyncio.to_thread(served.slack.wait_for, lambda s: bool(s.responses(name)), 10)
        body = served.slack.responses(name)[-1]
    return json.dumps(body, ensure_ascii=False)


def test_a_27_digit_budget_increase_is_answered_too_large(served: Served) -> None:
    shown = asyncio.run(ask(served, "budget-increase data-eng 123456789012345678901234567"))
    assert "is too large: at most 15 digits before the cents" in shown
    assert "failed on my side" not in shown
    assert_clean_log(served)


def test_a_300000_character_command_is_refused_at_once(served: Served) -> None:
    shown = asyncio.run(ask(served, "budget-increase data-eng " + "9" * 300_000))
    assert "too long for me to read: ask in at most 4,000 characters" in shown
    assert "9" * 100 not in shown  # not echoed back
    assert_clean_log(served)


# -- surface ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_api_docs_are_closed(served: Served, path: str) -> None:
    assert httpx.get(served.url + path, timeout=10).status_code == 404
