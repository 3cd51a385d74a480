"""Every action_id, callback_id, block_id and form field the bot uses, in one place (handlers and
renderers share them)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    page_more = "page_more"  # "more" button of a paginated answer; value is a PageRef
    share_in_channel = "share_in_channel"  # re-post an ephemeral answer for everyone
    did_you_mean = "did_you_mean"  # a suggested command or question; value is its text
    approval_approve = "approval_approve"
    approval_reject = "approval_reject"
    approval_retry = "approval_retry"  # run a failed approved request again
    approval_cancel = "approval_cancel"  # the requester withdraws a pending request
    home_request_promotion = "home_request_promotion"
    home_request_budget = "home_request_budget"
    # The buttons of an incident's root message; value is the incident id (silence: `id:hours`).
    incident_ack = "incident_ack"
    incident_resolve = "incident_resolve"
    # A digest's drill-down buttons; value is the digest's name, answered ephemerally.
    digest_spend_by_service = "digest_spend_by_service"
    digest_failing_pipelines = "digest_failing_pipelines"
    incident_silence = "incident_silence"
    incident_unsilence = "incident_unsilence"


class Callback(StrEnum):
    approval_reject_reason = "approval_reject_reason"  # modal asking why a request is rejected
    promotion_request = "promotion_request"  # modal: promote MODEL VERSION to ALIAS
    budget_increase_request = "budget_increase_request"  # modal: raise TEAM's budget
    incident_resolve_note = "incident_resolve_note"  # modal: resolve an incident, with a note
    shortcut_promotion = "shortcut_promotion"
    shortcut_budget_increase = "shortcut_budget_increase"


class BlockId(StrEnum):
    """Block ids of message and home blocks (those with an id number it: `approval_12`)."""

    did_you_mean = "did_you_mean"  # the suggestion buttons under an answer
    share = "share"  # the "Share in channel" button
    home_requests = "home_requests"  # App Home's request buttons
    approval = "approval"  # a card's decision buttons: `approval_<request id>`
    approval_cancel = "approval_cancel"  # the requester's cancel button: `approval_cancel_<id>`
    digest_drill = "digest_drill"  # a digest's drill-down buttons
    incident = "incident"  # an incident root's buttons: `incident_<id>`


class FormField(StrEnum):
    """The inputs of the request and reject modals: each is its input's block_id and action_id,
    the key of `read_form`'s answer and of the field errors sent back to Slack."""

    model = "model"
    version = "version"
    alias = "alias"
    team = "team"
    amount = "amount"
    reason = "reason"
    note = "note"
