"""`switchboard serve` closes connections whose request stalls: no headers, half headers, a
dripping or stalled body, an idle keep-alive. Driven with raw sockets against the real command.

Deadlines are shrunk through settings; each read has a safety timeout far above them, so a
connection the server leaves open fails the test instead of hanging it.
"""

from __future__ import annotations

import select
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakeslack import FakeSlack
from tests.peers.runtime import free_port
from tests.serving import process_env, serving

REPO = Path(__file__).resolve().parents[1]
DEADLINE = 0.5  # header, body and keep-alive timeouts of the server under test
SAFETY = 15.0  # a connection still open after this is one the server never closes


SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-serve-deadlines-0123456789",
    "SLACK_SIGNING_SECRET": "serve-deadlines-signing-secret-abcdef",
    "SWITCHBOARD_WEBHOOK_SECRET": "serve-deadlines-webhook-secret-0123",
}


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path  # everything the server wrote to stderr

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    with FakeSlack() as slack:
        env = process_env(
            **SECRETS,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=f"sqlite:///{tmp / 'serve.db'}",
            SWITCHBOARD_CONFIG=str(tmp / "absent-ops.yml"),
            PORT=str(port),
            SWITCHBOARD_HEADER_TIMEOUT=str(DEADLINE),
            SWITCHBOARD_BODY_TIMEOUT=str(DEADLINE),
            SWITCHBOARD_KEEP_ALIVE_TIMEOUT=str(DEADLINE),
            LOG_LEVEL="DEBUG",
        )
        log = tmp / "serve.log"
        with serving(env, cwd=tmp, log=log) as process:
            yield Served(port, process, log)


def _connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=SAFETY)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (TimeoutError if it never does)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _status_lines(received: bytes) -> list[str]:
    return [
        line.decode()
        for line in received.split(b"\r\n")
        if line.startswith(b"HTTP/1.1 ")  # one per response on the connection
    ]


def test_a_connection_that_sends_nothing_is_answered_408_and_closed(served: Served) -> None:
    with _connect(served) as sock:
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 408 Request Timeout"]


def test_half_sent_headers_are_answered_408_and_closed(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: switchboard\r\nContent-Type: app")
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 408 Request Timeout"]


def test_headers_dripped_a_byte_at_a_time_do_not_push_the_deadline_back(served: Served) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\n" + b"X-Pad: " + b"a" * 500
    sent = 0
    with _connect(served) as sock:
        while sent < len(request):
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                break  # the server answered or closed while the headers were still coming
            try:
                sock.sendall(request[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        try:
            received: bytes | None = _read_until_closed(sock)
        except ConnectionResetError:
            # A byte sent just as the server answered and closed makes its kernel reset the
            # connection, which may drop the unread answer: the server still did not wait.
            received = None
    assert sent < len(request), "the server waited for 500 dripped bytes"
    if received is not None:
        assert _status_lines(received) == ["HTTP/1.1 408 Request Timeout"]


def test_a_stalled_body_to_slack_events_is_answered_408_then_closed(served: Served) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: switchboard\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    )
    with _connect(served) as sock:
        sock.sendall(head + b"command=%2Fops")  # 14 of the 100 bytes promised
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 408 Request Timeout"]
    assert b"request body too slow" in received  # the app's answer, not the protocol's


def test_a_stalled_body_nothing_reads_is_closed_after_its_answer(served: Served) -> None:
    head = b"POST /healthz HTTP/1.1\r\nHost: switchboard\r\nContent-Length: 100\r\n\r\n"
    with _connect(served) as sock:
        sock.sendall(head + b"x")  # /healthz is GET only: answered at once, body never read
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 405 Method Not Allowed"]


def test_an_idle_keep_alive_connection_is_closed_after_a_complete_request(
    served: Served,
) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\n\r\n")
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 200 OK"]
    assert received.endswith(b'{"status":"ok"}')  # closed idle, with no 408 tacked on


def test_prompt_requests_on_one_connection_are_all_served(served: Served) -> None:
    with _connect(served) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\n\r\n")
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(65536)
                assert chunk, f"closed while a request was answered: {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 OK"), answer
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").json() == {"ready": True, "reason": "ok"}


def test_a_stalled_webhook_body_is_answered_408_without_a_traceback_or_a_secret_in_the_log(
    served: Served,
) -> None:
    head = (
        b"POST /webhooks/mlflow HTTP/1.1\r\nHost: switchboard\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with _connect(served) as sock:
        sock.sendall(head + b'{"entity":')  # and nothing more: the webhook's body deadline
        received = _read_until_closed(sock)
    assert _status_lines(received) == ["HTTP/1.1 408 Request Timeout"]
    assert httpx.get(f"http://127.0.0.1:{served.port}/healthz").status_code == 200
    log = served.log_text()
    assert "Traceback" not in log and "ClientDisconnect" not in log, log[-3000:]
    assert [name for name, value in SECRETS.items() if value in log] == []


def test_a_webhook_client_that_hangs_up_mid_body_leaves_no_traceback(served: Served) -> None:
    head = (
        b"POST /webhooks/mlflow HTTP/1.1\r\nHost: switchboard\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with _connect(served) as sock:
        sock.sendall(head + b'{"entity":')
    # The app learns of the hang-up while reading the body; the next request proves it went on.
    assert httpx.get(f"http://127.0.0.1:{served.port}/healthz").status_code == 200
    deadline = time.monotonic() + SAFETY
    while (
        "/webhooks/mlflow" not in served.log_text() and "ClientDisconnect" not in served.log_text()
    ):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    log = served.log_text()
    assert "Traceback" not in log and "ClientDisconnect" not in log, log[-3000:]
