"""Who may approve a request: ops.yml's policy resolved to people, and whether quorum is met.

Resolution happens once, when the request is made; the result (`ResolvedPolicy`) is stored with
the request so later edits of ops.yml do not change the rules of a request already pending.

Separation of duties always holds: the requester (and, where the policy says so, whoever
registered the candidate version) never decides. Once a pending request is escalated, the
fallback team stands in for the silent approvers: its members may decide, count towards quorum
and satisfy any required group.
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
    ttl_seconds: float
    remind_every_seconds: float | None
    escalate_to: str | None
    escalate_after_seconds: float | None = None
    approvers: list[str]
    required: list[str]
    members: dict[str, list[str]]
    labels: dict[str, str]
    fallback: list[str] = []  # members of escalate_to, who may stand in once escalated
    excluded: dict[str, str] = {}  # user id -> why they may not decide (besides the requester)


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


def resolve(
    config: OpsConfig,
    policy: ApprovalPolicy,
    *,
    team: str | None,
    excluded: dict[str, str] | None = None,
) -> ResolvedPolicy:
    groups = list(dict.fromkeys([*policy.approvers, *policy.required]))
    members: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for group in groups:
        members[group], labels[group] = group_members(config, group, team=team)
    fallback = config.teams.get(policy.escalate_to) if policy.escalate_to else None
    after = policy.escalate_after
    return ResolvedPolicy(
        name=policy.name,
        quorum=policy.quorum,
        ttl_seconds=policy.ttl.total_seconds(),
        remind_every_seconds=policy.remind_every.total_seconds() if policy.remind_every else None,
        escalate_to=policy.escalate_to,
        escalate_after_seconds=after.total_seconds() if after else None,
        approvers=list(policy.approvers),
        required=list(policy.required),
        members=members,
        labels=labels,
        fallback=fallback.people if fallback and after else [],
        excluded=dict(excluded or {}),
    )


def approvers(policy: ResolvedPolicy, *, requester: str, escalated: bool = False) -> list[str]:
    """Everyone who may decide, in ops.yml order (then the fallback team once escalated);
    never the requester nor anyone the policy excludes."""
    people = dict.fromkeys(u for g in policy.members for u in policy.members[g])
    if escalated:
        people.update(dict.fromkeys(policy.fallback))
    for out in (requester, *policy.excluded):
        people.pop(out, None)
    return list(people)


def why_not(policy: ResolvedPolicy, *, requester: str, user: str) -> str | None:
    """Why `user` may never decide this request (separation of duties), or None."""
    if user == requester:
        return (
            "You made this request, so you cannot approve or reject it (separation of duties). "
            "You can cancel it instead."
        )
    if user in policy.excluded:
        return f"You cannot decide this request: {policy.excluded[user]} (separation of duties)."
    return None


def groups_of(policy: ResolvedPolicy, user: str, *, escalated: bool = False) -> list[str]:
    found = [g for g, people in policy.members.items() if user in people]
    if escalated and user in policy.fallback and policy.escalate_to:
        found.append(f"team:{policy.escalate_to} (escalation)")
    return found


def unreachable(policy: ResolvedPolicy, *, requester: str) -> str | None:
    """Why no set of decisions could ever approve this request, or None if one can.

    Judged without escalation: a request must be approvable by the people first asked.
    """
    people = approvers(policy, requester=requester)
    without = " other than the requester" + (
        " and whoever registered the version" if policy.excluded else ""
    )
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


def needs(
    policy: ResolvedPolicy, approved_by: Iterable[str], *, escalated: bool = False
) -> list[GroupNeed]:
    done = set(approved_by)
    stand_ins = done.intersection(policy.fallback) if escalated else set()
    return [
        GroupNeed(
            group=group,
            label=policy.labels[group],
            members=list(policy.members[group]),
            satisfied=bool(done.intersection(policy.members[group]) or stand_ins),
        )
        for group in policy.required
    ]


def quorum_met(
    policy: ResolvedPolicy, *, requester: str, approved_by: Iterable[str], escalated: bool = False
) -> bool:
    """Enough distinct eligible approvals, and one from every required group."""
    eligible = set(approvers(policy, requester=requester, escalated=escalated))
    counted = {u for u in approved_by if u in eligible}
    return len(counted) >= policy.quorum and all(
        n.satisfied for n in needs(policy, counted, escalated=escalated)
    )
