"""Approvals end to end: signed /ops commands, button clicks and modals against the running app
with the demo company, the fake Slack recording every card, update, thread reply and refusal."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from itertools import count
from typing import Any

import pytest

from bot.approvals.types import RequestState
from bot.views.approval_cards import RequestRef
from bot.views.ids import Action, Callback
from tests.fakeslack import payloads as P
from tests.fakeslack.blockkit import validate_blocks

OWNER = "U0ML0EVA"  # ml-platform lead: the requester
APPROVER_A, APPROVER_B = "U0ML0HIRO", "U0ML0GRETA"
REGISTRAR = "U0ML0FARID"  # registered churn v14 (demo registry): excluded from its promotion
OUTSIDER = "U0DE0ANNA"  # data-eng: not an approver of an ml-platform model
FINANCE = "U0FI0MARTA"
ML_CHANNEL = "C0123MLPLAT"
NAMES = count(1)
PEOPLE = [
    "U0ADMIN01",
    "U0ML0EVA",
    "U0ML0FARID",
    "U0ML0GRETA",
    "U0ML0HIRO",
    "U0ML0INES",
    "U0DE0ANNA",
    "U0FI0MARTA",
    "U0FI0NOAH",
]


@pytest.fixture
def app(demo_app):  # type: ignore[no-untyped-def]
    demo_app.slack.users.update({u: P.user(u, u.lower(), u) for u in PEOPLE})
    return demo_app


def service(app) -> Any:  # type: ignore[no-untyped-def]
    return app.app.state.services.approvals


def posts(app, channel: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [
        c.params
        for c in app.slack.calls_to("chat.postMessage")
        if c.params.get("channel") == channel
    ]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def card_in(app, channel: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The first message the bot left in `channel` (a user id means their DM)."""
    return app.slack.messages(channel)[0]


