"""Modal field errors are plain text: what mrkdwn would mark up is spelled out instead."""

from __future__ import annotations

from bot.views.field_errors import field_errors, plain_error
from bot.views.format import code
from bot.views.ids import FormField


def test_code_spans_become_quotes_and_escapes_are_undone():
    typed = "<!channel> & `x`"
    message = f"I don't know a model called {code(typed)}. Did you mean {code('churn')}?"
    assert plain_error(message) == (
        'I don\'t know a model called "<!channel> & \'x\'". Did you mean "churn"?'
    )


def test_emphasis_mentions_and_links_are_spelled_out():
    message = "*Already* approved by <@U0ML0EVA> _today_, see <https://x.example/r/1|request 1>"
    assert plain_error(message) == (
        "Already approved by @U0ML0EVA today, see request 1 (https://x.example/r/1)"
    )


def test_a_cron_in_code_keeps_its_stars():
    assert plain_error("`0 9 * * MON` is not a schedule") == '"0 9 * * MON" is not a schedule'


def test_field_errors_keys_are_the_block_ids():
    assert field_errors({FormField.amount: "`lots` is not an amount"}) == {
        "amount": '"lots" is not an amount'
    }
