"""Checks spanning several keys of ops.yml: team references, unique names, reachable quorums.

They read plain data (the parsed YAML, or a dumped OpsConfig) and skip anything of the wrong
shape, so they can run next to schema validation and every problem is reported in one pass."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.ops_config.approvals import DEFAULT_ALIASES, parse_approver
from bot.ops_config.common import parse_duration
from integrations import names

Loc = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_*?:/@-]+")


def format_path(loc: Iterable[object]) -> str:
    """('teams', 'ml', 'members', 2) -> 'teams.ml.members[2]'."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close choice ('ml' -> 'ml-platform'), else ''."""
    best = names.closest(word, choices, names.KEYS)
    return f" (did you mean {best!r}?)" if best else ""


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str

    @property
    def dotted(self) -> str:
        return format_path(self.loc)


def _map(value: object) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _duration(value: object) -> timedelta | None:
    try:
        return parse_duration(value) if value is not None else None
    except Exception:  # a malformed duration is reported by the schema
        return None


def _strings(value: object) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


class _Checker:
    def __init__(self, doc: Mapping[Any, Any]) -> None:
        self.doc = doc
        teams = _map(doc.get("teams"))
        self.people = {
            slug: set(_strings(_map(team).get("members")) + _strings(_map(team).get("leads")))
            for slug, team in teams.items()
            if isinstance(slug, str)
        }
        self.admins = set(_strings(_map(doc.get("workspace")).get("admins")))
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def team(self, loc: Loc, value: object) -> None:
        if not isinstance(value, str) or value in self.people:
            return
        if self.people:
            known = ", ".join(sorted(self.people))
            self.add(
                loc, f"unknown team {value!r}{did_you_mean(value, self.people)}; teams are: {known}"
            )
        else:
            self.add(loc, f"unknown team {value!r}: no teams are defined under `teams:`")

    def unique_names(self, at: Loc, items: list[Any], what: str) -> None:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            name = _map(item).get("name")
            if isinstance(name, str) and name in first:
                self.add(
                    (*at, i, "name"),
                    f"{what} name {name!r} is already used by {format_path((*at, first[name]))}",
                )
            elif isinstance(name, str):
                first[name] = i

    def run(self) -> list[Problem]:
        self.ownership()
        for slug in _map(self.doc.get("budgets")):
            self.team(("budgets", slug), slug)
        digests = _list(self.doc.get("digests"))
        self.unique_names(("digests",), digests, "digest")
        for i, digest in enumerate(digests):
            for j, slug in enumerate(_list(_map(digest).get("teams"))):
                self.team(("digests", i, "teams", j), slug)
        self.approvals()
        incidents = _map(self.doc.get("incidents"))
        for i, route in enumerate(_list(incidents.get("routes"))):
            self.team(("incidents", "routes", i, "team"), _map(route).get("team"))
        self.team(("incidents", "default_team"), incidents.get("default_team"))
        for name, generic in _map(incidents.get("generic")).items():
            if _map(generic).get("team") is not None:
                self.team(("incidents", "generic", name, "team"), _map(generic).get("team"))
        return self.problems

    def ownership(self) -> None:
        ownership = _map(self.doc.get("ownership"))
        for section in ("pipelines", "models", "services"):
            for name, slug in _map(ownership.get(section)).items():
                self.team(("ownership", section, name), slug)
        for key, values in _map(ownership.get("cost_allocation")).items():
            for value, slug in _map(values).items():
                self.team(("ownership", "cost_allocation", key, value), slug)

    def approvals(self) -> None:
        approvals = _map(self.doc.get("approvals"))
        allowed = approvals.get("allowed_aliases", DEFAULT_ALIASES)
        policies = _list(approvals.get("policies"))
        self.unique_names(("approvals", "policies"), policies, "policy")
        for i, policy in enumerate(policies):
            self.policy(("approvals", "policies", i), _map(policy), _strings(allowed))
        self.mlflow_requests(_map(_map(approvals.get("mlflow")).get("on_alias")), _strings(allowed))

    def mlflow_requests(self, on_alias: Mapping[Any, Any], allowed: list[str]) -> None:
        """on_alias asks Switchboard to set its targets, so they must be allowed; a chain back to
        where it started would ask again after every promotion it approves."""
        at = ("approvals", "mlflow", "on_alias")
        for source, target in on_alias.items():
            if isinstance(target, str) and target not in allowed:
                self.add(
                    (*at, source),
                    f"alias {target!r} is not in approvals.allowed_aliases "
                    f"({', '.join(allowed)}){did_you_mean(target, allowed)}",
                )
        for source in on_alias:
            seen, step = [source], on_alias[source]
            while isinstance(step, str) and step in on_alias and step not in seen:
                seen.append(step)
                step = on_alias[step]
            if step == source:  # reported once, at the first alias of the loop
                self.add(
                    (*at, source),
                    "on_alias loops (" + " -> ".join(map(str, [*seen, step])) + "): each approved "
                    "promotion would ask for the next one forever",
                )
                return

    def policy(self, at: Loc, policy: Mapping[Any, Any], allowed: list[str]) -> None:
        kind, match = policy.get("kind"), _map(policy.get("match"))
        if kind == "budget_increase" and match.get("aliases") is not None:
            self.add((*at, "match", "aliases"), "aliases only apply to kind 'promotion'")
        if kind == "promotion" and match.get("amount_over") is not None:
            self.add(
                (*at, "match", "amount_over"), "amount_over only applies to kind 'budget_increase'"
            )
        for j, alias in enumerate(_list(match.get("aliases"))):
            if isinstance(alias, str) and alias not in allowed:
                self.add(
                    (*at, "match", "aliases", j),
                    f"alias {alias!r} is not in approvals.allowed_aliases "
                    f"({', '.join(allowed)}){did_you_mean(alias, allowed)}",
                )
        self.team((*at, "escalate_to"), policy.get("escalate_to"))
        ttl, remind = _duration(policy.get("ttl", "72h")), _duration(policy.get("remind_every"))
        if ttl is not None and remind is not None and remind >= ttl:
            self.add(
                (*at, "remind_every"),
                "remind_every must be shorter than ttl, or no reminder is ever sent",
            )
        approvers = _strings(policy.get("approvers"))
        for j, group in enumerate(_list(policy.get("approvers"))):
            self.approver_team((*at, "approvers", j), group)
        required = _list(policy.get("required"))
        for j, group in enumerate(required):
            self.approver_team((*at, "required", j), group)
            if isinstance(group, str) and group not in approvers:
                self.add((*at, "required", j), f"{group!r} is required but not in approvers")
            elif self._people_of(group) == set():
                self.add((*at, "required", j), f"{group!r} has no members, so it can never approve")
        quorum = policy.get("quorum", 1)
        if isinstance(quorum, int) and not isinstance(quorum, bool):
            self.quorum(at, quorum, approvers, len(required))

    def approver_team(self, loc: Loc, group: object) -> None:
        if isinstance(group, str) and group.startswith("team:"):
            self.team(loc, group.removeprefix("team:"))

    def _people_of(self, group: object) -> set[str] | None:
        """Who may approve as `group`; None when not knowable here (owners, invalid, unknown)."""
        try:
            kind, arg = parse_approver(group) if isinstance(group, str) else ("?", None)
        except ValueError:
            return None
        if kind == "team":
            return self.people.get(arg or "")
        if kind == "user":
            return {arg} if arg else set()
        if kind == "admins":
            return set(self.admins)
        return None

    def quorum(self, at: Loc, quorum: int, approvers: list[str], required: int) -> None:
        fixed: set[str] = set()
        for group in approvers:
            fixed |= self._people_of(group) or set()
        best = len(fixed)
        if "owners" in approvers:  # the owning team is one of the teams: take the best case
            best = max((len(fixed | people) for people in self.people.values()), default=best)
        if quorum > best:
            people = "person" if best == 1 else "people"
            self.add(
                (*at, "quorum"),
                f"quorum {quorum} can never be reached: approvers "
                f"{approvers} are at most {best} distinct {people}",
            )
        elif quorum < required:
            self.add(
                (*at, "quorum"),
                f"quorum {quorum} is below the {required} groups in "
                f"`required`; set quorum to at least {required}",
            )


def consistency_problems(doc: object) -> list[Problem]:
    """Every cross-reference problem in a parsed ops.yml (or a dumped OpsConfig)."""
    return _Checker(_map(doc)).run()
