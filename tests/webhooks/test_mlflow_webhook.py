"""POST /webhooks/mlflow: deliveries signed as MLflow 3 signs them (mlflow/webhooks/delivery.py:
base64 HMAC-SHA256 over "{delivery_id}.{timestamp}.{payload}", prefixed "v1,"), checked for
authenticity, freshness, replays, size and shape; ops.yml `approvals.mlflow` decides which events
ask for a promotion, and the MLflow user behind the version (mapped to Slack) is the requester."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from bot.app import create_app
from bot.ops_config.approvals import MlflowRequests
from bot.webhooks.mlflow import (
    MAX_BODY_BYTES,
    Ignored,
    PromotionAsked,
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
EVA = "U0ML0EVA"
IDENTITIES = {"eva@example.com": EVA}  # workspace.identities of the tests' ops.yml


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


# Payloads as MLflow 3.17 sends them (mlflow/webhooks/types.py, and seen from the real server
# in the tests at the end of this file).
CREATED = {
    "name": "churn",
    "version": "14",
    "source": "models:/m-1",
    "run_id": "abc",
    "tags": {"switchboard.promote_to": "champion"},
    "description": "retrained on November data",
}
TAG_SET = {"name": "churn", "version": "14", "key": "switchboard.promote_to", "value": "champion"}
ALIAS_SET = {"name": "churn", "alias": "challenger", "version": "14"}
DEFAULTS = MlflowRequests()
CHALLENGER_TO_CHAMPION = MlflowRequests(on_alias={"challenger": "champion"})


def event(entity: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"entity": entity, "action": action, "data": data}


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


# -- which events ask for what (pure) -------------------------------------------------------------
def test_a_new_version_tagged_promote_to_asks_for_the_tag_value():
    asked = promotion_asked(event("model_version", "created", CREATED), DEFAULTS)
    assert asked == PromotionAsked("churn", "14", "champion", "retrained on November data")
    untagged = promotion_asked(event("model_version", "created", {**CREATED, "tags": {}}), DEFAULTS)
    assert isinstance(untagged, Ignored) and "has no switchboard.promote_to tag" in untagged.reason


def test_the_promote_tag_set_after_registration_asks_for_its_value():
    asked = promotion_asked(event("model_version_tag", "set", TAG_SET), DEFAULTS)
    assert isinstance(asked, PromotionAsked)
    assert (asked.model, asked.version, asked.alias) == ("churn", "14", "champion")
    assert asked.reason == "switchboard.promote_to=champion set on v14 in MLflow"
    other = promotion_asked(
        event("model_version_tag", "set", {**TAG_SET, "key": "validated"}), DEFAULTS
    )
    assert (
        isinstance(other, Ignored) and "'validated' is not switchboard.promote_to" in other.reason
    )
    emptied = promotion_asked(
        event("model_version_tag", "set", {**TAG_SET, "value": " "}), DEFAULTS
    )
    assert isinstance(emptied, Ignored)


def test_ops_yml_names_the_promote_tag():
    mine = MlflowRequests(promote_tag="release.to")
    tagged = {**CREATED, "tags": {"release.to": "Staging"}}
    asked = promotion_asked(event("model_version", "created", tagged), mine)
    assert isinstance(asked, PromotionAsked) and asked.alias == "staging"
    # the default tag means nothing once another is configured
    assert isinstance(promotion_asked(event("model_version_tag", "set", TAG_SET), mine), Ignored)


def test_an_alias_listed_in_on_alias_asks_for_its_target_and_no_other_alias_does():
    asked = promotion_asked(
        event("model_version_alias", "created", ALIAS_SET), CHALLENGER_TO_CHAMPION
    )
    assert isinstance(asked, PromotionAsked)
    assert (asked.model, asked.version, asked.alias) == ("churn", "14", "champion")
    assert "on_alias: challenger -> champion" in asked.reason
    staging = {**ALIAS_SET, "alias": "staging"}
    unlisted = promotion_asked(
        event("model_version_alias", "created", staging), CHALLENGER_TO_CHAMPION
    )
    assert isinstance(unlisted, Ignored) and "'staging' is not in approvals.mlflow.on_alias" in (
        unlisted.reason
    )


def test_a_null_promote_tag_and_an_empty_on_alias_open_nothing():
    off = MlflowRequests(promote_tag=None)
    for entity, action, data in [
        ("model_version", "created", CREATED),
        ("model_version_tag", "set", TAG_SET),
    ]:
        ignored = promotion_asked(event(entity, action, data), off)
        assert isinstance(ignored, Ignored) and "promote_tag is null" in ignored.reason
    ignored = promotion_asked(event("model_version_alias", "created", ALIAS_SET), DEFAULTS)
    assert isinstance(ignored, Ignored) and "it is empty" in ignored.reason


@pytest.mark.parametrize(
    ("entity", "action", "data"),
    [
        ("model_version_alias", "deleted", {"name": "churn", "alias": "champion"}),
        ("model_version_tag", "deleted", {"name": "churn", "version": "14", "key": "x"}),
        ("registered_model", "created", {"name": "churn", "tags": {}, "description": None}),
        ("prompt_version", "created", {**CREATED, "template": "Hi {{name}}"}),
    ],
)
def test_other_events_are_ignored_by_name(entity, action, data):
    ignored = promotion_asked(event(entity, action, data), CHALLENGER_TO_CHAMPION)
    assert ignored == Ignored(f"{entity}.{action} events do not open requests")


# -- over HTTP, with the running app (the demo company as registry) -------------------------------
def ops_yml(
    tmp_path: Path, *, mlflow_url: str | None = None, mlflow_rules: dict[str, Any] | None = None
) -> Path:
    """ops.example.yml with workspace.identities, approvals.mlflow and optionally a real MLflow."""
    config = yaml.safe_load(Path("ops.example.yml").read_text())
    config["workspace"]["identities"] = dict(IDENTITIES)
    if mlflow_rules is not None:
        config["approvals"]["mlflow"] = mlflow_rules
    if mlflow_url is not None:
        config["sources"]["mlflow"] = {"url": mlflow_url, "timeout": 10}
        config["sources"]["demo"] = {"enabled": False}
    path = tmp_path / f"ops-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Exchange:
    headers: dict[str, str]
    body: bytes
    status: int
    answer: dict[str, Any]


@dataclass
class Recorded:
    """The app, keeping every /webhooks/mlflow exchange: what was sent and what it answered."""

    app: Any
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/webhooks/mlflow":
            await self.app(scope, receive, send)
            return
        sent: list[bytes] = []
        answered: dict[str, Any] = {"body": b""}

        async def receiving() -> dict[str, Any]:
            message = await receive()
            sent.append(message.get("body", b""))
            return message

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answered["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, receiving, sending)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        exchange = Exchange(
            headers, b"".join(sent), answered["status"], json.loads(answered["body"])
        )
        with self.lock:
            self.exchanges.append(exchange)

    def answers(self) -> list[tuple[int, dict[str, Any]]]:
        with self.lock:
            return [(e.status, e.answer) for e in self.exchanges]

    def wait(self, predicate: Callable[[list[Exchange]], bool], timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(list(self.exchanges)):
                    return True
            time.sleep(0.05)
        return False


@dataclass
class Running:
    url: str
    slack: FakeSlack
    app: Any
    recorded: Recorded

    def run(self, coroutine: Any) -> Any:
        """Await a service call from the test thread (the app's loop is the server's)."""
        return asyncio.run(coroutine)

    @property
    def approvals(self) -> Any:
        return self.app.state.services.approvals

    def card(self) -> str:
        return json.dumps(self.slack.messages("C0123MLPLAT")[0]["blocks"])


@contextmanager
def running_app(tmp_path: Path, config: Path, *, now: datetime | None = None) -> Iterator[Running]:
    with FakeSlack() as slack:
        slack.users.update({u: P.user(u, u.lower(), u) for u in ML})
        settings = app_settings(slack, f"sqlite:///{tmp_path / f'{config.stem}.db'}").model_copy(
            update={"switchboard_config": config, "switchboard_webhook_secret": SecretStr(SECRET)}
        )
        app = create_app(settings, now=now)
        recorded = Recorded(app)
        port = free_port()
        with ThreadedServer(recorded, port):  # type: ignore[arg-type]
            yield Running(f"http://127.0.0.1:{port}/webhooks/mlflow", slack, app, recorded)


@pytest.fixture
def webhook_app(tmp_path) -> Iterator[Running]:
    with running_app(tmp_path, ops_yml(tmp_path), now=DEMO_NOW) as running:
        yield running


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_tagged_version_opens_a_promotion_request_and_a_replay_is_ignored(webhook_app):
    url, slack = webhook_app.url, webhook_app.slack
    body, headers = mlflow_delivery(CREATED)
    first = post(url, body, headers)
    assert first.status_code == 200
    assert first.json() == {"status": "requested", "request_id": 1, "requester": "mlflow"}
    assert post(url, body, headers).json()["status"] == "duplicate"
    assert slack.wait_for(
        lambda s: (
            len([c for c in s.calls_to("chat.postMessage") if c.params["channel"] == "C0123MLPLAT"])
            == 1
        )
    )
    card = webhook_app.card()
    assert "*mlflow* asks to promote *churn* v14 to *champion*" in card
    # the demo registry cannot say who registered a version, and the card says so
    assert "MLflow does not say who registered it" in card
    # the service account is nobody's id: every ml-platform person gets a DM, EVA included
    assert slack.wait_for(lambda s: all(s.messages(u) for u in ML))


def test_a_user_mlflow_names_in_the_payload_is_the_requester(webhook_app):
    body, headers = mlflow_delivery({**CREATED, "user_id": "Eva@Example.com"})
    answer = post(webhook_app.url, body, headers).json()
    assert answer == {"status": "requested", "request_id": 1, "requester": EVA}
    decided = webhook_app.run(
        webhook_app.approvals.decide(request_id=1, user=EVA, approve=True, surface="dm")
    )
    assert decided.status == "not_allowed"


def test_a_retry_after_a_failure_does_not_open_a_second_request(webhook_app, monkeypatch):
    notices = webhook_app.app.state.services.approval_notices
    real_deliver_now, failures = notices.deliver_now, []

    async def failing_once(request_id: int) -> Any:
        if not failures:  # whatever fails once the request exists, e.g. telling Slack
            failures.append(request_id)
            raise RuntimeError("database is locked")
        return await real_deliver_now(request_id)

    monkeypatch.setattr(notices, "deliver_now", failing_once)
    body, headers = mlflow_delivery(CREATED)
    first = post(webhook_app.url, body, headers)
    assert first.status_code == 500 and failures == [1]  # MLflow retries a 5xx, same headers
    retried = post(webhook_app.url, body, headers)
    assert retried.status_code == 200
    assert retried.json() == {"status": "already_requested", "request_id": 1}
    assert [r.id for r in webhook_app.run(webhook_app.approvals.requested_by("mlflow"))] == [1]


def test_the_same_promotion_asked_twice_is_already_requested_and_another_version_is_refused(
    webhook_app,
):
    body, headers = mlflow_delivery(CREATED)
    assert post(webhook_app.url, body, headers).json()["status"] == "requested"
    # the tag set again later: another delivery asking for what is already open
    body, headers = mlflow_delivery(TAG_SET, entity="model_version_tag", action="set")
    assert post(webhook_app.url, body, headers).json() == {
        "status": "already_requested",
        "request_id": 1,
    }
    # another version for the same alias while #1 is open: refused, naming the open request
    body, headers = mlflow_delivery({**CREATED, "version": "13"})
    other = post(webhook_app.url, body, headers).json()
    assert other["status"] == "refused" and "#1" in other["reason"]
    assert [r.id for r in webhook_app.run(webhook_app.approvals.requested_by("mlflow"))] == [1]


def test_a_registry_that_cannot_be_asked_fails_the_delivery_so_mlflow_retries_it(tmp_path):
    # Opening it as `mlflow` instead would let whoever registered the version approve it.
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    with running_app(tmp_path, ops_yml(tmp_path, mlflow_url=nobody_listens)) as app:
        body, headers = mlflow_delivery(CREATED)
        first = post(app.url, body, headers)
        assert first.status_code == 503
        assert "could not ask the registry who registered it" in first.json()["error"]
        assert post(app.url, body, headers).status_code == 503  # handled again, no duplicate
        assert app.run(app.approvals.requested_by("mlflow")) == []


def test_refused_deliveries_get_their_status_codes(webhook_app):
    url = webhook_app.url
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
    assert webhook_app.run(webhook_app.approvals.requested_by("mlflow")) == []


def test_other_events_are_acknowledged_and_ignored_with_the_reason(webhook_app):
    # ops.example.yml asks only for challenger -> champion
    staging = {**ALIAS_SET, "alias": "staging"}
    body, headers = mlflow_delivery(staging, entity="model_version_alias")
    answer = post(webhook_app.url, body, headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ignored",
        "reason": "alias 'staging' is not in approvals.mlflow.on_alias (challenger)",
    }


# -- a real MLflow 3 server delivering to the running app -----------------------------------------
@pytest.fixture
def real_mlflow(mlflow_webhook_server: Any) -> Iterator[Any]:
    """Its own server (tests/peers/mlflow.py): these tests add versions and aliases, one test at
    a time, since MLflow delivers every event to every webhook registered for it."""
    with mlflow_webhook_server.one_test_at_a_time():
        yield mlflow_webhook_server


@dataclass
class Registry:
    """The real server's REST API, as a person using MLflow would drive it."""

    http: httpx.Client

    def call(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        answer = self.http.request(method, path, json=body)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else {}

    def register(self, model: str, *, user: str | None, **extra: Any) -> str:
        """A new version from a new run logged by `user` (None: a run without a user)."""
        run = self.call(
            "POST", "runs/create", experiment_id="0", **({"user_id": user} if user else {})
        )["run"]["info"]["run_id"]
        created = self.call(
            "POST",
            "model-versions/create",
            name=model,
            source=f"runs:/{run}/model",
            run_id=run,
            **extra,
        )
        return str(created["model_version"]["version"])


@contextmanager
def mlflow_delivering(
    real_mlflow: Any, tmp_path: Path, events: list[tuple[str, str]], **rules: Any
) -> Iterator[tuple[Running, Registry]]:
    """The app reading the real MLflow, which delivers `events` to it while the block runs."""
    config = ops_yml(tmp_path, mlflow_url=real_mlflow.url, mlflow_rules=rules)
    with (
        running_app(tmp_path, config) as running,
        httpx.Client(base_url=f"{real_mlflow.url}/api/2.0/mlflow/", timeout=30) as http,
    ):
        registry = Registry(http)
        hook = registry.call(
            "POST",
            "webhooks",
            name=f"switchboard-{tmp_path.name}",
            url=running.url,
            events=[{"entity": e, "action": a} for e, a in events],
            secret=SECRET,
            status="ACTIVE",
        )["webhook"]["webhook_id"]  # seen at once: the server keeps no webhook cache
        try:
            yield running, registry
        finally:
            registry.call("DELETE", f"webhooks/{hook}")


def delivered(running: Running, entity: str, count: int = 1) -> list[Exchange]:
    def arrived(exchanges: list[Exchange]) -> bool:
        return len([e for e in exchanges if json.loads(e.body)["entity"] == entity]) >= count

    assert running.recorded.wait(arrived), f"MLflow did not deliver {entity}"
    return [e for e in running.recorded.exchanges if json.loads(e.body)["entity"] == entity]


def test_a_real_mlflow_server_delivers_a_signed_version_created_that_opens_a_request(
    real_mlflow, tmp_path
):
    with mlflow_delivering(real_mlflow, tmp_path, [("MODEL_VERSION", "CREATED")]) as (
        app,
        registry,
    ):
        version = registry.register(
            "churn",
            user=None,  # no user on the run, and OSS MLflow keeps none on the version
            description="retrained, please promote",
            tags=[{"key": "switchboard.promote_to", "value": "champion"}],
        )
        (exchange,) = delivered(app, "model_version")
        assert json.loads(exchange.body)["data"] == {
            "name": "churn",
            "version": version,
            "source": exchange.answer and json.loads(exchange.body)["data"]["source"],
            "run_id": json.loads(exchange.body)["data"]["run_id"],
            "tags": {"switchboard.promote_to": "champion"},
            "description": "retrained, please promote",
        }
        assert exchange.answer == {"status": "requested", "request_id": 1, "requester": "mlflow"}
        assert app.slack.wait_for(lambda s: s.messages("C0123MLPLAT"), timeout=30)
        card = app.card()
        assert f"*mlflow* asks to promote *churn* v{version} to *champion*" in card
        assert "retrained, please promote" in card
        assert "MLflow does not say who registered it" in card
        assert "from v2 to v" in card  # the alias holder as MLflow reports it


def test_the_promote_tag_set_later_opens_a_request_from_the_mapped_person_who_cannot_approve_it(
    real_mlflow, tmp_path
):
    events = [("MODEL_VERSION", "CREATED"), ("MODEL_VERSION_TAG", "SET")]
    with mlflow_delivering(real_mlflow, tmp_path, events) as (app, registry):
        version = registry.register("churn", user="eva@example.com")
        (created,) = delivered(app, "model_version")
        assert created.answer == {
            "status": "ignored",
            "reason": f"version {version} of churn has no switchboard.promote_to tag",
        }
        registry.call(
            "POST",
            "model-versions/set-tag",
            name="churn",
            version=version,
            key="switchboard.promote_to",
            value="champion",
        )
        (tagged,) = delivered(app, "model_version_tag")
        assert json.loads(tagged.body)["data"] == {
            "name": "churn",
            "version": version,
            "key": "switchboard.promote_to",
            "value": "champion",
        }
        assert tagged.answer == {"status": "requested", "request_id": 1, "requester": EVA}
        assert app.slack.wait_for(lambda s: s.messages("C0123MLPLAT"), timeout=30)
        card = app.card()
        assert f"<@{EVA}> asks to promote *churn* v{version} to *champion*" in card
        assert f"MLflow user eva@example.com logged the run of v{version}" in card
        # she asked, so she cannot approve; the others are asked in their DMs, she is not
        decided = app.run(app.approvals.decide(request_id=1, user=EVA, approve=True, surface="dm"))
        assert decided.status == "not_allowed"
        others = [u for u in ML if u != EVA]
        assert app.slack.wait_for(lambda s: all(s.messages(u) for u in others))
        assert app.slack.messages(EVA) == []

        # MLflow's exact delivery again: a replay; the same delivery altered: not MLflow's
        sent = {k: v for k, v in tagged.headers.items() if k.startswith("x-mlflow-")}
        replay = post(app.url, tagged.body, sent)
        assert replay.json() == {"status": "duplicate", "delivery_id": sent["x-mlflow-delivery-id"]}
        forged = tagged.body.replace(b'"champion"', b'"production"')
        assert post(app.url, forged, sent).status_code == 401


def test_setting_challenger_asks_for_champion_when_on_alias_says_so(real_mlflow, tmp_path):
    events = [("MODEL_VERSION_ALIAS", "CREATED")]
    rules = {"on_alias": {"challenger": "champion"}}
    with mlflow_delivering(real_mlflow, tmp_path, events, **rules) as (app, registry):
        version = registry.register("churn", user="bob@example.com")  # not in identities
        registry.call(
            "POST", "registered-models/alias", name="churn", alias="challenger", version=version
        )
        (alias_set,) = delivered(app, "model_version_alias")
        assert json.loads(alias_set.body)["data"] == {
            "name": "churn",
            "alias": "challenger",
            "version": version,
        }
        assert alias_set.answer == {
            "status": "requested",
            "request_id": 1,
            "requester": "mlflow:bob@example.com",
        }
        assert app.slack.wait_for(lambda s: s.messages("C0123MLPLAT"), timeout=30)
        card = app.card()
        assert f"*mlflow:bob@example.com* asks to promote *churn* v{version} to *champion*" in card
        assert "has no Slack id in workspace.identities" in card


def test_setting_challenger_asks_for_nothing_when_on_alias_does_not_list_it(real_mlflow, tmp_path):
    events = [("MODEL_VERSION_ALIAS", "CREATED")]
    with mlflow_delivering(real_mlflow, tmp_path, events) as (app, registry):
        version = registry.register("churn", user="eva@example.com")
        registry.call(
            "POST", "registered-models/alias", name="churn", alias="challenger", version=version
        )
        (alias_set,) = delivered(app, "model_version_alias")
        assert alias_set.answer == {
            "status": "ignored",
            "reason": "alias 'challenger' is not in approvals.mlflow.on_alias (it is empty)",
        }
        assert app.run(app.approvals.snapshot(1)) is None


def test_versions_registered_in_quick_succession_are_each_found(real_mlflow, tmp_path):
    """The app caches registry answers for a minute; a delivery is news about the model."""
    with mlflow_delivering(real_mlflow, tmp_path, [("MODEL_VERSION", "CREATED")]) as (
        app,
        registry,
    ):
        for count, alias in enumerate(("challenger", "champion"), start=1):
            registry.register(
                "churn", user=None, tags=[{"key": "switchboard.promote_to", "value": alias}]
            )
            exchanges = delivered(app, "model_version", count=count)
            assert exchanges[-1].answer["status"] == "requested", exchanges[-1].answer