async def wait(app, predicate, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    assert await app.slack.wait_for_async(lambda _s: predicate(), timeout=timeout)


async def click(
    app,
    action: Action,
    request_id: int,
    user: str,
    channel: str,  # type: ignore[no-untyped-def]
    message: dict[str, Any],
):
    value = RequestRef(request_id=request_id).dump()
    return await app.signer.block_actions(
        action, value=value, user_id=user, channel_id=channel, message=message
    )


async def promote(app, text: str, user: str = OWNER) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The answer, from the ack or (when slower than the ack budget) from the response_url."""
    name = f"cmd-{next(NAMES)}"
    resp = await app.signer.slash_command(
        text=text,
        user_id=user,
        channel_id=ML_CHANNEL,
        response_url=app.slack.response_url(name, channel=ML_CHANNEL),
    )
    assert resp.status_code == 200
    if "Working on it" not in resp.json().get("text", ""):
        return resp.json()
    await wait(app, lambda: app.slack.responses(name))
    return app.slack.responses(name)[-1]


def ephemerals_to(app, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.get("text", "") for e in app.slack.ephemerals() if e.get("to_user") == user]


async def test_promotion_goes_to_every_approver_and_executes_after_quorum(app):
    body = await promote(app, "promote churn 14 to champion because it beats v12 on AUC")
    assert "Request #1 sent to" in body["text"]
    eligible = ["U0ML0GRETA", "U0ML0HIRO", "U0ML0INES"]
    # a DM to every eligible approver (never the requester, nor whoever registered v14) and a
    # post in the team channel
    await wait(app, lambda: all(posts(app, u) for u in eligible) and posts(app, ML_CHANNEL))
    assert not posts(app, OWNER) and not posts(app, REGISTRAR)
    card = card_in(app, ML_CHANNEL)
    assert validate_blocks(card["blocks"], surface="message") == []
    text = json.dumps(card["blocks"])
    assert f"<@{OWNER}> asks to promote *churn* v14 to *champion*" in text
    assert "from v12 to v14" in text and "auc" in text
    assert buttons(card) == [Action.approval_approve, Action.approval_reject]

    # somebody who is not an approver: refused, no vote
    await click(app, Action.approval_approve, 1, OUTSIDER, ML_CHANNEL, card)
    await wait(app, lambda: ephemerals_to(app, OUTSIDER))
    assert "not an approver" in ephemerals_to(app, OUTSIDER)[0]
    # the requester: refused (separation of duties)
    await click(app, Action.approval_approve, 1, OWNER, ML_CHANNEL, card)
    await wait(app, lambda: ephemerals_to(app, OWNER))
    assert "You made this request" in ephemerals_to(app, OWNER)[0]
    assert (await service(app).snapshot(1)).approvals == []

    # first approval in a DM: recorded, every copy updated, still pending with buttons
    dm = card_in(app, APPROVER_A)
    await click(app, Action.approval_approve, 1, APPROVER_A, P.dm_channel_id(APPROVER_A), dm)
    copies = [*eligible, ML_CHANNEL]
    await wait(
        app,
        lambda: all("1 of 2" in json.dumps(card_in(app, c)["blocks"]) for c in copies),
    )
    assert (await service(app).snapshot(1)).state == RequestState.pending
    assert buttons(card_in(app, ML_CHANNEL)) == [Action.approval_approve, Action.approval_reject]
    # the one who registered v14 may not decide it
    await click(app, Action.approval_approve, 1, REGISTRAR, ML_CHANNEL, card)
    await wait(app, lambda: ephemerals_to(app, REGISTRAR))
    assert "you registered version 14 of churn" in ephemerals_to(app, REGISTRAR)[0]

    # second approval completes quorum: executed, alias moved, no buttons anywhere, thread reply
    await click(app, Action.approval_approve, 1, APPROVER_B, ML_CHANNEL, card)
    await wait(app, lambda: all(buttons(card_in(app, c)) == [] for c in copies))
    snap = await service(app).snapshot(1)
    assert snap.state == RequestState.executed, snap
    model = await app.app.state.services.sources.model("churn")
    assert model.value.aliases["champion"] == "14"

    def replied() -> bool:
        return all(app.slack.messages(c, thread_ts=card_in(app, c)["ts"]) for c in copies)

    await wait(app, replied)
    for channel in copies:
        message = card_in(app, channel)
        assert buttons(message) == [], channel
        assert "Done" in json.dumps(message["blocks"])
        assert validate_blocks(message["blocks"], surface="message") == []
        replies = app.slack.messages(channel, thread_ts=message["ts"])
        assert replies and "now points at version 14" in json.dumps(replies[-1]), channel

    # a late click is told who approved
    await click(app, Action.approval_approve, 1, "U0ML0INES", ML_CHANNEL, card)
    await wait(app, lambda: ephemerals_to(app, "U0ML0INES"))
    late = ephemerals_to(app, "U0ML0INES")[0]
    assert "Already approved by" in late and APPROVER_A in late and APPROVER_B in late


async def test_reject_with_a_reason_closes_the_request_everywhere(app):
    await promote(app, "promote churn 13 to challenger try the older one")
    await wait(app, lambda: posts(app, ML_CHANNEL))
    card = card_in(app, ML_CHANNEL)
    await click(app, Action.approval_reject, 1, APPROVER_A, ML_CHANNEL, card)
    await wait(app, lambda: app.slack.calls_to("views.open"))
    view = app.slack.calls_to("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == Callback.approval_reject_reason
    resp = await app.signer.view_submission(
        Callback.approval_reject_reason,
        values={"reason": {"reason": {"type": "plain_text_input", "value": "v13 is <worse>"}}},
        private_metadata=view["private_metadata"],
        user_id=APPROVER_A,
    )
    assert resp.status_code == 200 and not resp.content.strip(b"{} \n")
    snap = await service(app).snapshot(1)
    assert snap.state == RequestState.rejected and snap.rejection.reason == "v13 is <worse>"
    await wait(
        app,
        lambda: (
            "Rejected" in json.dumps(card_in(app, ML_CHANNEL)["blocks"])
            and "Rejected" in json.dumps(card_in(app, APPROVER_B)["blocks"])
        ),
    )
    for channel in (ML_CHANNEL, APPROVER_B):
        message = card_in(app, channel)
        assert buttons(message) == []
        assert "v13 is &lt;worse&gt;" in json.dumps(message["blocks"])


async def test_reject_reason_from_a_non_approver_shows_the_refusal_in_the_modal(app):
    await promote(app, "promote churn 13 to challenger")
    resp = await app.signer.view_submission(
        Callback.approval_reject_reason,
        values={"reason": {"reason": {"type": "plain_text_input", "value": "no"}}},
        private_metadata=RequestRef(request_id=1).dump(),
        user_id=OUTSIDER,
    )
    body = resp.json()
    assert body["response_action"] == "errors" and "not an approver" in body["errors"]["reason"]
    assert (await service(app).snapshot(1)).state == RequestState.pending


async def test_budget_increase_approved_by_an_owner_raises_the_stored_budget(app):
    body = await promote(app, "budget-increase ml-platform 3000 more GPUs for recs")
    assert "Request #1 sent to" in body["text"]
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, FINANCE))
    card = card_in(app, ML_CHANNEL)
    assert "What drove the spend" in json.dumps(card["blocks"])
    await click(app, Action.approval_approve, 1, APPROVER_A, ML_CHANNEL, card)
    await wait(
        app,
        lambda: any(
            "raised" in json.dumps(m) for m in app.slack.messages(ML_CHANNEL, thread_ts=card["ts"])
        ),
    )
    budget = await app.app.state.services.budgets.budget("ml-platform")
    assert budget.monthly == Decimal("63000")
    assert (await service(app).snapshot(1)).state == RequestState.executed


async def test_bad_amount_and_unknown_model_get_clear_answers(app):
    body = await promote(app, "budget-increase ml-platform lots")
    assert "is not an amount" in body["text"]
    body = await promote(app, "promote chrun 14 to champion")
    assert "Did you mean `churn`" in body["text"]
    body = await promote(app, "promote churn 99 to champion")
    assert "no version `99`" in body["text"]
    assert await service(app).requested_by(OWNER) == []


async def test_ops_approvals_lists_what_waits_for_me_and_what_i_asked(app):
    await promote(app, "promote churn 14 to champion")
    mine = (await promote(app, "approvals")).get("text", "")
    theirs = await promote(app, "approvals", user=APPROVER_A)
    assert "you made 1" in mine
    assert "1 request(s) wait for you" in theirs["text"]
    assert "#1" in json.dumps(theirs["blocks"])


def promotion_form(model: str, version: str, alias: str) -> dict[str, Any]:
    """The promotion modal's state values as Slack submits them."""
    return {
        "model": {"model": {"type": "static_select", "selected_option": {"value": model}}},
        "version": {"version": {"type": "plain_text_input", "value": version}},
        "alias": {"alias": {"type": "static_select", "selected_option": {"value": alias}}},
        "reason": {"reason": {"type": "plain_text_input", "value": None}},
    }


async def test_promotion_modal_reports_field_errors_and_opens_a_request(app):
    values = promotion_form("churn", "99", "champion")
    resp = await app.signer.view_submission(
        Callback.promotion_request, values=values, user_id=OWNER
    )
    assert resp.json()["response_action"] == "errors" and "version" in resp.json()["errors"]
    values["version"]["version"]["value"] = "14"
    resp = await app.signer.view_submission(
        Callback.promotion_request, values=values, user_id=OWNER
    )
    assert resp.status_code == 200
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, OWNER))
    assert "Request #1 sent to" in posts(app, OWNER)[0]["text"]


