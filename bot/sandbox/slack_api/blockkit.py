"""Block Kit validation as Slack does it: slack_sdk's models plus the documented limits."""

from __future__ import annotations

import json
from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
# Slack documents no exact figure; messages whose blocks serialise to roughly this many
# characters fail with msg_blocks_too_long, so renderers must paginate well before it.
MAX_BLOCKS_JSON_CHARS = 13_000
TOO_LONG_PREFIX = "msg_blocks_too_long"
FORMAT_PREFIX = "invalid_blocks_format"
MAX_ID = 255
TEXT_TYPES = ("plain_text", "mrkdwn")


def validate_blocks(
    blocks: Any, surface: Surface = "message", prefix: str = "/blocks"
) -> list[str]:
    """Every reason Slack would reject ``blocks`` on ``surface``; empty when they are valid.

    Messages look like Slack's ``errors`` entries: ``"<reason> [json-pointer:/blocks/3/text]"``.
    """
    if not isinstance(blocks, list):
        return [f"{FORMAT_PREFIX}: blocks must be an array [json-pointer:{prefix}]"]
    errors: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{prefix}]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{prefix}/{index}"
        errors += _check_block(block, at)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{at}/block_id]")
            seen_ids.add(block_id)
    if surface == "message" and not errors:
        size = len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))
        if size > MAX_BLOCKS_JSON_CHARS:
            errors.append(
                f"{TOO_LONG_PREFIX}: blocks JSON is {size} characters, more than about "
                f"{MAX_BLOCKS_JSON_CHARS} [json-pointer:{prefix}]"
            )
    return errors


def validate_view(view: Any, prefix: str = "/view") -> list[str]:
    """Every reason Slack would reject a modal or Home tab view object."""
    if not isinstance(view, dict):
        return [f"view must be an object [json-pointer:{prefix}]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"type must be modal or home [json-pointer:{prefix}/type]"]
    errors: list[str] = []
    if kind == "modal":
        errors += _text(view.get("title"), f"{prefix}/title", 24, plain=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                errors += _text(view[key], f"{prefix}/{key}", 24, plain=True)
    errors += _max_len(view, "private_metadata", 3000, prefix)
    errors += _max_len(view, "callback_id", MAX_ID, prefix)
    errors += _max_len(view, "external_id", MAX_ID, prefix)
    errors += validate_blocks(view.get("blocks", []), kind, f"{prefix}/blocks")
    return errors


def slack_error_code(errors: list[str]) -> str:
    """The top-level error Slack answers for these block errors."""
    for prefix in (TOO_LONG_PREFIX, FORMAT_PREFIX):
        if errors and all(e.startswith(prefix) for e in errors):
            return prefix
    return "invalid_blocks"


def _check_block(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{at}]"]
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unsupported block type {block['type']!r} [json-pointer:{at}/type]"]
        rendered = parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{exc} [json-pointer:{at}]"]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # slack_sdk raises these for missing required arguments or wrong shapes.
        return [f"invalid block: {exc} [json-pointer:{at}]"]
    errors = _dropped(block, rendered, at)
    errors += _limits(block, at)
    return errors


def _dropped(sent: Any, rendered: Any, at: str) -> list[str]:
    """Fields slack_sdk silently dropped or coerced are ones Slack would reject outright."""
    if isinstance(sent, dict):
        if not isinstance(rendered, dict):
            return [f"unsupported element or object [json-pointer:{at}]"]
        errors: list[str] = []
        for key, value in sent.items():
            if value is None or value == [] or value == {}:
                continue  # slack_sdk omits empties; _limits judges whether they are allowed
            if key not in rendered:
                errors.append(f"invalid additional property: {key} [json-pointer:{at}]")
            else:
                errors += _dropped(value, rendered[key], f"{at}/{key}")
        return errors
    if isinstance(sent, list):
        if not isinstance(rendered, list) or len(sent) != len(rendered):
            return [f"invalid array [json-pointer:{at}]"]
        return [
            e
            for i, (s, r) in enumerate(zip(sent, rendered, strict=True))
            for e in _dropped(s, r, f"{at}/{i}")
        ]
    if isinstance(rendered, (dict, list)):
        return [f"expected an object, got {type(sent).__name__} [json-pointer:{at}]"]
    return []


def _limits(block: dict[str, Any], at: str) -> list[str]:
    kind = block["type"]
    errors = _max_len(block, "block_id", MAX_ID, at)
    if kind == "section":
        if block.get("text") is not None:
            errors += _text(block["text"], f"{at}/text", 3000)
        fields = block.get("fields") or []
        if len(fields) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
        for i, field in enumerate(fields):
            errors += _text(field, f"{at}/fields/{i}", 2000)
        if isinstance(block.get("accessory"), dict):
            errors += _element(block["accessory"], f"{at}/accessory")
    elif kind == "header":
        errors += _text(block.get("text"), f"{at}/text", 150, plain=True)
    elif kind in ("actions", "context"):
        elements = block.get("elements") or []
        most = 25 if kind == "actions" else 10
        if not 1 <= len(elements) <= most:
            errors.append(f"must have 1 to {most} items [json-pointer:{at}/elements]")
        action_ids: set[str] = set()
        for i, element in enumerate(elements):
            if isinstance(element, dict):
                errors += _element(element, f"{at}/elements/{i}")
                action_id = element.get("action_id")
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        errors.append(f"duplicate action_id [json-pointer:{at}/elements/{i}]")
                    action_ids.add(action_id)
    elif kind == "input":
        errors += _text(block.get("label"), f"{at}/label", 2000, plain=True)
        if isinstance(block.get("element"), dict):
            errors += _element(block["element"], f"{at}/element")
    return errors


def _element(element: dict[str, Any], at: str) -> list[str]:
    errors = _max_len(element, "action_id", MAX_ID, at)
    if element.get("type") == "button":
        errors += _text(element.get("text"), f"{at}/text", 75, plain=True)
        errors += _max_len(element, "value", 2000, at)
        errors += _max_len(element, "url", 3000, at)
    return errors


def _text(obj: Any, at: str, most: int, *, plain: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain else TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a text object of type {' or '.join(allowed)} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{at}/text]"]
    return []


def _max_len(obj: dict[str, Any], key: str, most: int, at: str) -> list[str]:
    value = obj.get(key)
    if isinstance(value, str) and len(value) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{at}/{key}]"]
    return []
