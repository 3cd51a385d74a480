"""A rendered answer: fallback text plus Block Kit blocks, and where it should be shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from bot.views.limits import TEXT_FALLBACK_MAX, truncate

Block = dict[str, Any]

_TOKEN = re.compile(r"<([^<>]*)>")
# The `<…>` tokens a fallback text may carry: a channel, a date, a user (approval cards name
# the requester) and a link. Everything else, above all <!channel>, <!here>, <!everyone> and
# <!subteam^…>, is shown as text: renderers never mean them in a fallback.
_FALLBACK_TOKEN = re.compile(
    r"^(?:#[CG][A-Z0-9]+(?:\|[^|]*)?"
    r"|!date\^[^|]*\|[^|]*"
    r"|@[UW][A-Z0-9]+(?:\|[^|]*)?"
    r"|https?://[^|\s]+(?:\|[^|]*)?)$"
)
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
_BROADCAST = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")


def _angles(text: str) -> str:
    # Only < and >: & may already start an entity the renderer escaped (&lt;), left as it is.
    return text.replace("<", "&lt;").replace(">", "&gt;")


def safe_fallback(text: str) -> str:
    """`text` with every `<…>` token that could notify a crowd or is not one a renderer makes
    shown as plain text, within the fallback length. Idempotent."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(_angles(text[pos : match.start()]))
        token = match.group(0)
        out.append(token if _FALLBACK_TOKEN.match(match.group(1)) else _angles(token))
        pos = match.end()
    out.append(_angles(text[pos:]))
    return truncate("".join(out), TEXT_FALLBACK_MAX)


def quiet_mrkdwn(text: str) -> str:
    """Mentions that would notify (users, user groups, @channel/@here) as plain `@name` text.

    Slack has no silent mention: a `<@U…>` in a posted message notifies that person. In an
    ephemeral answer (or a DM the person is not in) it does not, and shows the person's name; so
    answers keep mentions and are quietened where they are posted for a channel to see (answers
    to mentions, "Share in channel"). Without a display name to hand, the person shows as their
    Slack id.
    """
    text = _USER.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    text = _GROUP.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    return _BROADCAST.sub(lambda m: "@" + m.group(1), text)


def _quiet_blocks(value: Any) -> Any:
    if isinstance(value, list):
        return [_quiet_blocks(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
        return {**value, "text": quiet_mrkdwn(value["text"])}
    return {key: _quiet_blocks(item) for key, item in value.items()}


@dataclass(frozen=True)
class ChartSpec:
    """A chart an answer would rather show than tell: drawn (PNG) only when the answer is posted
    in a channel, shown as a sparkline in the terminal."""

    title: str
    series: tuple[tuple[date, float], ...]  # (day, value), oldest first
    unit: str  # e.g. "USD"
    alt_text: str  # what the chart shows, for screen readers and clients without images
    compare: tuple[tuple[date, float], ...] = ()  # the previous period, drawn dimmed
    limit: float | None = None  # e.g. the budget's daily pace or the monthly budget line


@dataclass(frozen=True)
class Reply:
    text: str  # notification / accessibility fallback, also what old clients show
    blocks: list[Block] = field(default_factory=list)
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    chart: ChartSpec | None = None

    def __post_init__(self) -> None:
        # Every reply's fallback text passes here: whatever a renderer forgot to escape, the
        # text Slack notifies with can never carry <!channel>, <!here> or a user group.
        object.__setattr__(self, "text", safe_fallback(self.text))

    def quiet(self) -> Reply:
        """The reply as posted for everyone: people and groups named without notifying them."""
        return replace(self, text=quiet_mrkdwn(self.text), blocks=_quiet_blocks(self.blocks))

    def as_slack_response(self) -> dict[str, Any]:
        return {"response_type": self.response_type, "text": self.text, "blocks": self.blocks}