async def test_expired_request_updates_every_card_reminds_and_escalates(app):
    from datetime import timedelta

    from scheduler.approval_jobs import approvals_tick

    await promote(app, "promote churn 14 to champion nobody looks")
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, APPROVER_A))
    snap = await service(app).snapshot(1)
    deliver = app.app.state.services.approval_notices

    def said(channel: str, words: str) -> bool:
        return any(words in p.get("text", "") for p in posts(app, channel))

    # a day later (remind_every 24h): the approvers who have not decided get a reminder DM
    await approvals_tick(service(app), deliver, now=snap.created_at + timedelta(hours=25))
    await wait(app, lambda: said(APPROVER_A, "Reminder"))
    # after escalate_after (48h), the fallback team (ml-platform) is asked to stand in
    await approvals_tick(service(app), deliver, now=snap.created_at + timedelta(hours=49))
    await wait(app, lambda: said(ML_CHANNEL, "has waited too long"))
    assert (await service(app).snapshot(1)).escalated_at is not None

    # past the 72 h ttl: expired, every copy loses its buttons, ml-platform (escalate_to) is told
    report = await approvals_tick(service(app), deliver, now=snap.created_at + timedelta(hours=73))
    assert [r.id for r in report.expired] == [1]
    assert (await service(app).snapshot(1)).state == RequestState.expired

    def expired_everywhere() -> bool:
        return all(
            buttons(card_in(app, c)) == [] and "xpired" in json.dumps(card_in(app, c)["blocks"])
            for c in (ML_CHANNEL, APPROVER_A, APPROVER_B)
        )

    await wait(app, expired_everywhere)
    await wait(app, lambda: said(ML_CHANNEL, "expired without a decision"))
    # a tick that finds nothing new sends nothing again (claims are exactly once)
    before = len(app.slack.calls_to("chat.postMessage"))
    again = await approvals_tick(service(app), deliver, now=snap.created_at + timedelta(hours=74))
    assert again.expired == [] and again.escalations == [] and again.reminders == []
    assert again.notices_sent == 0
    assert len(app.slack.calls_to("chat.postMessage")) == before


