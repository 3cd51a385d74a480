"""The sandbox's workspace roster, made from ops.yml: a person for every id it names (teams,
leads, admins, identities), each team's channel and the digest channels, the user groups it
names, plus one outsider."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.ops_config.schema import OpsConfig
from bot.sandbox.slack_api import wire

OUTSIDER = "U0OUTSIDER"
# Ids whose last word is no first name (U0ADMIN01 -> "admin01") get one here.
NAMED = {"U0ADMIN01": "Ada", OUTSIDER: "Oscar"}


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # first name, also the handle in lowercase
    role: str  # what they are in ops.yml: "ML Platform (lead)", "workspace admin", "no team"

    def as_slack_user(self, timezone: str) -> dict[str, Any]:
        user = wire.user(self.id, self.name.lower(), self.name, timezone)
        user["profile"]["title"] = self.role
        return user


def first_name(user_id: str) -> str:
    """U0ML0EVA -> "Eva": the demo ids end in the person's name."""
    if user_id in NAMED:
        return NAMED[user_id]
    word = re.split(r"[0_]", user_id.removeprefix("U").removeprefix("W"))[-1] or user_id
    return word.capitalize()


def people(config: OpsConfig) -> list[Person]:
    """Everyone ops.yml names, in team order, then admins, then the outsider (in no team)."""
    roles: dict[str, list[str]] = {}
    for slug, team in config.teams.items():
        label = team.name or slug
        for user_id in team.people:
            role = f"{label} (lead)" if user_id in team.leads else label
            roles.setdefault(user_id, []).append(role)
    for user_id in config.workspace.admins:
        roles.setdefault(user_id, []).append("workspace admin")
    for user_id in config.workspace.identities.values():
        roles.setdefault(user_id, [])
    roles[OUTSIDER] = ["no team"]
    return [Person(u, first_name(u), ", ".join(r) or "no team") for u, r in roles.items()]


def channels(config: OpsConfig) -> list[dict[str, Any]]:
    """Each team's channel (named after the team) and each digest's channel, as Slack objects."""
    found: dict[str, str] = {}
    for slug, team in config.teams.items():
        found.setdefault(team.channel, slug)
    for digest in config.digests:
        found.setdefault(digest.channel, digest.name)
    result = []
    for ref, name in found.items():
        if ref.startswith("#"):  # ops.yml may name a channel; the bot then posts to "#name"
            name, ref = ref[1:], "C" + re.sub(r"[^A-Z0-9]", "", ref.upper())
        result.append(wire.channel(ref, name, is_private=ref.startswith("G")))
    return result


def usergroups(config: OpsConfig) -> dict[str, list[str]]:
    """Every user group ops.yml names, with members: a team's `usergroup` holds its people; an
    on-call group (`oncall: S…`) holds the team's first member, as if on call this week (ops.yml
    does not say who is)."""
    groups: dict[str, list[str]] = {}
    for team in config.teams.values():
        if team.usergroup:
            groups.setdefault(team.usergroup, []).extend(team.people)
        if team.oncall and team.oncall.startswith("S"):
            groups.setdefault(team.oncall, []).extend(team.people[:1])
    return {group: list(dict.fromkeys(members)) for group, members in groups.items()}
