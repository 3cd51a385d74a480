"""Prometheus metrics of the Slack surface: request counts and latencies per surface.

Every label value comes from a fixed set: a label taken from what a request says (a `type`, an
event name, a word the user typed) would let anyone mint new time series, and `classify` runs
before the signature is checked.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "switchboard_requests_total", "Requests from Slack and webhooks", ["surface", "status"]
)
LATENCY = Histogram(
    "switchboard_request_seconds",
    "Time to answer a request (the ack, for Slack)",
    ["surface"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0),
)
COMMANDS = Counter("switchboard_commands_total", "/ops commands answered", ["command", "surface"])

# The request kinds Switchboard answers (manifest.yml); anything else is counted as "other".
EVENT_TYPES = frozenset({"app_mention", "message", "app_home_opened"})
CALLBACK_TYPES = frozenset({"url_verification", "app_rate_limited"})
PAYLOAD_TYPES = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
    }
)
ASK_SURFACES = frozenset(
    {"slash_command", "mention", "im", "terminal", "home", "sandbox", "button", "modal"}
)


def _known(value: object, allowed: frozenset[str], prefix: str = "") -> str:
    return prefix + value if isinstance(value, str) and value in allowed else prefix + "other"


def classify(body: bytes, content_type: str) -> str:
    """Which Slack surface a request body belongs to, cheaply and without trusting it.

    The answer is one of a bounded set of label values, whatever the (unverified) body says.
    """
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                return "unknown"
            if data.get("type") == "event_callback":
                event = data.get("event")
                kind = event.get("type") if isinstance(event, dict) else None
                return _known(kind, EVENT_TYPES, "event:")
            return _known(data.get("type"), CALLBACK_TYPES)
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=64)
        if "command" in form:
            return "slash_command"
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            kind = payload.get("type") if isinstance(payload, dict) else None
            return _known(kind, PAYLOAD_TYPES)
    except (ValueError, AttributeError):
        pass
    return "unknown"


def ask_surface(surface: str) -> str:
    """The `surface` label of an answered command: one of ASK_SURFACES or "other"."""
    return _known(surface, ASK_SURFACES)


# Digests: each schedule slot's outcome (posted on time, posted late, missed past its grace
# period, quiet: nothing to post, taken by another replica, failed), and build times.
DIGEST_SLOTS = Counter(
    "switchboard_digest_slots_total",
    "Digest schedule slots by outcome (posted, late, missed, quiet, elsewhere, failed)",
    ["outcome"],
)
DIGEST_BUILD = Histogram(
    "switchboard_digest_build_seconds",
    "Time to compose one digest (its sources' answers and rendering)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DIGEST_CHANNEL_PROBLEMS = Counter(
    "switchboard_digest_channel_problems_total",
    "Digest posts Slack refused for the channel (not_in_channel, channel_not_found, is_archived)",
    ["error"],
)
