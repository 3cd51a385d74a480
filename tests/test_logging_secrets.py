"""No log line carries a secret: configured secrets and token-shaped strings are redacted by
value in every format, in our lines and foreign libraries', tracebacks included (no locals).

The end-to-end check runs `python -m scheduler` (the real sender, real settings, ops.yml naming
secrets through *_env) against a fake Slack answering garbage, and greps all it wrote.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy.engine import Engine

from bot.logging import configure_logging
from bot.outbox import Outbox
from bot.redaction import MASK, MIN_SECRET_LENGTH, remember
from bot.settings import Settings
from tests.fakeslack import FakeSlack
from tests.serving import process_env

REPO = Path(__file__).resolve().parents[1]
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-LeakMeNotBotToken",
    "SLACK_SIGNING_SECRET": "8f3c0e7d1b2a4c6e9f0a1b2c3d4e5f60",
    "SLACK_APP_TOKEN": "xapp-1-A0123-LeakMeNotAppToken",
    "SWITCHBOARD_WEBHOOK_SECRET": "whsec-LeakMeNot-0123456789",
    # named by the ops.yml below through *_env keys
    "AIRFLOW_TOKEN": "af-LeakMeNot-token-0123456789",
    "PREFECT_API_KEY": "pnu_LeakMeNotPrefectKey0123",
    "MLFLOW_TRACKING_TOKEN": "mlf-LeakMeNot-0123456789",
}


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], io.StringIO]]:
    """Call it in the test body (pytest swaps sys.stderr back between setup and call)."""

    def capture() -> io.StringIO:
        out = io.StringIO()
        monkeypatch.setattr(sys, "stderr", out)
        return out

    yield capture
    configure_logging("INFO", "console")  # leave the process as the other tests expect it


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


# ---- the redaction itself ----------------------------------------------------------------------


class Holder:
    """An object whose repr carries a secret (as a client object's might)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"Holder(token={self.token!r})"


def _fail_with(token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}  # a local, as in an HTTP client's frame
    raise RuntimeError(f"request with {headers} failed")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_configured_secrets_are_redacted_wherever_they_appear_in_a_line(
    fmt: str, stderr: Callable[[], io.StringIO]
) -> None:
    secret = 's3cr3t-Value-With-"Quote\\-and-ünïcode'
    remember(secret)
    captured = stderr()
    configure_logging("DEBUG", fmt)
    log = structlog.get_logger("test")
    log.info("plain", value=secret, nested={"deep": [secret, (secret,)]}, obj=Holder(secret))
    log.info(f"in the event itself: {secret}")
    try:
        _fail_with(secret)
    except RuntimeError:
        log.exception("failed")
    # Foreign libraries log through the standard library, with %-args and tracebacks.
    logging.getLogger("slack_bolt.App").warning("Invalid request (body: token=%s)", secret)
    try:
        _fail_with(secret)
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = captured.getvalue()
    assert secret not in out and json.dumps(secret)[1:-1] not in out
    assert out.count(MASK) >= 8
    assert "RuntimeError" in out  # the traceback is still there, only the secret is gone


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_token_shaped_strings_are_redacted_even_when_never_configured(
    fmt: str, stderr: Callable[[], io.StringIO]
) -> None:
    captured = stderr()
    configure_logging("INFO", fmt)
    structlog.get_logger("test").warning(
        "seen",
        header="Authorization: Bearer abcdefgh12345678",
        bot="xoxb-999-888-NeverConfigured",
        app="xapp-1-A99-NeverConfigured",
        user="xoxp-77-NeverConfigured",
        basic="Basic dXNlcjpwYXNzd29yZA==",
    )
    logging.getLogger("httpx").warning("retrying with xoxb-123-NeverConfigured")
    out = captured.getvalue()
    for leaked in ("abcdefgh12345678", "NeverConfigured", "dXNlcjpwYXNzd29yZA"):
        assert leaked not in out
    assert "Bearer [REDACTED]" in out and "Basic [REDACTED]" in out


def test_prose_about_tokens_stays_readable(stderr: Callable[[], io.StringIO]) -> None:
    captured = stderr()
    configure_logging("INFO", "console")
    structlog.get_logger("test").info("SLACK_BOT_TOKEN must be a Bearer token (xoxb-…)")
    assert "must be a Bearer token (xoxb-…)" in captured.getvalue()


def test_tracebacks_never_show_local_variables(stderr: Callable[[], io.StringIO]) -> None:
    captured = stderr()
    configure_logging("INFO", "console")

    def frame_with_a_local() -> None:
        unrelated_local = "visible-only-as-a-local-variable"  # noqa: F841
        raise ValueError("boom")

    try:
        frame_with_a_local()
    except ValueError:
        structlog.get_logger("test").exception("failed")
    out = captured.getvalue()
    assert "ValueError: boom" in out and "frame_with_a_local" in out
    assert "visible-only-as-a-local-variable" not in out


def test_settings_remember_their_secrets_and_the_ones_ops_yml_names(
    stderr: Callable[[], io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-remembered-by-settings",  # type: ignore[arg-type]
        switchboard_webhook_secret="webhook-remembered-by-settings",  # type: ignore[arg-type]
    )
    monkeypatch.setenv("SOME_SOURCE_TOKEN", "source-token-read-through-env")
    assert Settings.secret_env("SOME_SOURCE_TOKEN") == "source-token-read-through-env"
    captured = stderr()
    configure_logging("INFO", "json")
    structlog.get_logger("test").info(
        "values", a="webhook-remembered-by-settings", b="source-token-read-through-env"
    )
    out = captured.getvalue()
    assert "remembered-by-settings" not in out and "read-through-env" not in out


# ---- a faulty run of the real sender process ---------------------------------------------------


# The example configuration, with sources whose secrets come from the environment.
SOURCES_WITH_SECRETS = """\
  airflow: {url: "http://127.0.0.1:9", token_env: AIRFLOW_TOKEN, timeout: 1}
  prefect: {url: "http://127.0.0.1:9/api", api_key_env: PREFECT_API_KEY, timeout: 1}
  mlflow: {url: "http://127.0.0.1:9", token_env: MLFLOW_TRACKING_TOKEN, timeout: 1}
"""


def _ops_yml() -> str:
    example = (REPO / "ops.example.yml").read_text()
    anchor = "  demo: {enabled: true, seed: 42}"
    assert anchor in example
    return example.replace(anchor, anchor + "\n" + SOURCES_WITH_SECRETS.rstrip("\n"), 1)


FAULTS: list[tuple[bytes, dict[str, str], int]] = [
    (b'{"ok": true}', {"Content-Encoding": "gzip", "Content-Type": "application/json"}, 200),
    (b"[" * 50_000 + b"]" * 50_000, {"Content-Type": "application/json"}, 200),
    (b"{}", {"Retry-After": "nan"}, 429),
    (b"<html>bad gateway</html>", {"Content-Type": "text/html"}, 502),
    (b"null", {"Content-Type": "application/json"}, 200),
]


def _sender_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler"],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_faulty_run_of_the_sender_logs_no_secret_and_ends_the_message_dead(
    fmt: str, db_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(_ops_yml())
    outbox = Outbox(db_engine)
    with FakeSlack() as slack:
        for body, headers, status in FAULTS:
            slack.answer_raw_next("chat.postMessage", body, status=status, headers=headers)
        doomed = outbox.enqueue(method="chat.postMessage", channel="C_F", payload={"text": "x"})
        later = outbox.enqueue(method="chat.postMessage", channel="C_F", payload={"text": "y"})
        env = process_env(  # the detectors stay off: their posts would take the faults
            **SECRETS,
            DATABASE_URL=db_url,
            SLACK_API_URL=slack.api_url,
            SWITCHBOARD_CONFIG=str(config),
            SWITCHBOARD_OUTBOX_INTERVAL="0.1",
            SWITCHBOARD_CHANNEL_PACE="0.05",
            SWITCHBOARD_OUTBOX_BACKOFF="0.05",
            SWITCHBOARD_OUTBOX_MAX_ATTEMPTS="4",  # the 429 is free: 4 failures, then dead
            LOG_LEVEL="DEBUG",
            LOG_FORMAT=fmt,
        )
        process = _sender_process(env)
        try:
            settled = slack.wait_for(lambda _: outbox.status(later).status != "pending", timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    log = (out + err).decode("utf-8", errors="replace")
    assert settled and outbox.status(later).status != "pending", log[-3000:]
    assert all(len(v) >= MIN_SECRET_LENGTH for v in SECRETS.values())  # redactable by value
    assert _leaks(log, SECRETS) == []
    assert "outbox.dead" in log and "outbox.retry" in log  # the faulty path did run and log
    row = outbox.status(doomed)
    assert (row.status, row.attempts) == ("dead", 4), row
    assert outbox.status(later).status == "sent"
    assert [m["text"] for m in slack.messages("C_F")] == ["y"]
    if fmt == "json":
        lines = [line for line in log.splitlines() if line.strip()]
        assert all(line.startswith("{") for line in lines), [
            line for line in lines if not line.startswith("{")
        ][:5]
        for line in lines:
            json.loads(line)
