"""Each webhook delivery is handled once across replicas: its id is recorded in handled_event, and
forgotten again when handling failed so the sender's retry is handled."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.db import session_scope
from bot.store.models import HandledEvent

KEY_MAX = 64  # handled_event.event_id


def _key(sender: str, delivery_id: str) -> str:
    return f"{sender}:{delivery_id}"[:KEY_MAX]


def first_delivery(engine: Engine, sender: str, delivery_id: str) -> bool:
    """Record the delivery; False if it was seen before (by this or another replica)."""
    try:
        with session_scope(engine) as session:
            session.add(HandledEvent(event_id=_key(sender, delivery_id), handled_at=time.time()))
        return True
    except IntegrityError:
        return False


def forget_delivery(engine: Engine, sender: str, delivery_id: str) -> None:
    """Let the sender's retry of a delivery we failed to handle be handled."""
    with session_scope(engine) as session:
        row = session.get(HandledEvent, _key(sender, delivery_id))
        if row is not None:
            session.delete(row)
