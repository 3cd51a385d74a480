"""Who must approve what, read from ops.example.yml, and requests no one could ever approve."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.approvals import policy as rules
from bot.approvals.intake import admit_budget_increase, admit_promotion
from bot.approvals.service import ApprovalService
from bot.approvals.types import Refused, RequestState
from bot.ops_config import OpsConfig
from bot.sources import build_sources
from tests.approvals.conftest import ADMIN, AN, DE, FI, ML

DEMO_NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def with_policies(config: OpsConfig, policies: list[dict], **approvals: object) -> OpsConfig:
    data = config.model_dump(mode="json", exclude_none=True)
    data["approvals"] = {**data["approvals"], "policies": policies, **approvals}
    return OpsConfig.model_validate(data)


async def test_promotion_to_champion_needs_owners_and_ml_platform_with_quorum_two(ops_config):
    admitted = await admit_promotion(
        ops_config, None, requester=DE[0], model="ltv", version="6", alias="champion"
    )
    assert not isinstance(admitted, Refused)
    policy = admitted.policy
    assert policy.name == "promote-to-production" and policy.quorum == 2
    assert admitted.team == "analytics"
    assert policy.members["owners"] == AN
    assert policy.members["team:ml-platform"] == ML
    assert policy.required == ["owners", "team:ml-platform"]
    # Two analytics people are not enough: ml-platform must approve too.
    assert not rules.quorum_met(policy, requester=DE[0], approved_by=AN[:2])
    assert rules.quorum_met(policy, requester=DE[0], approved_by=[AN[0], ML[1]])


async def test_promotion_to_staging_needs_one_owner(ops_config):
    admitted = await admit_promotion(
        ops_config, None, requester=ML[0], model="churn", version="14", alias="staging"
    )
    assert not isinstance(admitted, Refused)
    assert admitted.policy.name == "promote" and admitted.policy.quorum == 1
    assert rules.approvers(admitted.policy, requester=ML[0]) == ML[1:]
    assert rules.quorum_met(admitted.policy, requester=ML[0], approved_by=[ML[3]])
    assert not rules.quorum_met(admitted.policy, requester=ML[0], approved_by=[FI[0]])


@pytest.mark.parametrize(
    ("amount", "policy", "quorum"),
    [(Decimal("5000.01"), "large-budget-increase", 2), (Decimal("5000"), "budget-increase", 1)],
)
async def test_budget_increase_above_5000_needs_owners_and_finance(
    ops_config, amount, policy, quorum
):
    admitted = await admit_budget_increase(
        ops_config, None, requester=ML[0], team="ml-platform", amount=amount
    )
    assert not isinstance(admitted, Refused)
    assert admitted.policy.name == policy and admitted.policy.quorum == quorum
    assert admitted.subject.current_monthly == Decimal("60000")
    if quorum == 2:
        assert admitted.policy.required == ["owners", "team:finance"]
        assert not rules.quorum_met(admitted.policy, requester=ML[0], approved_by=ML[1:3])
        assert rules.quorum_met(admitted.policy, requester=ML[0], approved_by=[ML[1], FI[1]])


async def test_policy_resolving_to_nobody_is_refused(ops_config):
    config = with_policies(
        ops_config, [{"name": "finance-only", "kind": "budget_increase", "approvers": ["owners"]}]
    )
    # finance owns no budget here, but the rule is about people: a team with one member
    # asking for itself leaves nobody once the requester is removed.
    solo = config.model_dump(mode="json", exclude_none=True)
    solo["teams"]["analytics"]["members"] = [AN[1]]
    solo["teams"]["analytics"]["leads"] = [AN[1]]
    solo_config = OpsConfig.model_validate(solo)
    refused = await admit_budget_increase(
        solo_config, None, requester=AN[1], team="analytics", amount=Decimal("100")
    )
    assert isinstance(refused, Refused)
    assert "names no approver other than the requester" in refused.reason


async def test_required_group_with_nobody_left_is_refused(ops_config):
    config = with_policies(
        ops_config,
        [
            {
                "name": "one-admin",
                "kind": "promotion",
                "approvers": ["owners", "admins"],
                "required": ["admins"],
            }
        ],
    )
    refused = await admit_promotion(
        config, None, requester=ADMIN, model="churn", version="3", alias="staging"
    )
    assert isinstance(refused, Refused)
    assert "requires an approval from workspace admins" in refused.reason


async def test_quorum_out_of_reach_without_the_requester_is_refused(ops_config):
    config = with_policies(
        ops_config,
        [
            {"name": "both", "kind": "budget_increase", "approvers": ["team:finance"], "quorum": 2},
        ],
    )
    refused = await admit_budget_increase(
        config, None, requester=FI[0], team="ml-platform", amount=Decimal("10")
    )
    assert isinstance(refused, Refused)
    assert "needs 2 approvals but only 1 person other than the requester" in refused.reason
    allowed = await admit_budget_increase(
        config, None, requester=ML[0], team="ml-platform", amount=Decimal("10")
    )
    assert not isinstance(allowed, Refused)


async def test_no_matching_policy_is_refused(ops_config):
    config = with_policies(ops_config, [])
    refused = await admit_promotion(
        config, None, requester=ML[0], model="churn", version="3", alias="staging"
    )
    assert isinstance(refused, Refused) and "no approval policy" in refused.reason


@pytest.mark.parametrize(
    ("amount", "says"),
    [(Decimal("0"), "positive"), (Decimal("-5"), "positive"), (Decimal("25000.01"), "largest")],
)
async def test_budget_amount_out_of_bounds_is_refused(ops_config, amount, says):
    refused = await admit_budget_increase(
        ops_config, None, requester=ML[0], team="ml-platform", amount=amount
    )
    assert isinstance(refused, Refused) and says in refused.reason


async def test_alias_not_allowed_is_refused(ops_config):
    refused = await admit_promotion(
        ops_config, None, requester=ML[0], model="churn", version="3", alias="canary"
    )
    assert isinstance(refused, Refused) and "'canary' is not one Switchboard may set" in (
        refused.reason
    )


async def test_unknown_model_or_version_is_refused_when_the_catalog_is_checked(ops_config):
    catalog = build_sources(ops_config, now=DEMO_NOW).sources
    unknown_model = await admit_promotion(
        ops_config, catalog, requester=ML[0], model="nope", version="1", alias="staging"
    )
    unknown_version = await admit_promotion(
        ops_config, catalog, requester=ML[0], model="churn", version="99", alias="staging"
    )
    same = await admit_promotion(
        ops_config, catalog, requester=ML[0], model="churn", version="12", alias="champion"
    )
    fine = await admit_promotion(
        ops_config, catalog, requester=ML[0], model="churn", version="v14", alias="champion"
    )
    assert isinstance(unknown_model, Refused) and "'nope'" in unknown_model.reason
    assert isinstance(unknown_version, Refused) and "no version 99" in unknown_version.reason
    assert isinstance(same, Refused) and "already points at version 12" in same.reason
    assert not isinstance(fine, Refused)
    assert fine.subject.version == "14" and fine.subject.current_version == "12"


async def test_pending_request_keeps_its_rules_when_ops_yml_changes(
    db_engine, ops_config, clock, executor
):
    before = ApprovalService(engine=db_engine, config=ops_config, executor=executor, clock=clock)
    made = await before.request_promotion(
        requester=ML[0],
        model="churn",
        version="14",
        alias="staging",
        reason=None,
        surface="command",
    )
    assert not isinstance(made, Refused)
    stricter = with_policies(
        ops_config,
        [
            {"name": "strict", "kind": "promotion", "approvers": ["team:finance"]},
        ],
    )
    after = ApprovalService(engine=db_engine, config=stricter, executor=executor, clock=clock)
    outcome = await after.decide(request_id=made.id, user=ML[2], approve=True, surface="dm")
    assert outcome.status == "recorded" and outcome.snapshot.state == RequestState.approved


async def test_whoever_registered_the_candidate_cannot_approve_its_promotion(
    db_engine, ops_config, clock
):
    # churn v14 was registered by farid@acme.example (the demo registry), whom
    # workspace.identities maps to U0ML0FARID; promote-to-production has exclude_committer.
    catalog = build_sources(ops_config, now=DEMO_NOW).sources
    versions = await catalog.registries["demo"].versions("churn")
    assert next(v for v in versions if v.version == "14").created_by == "farid@acme.example"
    service = ApprovalService(
        engine=db_engine,
        config=ops_config,
        executor=None,
        clock=clock,
        catalog=catalog,  # type: ignore[arg-type]
    )
    made = await service.request_promotion(
        requester=DE[0], model="churn", version="14", alias="champion", reason=None, surface="dm"
    )
    assert not isinstance(made, Refused)
    assert made.excluded == {ML[1]: "you registered version 14 of churn"}
    assert ML[1] not in made.eligible and ML[0] in made.eligible
    outcome = await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    assert outcome.status == "not_allowed"
    assert outcome.message.startswith("You cannot decide this request: you registered version 14")
    # The same version to staging (a policy without exclude_committer): farid may approve.
    staging = await service.request_promotion(
        requester=ML[0], model="churn", version="14", alias="staging", reason=None, surface="dm"
    )
    assert not isinstance(staging, Refused) and ML[1] in staging.eligible


async def test_separation_of_duties_cannot_be_turned_off(ops_config):
    from pydantic import ValidationError

    policy = {"name": "p", "kind": "promotion", "approvers": ["owners"]}
    with pytest.raises(ValidationError, match="cannot be turned off"):
        with_policies(ops_config, [{**policy, "separation_of_duties": False}])
    kept = with_policies(ops_config, [{**policy, "separation_of_duties": True}])
    admitted = await admit_promotion(
        kept, None, requester=ML[0], model="churn", version="14", alias="staging"
    )
    assert not isinstance(admitted, Refused)
    assert ML[0] not in rules.approvers(admitted.policy, requester=ML[0])


async def test_an_escalated_request_can_be_decided_by_the_fallback_team(service, clock):
    # ltv belongs to analytics; promote-to-production needs owners + ml-platform and
    # escalates to ml-platform after 48h. Nobody from analytics answers: after 48h an
    # ml-platform member may stand in for the owners, so two ml-platform approvals suffice.
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert not isinstance(made, Refused)
    await service.decide(request_id=made.id, user=ML[0], approve=True, surface="dm")
    early = await service.decide(request_id=made.id, user=ML[1], approve=True, surface="dm")
    assert early.snapshot.state == RequestState.pending  # owners still missing
    assert "Still needed: an approval from owners (analytics)" in early.message
    clock.advance(hours=47)
    assert (await service.tick()).escalations == []
    clock.advance(hours=2)
    report = await service.tick()
    assert [(e.request.id, e.team) for e in report.escalations] == [(made.id, "ml-platform")]
    assert report.escalations[0].asked == ML[2:]  # those who have not voted yet
    # A vote already cast now counts for the owners' need too: one more approval completes it.
    again = await service.snapshot(made.id)
    assert again is not None and again.escalated_at is not None
    done = await service.decide(request_id=made.id, user=ML[2], approve=True, surface="dm")
    assert done.execute and done.snapshot.state == RequestState.approved
    assert (await service.tick()).escalations == []  # escalated once
    actions = [r.action for r in await service.audit(request_id=made.id)]
    assert actions.count("escalated") == 1


async def test_one_open_request_per_subject(service):
    first = await service.request_budget_increase(
        requester=ML[0], team="ml-platform", amount=Decimal(100), reason=None, surface="dm"
    )
    assert not isinstance(first, Refused)
    second = await service.request_budget_increase(
        requester=ML[1], team="ml-platform", amount=Decimal(200), reason=None, surface="dm"
    )
    assert isinstance(second, Refused) and second.open_request == first.id
    assert f"request #{first.id} for the ml-platform budget is still open" in second.reason
    other_team = await service.request_budget_increase(
        requester=AN[0], team="analytics", amount=Decimal(100), reason=None, surface="dm"
    )
    assert not isinstance(other_team, Refused)
    await service.cancel(request_id=first.id, user=ML[0])
    again = await service.request_budget_increase(
        requester=ML[1], team="ml-platform", amount=Decimal(200), reason=None, surface="dm"
    )
    assert not isinstance(again, Refused)  # a closed request frees its subject