async def test_a_click_after_the_ttl_expires_the_request_and_clears_every_card(app):
    await promote(app, "promote churn 14 to champion")
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, APPROVER_A))
    card = card_in(app, ML_CHANNEL)
    services = app.app.state.services
    approvals = service(app)
    real_clock = approvals.clock
    snap = await approvals.snapshot(1)
    approvals.clock = lambda: snap.expires_at  # no tick ran: the click is the first to notice
    try:
        await click(app, Action.approval_approve, 1, APPROVER_A, ML_CHANNEL, card)
        await wait(app, lambda: ephemerals_to(app, APPROVER_A))
        assert "expired" in ephemerals_to(app, APPROVER_A)[0]
        await wait(
            app,
            lambda: all(
                buttons(card_in(app, c)) == [] for c in (ML_CHANNEL, APPROVER_A, APPROVER_B)
            ),
        )
    finally:
        approvals.clock = real_clock
    assert (await approvals.snapshot(1)).state == RequestState.expired
    assert services.approvals is approvals


async def test_cards_are_still_updated_after_the_outbox_pruned_their_posts(app):
    import time

    from scheduler.jobs import prune_old_rows

    await promote(app, "promote churn 13 to challenger")
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, APPROVER_A))
    card = card_in(app, ML_CHANNEL)
    services = app.app.state.services
    # the tick copies where each card landed (its ts, a DM's D… channel) into approval_copy
    for _ in range(50):
        await service(app).tick()
        copies = (await service(app).snapshot(1)).messages
        if len(copies) == 5 and all(c.ts for c in copies):
            break
        await asyncio.sleep(0.1)
    assert len(copies) == 5 and all(c.ts for c in copies), copies
    assert {c.posted_channel for c in copies if c.kind == "dm"} >= {P.dm_channel_id(APPROVER_A)}
    # a week later the outbox has forgotten the posts
    pruned = prune_old_rows(services.engine, now=time.time() + 8 * 24 * 3600)
    assert pruned.messages >= len(copies)
    await click(app, Action.approval_approve, 1, APPROVER_A, ML_CHANNEL, card)
    await wait(
        app,
        lambda: all(buttons(card_in(app, c)) == [] for c in (ML_CHANNEL, APPROVER_A, APPROVER_B)),
    )
    assert (await service(app).snapshot(1)).state == RequestState.executed
    assert (await service(app).snapshot(1)).state == RequestState.executed
    dm = P.dm_channel_id(APPROVER_A)
    updated = [c.params for c in app.slack.calls_to("chat.update") if c.params["channel"] == dm]
    assert updated and updated[-1]["ts"] == card_in(app, APPROVER_A)["ts"]
    # and the outbox hands out fresh ids after the prune, never a pruned message's
    with services.engine.connect() as conn:
        fresh = conn.exec_driver_sql("SELECT min(id) FROM outbox_message").scalar()
    assert fresh > len(copies)


