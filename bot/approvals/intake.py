"""Checking a new request before it exists: policy, approvers, alias, amount, model and version.

Each check either yields what the request needs (its subject, owning team, resolved policy) or
a `Refused` with a reason the requester can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.approvals import policy as rules
from bot.approvals.catalog import CatalogProblem, find_model, known_versions
from bot.approvals.policy import ResolvedPolicy
from bot.approvals.types import BudgetSubject, PromotionSubject, Refused
from bot.budgets import StoredBudgets
from bot.ops_config import OpsConfig
from bot.ops_config.approvals import ApprovalKind
from integrations.hub import Sources
from integrations.models import ModelVersion


@dataclass(frozen=True)
class Admitted:
    subject: PromotionSubject | BudgetSubject
    team: str
    policy: ResolvedPolicy


def _routed(
    config: OpsConfig,
    *,
    kind: ApprovalKind,
    what: str,
    team: str,
    requester: str,
    candidate: ModelVersion | None = None,
    alias: str | None = None,
    amount: Decimal | None = None,
) -> ResolvedPolicy | Refused:
    found = config.approvals.policy_for(kind, alias=alias, amount=amount)
    if found is None:
        return Refused(
            reason=f"no approval policy in ops.yml covers {what}; add one under approvals.policies"
        )
    excluded: dict[str, str] = {}
    if found.exclude_committer and candidate is not None:
        committer = config.workspace.slack_id(candidate.created_by)
        if committer and committer != requester:
            excluded[committer] = f"you registered version {candidate.version} of {candidate.model}"
    resolved = rules.resolve(config, found, team=team, excluded=excluded)
    problem = rules.unreachable(resolved, requester=requester)
    return Refused(reason=f"{what} cannot be approved: {problem}") if problem else resolved


async def admit_promotion(
    config: OpsConfig,
    catalog: Sources | None,
    *,
    requester: str,
    model: str,
    version: str,
    alias: str,
) -> Admitted | Refused:
    allowed = config.approvals.allowed_aliases
    if alias not in allowed:
        return Refused(
            reason=f"alias {alias!r} is not one Switchboard may set; allowed: {', '.join(allowed)}"
        )
    version = version.strip().removeprefix("v")
    current: str | None = None
    candidate: ModelVersion | None = None
    if catalog is not None:
        try:
            found = await find_model(catalog, model)
            if found is None:
                return Refused(reason=f"no model registry knows a model called {model!r}")
            versions = await known_versions(catalog, found)
        except CatalogProblem as exc:
            return Refused(reason=f"could not check {model!r} in the model registry: {exc}")
        candidate = next((v for v in versions if v.version == version), None)
        if candidate is None:
            shown = ", ".join(v.version for v in versions[:10]) or "none"
            return Refused(reason=f"{model} has no version {version} (versions: {shown})")
        current = found.model.aliases.get(alias)
        if current == version:
            return Refused(reason=f"{alias} of {model} already points at version {version}")
    team = config.team_of_model(model)
    if team is None:
        return Refused(
            reason=f"no team owns model {model!r} in ops.yml (ownership.models), so nobody "
            "can approve promoting it"
        )
    what = f"promoting {model} v{version} to {alias}"
    routed = _routed(
        config,
        kind="promotion",
        what=what,
        team=team,
        requester=requester,
        candidate=candidate,
        alias=alias,
    )
    if isinstance(routed, Refused):
        return routed
    subject = PromotionSubject(model=model, version=version, alias=alias, current_version=current)
    return Admitted(subject=subject, team=team, policy=routed)


async def admit_budget_increase(
    config: OpsConfig,
    budgets: StoredBudgets | None,
    *,
    requester: str,
    team: str,
    amount: Decimal,
) -> Admitted | Refused:
    if team not in config.teams:
        return Refused(reason=f"{team!r} is not a team in ops.yml ({', '.join(config.teams)})")
    if not amount.is_finite() or amount <= 0:
        return Refused(reason=f"a budget increase must be a positive amount, got {amount}")
    current = await budgets.budget(team) if budgets is not None else None
    configured = config.budgets.get(team)
    if current is None and configured is None:
        return Refused(reason=f"team {team} has no budget to raise; add one under budgets:")
    currency = current.currency if current else (configured.currency if configured else None)
    ceiling = config.approvals.max_budget_increase
    workspace_currency = config.workspace.currency
    if (currency or workspace_currency) == workspace_currency and amount > Decimal(str(ceiling)):
        return Refused(
            reason=f"{amount} {workspace_currency} is above the largest increase one request may "
            f"ask for ({ceiling} {workspace_currency}, approvals.max_budget_increase)"
        )
    if current is not None:
        monthly = current.monthly
    else:
        assert configured is not None  # refused above when neither is set
        monthly = Decimal(str(configured.monthly))
    what = f"raising the {team} budget by {amount} {currency}"
    routed = _routed(
        config, kind="budget_increase", what=what, team=team, requester=requester, amount=amount
    )
    if isinstance(routed, Refused):
        return routed
    subject = BudgetSubject(
        team=team,
        amount=amount,
        currency=currency or config.workspace.currency,
        current_monthly=monthly,
    )
    return Admitted(subject=subject, team=team, policy=routed)
