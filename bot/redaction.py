"""Secrets out of the log: every configured secret and anything shaped like a token, redacted.

Redaction is by value, at two places the log set-up (bot.logging) wires in: a structlog
processor walks the event (exceptions already turned into text) before it is rendered, and the
sinks redact the rendered line once more, so a secret inside an object's repr, a foreign
library's message or a traceback is caught whatever the format. Secrets are remembered as they
are read (Settings and every ``*_env`` variable ops.yml names), process-wide.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

MASK = "[REDACTED]"
# Shorter values are not redacted by value: they would mask ordinary words all over the log
# (tests use one-letter signing secrets). Real Slack tokens and secrets are far longer, and
# Slack-shaped tokens are redacted by pattern whatever their length.
MIN_SECRET_LENGTH = 6
TOKEN_SHAPES = re.compile(
    r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+"  # Slack bot/user/app/config/refresh tokens
    # Authorization header values; 8+ characters so prose ("a Bearer token") stays readable.
    r"|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None


def remember(*values: str | None) -> None:
    """Redact these values (and their escaped forms) from every later log line."""
    global _secrets, _pattern
    fresh = {v for v in values if v and len(v.strip()) >= MIN_SECRET_LENGTH} - _secrets
    if not fresh:
        return
    with _lock:
        forms = set(_secrets)
        for value in fresh:  # as written, as JSON writes it, as repr() writes it
            forms |= {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
            forms.add(repr(value)[1:-1])
        _secrets = frozenset(forms)
        # Longest first, so a secret that contains another is masked whole.
        alternatives = sorted(forms, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in alternatives))


def redact(text: str) -> str:
    """``text`` with every remembered secret and every token-shaped string masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return TOKEN_SHAPES.sub(_mask_token, text)


def _mask_token(match: re.Match[str]) -> str:
    scheme = match.group(0).split(None, 1)[0]
    return f"{scheme} {MASK}" if scheme.lower() in ("bearer", "basic") else MASK


def redact_value(value: Any) -> Any:
    """Strings redacted inside dicts, lists and tuples; any other object becomes its redacted
    repr (what the renderers would print), so no escaping of it can hide a secret."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return redact(repr(value))


def redact_event(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog processor: redact every string of the event before it is rendered."""
    return {key: redact_value(value) for key, value in event_dict.items()}


def remembered() -> Iterable[str]:
    """The values being redacted (for tests and diagnostics; never log them)."""
    return _secrets