async def test_the_requester_can_cancel_from_the_confirmation_and_nobody_else_can(app):
    body = await promote(app, "promote churn 13 to challenger")
    assert buttons(body) == [Action.approval_cancel]
    body = {**body, "ts": "1700000000.000009"}  # the ephemeral confirmation the button is on
    await wait(app, lambda: posts(app, ML_CHANNEL) and posts(app, APPROVER_A))
    await click(app, Action.approval_cancel, 1, APPROVER_A, ML_CHANNEL, body)
    await wait(app, lambda: ephemerals_to(app, APPROVER_A))
    assert "Only the requester can cancel" in ephemerals_to(app, APPROVER_A)[0]
    assert (await service(app).snapshot(1)).state == RequestState.pending
    await click(app, Action.approval_cancel, 1, OWNER, ML_CHANNEL, body)
    await wait(app, lambda: ephemerals_to(app, OWNER))
    assert "Request #1 is cancelled" in ephemerals_to(app, OWNER)[0]
    assert (await service(app).snapshot(1)).state == RequestState.cancelled
    await wait(
        app,
        lambda: all(
            buttons(card_in(app, c)) == [] and "ancelled" in json.dumps(card_in(app, c)["blocks"])
            for c in (ML_CHANNEL, APPROVER_A, APPROVER_B)
        ),
    )
    # cancelled twice: told why, nothing changes
    await click(app, Action.approval_cancel, 1, OWNER, ML_CHANNEL, body)
    await wait(app, lambda: len(ephemerals_to(app, OWNER)) > 1)
    assert "Only a pending request can be cancelled" in ephemerals_to(app, OWNER)[1]


async def test_a_slow_modal_check_closes_the_modal_and_answers_by_dm(app, monkeypatch):
    from bot.surfaces import approval_requests

    monkeypatch.setattr(approval_requests, "MODAL_ANSWER_SECONDS", 0.0)
    values = promotion_form("churn", "99", "champion")
    resp = await app.signer.view_submission(
        Callback.promotion_request, values=values, user_id=OWNER
    )
    assert resp.status_code == 200 and not resp.content.strip(b"{} \n")  # closed at once
    await wait(app, lambda: posts(app, OWNER))
    assert "Your request was not opened" in posts(app, OWNER)[0]["text"]
    assert "no version `99`" in posts(app, OWNER)[0]["text"]
    values["version"]["version"]["value"] = "13"
    values["alias"]["alias"]["selected_option"]["value"] = "challenger"
    await app.signer.view_submission(Callback.promotion_request, values=values, user_id=OWNER)
    await wait(app, lambda: len(posts(app, OWNER)) > 1)
    assert "Request #1 sent to" in posts(app, OWNER)[1]["text"]
    assert (await service(app).snapshot(1)).state == RequestState.pending


async def test_a_button_is_acked_at_once_while_the_zone_lookup_hangs(app, monkeypatch):
    # An App Home button opens a modal on a trigger_id that lives 3 s: the ack (and the modal)
    # must not wait for users.info. The lookup may take 6 s here and users.info takes 8 s, so
    # an ack that waited for it could not come back within the 3 s asserted below.
    from bot.surfaces import user_zone

    monkeypatch.setattr(user_zone.user_timezone, "__kwdefaults__", {"timeout": 6.0})
    user_zone.forget_zones()
    app.slack.hang_next("users.info", 8.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await app.signer.block_actions(Action.home_request_promotion, user_id=OWNER)
    assert resp.status_code == 200
    await wait(app, lambda: app.slack.calls_to("views.open"))
    assert loop.time() - started < 3.0
