"""Turn pydantic validation errors into ops.yml paths and messages a person can act on."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bot.ops_config.consistency import Loc, did_you_mean
from bot.ops_config.schema import OpsConfig
from bot.ops_config.sources import secret_key_hint

_MISSING = object()
_CUSTOM_TYPES = {
    "slack_user_id",
    "slack_usergroup_id",
    "slack_channel",
    "slack_oncall",
    "slug",
    "env_var_name",
    "timezone",
    "currency",
    "url",
    "secret_in_url",
    "duration",
    "amount",
    "duplicate_item",
    "approver_group",
    "cron",
    "model_alias",
    "aws_region",
}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            tp = next(arg for arg in get_args(tp) if arg is not type(None))
        else:
            return tp


def model_at(loc: Loc) -> type[BaseModel] | None:
    """The schema model describing the mapping at `loc` (keys and indexes skipped as needed)."""
    tp: Any = OpsConfig
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _data_loc(loc: tuple[Any, ...], data: Any) -> tuple[Loc, bool]:
    """Keep the parts of a pydantic loc that are in the file; True when the end is present."""
    out: list[Any] = []
    current = data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            current = _MISSING
        out.append(part)
    return tuple(out), current is not _MISSING


def _shown(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(loc: Loc) -> str:
    key = loc[-1]
    model = model_at(loc[:-1])
    allowed = [f.alias or name for name, f in (model.model_fields.items() if model else [])]
    if isinstance(key, str):
        hint = secret_key_hint(key, [k for k in allowed if k.endswith("_env")])
        if hint:
            return hint
    suggestion = did_you_mean(str(key), allowed) if allowed else ""
    if suggestion or not allowed:
        return f"unknown key {key!r}{suggestion}"
    return f"unknown key {key!r}; allowed here: {', '.join(allowed)}"


def explain_error(error: ErrorDetails, data: Any) -> tuple[Loc, str]:
    """(path in the file, message) for one pydantic error on the parsed ops.yml `data`."""
    kind, raw_loc, value = error["type"], tuple(error["loc"]), error.get("input")
    loc, present = _data_loc(raw_loc, data)
    ctx = error.get("ctx") or {}
    if kind == "missing":
        key = loc[-1] if loc else "?"
        hint = " (add `version: 1` at the top)" if loc == ("version",) else ""
        return loc, f"missing required key {key!r}{hint}"
    if kind == "extra_forbidden":
        return loc, _unknown_key(loc)
    if loc == ("version",):
        return loc, f"unsupported version {_shown(value)}: this Switchboard reads version 1"
    if kind in _CUSTOM_TYPES:
        return loc, error["msg"]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return loc, str(ctx["error"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"expected a mapping of keys, got {_shown(value)}"
    if kind == "list_type":
        return loc, f"expected a list, got {_shown(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(value, choices) if isinstance(value, str) and choices else ""
        return loc, f"{_shown(value)} is not allowed: expected {ctx.get('expected')}{hint}"
    message = error["msg"]
    if present and not isinstance(value, dict | list):
        message += f" (got {_shown(value)})"
    return loc, message
