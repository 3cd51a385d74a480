"""Modal field errors as Slack shows them: plain text.

A view submission answered with `response_action: errors` has each message drawn as plain text
under its input, so mrkdwn would show its marks: `` `churn` `` its backticks, `*bold*` its
stars, `<@U1>` its brackets, an escaped `&lt;` as such. The checks behind the modals also answer
commands and DMs (mrkdwn, where those marks are right), so the modals turn their messages into
plain text here, on the way out: code spans in quotes, emphasis dropped, mentions and links
spelled out, escapes undone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.views.ids import FormField
from bot.views.terminal import mrkdwn_to_text

# The longest error Slack is sent; a message this long is already more than a field can show.
FIELD_ERROR_MAX = 2000
_CODE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_error(mrkdwn: str) -> str:
    """`I don't know a model called `chrn`. Did you mean `churn`?` (mrkdwn) → the same sentence
    with "chrn" and "churn" in quotes, as plain text."""
    parts = _CODE.split(mrkdwn)
    text = "".join(
        f'"{_unescape(part.strip("`").strip())}"' if _CODE.fullmatch(part) else mrkdwn_to_text(part)
        for part in parts
    )
    return text.strip()[:FIELD_ERROR_MAX]


def field_errors(problems: Mapping[FormField, str]) -> dict[str, str]:
    """{block_id: message} for `ack(response_action="errors", errors=...)`, each plain text."""
    return {str(field): plain_error(message) for field, message in problems.items()}
