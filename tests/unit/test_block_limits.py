"""The helpers that keep answers within Slack's limits: whole items within a size with a count of
the rest, fields within 2000 characters, cuts that never leave half a token, a size safety net."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.views.limits import fit_message, join_within, json_size, lines_within, truncate
from bot.views.mrkdwn import fields, section
from bot.views.paging import PageRef, page_blocks, pages_by_size
from tests.fakeslack.blockkit import validate_blocks


def test_join_within_keeps_whole_items_and_counts_the_rest():
    names = [f"`model_{n}`" for n in range(100)]
    joined = join_within(names, 120)
    assert len(joined) <= 120 and joined.endswith("more")
    shown = joined.split(" +")[0].split(", ")
    assert all(name in names for name in shown)
    assert joined.endswith(f"+{100 - len(shown)} more")
    assert join_within(["a", "b"], 100) == "a, b"
    assert join_within(["x" * 50], 10) == "+1 more"


def test_lines_within_says_how_many_lines_were_left_out():
    lines = [f"line {n} " + "x" * 40 for n in range(100)]
    text = lines_within(lines, 500, more="…and {n} more runs")
    assert len(text) <= 500
    kept = text.splitlines()[:-1]
    assert text.splitlines()[-1] == f"…and {100 - len(kept)} more runs"


def test_truncate_never_leaves_half_a_link_or_mention():
    text = "a" * 2990 + " <https://example.com/a/very/long/path|the link>"
    cut = truncate(text, 3000)
    assert len(cut) <= 3000 and cut.endswith("…") and "<https" not in cut


def test_fields_stay_within_two_thousand_and_ten_and_say_what_was_left_out():
    block = fields(["*long*\n" + "y " * 1500, *(f"*f{n}*" for n in range(13))])
    assert validate_blocks([block]) == []
    assert len(block["fields"][0]["text"]) <= 2000 and block["fields"][0]["text"].endswith("…")
    assert len(block["fields"]) == 10 and "+5 more not shown" in block["fields"][-1]["text"]


def test_fit_message_keeps_a_message_under_slacks_size_and_says_so():
    blocks = [section("z" * 2900) for _ in range(10)]
    fitted = fit_message(blocks, max_chars=12_000)
    assert json_size(fitted) <= 12_000
    assert "more blocks not shown (too long for one Slack message)" in str(fitted[-1])
    assert fit_message(blocks[:2]) == blocks[:2]


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=3000), max_size=60),
    max_chars=st.integers(min_value=500, max_value=12_000),
    max_blocks=st.integers(min_value=1, max_value=48),
)
def test_pages_by_size_cover_every_item_once_within_the_limits(
    sizes: list[int], max_chars: int, max_blocks: int
) -> None:
    chunks = [[section("s" * n)] for n in sizes]
    pages = pages_by_size(chunks, max_chars=max_chars, max_blocks=max_blocks)
    assert [i for page in pages for i in page] == list(range(len(chunks)))
    for page in pages:
        assert len(page) >= 1 or not chunks
        if len(page) > 1:  # one item alone may be larger than a page; it still gets one
            assert json_size([b for i in page for b in chunks[i]]) <= max_chars
            assert len(page) <= max_blocks


def test_page_blocks_show_the_asked_page_with_more_until_the_last():
    chunks = [[section(f"item {n} " + "x" * 900)] for n in range(30)]
    first = page_blocks(chunks, page=0, command="budget", max_chars=8000, max_blocks=48)
    ref = PageRef.model_validate_json(first[-1]["elements"][0]["value"])
    assert ref == PageRef(command="budget", page=1) and "item 0 " in str(first)
    last = page_blocks(chunks, page=99, command="budget", max_chars=8000, max_blocks=48)
    assert "item 29 " in str(last) and "Showing" in str(last[-1])
    assert all(b["type"] != "actions" for b in last)
