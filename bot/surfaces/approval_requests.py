"""The request modals: promotion and budget increase, opened from App Home or a global shortcut,
validated (model and version exist, alias allowed, amount positive and within the cap) and
turned into requests by the same path as `/ops promote` and `/ops budget-increase`.

A view submission must be answered within Slack's 3 s, with field errors if there are any. The
checks ask the model registry, which may be slow: they get MODAL_ANSWER_SECONDS; if they take
longer the modal closes and the outcome (errors or the request) arrives as a DM instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.types import Refused
from bot.commands.approvals import (
    BudgetAsk,
    PromotionAsk,
    budgeted_teams,
    check_budget,
    check_promotion,
    problems_reply,
    routed,
)
from bot.delivery.notes import Enqueues, tell_reply
from bot.services import Services
from bot.views.approval_modals import budget_modal, promotion_modal, read_view
from bot.views.field_errors import field_errors
from bot.views.ids import Action, Callback, FormField
from bot.views.reply import Reply

log = structlog.get_logger(__name__)

MODAL_ANSWER_SECONDS = 2.0  # of Slack's 3 s for a view submission
Problems = dict[FormField, str]  # what is wrong with each field (as in commands)
Outcome = Problems | Reply


async def answer_within_deadline(
    ack: AsyncAck, outbox: Enqueues, user: str, work: Callable[[], Awaitable[Outcome]]
) -> None:
    """Field errors in the modal when the checks are quick; otherwise close it and DM."""
    task = asyncio.ensure_future(work())
    done, _ = await asyncio.wait({task}, timeout=MODAL_ANSWER_SECONDS)
    if task in done:
        outcome = task.result()
        if isinstance(outcome, dict):
            await ack(response_action="errors", errors=field_errors(outcome))
            return
        await ack()
        await tell_reply(outbox, user=user, reply=outcome)
        return
    await ack()  # Slack's deadline comes first: the answer follows as a DM
    log.info("approval.modal_slow", user=user)
    outcome = await task
    await tell_reply(
        outbox,
        user=user,
        reply=(
            problems_reply(outcome, intro="Your request was not opened:\n")
            if isinstance(outcome, dict)
            else outcome
        ),
    )


def register(app: AsyncApp, *, services: Services) -> None:
    outbox = services.sending()

    async def open_promotion(client: AsyncWebClient, trigger_id: str) -> None:
        deps = services.answer_deps()
        if deps is None:
            return
        listed = await deps.sources.all_models()
        view = promotion_modal(
            models=sorted({m.name for m in listed.value}),
            aliases=list(deps.config.approvals.allowed_aliases),
        )
        await client.views_open(trigger_id=trigger_id, view=view)

    async def open_budget(client: AsyncWebClient, trigger_id: str) -> None:
        deps = services.answer_deps()
        if deps is None:
            return
        teams = [
            (slug, deps.config.teams[slug].name or slug) for slug in await budgeted_teams(deps)
        ]
        view = budget_modal(
            teams=teams,
            currency=deps.config.workspace.currency,
            max_increase=deps.config.approvals.max_budget_increase,
        )
        await client.views_open(trigger_id=trigger_id, view=view)

    @app.action(Action.home_request_promotion)
    async def on_home_promotion(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_promotion(client, body["trigger_id"])

    @app.shortcut(Callback.shortcut_promotion)
    async def on_shortcut_promotion(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_promotion(client, body["trigger_id"])

    @app.action(Action.home_request_budget)
    async def on_home_budget(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_budget(client, body["trigger_id"])

    @app.shortcut(Callback.shortcut_budget_increase)
    async def on_shortcut_budget(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_budget(client, body["trigger_id"])

    @app.view(Callback.promotion_request)
    async def on_promotion_request(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        user = body["user"]["id"]
        form = read_view(view)

        async def work() -> Outcome:
            deps, approvals = services.answer_deps(), services.approvals
            if deps is None or approvals is None:
                return {FormField.model: "Approvals are not set up."}
            checked = await check_promotion(
                deps,
                model=form.get(FormField.model) or "",
                version=form.get(FormField.version) or "",
                alias=form.get(FormField.alias) or "",
            )
            if not isinstance(checked, PromotionAsk):
                return checked
            made = await approvals.request_promotion(
                requester=user,
                model=checked.model,
                version=checked.version,
                alias=checked.alias,
                reason=form.get(FormField.reason),
                surface="modal",
            )
            if isinstance(made, Refused):
                return {FormField.alias: made.reason[:300]}
            return await routed(services, made)

        await answer_within_deadline(ack, outbox, user, work)

    @app.view(Callback.budget_increase_request)
    async def on_budget_request(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        form = read_view(view)

        async def work() -> Outcome:
            deps, approvals = services.answer_deps(), services.approvals
            if deps is None or approvals is None:
                return {FormField.team: "Approvals are not set up."}
            checked = await check_budget(
                deps, team=form.get(FormField.team) or "", amount=form.get(FormField.amount) or ""
            )
            if not isinstance(checked, BudgetAsk):
                return checked
            made = await approvals.request_budget_increase(
                requester=user,
                team=checked.team,
                amount=checked.amount,
                reason=form.get(FormField.reason),
                surface="modal",
            )
            if isinstance(made, Refused):
                return {FormField.amount: made.reason[:300]}
            return await routed(services, made)

        await answer_within_deadline(ack, outbox, user, work)
