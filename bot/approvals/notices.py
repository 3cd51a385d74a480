"""What the approvals tick tells Slack: expired cards updated everywhere, reminder DMs to the
approvers who have not decided, and the escalation team told about an expired request."""

from __future__ import annotations

from typing import Any

from bot.approvals.cards import subject_text
from bot.approvals.delivery import refresh
from bot.approvals.types import TickReport
from scheduler.approval_jobs import Notifier


def slack_notifier(services: dict[str, Any]) -> Notifier:
    async def notify(report: TickReport) -> None:
        outbox = services["outbox"]
        config = services.get("ops_config")
        for expired in report.expired:
            await refresh(services, expired)
        for reminder in report.reminders:
            request = reminder.request
            for user in reminder.users:
                await outbox.aenqueue(
                    method="chat.postMessage",
                    channel=user,
                    payload={
                        "text": f":bell: Reminder: request #{request.id} still needs your "
                        f"decision — {subject_text(request)}. The card with the buttons is "
                        "in this conversation and in the team channel.",
                    },
                )
        for escalation in report.escalations:
            team = config.teams.get(escalation.team) if config else None
            if team is None:
                continue
            request = escalation.request
            await outbox.aenqueue(
                method="chat.postMessage",
                channel=team.channel,
                payload={
                    "text": f":rotating_light: Request #{request.id} expired without a decision "
                    f"— {subject_text(request)}, asked by <@{request.requester}>. "
                    "Please follow up: it can be requested again with the same command.",
                },
            )

    return notify
