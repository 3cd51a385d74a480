"""Long lists go out a page at a time with a "More" button, never cut silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bot.views.ids import Action
from bot.views.mrkdwn import actions, button, context

T = TypeVar("T")


class PageRef(BaseModel):
    """The "More" button's value: which command to run again and which page to show.
    Only says what to show; whoever clicks gets the answer they are allowed to see."""

    model_config = ConfigDict(extra="forbid")
    command: str = Field(max_length=1500)
    page: int = Field(ge=0, le=1000)


def page_of(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], bool]:
    """The items of `page` (0-based) and whether more follow."""
    start = max(page, 0) * per_page
    return list(items[start : start + per_page]), len(items) > start + per_page


def more_blocks(*, command: str, page: int, shown: int, total: int) -> list[dict[str, Any]]:
    """A context line with the count and a "More" button for the next page."""
    value = PageRef(command=command[:1500], page=page + 1).model_dump_json()
    return [
        context(f"Showing {shown} of {total}."),
        actions(button(f"More ({total - shown} left)", action_id=Action.page_more, value=value)),
    ]
