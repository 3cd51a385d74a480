"""Turning a name someone typed into a team, pipeline or model that exists (exact, then fuzzy).

A name is matched against known names, never passed on to a source as typed: an unknown name
gets suggestions, and only a known name ever reaches SQL, PromQL or an API path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.ops_config import OpsConfig
from integrations import names


@dataclass(frozen=True)
class Unknown:
    kind: str  # team, pipeline, model, thing
    asked: str
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def message(self) -> str:
        """`I don't know a model called `chrn`. Did you mean `churn`?` as Slack mrkdwn: the asked
        name and the suggestions (names peers reported) escaped, whoever shows it."""
        from bot.views.format import code

        text = f"I don't know a {self.kind} called {code(self.asked)}."
        if self.suggestions:
            text += " Did you mean " + " or ".join(code(s) for s in self.suggestions[:3]) + "?"
        return text


def match_name(asked: str, choices: Iterable[str], *, kind: str) -> str | Unknown:
    """The one choice `asked` means (names.resolve: exact, then a clear fuzzy winner), or
    Unknown with up to 3 suggestions (best first)."""
    found = names.resolve(asked, choices, names.NAMES)
    return found.name if found.name is not None else Unknown(kind, asked, found.suggestions)


@dataclass(frozen=True)
class ReadAs:
    """A name taken from a short name or another spelling: the answer says how it was read."""

    name: str
    note: str = ""  # "s3 read as Amazon Simple Storage Service"; "" when typed as it is


def resolve_service(asked: str, services: Iterable[str]) -> ReadAs | Unknown:
    """A service on the bill from its name, a short name ("s3", "bq") or a close spelling."""
    known = list(dict.fromkeys(services))
    found = names.resolve(asked, known, names.NAMES)
    if found.name is not None and names.normal(found.name) == names.normal(asked):
        return ReadAs(found.name)
    readings = names.service_readings(asked, known)
    if len(readings) == 1:
        return ReadAs(readings[0].service, f"{asked} read as {readings[0].service}")
    if readings:  # one short name, several services ("s3": AmazonS3 and Amazon S3 Glacier)
        return Unknown("service", asked, tuple(r.service for r in readings))
    if found.name is not None:
        return ReadAs(found.name, f"{asked} read as {found.name}")
    return Unknown("service", asked, found.suggestions)


def resolve_team(config: OpsConfig, asked: str) -> str | Unknown:
    """A team slug from its slug or display name ("ml" is not enough when two teams start so,
    but is taken when only ml-platform does)."""
    by_label: dict[str, str] = {}
    for slug, team in config.teams.items():
        by_label[slug] = slug
        if team.name:
            by_label[team.name] = slug
    found = match_name(asked, by_label, kind="team")
    if isinstance(found, str):
        return by_label[found]
    if prefixed := names.unique_prefix(asked, config.teams):
        return prefixed
    suggestions = tuple(dict.fromkeys(by_label[s] for s in found.suggestions))
    return Unknown("team", asked, suggestions)


def team_filter(config: OpsConfig, filters: dict[str, str]) -> str | None | Unknown:
    """The team of a `team:T` filter (None without one), or Unknown with suggestions."""
    asked = filters.get("team")
    return resolve_team(config, asked) if asked else None
