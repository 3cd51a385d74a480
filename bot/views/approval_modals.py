"""Approval modals (pure Block Kit renderers): the reject-reason modal, the promotion and budget
request modals, and reading what was typed into them.

Every input is a `FormField`: its block_id and action_id, the key `read_form` answers with and
the key of the field errors a submission handler sends back. A modal carries only a
`RequestRef` as private_metadata, never who may decide.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.approvals.types import RequestSnapshot
from bot.views.approval_cards import REASON_MAX, RequestRef, subject_text, who
from bot.views.format import money
from bot.views.ids import Callback, FormField
from bot.views.limits import truncate
from bot.views.mrkdwn import section
from bot.views.reply import Block

Form = dict[FormField, str | None]  # what was typed or chosen, None when left empty


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    field: FormField,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": field,
        "label": _plain(label),
        "element": {**element, "action_id": field},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(truncate(hint, 2000))
    return block


def _text_input(
    *,
    multiline: bool = False,
    placeholder: str | None = None,
    initial: str | None = None,
    max_length: int = 3000,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
    }
    if placeholder:
        element["placeholder"] = _plain(truncate(placeholder, 150))
    if initial:
        element["initial_value"] = initial
    return element


def _select(options: list[tuple[str, str]], *, initial: str | None = None) -> dict[str, Any]:
    opts = [
        {"text": _plain(truncate(label, 75)), "value": value[:150]}
        for value, label in options[:100]
    ]
    element: dict[str, Any] = {"type": "static_select", "options": opts}
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return element


def _modal(
    callback_id: str, title: str, submit: str, blocks: list[Block], metadata: str = ""
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(truncate(title, 24)),
        "submit": _plain(submit),
        "close": _plain("Cancel"),
        "blocks": blocks[:100],
        "private_metadata": metadata[:3000],
    }


def reject_modal(snapshot: RequestSnapshot) -> dict[str, Any]:
    return _modal(
        Callback.approval_reject_reason,
        "Reject request",
        "Reject",
        [
            section(
                f"Rejecting *request #{snapshot.id}*: {subject_text(snapshot)}, asked by "
                f"{who(snapshot.requester)}."
            ),
            _input(
                FormField.reason,
                "Why are you rejecting it?",
                _text_input(
                    multiline=True, max_length=REASON_MAX, placeholder="The requester sees this"
                ),
                hint="Shown on every copy of the request and to the requester.",
            ),
        ],
        RequestRef(request_id=snapshot.id).dump(),
    )


def promotion_modal(*, models: list[str], aliases: list[str]) -> dict[str, Any]:
    """Promote MODEL VERSION to ALIAS; a model select when the registry listed ≤ 100 models."""
    model = (
        _select([(m, m) for m in models])
        if 0 < len(models) <= 100
        else _text_input(placeholder="e.g. churn", max_length=200)
    )
    return _modal(
        Callback.promotion_request,
        "Promote a model",
        "Request",
        [
            _input(FormField.model, "Model", model),
            _input(FormField.version, "Version", _text_input(placeholder="e.g. 14", max_length=20)),
            _input(
                FormField.alias,
                "Alias",
                _select([(a, a) for a in aliases], initial=aliases[0] if aliases else None),
            ),
            _input(
                FormField.reason,
                "Reason",
                _text_input(multiline=True, max_length=REASON_MAX),
                optional=True,
                hint="Approvers see it on the request.",
            ),
        ],
    )


NO_BUDGETS = (
    "No team has a budget yet, so there is none to raise. Budgets are set per team under "
    "`budgets:` in ops.yml."
)


def budget_modal(
    *, teams: list[tuple[str, str]], currency: str, max_increase: Decimal | None
) -> dict[str, Any]:
    """Raise a budget: `teams` are (slug, name) of the teams that have one; with none, a modal
    that says so and has nothing to submit."""
    if not teams:
        return {
            "type": "modal",
            "callback_id": Callback.budget_increase_request,
            "title": _plain("Raise a budget"),
            "close": _plain("Close"),
            "blocks": [section(NO_BUDGETS)],
        }
    ceiling = f"; at most {money(max_increase, currency)}" if max_increase else ""
    return _modal(
        Callback.budget_increase_request,
        "Raise a budget",
        "Request",
        [
            _input(FormField.team, "Team", _select(teams)),
            _input(
                FormField.amount,
                f"Monthly increase ({currency})",
                _text_input(placeholder="e.g. 5000 or $5k", max_length=30),
                hint=f"Added to the team's monthly budget{ceiling}.",
            ),
            _input(
                FormField.reason,
                "Reason",
                _text_input(multiline=True, max_length=REASON_MAX),
                optional=True,
                hint="Approvers see it on the request.",
            ),
        ],
    )


FORM_VALUE_MAX = 3000  # Slack's longest plain_text_input; a longer value is not Slack's


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_form(values: object) -> Form:
    """view.state.values → {field: the typed or selected value, or None}; other blocks are left out.

    Whatever shape a submission has (it is signed, but the fields are the sender's), this reads
    it without raising: a value that is not text, or longer than Slack allows, counts as empty,
    so the checks answer "required" instead of the handler failing.
    """
    form: Form = {}
    for block_id, by_action in _dict(values).items():
        try:
            field = FormField(block_id)
        except ValueError:
            continue  # not one of the bot's inputs
        element = _dict(next(iter(_dict(by_action).values()), {}))
        selected = _dict(element.get("selected_option"))
        value = selected.get("value") if selected else element.get("value")
        usable = isinstance(value, str) and value.strip() and len(value) <= FORM_VALUE_MAX
        form[field] = value.strip() if usable and isinstance(value, str) else None
    return form


def read_view(view: object) -> Form:
    """A submitted view's form (`view.state.values`), whatever its shape."""
    return read_form(_dict(_dict(view).get("state")).get("values"))
