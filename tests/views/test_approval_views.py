"""Approval cards, modals and request forms: pure renderers checked against Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.approvals.evidence import BudgetEvidence, PromotionEvidence
from bot.approvals.types import (
    BudgetSubject,
    GroupNeed,
    PromotionSubject,
    RequestKind,
    RequestSnapshot,
    RequestState,
    Vote,
)
from bot.commands.approvals import AmountError, parse_amount
from bot.views.approval_cards import RequestRef, approval_card, result_reply
from bot.views.approval_lists import render_approvals
from bot.views.approval_modals import budget_modal, promotion_modal, read_form, reject_modal
from bot.views.ids import Action, Callback
from integrations.focus.analysis import Mover
from integrations.models import Budget, ModelHealth, ModelVersion, SourceProblem
from tests.fakeslack import validate_blocks, validate_view


def dump(blocks: object) -> str:
    return json.dumps(blocks, ensure_ascii=False)


AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ML = ["U0ML0FARID", "U0ML0GRETA", "U0ML0HIRO"]


def snapshot(state: RequestState = RequestState.pending, **changes: object) -> RequestSnapshot:
    approvals = [Vote(user="U0ML0FARID", approve=True, at=AT, surface="dm", groups=["owners"])]
    values: dict[str, object] = dict(
        id=12,
        kind=RequestKind.promotion,
        state=state,
        subject=PromotionSubject(
            model="churn", version="14", alias="champion", current_version="12"
        ),
        requester="U0ML0EVA",
        reason="beats v12 on AUC <!channel>",
        surface="slash_command",
        policy="promote-to-production",
        quorum=2,
        approvals=approvals,
        rejection=None,
        needs=[
            GroupNeed(group="owners", label="owners (ml-platform)", members=ML, satisfied=True),
            GroupNeed(
                group="team:ml-platform", label="team ml-platform", members=ML, satisfied=False
            ),
        ],
        eligible=ML[1:] if state == RequestState.pending else [],
        approvers=ML,
        team="ml-platform",
        created_at=AT,
        expires_at=AT + timedelta(hours=72),
    )
    if state != RequestState.pending:
        values["decided_at"] = AT + timedelta(hours=1)
    values.update(changes)
    return RequestSnapshot(**values)  # type: ignore[arg-type]


def version(v: str, auc: float) -> ModelVersion:
    return ModelVersion(model="churn", version=v, metrics={"auc": auc, "f1": 0.6})


PROMOTION_EVIDENCE = PromotionEvidence(
    model="churn",
    candidate=version("14", 0.8724),
    current=version("12", 0.8628),
    health=ModelHealth(model="churn", latency_p95_ms=49.3, error_rate=0.0026, drift=0.07),
    serving={"USD": Decimal("1137.92")},
    cost_days=30,
    cost_change="no cost change expected from metadata",
)


def buttons(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_pending_card_says_who_asks_what_and_offers_approve_and_reject():
    card = approval_card(snapshot(), PROMOTION_EVIDENCE, tz=UTC)
    assert validate_blocks(card.blocks, surface="message") == []
    text = dump(card.blocks)
    assert "<@U0ML0EVA> asks to promote *churn* v14 to *champion*" in text
    assert "alias *champion* of *churn* from v12 to v14" in text
    assert "1 of 2" in text and "team ml-platform — pending" in text
    assert "no cost change expected from metadata" in text and "p95 49 ms" in text
    assert buttons(card.blocks) == [Action.approval_approve, Action.approval_reject]
    value = card.blocks[-2]["elements"][0]["value"]
    assert RequestRef.read(value) == RequestRef(request_id=12)
    assert json.loads(value) == {"request_id": 12}  # nothing but the id


def test_reason_is_escaped_so_it_cannot_ping_the_channel():
    text = dump(approval_card(snapshot(), None, tz=UTC).blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


@pytest.mark.parametrize(
    "state",
    [
        RequestState.approved,
        RequestState.executed,
        RequestState.rejected,
        RequestState.expired,
        RequestState.cancelled,
    ],
)
def test_decided_card_has_no_buttons(state):
    extra = (
        {"result": "champion of churn now points at version 14"}
        if state == RequestState.executed
        else {}
    )
    if state == RequestState.rejected:
        extra["rejection"] = Vote(
            user="U0ML0GRETA", approve=False, at=AT, surface="modal", reason="not yet"
        )
    card = approval_card(snapshot(state, **extra), PROMOTION_EVIDENCE, tz=UTC)
    assert validate_blocks(card.blocks, surface="message") == []
    assert buttons(card.blocks) == []


def test_executed_card_and_thread_reply_say_who_approved_and_the_result():
    done = snapshot(RequestState.executed, result="champion of churn now points at version 14")
    text = dump(approval_card(done, PROMOTION_EVIDENCE, tz=UTC).blocks)
    assert "Approved* by <@U0ML0FARID>" in text and "now points at version 14" in text
    assert "<!date^" in text  # when, in each reader's zone
    reply = result_reply(done, tz=UTC)
    assert "now points at version 14" in dump(reply.blocks)


def test_rejected_card_shows_who_rejected_and_why():
    vote = Vote(user="U0ML0GRETA", approve=False, at=AT, surface="modal", reason="drift <high>")
    text = dump(approval_card(snapshot(RequestState.rejected, rejection=vote), None, tz=UTC).blocks)
    assert "Rejected* — <@U0ML0GRETA> rejected" in text and "drift &lt;high&gt;" in text


def test_failed_card_shows_the_error_and_only_a_retry_button():
    failed = snapshot(RequestState.failed, error="registry timed out")
    card = approval_card(failed, PROMOTION_EVIDENCE, tz=UTC)
    assert validate_blocks(card.blocks, surface="message") == []
    assert buttons(card.blocks) == [Action.approval_retry]
    assert "registry timed out" in dump(card.blocks)


def test_expired_card_says_it_expired():
    text = dump(approval_card(snapshot(RequestState.expired), None, tz=UTC).blocks)
    assert "Expired" in text


def test_budget_card_shows_burn_forecast_and_what_drove_the_spend():
    subject = BudgetSubject(
        team="ml-platform", amount=Decimal(3000), currency="USD", current_monthly=Decimal(60000)
    )
    snap = snapshot(kind=RequestKind.budget_increase, subject=subject, policy="budget-increase")
    evidence = BudgetEvidence(
        team="ml-platform",
        budget=Budget(team="ml-platform", monthly=Decimal(60000)),
        spent_mtd=Decimal("55259"),
        forecast=Decimal("72077"),
        compared_with="the same days of October",
        services=(Mover(key="Amazon SageMaker", current=Decimal(45866), previous=Decimal(30060)),),
        models=(Mover(key="recs", current=Decimal(28330), previous=Decimal(9639)),),
        problems=(SourceProblem(source="aws", reason="timed out after 5.0 s"),),
    )
    card = approval_card(snap, evidence, tz=UTC)
    assert validate_blocks(card.blocks, surface="message") == []
    text = dump(card.blocks)
    assert "raise the *ml-platform* budget by $3,000 a month" in text
    assert "from $60,000 to $63,000" in text
    assert "$55,259" in text and "$72,077" in text and "Amazon SageMaker" in text
    assert "recs" in text and "+$18,691" in text
    assert "Partial answer" in text and "aws" in text  # a down source degrades, never breaks


def test_a_huge_reason_and_many_approvers_stay_within_slack_limits():
    many = [f"U{i:08d}" for i in range(300)]
    big = snapshot(reason="x" * 10_000, eligible=many, approvers=many)
    assert validate_blocks(approval_card(big, PROMOTION_EVIDENCE, tz=UTC).blocks) == []


def test_reject_modal_carries_only_the_request_id():
    view = reject_modal(snapshot())
    assert validate_view(view) == []
    assert view["callback_id"] == Callback.approval_reject_reason
    assert len(view["title"]["text"]) <= 24
    assert RequestRef.read(view["private_metadata"]) == RequestRef(request_id=12)


def test_request_modals_are_valid_views():
    promo = promotion_modal(models=["churn", "fraud"], aliases=["champion", "challenger"])
    budget = budget_modal(
        teams=[("ml-platform", "ML Platform")], currency="USD", max_increase=Decimal(25000)
    )
    for view in (promo, budget, promotion_modal(models=[], aliases=["champion"])):
        assert validate_view(view) == [], view
        assert len(view["title"]["text"]) <= 24


def test_read_form_takes_typed_and_selected_values():
    values = {
        "model": {"model": {"type": "static_select", "selected_option": {"value": "churn"}}},
        "version": {"version": {"type": "plain_text_input", "value": " 14 "}},
        "reason": {"reason": {"type": "plain_text_input", "value": None}},
    }
    assert read_form(values) == {"model": "churn", "version": "14", "reason": None}


def test_approvals_list_shows_waiting_and_mine_with_state():
    reply = render_approvals([snapshot()], [snapshot(RequestState.executed, id=13)], tz=UTC)
    assert validate_blocks(reply.blocks) == []
    text = dump(reply.blocks)
    assert "Waiting for you* (1)" in text and "#12" in text and "asked by <@U0ML0EVA>" in text
    assert "Your requests* (1)" in text and "#13" in text and "executed" in text


def test_a_long_approvals_list_pages_with_more_instead_of_being_cut():
    from bot.views.paging import PageRef

    waiting = [snapshot(id=100 + i) for i in range(23)]
    mine = [snapshot(RequestState.executed, id=200 + i) for i in range(5)]
    first = render_approvals(waiting, mine, tz=UTC, command="approvals", page=0)
    assert validate_blocks(first.blocks) == []
    text = dump(first.blocks)
    assert "#100" in text and "#109" in text and "#110" not in text and "#204" in text
    more = [e for b in first.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in more] == [Action.page_more]
    ref = PageRef.model_validate_json(more[0]["value"])
    assert (ref.command, ref.page) == ("approvals", 1)
    second = render_approvals(waiting, mine, tz=UTC, command=ref.command, page=ref.page)
    text = dump(second.blocks)
    assert "(11–20 of 23)" in text and "#110" in text and "#119" in text and "#109" not in text
    assert "all 5 shown on earlier pages" in text
    last = render_approvals(waiting, mine, tz=UTC, page=2)
    assert "#122" in dump(last.blocks)
    assert not [b for b in last.blocks if b["type"] == "actions"]  # nothing left to page


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5000", "5000"),
        ("5,000", "5000"),
        ("$5k", "5000"),
        ("5000.50", "5000.50"),
        ("1.5k", "1500"),
        ("12,500 USD", "12500"),
        ("$ 2K", "2000"),
    ],
)
def test_amounts_people_write_are_understood(text, amount):
    assert parse_amount(text, currency="USD") == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("lots", "not an amount"),
        ("-5", "not an amount"),
        ("0", "more than zero"),
        ("5000.505", "more than cents"),
        ("€5k", "not EUR"),
        ("5,00", "not an amount"),
    ],
)
def test_bad_amounts_get_a_clear_message(text, why):
    with pytest.raises(AmountError, match=why):
        parse_amount(text, currency="USD")
