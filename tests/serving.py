"""Starting `switchboard` processes from tests: one clean environment, one way to serve.

A test's subprocess gets the machine's environment without any Slack or Switchboard setting a
developer may have exported, the repository importable, and the internal detectors off, as the
suite's in-process apps have them (their posts would land in what the test reads).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a process a test starts, with `settings` on top."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))
    }
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "SWITCHBOARD_DETECTORS": "false",
        **settings,
    }


@contextmanager
def serving(env: dict[str, str], *, cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`switchboard serve` on 127.0.0.1:$PORT with its log in `log`, healthy before it is
    yielded, stopped with SIGTERM (killed after 30 s) when the block ends."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"],
            cwd=cwd,
            env=env,
            stderr=sink,
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{env['PORT']}", process, log)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"switchboard serve exited: {tail}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("switchboard serve did not become healthy")
