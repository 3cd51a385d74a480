"""Prometheus metrics of the outbox (default registry, exposed by GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter("switchboard_outbox_sent_total", "Messages Slack accepted", ["method"])
FAILED = Counter(
    "switchboard_outbox_failed_total",
    "Delivery attempts that did not succeed (each attempt counted once)",
    ["reason"],
)
DEAD = Counter("switchboard_outbox_dead_total", "Messages given up on (status dead)", ["reason"])
PENDING = Gauge("switchboard_outbox_pending", "Messages waiting to be delivered")
SEND_SECONDS = Histogram(
    "switchboard_outbox_send_seconds",
    "Duration of one Web API call made by the outbox",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
