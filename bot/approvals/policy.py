"""Who may approve a request: ops.yml's policy resolved to people, and whether quorum is met.

Resolution happens once, when the request is made; the result (`ResolvedPolicy`) is stored with
the request so later edits of ops.yml do not change the rules of a request already pending.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from bot.approvals.types import GroupNeed
from bot.ops_config import OpsConfig
from bot.ops_config.approvals import ApprovalPolicy, parse_approver


class ResolvedPolicy(BaseModel):
    """A policy with every approver group turned into user ids (stored as JSON)."""

    model_config = ConfigDict(frozen=True)

    name: str
    quorum: int
    separation_of_duties: bool
    ttl_seconds: float
    remind_every_seconds: float | None
    escalate_to: str | None
    approvers: list[str]
    required: list[str]
    members: dict[str, list[str]]
    labels: dict[str, str]


def group_members(config: OpsConfig, group: str, *, team: str | None) -> tuple[list[str], str]:
    """(user ids, label) of one approver group; `owners` means the people of `team`."""
    what, arg = parse_approver(group)
    if what == "owners":
        found = config.teams.get(team) if team else None
        return (found.people if found else []), f"owners ({team or 'no owning team'})"
    if what == "admins":
        return list(config.workspace.admins), "workspace admins"
    if what == "team":
        found = config.teams.get(arg or "")
        return (found.people if found else []), f"team {arg}"
    return [arg or ""], f"<@{arg}>"


def resolve(config: OpsConfig, policy: ApprovalPolicy, *, team: str | None) -> ResolvedPolicy:
    groups = list(dict.fromkeys([*policy.approvers, *policy.required]))
    members: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for group in groups:
        members[group], labels[group] = group_members(config, group, team=team)
    return ResolvedPolicy(
        name=policy.name,
        quorum=policy.quorum,
        separation_of_duties=policy.separation_of_duties,
        ttl_seconds=policy.ttl.total_seconds(),
        remind_every_seconds=policy.remind_every.total_seconds() if policy.remind_every else None,
        escalate_to=policy.escalate_to,
        approvers=list(policy.approvers),
        required=list(policy.required),
        members=members,
        labels=labels,
    )


def approvers(policy: ResolvedPolicy, *, requester: str) -> list[str]:
    """Everyone who may decide, in ops.yml order; the requester is out under separation of
    duties."""
    people = dict.fromkeys(u for g in policy.members for u in policy.members[g])
    if policy.separation_of_duties:
        people.pop(requester, None)
    return list(people)


def groups_of(policy: ResolvedPolicy, user: str) -> list[str]:
    return [g for g, people in policy.members.items() if user in people]


def unreachable(policy: ResolvedPolicy, *, requester: str) -> str | None:
    """Why no set of decisions could ever approve this request, or None if one can."""
    people = approvers(policy, requester=requester)
    without = " other than the requester" if policy.separation_of_duties else ""
    if not people:
        return f"policy {policy.name} names no approver{without} (check its groups in ops.yml)"
    if len(people) < policy.quorum:
        return (
            f"policy {policy.name} needs {policy.quorum} approvals but only {len(people)} "
            f"{'person' if len(people) == 1 else 'people'}{without} can approve"
        )
    for group in policy.required:
        if not [u for u in policy.members[group] if u in people]:
            return (
                f"policy {policy.name} requires an approval from {policy.labels[group]}, "
                f"which has nobody{without}"
            )
    return None


def needs(policy: ResolvedPolicy, approved_by: Iterable[str]) -> list[GroupNeed]:
    done = set(approved_by)
    return [
        GroupNeed(
            group=group,
            label=policy.labels[group],
            members=list(policy.members[group]),
            satisfied=bool(done.intersection(policy.members[group])),
        )
        for group in policy.required
    ]


def quorum_met(policy: ResolvedPolicy, *, requester: str, approved_by: Iterable[str]) -> bool:
    """Enough distinct eligible approvals, and one from every required group."""
    eligible = set(approvers(policy, requester=requester))
    counted = {u for u in approved_by if u in eligible}
    return len(counted) >= policy.quorum and all(n.satisfied for n in needs(policy, counted))
