"""Approval buttons: Approve / Reject (with its reason modal) / Retry on the cards, and Cancel on
the requester's confirmation. The request modals are in approval_requests.py.

Every handler acks first. Who may decide is the approval service's call alone: the button's
value only says which request was clicked.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.types import Refused, RequestState, UnknownRequest
from bot.delivery.approvals import ApprovalNotifier
from bot.delivery.notes import tell
from bot.services import Services
from bot.views.approval_cards import RequestRef
from bot.views.approval_modals import read_view, reject_modal
from bot.views.field_errors import field_errors
from bot.views.ids import Action, Callback, FormField

log = structlog.get_logger(__name__)

# A button or form naming a request that is not in the database (a forged or stale id).
NO_SUCH_REQUEST = "That request does not exist."


def _surface(body: dict[str, Any]) -> str:
    channel = (body.get("channel") or {}).get("id", "")
    return "dm" if channel.startswith("D") else "team_channel"


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    return body["user"]["id"], (body.get("channel") or {}).get("id")


def _clicked(body: dict[str, Any]) -> RequestRef | None:
    action = (body.get("actions") or [{}])[0]
    return RequestRef.read(action.get("value"))


async def reason_error(ack: AsyncAck, message: str) -> None:
    """The reject-reason modal stays open, saying why under its field (as plain text)."""
    await ack(response_action="errors", errors=field_errors({FormField.reason: message}))


async def finish(notices: ApprovalNotifier, request_id: int, execute: bool) -> None:
    """After a decision: tell everyone (every copy of the card shows it), and carry it out if
    this one completed quorum (the service lets exactly one caller through), then tell again.
    Execution comes before anything that could fail on the Slack side; what is not delivered
    here, and an execution that never ran, the approvals tick picks up."""
    if execute:
        await notices.approvals.execute(request_id=request_id)
    await notices.deliver_now(request_id)


def register(app: AsyncApp, *, services: Services) -> None:
    outbox = services.sending()

    def notifier() -> ApprovalNotifier | None:
        """None when approvals are not set up (no ops.yml)."""
        return services.approval_notices

    @app.action(Action.approval_approve)
    async def on_approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        ref, notices = _clicked(body), notifier()
        if ref is None or notices is None:
            await tell(outbox, channel=channel, user=user, text="That button is not valid.")
            return
        try:
            outcome = await notices.approvals.decide(
                request_id=ref.request_id, user=user, approve=True, surface=_surface(body)
            )
        except UnknownRequest:
            await tell(outbox, channel=channel, user=user, text=NO_SUCH_REQUEST)
            return
        if outcome.status != "recorded":
            await tell(outbox, channel=channel, user=user, text=outcome.message)
        # Even a refused click may have changed the request (it expired on being clicked).
        await finish(notices, ref.request_id, outcome.execute)

    @app.action(Action.approval_reject)
    async def on_reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user, channel = _where(body)
        ref, notices = _clicked(body), notifier()
        snapshot = await notices.approvals.snapshot(ref.request_id) if ref and notices else None
        if notices is None or snapshot is None:
            await tell(outbox, channel=channel, user=user, text=NO_SUCH_REQUEST)
            return
        if snapshot.state != RequestState.pending or user not in snapshot.eligible:
            # Not someone who may still decide (the server's list): decide() then only explains
            # why — closed, already voted, the requester, not an approver — and records nothing.
            outcome = await notices.approvals.decide(
                request_id=snapshot.id, user=user, approve=False, surface=_surface(body)
            )
            await tell(outbox, channel=channel, user=user, text=outcome.message)
            await finish(notices, snapshot.id, execute=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=reject_modal(snapshot))

    @app.view(Callback.approval_reject_reason)
    async def on_reject_reason(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref, notices = RequestRef.read(view.get("private_metadata")), notifier()
        reason = read_view(view).get(FormField.reason)
        if ref is None or notices is None:
            await reason_error(ack, "This form has expired.")
            return
        try:
            outcome = await notices.approvals.decide(
                request_id=ref.request_id,
                user=body["user"]["id"],
                approve=False,
                reason=reason,
                surface="modal",
            )
        except UnknownRequest:
            await reason_error(ack, NO_SUCH_REQUEST)
            return
        if outcome.status != "recorded":
            await reason_error(ack, outcome.message)
            return
        await ack()
        await finish(notices, ref.request_id, execute=False)

    @app.action(Action.approval_retry)
    async def on_retry(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        ref, notices = _clicked(body), notifier()
        if ref is None or notices is None:
            await tell(outbox, channel=channel, user=user, text="That button is not valid.")
            return
        try:
            retried = await notices.approvals.retry(request_id=ref.request_id, user=user)
        except UnknownRequest:
            retried = Refused(reason=NO_SUCH_REQUEST)
        if isinstance(retried, Refused):
            await tell(outbox, channel=channel, user=user, text=retried.reason)
            return
        await notices.deliver_now(ref.request_id)

    @app.action(Action.approval_cancel)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _where(body)
        ref, notices = _clicked(body), notifier()
        if ref is None or notices is None:
            await tell(outbox, channel=channel, user=user, text="That button is not valid.")
            return
        try:
            cancelled = await notices.approvals.cancel(request_id=ref.request_id, user=user)
        except UnknownRequest:
            cancelled = Refused(reason=NO_SUCH_REQUEST)
        if isinstance(cancelled, Refused):
            await tell(outbox, channel=channel, user=user, text=cancelled.reason)
            return
        await tell(
            outbox,
            channel=channel,
            user=user,
            text=f":no_entry_sign: Request #{cancelled.id} is cancelled; its approvers' cards say so.",
        )
        await notices.deliver_now(cancelled.id)
