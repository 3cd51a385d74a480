"""Every action_id and callback_id the bot uses, in one place (handlers and renderers share them)."""

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
    incident_ack = "incident_ack"
    incident_resolve = "incident_resolve"


class Callback(StrEnum):
    approval_reject_reason = "approval_reject_reason"  # modal asking why a request is rejected
    promotion_request = "promotion_request"  # modal: promote MODEL VERSION to ALIAS
    budget_increase_request = "budget_increase_request"  # modal: raise TEAM's budget
    shortcut_promotion = "shortcut_promotion"
    shortcut_budget_increase = "shortcut_budget_increase"
