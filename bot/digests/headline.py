"""What changed since the previous digest of the same name: the state a digest leaves behind
(JSON, stored after posting) and the headline items the next one finds by comparing with it.

Items that are news (a new failure, a recovery, a model over a threshold, a budget's status,
new approvals, incidents opened or resolved, a spend mover not reported before) make a digest
not quiet; what merely continues (still failing, still waiting) is in the sections only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from bot.answers.budgets import BudgetLine
from bot.answers.pipelines import failing_streak
from bot.digests.facts import Facts
from integrations.focus.analysis import Mover

STATE_VERSION = 1
MOVER_MIN_CHANGE = 0.15  # a service's spend moving less than 15% is not headline news
MOVER_MIN_SHARE = Decimal("0.02")  # nor one moving by less than 2% of the scope's spend
MOVER_AGAIN = Decimal("0.10")  # a mover reported before is news again when it moved ≥ 10% more

Kind = Literal[
    "failure",
    "recovery",
    "model_over",
    "model_back",
    "spend_mover",
    "budget",
    "approvals",
    "incident_opened",
    "incident_resolved",
]


@dataclass(frozen=True)
class Change:
    kind: Kind
    subject: str  # pipeline, model, service, team, incident title
    detail: str = ""  # raw text (views escape it)
    amount: Decimal | None = None
    change: float | None = None
    count: int = 0


def budget_status(line: BudgetLine) -> str:
    if line.over:
        return "over"
    if line.at_risk:
        return "at risk"
    return "on track"


def _movers(facts: Facts) -> list[Mover]:
    out: list[Mover] = []
    if "spend" not in facts.digest.sections:
        return out  # spend read for budgets or idle costs only: its movers are not this digest's
    for _team, answer in facts.spend:
        if answer.no_data or answer.data_starts is not None:
            continue  # nothing to compare with: no mover is news
        total = answer.total.current if answer.total else Decimal(0)
        for mover in answer.movers:
            if not mover.previous:
                continue
            change = (mover.current - mover.previous) / mover.previous
            if abs(change) < Decimal(str(MOVER_MIN_CHANGE)):
                continue
            if total and abs(mover.delta) < total * MOVER_MIN_SHARE:
                continue
            out.append(mover)
    return out


def digest_state(facts: Facts) -> dict[str, Any]:
    """The JSON-able snapshot the next digest of this name compares with."""
    return {
        "version": STATE_VERSION,
        "at": facts.now.isoformat(),
        "failing": {s.pipeline.name: len(failing_streak(s.runs)) for s in facts.failing},
        "pipelines": sorted(s.pipeline.name for s in facts.statuses),
        "models": {m.name: list(h.problems) for m, h, _t in facts.models if h and h.problems},
        "models_known": sorted(m.name for m, h, _t in facts.models if h is not None),
        "budgets": {b.team: budget_status(b) for b in facts.budgets},
        "movers": {m.key: str(m.current) for m in _movers(facts)},
        "approvals": sorted(str(a.id) for a in facts.approvals),
        "incidents": {str(i.id): i.title for i in facts.incidents},
        "missing": sorted(facts.missing),
    }


def _was(previous: Mapping[str, Any], key: str) -> Any:
    value = previous.get(key)
    return value if isinstance(value, dict | list) else {}


def changes(facts: Facts, previous: Mapping[str, Any] | None) -> list[Change]:
    """What is news since `previous` (None: the first digest, so every problem is news)."""
    prev: Mapping[str, Any] = previous or {}
    first = previous is None
    missing = set(facts.missing)
    out: list[Change] = []

    # Pipelines: new failures and recoveries (only when both reads could see pipelines).
    if "pipelines" not in missing:
        before = _was(prev, "failing")
        for status in facts.failing:
            name = status.pipeline.name
            if first or name not in before:
                out.append(Change("failure", name, count=len(failing_streak(status.runs))))
        known = {s.pipeline.name for s in facts.statuses}
        failing_now = {s.pipeline.name for s in facts.failing}
        for name in sorted(before):
            if name in known and name not in failing_now:
                out.append(Change("recovery", name))

    # Models over or back under their thresholds.
    if "models" not in missing:
        before_models = _was(prev, "models")
        for model, health, _team in facts.models:
            if health is None:
                continue
            if health.problems and (first or model.name not in before_models):
                out.append(Change("model_over", model.name, "; ".join(health.problems)))
            elif not health.problems and model.name in before_models:
                out.append(Change("model_back", model.name))

    # Spend movers not reported before (or that moved on by ≥ 10% since).
    reported = _was(prev, "movers")
    for mover in _movers(facts):
        old = reported.get(mover.key)
        if old is not None:
            try:
                again = (
                    abs(mover.current - Decimal(str(old))) >= abs(Decimal(str(old))) * MOVER_AGAIN
                )
            except ArithmeticError:
                again = True
            if not again:
                continue
        out.append(
            Change(
                "spend_mover",
                mover.key,
                detail=mover.currency,
                amount=mover.current,
                change=float((mover.current - mover.previous) / mover.previous),
            )
        )

    # Budgets whose status changed (the first digest: those not on track).
    budgets_before = _was(prev, "budgets")
    for line in facts.budgets:
        now_status = budget_status(line)
        if (first and now_status != "on track") or (
            not first and budgets_before.get(line.team, now_status) != now_status
        ):
            out.append(
                Change("budget", line.team, now_status, amount=line.forecast, change=line.burn)
            )

    # Approvals waiting: news when one is new.
    waiting = {str(a.id) for a in facts.approvals}
    new = waiting - set(_was(prev, "approvals"))
    if new and "approvals" not in missing:
        out.append(Change("approvals", "", count=len(waiting), amount=Decimal(len(new))))

    # Incidents opened and resolved (no longer open) since the last digest.
    if "incidents" not in missing:
        open_before = _was(prev, "incidents")
        for incident in facts.incidents:
            if first or str(incident.id) not in open_before:
                out.append(Change("incident_opened", incident.title, incident.severity))
        now_open = {str(i.id) for i in facts.incidents}
        for key, title in sorted(open_before.items()):
            if key not in now_open:
                out.append(Change("incident_resolved", str(title)))
    return out
