"""Persistent outbox: every post, update and delete to Slack is queued in the database first.

``Outbox.enqueue`` records a message; ``OutboxSender`` delivers it, one message at a time per
channel (order kept, ~1 post/s), honouring 429 Retry-After and retrying 5xx, timeouts and
connection errors with backoff; permanent Slack errors mark the message ``dead``. A chart
upload (``files.uploadV2``, see ``bot.outbox.files``) is queued as its spec and drawn when sent.

Delivery is at-least-once: a sender that dies after Slack accepted a post but before the
database recorded it leaves a lease that expires, and the post is sent again. That window is
one HTTP round trip per channel; the result is written and the lease released in one
transaction, so nothing else can cause a repeat.
"""

from bot.outbox.enqueue import SUPPORTED_METHODS, Outbox, enqueue_in
from bot.outbox.sender import OutboxSender

__all__ = ["SUPPORTED_METHODS", "Outbox", "OutboxSender", "enqueue_in"]
