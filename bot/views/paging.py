"""Long lists go out a page at a time with a "More" button, never cut silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bot.views.ids import Action
from bot.views.limits import json_size
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


def pages_by_size(
    chunks: Sequence[Sequence[dict[str, Any]]], *, max_chars: int, max_blocks: int
) -> list[range]:
    """Split items (each rendered as a few blocks) into pages whose blocks stay within
    `max_chars` of JSON and `max_blocks` blocks; every page holds at least one item.

    Pages depend only on the items, so page N is the same whichever click asks for it.
    """
    pages: list[range] = []
    start, chars, count = 0, 0, 0
    for index, chunk in enumerate(chunks):
        size = json_size(list(chunk)) + 1  # +1: the comma joining it to the page
        if index > start and (chars + size > max_chars or count + len(chunk) > max_blocks):
            pages.append(range(start, index))
            start, chars, count = index, 0, 0
        chars += size
        count += len(chunk)
    if start < len(chunks) or not pages:
        pages.append(range(start, len(chunks)))
    return pages


MORE_RESERVE = 2_000  # JSON characters a "More" context + button take, command value included


def more_blocks(*, command: str, page: int, shown: int, total: int) -> list[dict[str, Any]]:
    """A context line with the count and a "More" button for the next page."""
    value = PageRef(command=command[:1500], page=page + 1).model_dump_json()
    return [
        context(f"Showing {shown} of {total}."),
        actions(button(f"More ({total - shown} left)", action_id=Action.page_more, value=value)),
    ]


def page_blocks(
    chunks: Sequence[Sequence[dict[str, Any]]],
    *,
    page: int,
    command: str,
    max_chars: int,
    max_blocks: int,
    first_page: int = 0,
    counted_before: int = 0,
) -> list[dict[str, Any]]:
    """The blocks of `page` of items paged by size, with "More" when more follow.

    Pages count from `first_page`, and "Showing …" from `counted_before` items (an answer whose
    own first page shows the first few pages the rest from 1). `max_chars` and `max_blocks` are
    what the caller has left for the items; the "More" blocks come out of that. A page past the
    last (the data changed since) shows the last.
    """
    if not chunks:
        return []
    pages = pages_by_size(
        chunks, max_chars=max(max_chars - MORE_RESERVE, 1), max_blocks=max(max_blocks - 2, 1)
    )
    index = min(max(page - first_page, 0), len(pages) - 1)
    span = pages[index]
    blocks = [block for chunk in chunks[span.start : span.stop] for block in chunk]
    total = counted_before + len(chunks)
    shown = counted_before + span.stop
    if index < len(pages) - 1:
        blocks += more_blocks(command=command, page=first_page + index, shown=shown, total=total)
    elif index > 0 or counted_before:
        blocks.append(context(f"Showing {counted_before + span.start + 1}–{shown} of {total}."))
    return blocks
