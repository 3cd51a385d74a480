"""Every field error a modal can answer with, through the running app: Slack draws
`response_action: errors` messages as plain text, so none may carry mrkdwn (backticks, stars,
`<@U…>` mentions, `&lt;` escapes) that would show as typed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.views.approval_cards import RequestRef
from bot.views.ids import Action, Callback
from tests.e2e.test_approvals_e2e import (
    APPROVER_A,
    APPROVER_B,
    ML_CHANNEL,
    OUTSIDER,
    OWNER,
    card_in,
    click,
    posts,
    promote,
    promotion_form,
    wait,
)
from tests.fakeslack import payloads as P

MRKDWN = re.compile(r"`|\*|<[@#!]|&(?:lt|gt|amp);")


@pytest.fixture
def app(demo_app):  # type: ignore[no-untyped-def]
    for user in (OWNER, APPROVER_A, APPROVER_B, OUTSIDER):
        demo_app.slack.users[user] = P.user(user, user.lower(), user)
    return demo_app


def budget_form(team: str, amount: str) -> dict[str, Any]:
    """The budget modal's state values as Slack submits them."""
    return {
        "team": {"team": {"type": "static_select", "selected_option": {"value": team}}},
        "amount": {"amount": {"type": "plain_text_input", "value": amount}},
        "reason": {"reason": {"type": "plain_text_input", "value": None}},
    }


def reason_form(text: str) -> dict[str, Any]:
    return {"reason": {"reason": {"type": "plain_text_input", "value": text}}}


async def errors_of(app, callback: str, values, *, user: str = OWNER, metadata: str = ""):  # type: ignore[no-untyped-def]
    resp = await app.signer.view_submission(
        callback, values=values, private_metadata=metadata, user_id=user
    )
    body = resp.json()
    assert body.get("response_action") == "errors", body
    return body["errors"]


def assert_plain(errors: dict[str, str], field: str, *says: str) -> None:
    assert set(errors) == {field}, errors
    message = errors[field]
    assert message.strip() and not MRKDWN.search(message), message
    for part in says:
        assert part in message, message


async def test_every_request_modal_error_is_plain_text(app):
    promotion = Callback.promotion_request
    errors = await errors_of(app, promotion, promotion_form("churn", "14", "prod"))
    assert_plain(errors, "alias", '"prod" is not an alias', 'Did you mean "production"?')
    errors = await errors_of(app, promotion, promotion_form("chrn", "14", "champion"))
    assert_plain(errors, "model", 'a model called "chrn"', 'Did you mean "churn"')
    errors = await errors_of(app, promotion, promotion_form("churn", "99", "champion"))
    assert_plain(errors, "version", 'churn has no version "99"')
    errors = await errors_of(app, promotion, promotion_form("<b>&x", "1", "champion"))
    assert_plain(errors, "model", 'a model called "<b>&x"')
    # A request the service refuses (one for the same change is still open).
    first = await app.signer.view_submission(
        promotion, values=promotion_form("churn", "13", "challenger"), user_id=OWNER
    )
    assert first.status_code == 200 and not first.content.strip(b"{} \n")
    errors = await errors_of(app, promotion, promotion_form("churn", "13", "challenger"))
    assert_plain(errors, "alias", "is still open")

    budget = Callback.budget_increase_request
    cases = [
        (budget_form("ml-platfrom", "5000"), "team", ['"ml-platfrom"', '"ml-platform"']),
        (budget_form("finance", "500"), "team", ["Finance has no budget to raise", '"budgets:"']),
        (budget_form("ml-platform", "lots"), "amount", ['"lots" is not an amount']),
        (budget_form("ml-platform", "5000 EUR"), "amount", ["in USD, not EUR"]),
        (budget_form("ml-platform", "9" * 16), "amount", ["is too large"]),
        (budget_form("ml-platform", "10.005"), "amount", ['"10.005" has more than cents']),
        (budget_form("ml-platform", "0"), "amount", ["more than zero"]),
        (budget_form("ml-platform", "30000"), "amount", ["more than one request may ask for"]),
    ]
    for values, field, says in cases:
        assert_plain(await errors_of(app, budget, values), field, *says)
    await app.signer.view_submission(budget, values=budget_form("analytics", "500"), user_id=OWNER)
    errors = await errors_of(app, budget, budget_form("analytics", "500"))
    assert_plain(errors, "amount", "is still open")


async def test_every_reject_reason_error_is_plain_text(app):
    reject = Callback.approval_reject_reason
    errors = await errors_of(app, reject, reason_form("no"), metadata="not a reference")
    assert_plain(errors, "reason", "This form has expired.")
    missing = RequestRef(request_id=999).dump()
    errors = await errors_of(app, reject, reason_form("no"), metadata=missing)
    assert_plain(errors, "reason", "does not exist")

    await promote(app, "promote churn 13 to challenger")
    await wait(app, lambda: posts(app, ML_CHANNEL))
    ref = RequestRef(request_id=1).dump()
    errors = await errors_of(app, reject, reason_form("no"), user=OUTSIDER, metadata=ref)
    assert_plain(errors, "reason", "You are not an approver of this request")
    errors = await errors_of(app, reject, reason_form("no"), user=OWNER, metadata=ref)
    assert_plain(errors, "reason", "You made this request")
    # An approver who approved, then tries to reject.
    await click(app, Action.approval_approve, 1, APPROVER_A, ML_CHANNEL, card_in(app, ML_CHANNEL))
    await wait(app, lambda: len(app.slack.calls_to("chat.update")) > 0)
    errors = await errors_of(app, reject, reason_form("no"), user=APPROVER_A, metadata=ref)
    assert_plain(errors, "reason", "You already approved this request")
    # Closed (that approval completed the quorum): who closed it is named as @U…, not as a
    # <@U…> mention drawn literally.
    errors = await errors_of(app, reject, reason_form("no"), user=APPROVER_B, metadata=ref)
    assert_plain(errors, "reason", f"Already approved by @{APPROVER_A}")


async def test_every_resolve_note_error_is_plain_text(app):
    resolve = Callback.incident_resolve_note
    note = {"note": {"note": {"type": "plain_text_input", "value": "rolled back"}}}
    assert_plain(await errors_of(app, resolve, note, metadata="x"), "note", "expired")
    assert_plain(
        await errors_of(app, resolve, note, metadata="999"), "note", "There is no incident #999."
    )
