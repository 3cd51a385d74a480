"""Logging writes to the stderr of the moment, so a closed stream from an earlier runner can't break it."""

import io
import sys

import structlog

from bot.logging import configure_logging


def test_logs_follow_sys_stderr_after_it_was_swapped_and_closed(monkeypatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", "json")
    first.close()  # what CLI test runners do with their captured stream
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("still_logging", n=1)
    assert '"event": "still_logging"' in second.getvalue()
