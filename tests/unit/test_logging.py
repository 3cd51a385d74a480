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


def test_routine_job_runs_are_not_narrated_but_their_warnings_are(monkeypatch):
    import logging

    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", "console")
    logging.getLogger("apscheduler.executors.default").info('Running job "outbox_drain"')
    logging.getLogger("httpx").info("HTTP Request: POST http://peer/api")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    assert "outbox_drain" not in out.getvalue() and "HTTP Request" not in out.getvalue()
    assert "Run time of job was missed" in out.getvalue()
