"""structlog set-up: JSON lines for machines, coloured console for people, no secret in either.

Every line — ours and foreign libraries' (bolt, slack_sdk, uvicorn, httpx, apscheduler…) —
goes through one chain: exceptions become plain tracebacks without local variables (a local can
hold a token), then bot.redaction masks secrets in the event and once more in the rendered line.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from bot.redaction import redact, redact_event


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is now, not the stream present at set-up (test runners and
    CLI runners swap and close it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """Renders foreign records like ours, then redacts the line (last line of defence)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingPrintLogger(structlog.PrintLogger):
    """structlog's sink: the rendered line is redacted once more before it is written."""

    def msg(self, message: str) -> None:
        super().msg(redact(message))

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


NARRATORS = ("alembic", "apscheduler", "httpx")


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    return _RedactingPrintLogger(sys.stderr)


def _render_chain(fmt: str) -> list[structlog.types.Processor]:
    """From an event with ``exc_info`` to a redacted, rendered line."""
    if fmt == "json":
        return [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            redact_event,
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.processors.format_exc_info,  # plain text, no locals, before redaction
        redact_event,
        structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        ),
    ]


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    stamp: list[structlog.types.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = _RedactingFormatter(
        foreign_pre_chain=[*stamp, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_render_chain(fmt),
        ],
    )
    handler = _CurrentStderr()
    handler.setFormatter(formatter)
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    # These narrate routine work at INFO (every migration step; every job run, which for the
    # outbox drain is once a second; every peer request): their warnings are what matter.
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    for chatty in NARRATORS:
        logging.getLogger(chatty).setLevel(quiet)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *stamp, *_render_chain(fmt)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
