""" "Advance the clock": move the sandbox's time on and run the approvals tick at that moment, so
reminders, escalations and expiries happen now instead of in a day."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.controls import Control, ControlContext, ControlError, Field
from scheduler.approval_jobs import approvals_tick, log_notices

MAX_HOURS = 24 * 30


async def advance(ctx: ControlContext, values: dict[str, str]) -> str:
    try:
        hours = float(values.get("hours") or "0")
    except ValueError:
        raise ControlError(f"Hours must be a number, not {values.get('hours')!r}.") from None
    if not 0 < hours <= MAX_HOURS:
        raise ControlError(f"Advance by more than 0 and at most {MAX_HOURS} hours.")
    ctx.clock.offset += timedelta(hours=hours)
    now = ctx.clock.now()
    services = ctx.app.state.services
    approvals = services.approvals
    moved = f"Clock moved on {hours:g} h to {now:%a %d %b %H:%M} UTC"
    if approvals is None:
        return f"{moved}; no approvals are configured, so nothing else happened."
    report = await approvals_tick(approvals, services.approval_notices or log_notices, now=now)
    return (
        f"{moved}. Approvals tick: {len(report.reminders)} reminder(s), "
        f"{len(report.escalations)} escalation(s), {len(report.expired)} expired, "
        f"{len(report.executed)} stalled execution(s) run."
    )


ADVANCE_CLOCK = Control(
    name="advance-clock",
    label="Advance the clock",
    help="Move time on and run the approvals tick: reminders, escalations and expiries fire.",
    run=advance,
    fields=(Field("hours", "Hours", kind="number", default="24"),),
)
