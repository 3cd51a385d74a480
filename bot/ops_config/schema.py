"""The ops.yml document: teams, ownership, lineage and budgets, and the lookups the bot needs."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.ops_config.approvals import Approvals
from bot.ops_config.common import (
    Channel,
    Currency,
    NoDuplicates,
    PositiveAmount,
    Slug,
    StrictModel,
    Timezone,
    UsergroupId,
    UserId,
    UserOrGroupId,
)
from bot.ops_config.consistency import consistency_problems
from bot.ops_config.digests import Digest
from bot.ops_config.incidents import Incidents
from bot.ops_config.sources import SourcesConfig

# Passed as validation context by the loader, which reports these problems itself with lines.
SKIP_CONSISTENCY = "skip_consistency"


class Workspace(StrictModel):
    timezone: Timezone = Field("UTC", description="IANA zone for periods, digests and 'today'")
    currency: Currency = Field("USD", description="ISO 4217 code; default for budgets")
    admins: Annotated[list[UserId], NoDuplicates] = Field(
        default_factory=list, description="Slack user ids allowed to administer Switchboard"
    )
    identities: dict[str, UserId] = Field(
        default_factory=dict,
        description="Who is who outside Slack: a registry or cloud user (e.g. the MLflow user "
        "that registered a model version, often an email) -> Slack user id",
    )

    def slack_id(self, identity: str | None) -> str | None:
        """The Slack user id of an outside identity (case-insensitive), if known."""
        if not identity:
            return None
        folded = identity.strip().casefold()
        return next((u for k, u in self.identities.items() if k.casefold() == folded), None)


class Team(StrictModel):
    name: str | None = Field(None, min_length=1, description="Display name; defaults to the slug")
    channel: Channel = Field(description="Team channel: id C…/G… (preferred) or '#name'")
    members: Annotated[list[UserId], NoDuplicates] = Field(default_factory=list)
    oncall: UserOrGroupId | None = Field(None, description="User id U… or user group id S…")
    leads: Annotated[list[UserId], NoDuplicates] = Field(default_factory=list)
    usergroup: UsergroupId | None = Field(None, description="Slack user group S… to mention")
    timezone: Timezone | None = Field(
        None, description="The team's zone: its own digests' times; defaults to workspace.timezone"
    )

    @property
    def people(self) -> list[str]:
        """Members and leads, each once: the people who can act for the team."""
        return list(dict.fromkeys([*self.members, *self.leads]))


class Ownership(StrictModel):
    """Keys are exact names or globs ('nightly_*'); an exact name wins, then the first glob in
    file order that matches."""

    pipelines: dict[str, Slug] = Field(default_factory=dict, description="pipeline -> team")
    models: dict[str, Slug] = Field(default_factory=dict, description="model -> team")
    cost_allocation: dict[str, dict[str, Slug]] = Field(
        default_factory=dict,
        description="tag key (matched in any spelling the data uses: Owner finds owner) -> tag "
        "value (or glob) -> team",
    )
    services: dict[str, Slug] = Field(default_factory=dict, description="cloud service -> team")


class LineageEntry(StrictModel):
    trains: Annotated[list[str], NoDuplicates] = Field(default_factory=list)
    feeds: Annotated[list[str], NoDuplicates] = Field(default_factory=list)


class BudgetConfig(StrictModel):
    monthly: PositiveAmount = Field(description="Monthly budget amount")
    currency: Currency | None = Field(None, description="Defaults to workspace.currency")
    alert_at: list[Annotated[float, Field(gt=0, le=2)]] = Field(
        default_factory=lambda: [0.8, 1.0],
        description="Fractions of the budget that raise an alert (0.8 = 80%), ascending, in (0, 2]",
    )

    @field_validator("alert_at")
    @classmethod
    def _ascending(cls, values: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(f"alert_at must be strictly ascending, got {values}")
        return values


def _owner(mapping: Mapping[str, str], name: str) -> str | None:
    if name in mapping:
        return mapping[name]
    for pattern, team in mapping.items():
        if fnmatchcase(name, pattern):
            return team
    return None


class OpsConfig(StrictModel):
    """The whole of ops.yml, validated and cross-checked."""

    version: Literal[1] = Field(description="Format version of this file; always 1")
    workspace: Workspace = Field(default_factory=Workspace)
    teams: dict[Slug, Team] = Field(default_factory=dict, description="slug -> team")
    ownership: Ownership = Field(default_factory=Ownership)
    lineage: dict[str, LineageEntry] = Field(
        default_factory=dict, description="pipeline -> models it trains or feeds"
    )
    budgets: dict[Slug, BudgetConfig] = Field(default_factory=dict, description="team -> budget")
    approvals: Approvals = Field(default_factory=Approvals)
    digests: list[Digest] = Field(default_factory=list)
    incidents: Incidents = Field(default_factory=Incidents)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)

    @model_validator(mode="after")
    def _fill_defaults_and_cross_check(self, info: ValidationInfo) -> OpsConfig:
        for slug, team in self.teams.items():
            team.name = team.name or slug
        for budget in self.budgets.values():
            budget.currency = budget.currency or self.workspace.currency
        for digest in self.digests:
            digest.timezone = digest.timezone or self.workspace.timezone
        focus = self.sources.focus
        if focus is not None and focus.day_timezone is None:
            focus.day_timezone = self.workspace.timezone  # a month is the workspace's month
        if not (info.context or {}).get(SKIP_CONSISTENCY):
            problems = consistency_problems(self.model_dump(mode="python"))
            if problems:
                raise ValueError("; ".join(f"{p.dotted}: {p.message}" for p in problems))
        return self

    def team_of_pipeline(self, name: str) -> str | None:
        return _owner(self.ownership.pipelines, name)

    def team_of_model(self, name: str) -> str | None:
        return _owner(self.ownership.models, name)

    def team_of_service(self, name: str) -> str | None:
        return _owner(self.ownership.services, name)

    def models_fed_by(self, pipeline: str) -> list[str]:
        """Models a pipeline trains or feeds, trained first, each once."""
        entry = self.lineage.get(pipeline)
        return list(dict.fromkeys([*entry.trains, *entry.feeds])) if entry else []

    def pipelines_feeding(self, model: str) -> list[str]:
        """Pipelines that train or feed a model, in ops.yml order."""
        return [
            pipeline
            for pipeline, entry in self.lineage.items()
            if model in entry.trains or model in entry.feeds
        ]

    def pipelines_training(self, model: str) -> list[str]:
        return [pipeline for pipeline, entry in self.lineage.items() if model in entry.trains]
