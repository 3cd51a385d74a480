"""Bounds on what a user or sender can make the bot read: command text length, amount digits,
timestamp headers, form shapes, request ids. Counted, not timed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.commands import dispatch
from bot.commands.approvals import MAX_AMOUNT_DIGITS, AmountError, parse_amount
from bot.commands.context import AskContext
from bot.router import build_router
from bot.views.approval_cards import MAX_REQUEST_ID, RequestRef
from bot.views.approval_modals import read_view
from bot.webhooks.signing import fresh, unix_seconds
from tests.services import bare_services


@pytest.fixture
def understood(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts the router's question reader (the fuzzy matching) was asked to read."""
    seen: list[str] = []
    real = dispatch.understand

    def counting(text: str, **kwargs: Any) -> Any:
        seen.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(dispatch, "understand", counting)
    return seen


@pytest.mark.parametrize(
    "text", ["x" * 300_000, "how much " * 33_334, "budget-increase a " + "9" * 4000]
)
async def test_text_over_the_limit_is_refused_before_anything_reads_it(
    text: str, understood: list[str]
) -> None:
    ctx = AskContext(services=bare_services(), surface="slash_command")
    answer = await build_router().answer_detail(text, ctx)
    assert answer.reply is dispatch.TOO_LONG and understood == []
    assert "4,000 characters" in answer.reply.text


async def test_text_at_the_limit_is_still_read(understood: list[str]) -> None:
    text = ("how much did " + "x" * dispatch.MAX_TEXT_CHARS)[: dispatch.MAX_TEXT_CHARS]
    ctx = AskContext(services=bare_services(), surface="slash_command")
    answer = await build_router().answer_detail(text, ctx)
    assert answer.reply is not dispatch.TOO_LONG and understood == [text]


def test_amounts_are_bounded_in_digits() -> None:
    largest = "9" * MAX_AMOUNT_DIGITS
    assert parse_amount(largest, currency="USD") == Decimal(largest)
    for text in ["1" + "0" * MAX_AMOUNT_DIGITS, "123456789012345678901234567", "9" * 13 + "k"]:
        with pytest.raises(AmountError, match="too large"):
            parse_amount(text, currency="USD")
    assert parse_amount("12.34", currency="USD") == Decimal("12.34")


@pytest.mark.parametrize(
    "stamp",
    ["", "abc", "1733.5", "9" * 4000, "9" * 13, "173323²", "١٧٣٣", " 1", "-1", "+1733"],
)
def test_timestamps_are_bounded_ascii_integers(stamp: str) -> None:
    assert unix_seconds(stamp) is None
    assert not fresh(stamp, now=1_733_000_000)


def test_a_fresh_ascii_timestamp_is_read() -> None:
    assert unix_seconds("1733000000") == 1_733_000_000
    assert fresh("1733000100", now=1_733_000_000)


def test_request_ids_that_do_not_fit_the_column_are_no_request() -> None:
    assert RequestRef.read(f'{{"request_id": {MAX_REQUEST_ID}}}') == RequestRef(
        request_id=MAX_REQUEST_ID
    )
    assert RequestRef.read(f'{{"request_id": {MAX_REQUEST_ID + 1}}}') is None
    assert RequestRef.read('{"request_id": 0}') is None


@pytest.mark.parametrize(
    "view",
    [
        None,
        "text",
        {"state": "text"},
        {"state": {"values": ["a"]}},
        {"state": {"values": {"amount": ["a"]}}},
        {"state": {"values": {"amount": {"a": {"selected_option": "x", "value": 5}}}}},
        {"state": {"values": {"amount": {"a": {"value": "9" * 3001}}}}},
    ],
)
def test_forms_of_any_shape_read_as_empty_fields(view: Any) -> None:
    assert all(value is None for value in read_view(view).values())


def test_a_well_formed_form_is_read() -> None:
    view = {
        "state": {
            "values": {
                "team": {"t": {"selected_option": {"value": "data-eng"}}},
                "amount": {"a": {"value": " 5000 "}},
            }
        }
    }
    assert read_view(view) == {"team": "data-eng", "amount": "5000"}


def test_slack_requests_at_the_edge_of_the_window_are_refused_before_bolt_sees_them() -> None:
    from bot import slack_request
    from tests.fakeslack import signature

    secret, body, now = "edge-secret-0123456789", b"command=%2Fops", 1_733_000_000.0

    def check(age: int) -> object:
        stamp = str(int(now) - age)
        headers = {
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature(secret, stamp, body),
        }
        return slack_request.verify(secret=secret, headers=headers, body=body, now=now)

    assert check(0) is None and check(slack_request.MAX_AGE) is None
    # bolt still takes this one (<= 300 s) a moment later; here it is refused, body unlogged
    assert check(slack_request.MAX_AGE + 1) is not None
    assert slack_request.MAX_AGE < 300
