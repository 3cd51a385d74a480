"""Metrics labels come from fixed sets, whatever a request or a user types."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from prometheus_client import REGISTRY

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import ParsedCommand
from bot.metrics import ASK_SURFACES, CALLBACK_TYPES, EVENT_TYPES, PAYLOAD_TYPES, classify
from bot.views.reply import Reply
from tests.services import bare_services

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NOTHING_CONFIGURED = bare_services()


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "label"),
    [
        (
            json.dumps({"type": "event_callback", "event": {"type": "app_mention"}}),
            JSON,
            "event:app_mention",
        ),
        (json.dumps({"type": "event_callback", "event": {"type": "x" * 30}}), JSON, "event:other"),
        (json.dumps({"type": "event_callback", "event": "nonsense"}), JSON, "event:other"),
        (json.dumps({"type": "url_verification", "challenge": "c"}), JSON, "url_verification"),
        (json.dumps({"type": "made_up_type_123"}), JSON, "other"),
        (json.dumps(["not", "an", "object"]), JSON, "unknown"),
        (b"{not json", JSON, "unknown"),
        (_form(command="/ops", text="anything at all"), FORM, "slash_command"),
        (_form(payload=json.dumps({"type": "block_actions"})), FORM, "block_actions"),
        (_form(payload=json.dumps({"type": "my_own_type_" + "y" * 20})), FORM, "other"),
        (_form(payload="[1, 2]"), FORM, "other"),
        (_form(something="else"), FORM, "unknown"),
    ],
)
def test_request_surface_label_is_one_of_a_fixed_set(body, content_type, label) -> None:
    raw = body.encode() if isinstance(body, str) else body
    assert classify(raw, content_type) == label


def test_every_possible_surface_label_is_known_in_advance() -> None:
    possible = (
        {f"event:{t}" for t in EVENT_TYPES}
        | CALLBACK_TYPES
        | PAYLOAD_TYPES
        | {"event:other", "other", "unknown", "slash_command"}
    )
    junk = [json.dumps({"type": f"t{i}"}).encode() for i in range(50)]
    assert {classify(body, JSON) for body in junk} <= possible


def _count(command: str, surface: str) -> float:
    labels = {"command": command, "surface": surface}
    return REGISTRY.get_sample_value("switchboard_commands_total", labels) or 0.0


async def _echo(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    return Reply(text=f"ran {ctx.text}")


@pytest.mark.parametrize(
    ("text", "surface", "command", "label_surface"),
    [
        ("status", "slash_command", "status", "slash_command"),
        ("/ops help", "slash_command", "help", "slash_command"),
        ("stauts team:ml", "slash_command", "unknown", "slash_command"),
        ("zq1xv9 whatever the user typed", "slash_command", "unknown", "slash_command"),
        ("what is failing?", "im", "status", "im"),
        ("status", "a-surface-nobody-registered", "status", "other"),
    ],
)
async def test_commands_are_counted_by_parsed_name_never_by_what_was_typed(
    text: str, surface: str, command: str, label_surface: str
) -> None:
    router = CommandRouter()
    router.add("status", _echo)
    before = _count(command, label_surface)
    await router.answer_detail(text, AskContext(services=NOTHING_CONFIGURED, surface=surface))
    assert _count(command, label_surface) == before + 1
    assert label_surface in ASK_SURFACES | {"other"}
    typed = text.split()[0]
    if typed != command:  # what the user typed never becomes a label value
        labels = {"command": typed, "surface": label_surface}
        assert REGISTRY.get_sample_value("switchboard_commands_total", labels) is None
