"""Sandbox controls: buttons for what would otherwise take waiting (the clock, an alert, a digest).

The page lists whatever ``registered()`` returns and draws each control's fields, so a feature
adds its control with a module here and one line below; the page needs no change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.sandbox.slack_api import WebApi
    from bot.settings import Settings


class ControlError(Exception):
    """A control refused what was typed; the message is shown to the person as is."""


@dataclass
class SandboxClock:
    """The sandbox's notion of now: real time moved on by what "advance the clock" added."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass(frozen=True)
class Field:
    """One input of a control, drawn by the page."""

    name: str
    label: str
    kind: Literal["text", "number", "choice"] = "text"
    default: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControlContext:
    """What a control may use: the running app (its settings and services), its URL for real
    signed requests, the sandbox's Slack workspace and clock, and who pressed the button."""

    app: FastAPI
    app_url: str
    settings: Settings
    slack: WebApi
    clock: SandboxClock
    user: str


@dataclass(frozen=True)
class Control:
    """A button in the page's Controls panel; ``run`` returns what to tell the person."""

    name: str
    label: str
    help: str
    run: Callable[[ControlContext, dict[str, str]], Awaitable[str]] = field(repr=False)
    fields: tuple[Field, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "fields": [asdict(f) for f in self.fields],
        }


def registered() -> tuple[Control, ...]:
    """Every control the page shows, in this order."""
    from bot.sandbox.controls import alert, clock, digest

    return (clock.ADVANCE_CLOCK, alert.FIRE_ALERT, digest.RUN_DIGEST)
