"""Prometheus metrics of the Slack surface: request counts and latencies per surface."""

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


def classify(body: bytes, content_type: str) -> str:
    """Which Slack surface a request body belongs to, cheaply and without trusting it."""
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            if data.get("type") == "event_callback":
                return "event:" + str(data.get("event", {}).get("type", "unknown"))[:40]
            return str(data.get("type", "unknown"))[:40]
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=64)
        if "command" in form:
            return "slash_command"
        if "payload" in form:
            return str(json.loads(form["payload"][0]).get("type", "unknown"))[:40]
    except (ValueError, AttributeError):
        pass
    return "unknown"
