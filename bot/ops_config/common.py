"""Value types shared by ops.yml sections: Slack ids, slugs, money, durations, URLs, env names."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.ops_config.currencies import ISO_4217_CODES


class StrictModel(BaseModel):
    """Base of every ops.yml block: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_sections_mean_defaults(cls, data: Any) -> Any:
        # `teams:` with every entry commented out is YAML null; read it as "use the default".
        if not isinstance(data, dict):
            return data
        blank = _sections(cls)
        return {k: v for k, v in data.items() if not (v is None and k in blank)}


@cache
def _sections(model: type[BaseModel]) -> frozenset[str]:
    """Fields holding a mapping, list or block that have a default and do not accept null."""
    names = set()
    for name, info in model.model_fields.items():
        tp = info.annotation
        is_block = isinstance(tp, type) and issubclass(tp, BaseModel)
        if not info.is_required() and (get_origin(tp) in (dict, list) or is_block):
            names.add(info.alias or name)
    return frozenset(names)


def _fail(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx or None)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string_check(
    pattern: str, kind: str, what: str, hint: Callable[[str], str] | None = None
) -> Callable[[object], str]:
    compiled = re.compile(pattern)

    def check(value: object) -> str:
        if not isinstance(value, str):
            raise _fail(kind, "expected {what}, got {got}", what=what, got=_shown(value))
        if not compiled.fullmatch(value):
            extra = hint(value) if hint else ""
            raise _fail(
                kind, "{got} is not {what}{extra}", got=_shown(value), what=what, extra=extra
            )
        return value

    return check


def _at_name_hint(value: str) -> str:
    # People paste display names; Slack needs the member id from the profile menu.
    if value.startswith("@"):
        return "; use the member id from the Slack profile (⋮ → Copy member ID), not @name"
    return ""


USER_ID_PATTERN = r"[UW][A-Z0-9]{6,20}"
CHANNEL_ID_PATTERN = r"[CG][A-Z0-9]{6,20}"
USERGROUP_ID_PATTERN = r"S[A-Z0-9]{6,20}"
CHANNEL_NAME_PATTERN = r"#[a-z0-9][a-z0-9_-]{0,79}"
SLUG_PATTERN = r"[a-z][a-z0-9_-]{0,62}"

_check_user = _string_check(
    USER_ID_PATTERN, "slack_user_id", "a Slack user id (expected U… or W…)", _at_name_hint
)
_check_usergroup = _string_check(
    USERGROUP_ID_PATTERN, "slack_usergroup_id", "a Slack user group id (expected S…)"
)
_check_channel = _string_check(
    f"{CHANNEL_ID_PATTERN}|{CHANNEL_NAME_PATTERN}",
    "slack_channel",
    "a Slack channel (expected a channel id C…/G… or '#name' in lowercase)",
)
_check_slug = _string_check(
    SLUG_PATTERN,
    "slug",
    "a valid slug (lowercase letters, digits, '-' or '_', starting with a letter)",
)
_check_env_name = _string_check(
    r"[A-Za-z_][A-Za-z0-9_]*",
    "env_var_name",
    "an environment variable name: *_env keys hold the NAME of the variable that contains "
    "the secret (e.g. MLFLOW_TRACKING_TOKEN), never the secret itself",
)


def _check_user_or_group(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(USERGROUP_ID_PATTERN, value):
        return value
    if isinstance(value, str) and re.fullmatch(USER_ID_PATTERN, value):
        return value
    raise _fail(
        "slack_oncall",
        "{got} is not a Slack user id (U…/W…) or user group id (S…)",
        got=_shown(value),
    )


def _check_timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail("timezone", "expected an IANA time zone name such as 'Europe/Berlin'")
    try:
        ZoneInfo(value)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for odd paths, ...
        raise _fail(
            "timezone",
            "{got} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin', 'America/New_York')",
            got=_shown(value),
        ) from exc
    return value


def _check_currency(value: object) -> str:
    if not isinstance(value, str):
        raise _fail(
            "currency",
            "expected an ISO 4217 currency code such as 'USD', got {got}",
            got=_shown(value),
        )
    code = value.strip().upper()
    if code not in ISO_4217_CODES:
        raise _fail(
            "currency",
            "{got} is not an ISO 4217 currency code (e.g. USD, EUR, GBP)",
            got=_shown(value),
        )
    return code


def _check_url(value: object) -> str:
    if not isinstance(value, str):
        raise _fail("url", "expected an http(s) URL, got {got}", got=_shown(value))
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise _fail("url", "{got} is not a valid URL", got=_shown(value)) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise _fail(
            "url", "{got} is not an http(s) URL such as 'http://127.0.0.1:5000'", got=_shown(value)
        )
    if parts.username or parts.password:
        raise _fail(
            "secret_in_url",
            "URL contains credentials; secrets never go in ops.yml: take them out of the URL "
            "and name the environment variables holding them with this source's *_env keys",
        )
    return value


_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_DURATION_SECONDS = 366 * 86400


def parse_duration(value: object) -> timedelta:
    """'72h', '30m', '1d12h', '2w' -> timedelta; a bare number is refused (no unit, no meaning)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and value and _DURATION_PART.sub("", value.strip()) == "":
        seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(value))
    else:
        raise _fail(
            "duration",
            "{got} is not a duration: write a number with a unit, e.g. '72h', '30m', '1d12h'",
            got=_shown(value),
        )
    if seconds <= 0:
        raise _fail("duration", "duration must be longer than zero, got {got}", got=_shown(value))
    if seconds > MAX_DURATION_SECONDS:
        raise _fail("duration", "duration {got} is longer than a year", got=_shown(value))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Inverse of parse_duration, so a dumped config reads like the file it came from."""
    seconds = int(value.total_seconds())
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _check_amount(value: object) -> object:
    # bool is an int in Python; "true" as an amount is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _fail(
            "amount", "expected an amount such as 5000 or 12500.50, got {got}", got=_shown(value)
        )
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


UserId = Annotated[str, BeforeValidator(_check_user)]
UsergroupId = Annotated[str, BeforeValidator(_check_usergroup)]
UserOrGroupId = Annotated[str, BeforeValidator(_check_user_or_group)]
Channel = Annotated[str, BeforeValidator(_check_channel)]
Slug = Annotated[str, BeforeValidator(_check_slug)]
EnvVarName = Annotated[str, BeforeValidator(_check_env_name)]
HttpUrl = Annotated[str, BeforeValidator(_check_url)]
Timezone = Annotated[str, BeforeValidator(_check_timezone)]
Currency = Annotated[str, BeforeValidator(_check_currency)]
Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
PositiveAmount = Annotated[
    Decimal, BeforeValidator(_check_amount), Field(gt=0, allow_inf_nan=False)
]
NonNegativeAmount = Annotated[
    Decimal, BeforeValidator(_check_amount), Field(ge=0, allow_inf_nan=False)
]


def _no_duplicates(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise _fail("duplicate_item", "{got} is listed twice", got=_shown(value))
        seen.add(value)
    return values


# Use as Annotated[list[X], NoDuplicates]: order is kept, since order often means priority.
NoDuplicates = AfterValidator(_no_duplicates)
