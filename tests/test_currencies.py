"""Currencies: the signs money() writes and parse_amount reads, and the codes ops.yml accepts,
checked against CLDR (babel, a pinned dev dependency) so neither table goes stale unseen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from babel.core import get_global
from babel.numbers import get_currency_symbol, get_territory_currencies

from bot.commands.approvals import AmountError, parse_amount
from bot.ops_config.currencies import ISO_4217_CODES
from bot.views.format import CURRENCY_SIGNS, money

# The day the code list was last compared with CLDR; CNH (offshore yuan) is CLDR's, not ISO's.
LIST_AS_OF = date(2026, 12, 1)
NOT_ISO_4217 = {"CNH"}


@pytest.mark.parametrize("code", sorted(CURRENCY_SIGNS))
def test_signs_are_cldr_english_symbols(code: str) -> None:
    assert CURRENCY_SIGNS[code] == get_currency_symbol(code, locale="en")


@pytest.mark.parametrize("code", sorted(CURRENCY_SIGNS))
def test_every_amount_money_writes_is_read_back_in_its_currency(code: str) -> None:
    shown = money(Decimal("5000"), code)
    assert shown.startswith(CURRENCY_SIGNS[code])
    assert parse_amount(shown, currency=code) == Decimal("5000.00")


def test_yen_and_rupee_signs_are_read_and_checked_against_the_budget_currency() -> None:
    assert parse_amount("¥120k", currency="JPY") == Decimal("120000.00")
    assert parse_amount("₹2,500.50", currency="INR") == Decimal("2500.50")
    with pytest.raises(AmountError, match="budgets here are in USD, not JPY"):
        parse_amount("¥5000", currency="USD")


def test_other_currencies_keep_the_code_after_the_number() -> None:
    assert money(Decimal("1200"), "chf") == "1,200 CHF"
    assert parse_amount("1,200 CHF", currency="CHF") == Decimal("1200.00")


def test_code_list_is_the_currencies_in_use_per_cldr() -> None:
    in_use = {
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, LIST_AS_OF, tender=True, non_tender=True)
    }
    assert ISO_4217_CODES == in_use - NOT_ISO_4217
