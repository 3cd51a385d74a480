"""`/ops owners THING`: who owns a pipeline, model, team, cost-allocation tag value or cloud
service (team, leads, on-call, channel), and for a team what it owns.

THING is matched against every name the bot knows (orchestrators, the registry, ops.yml); a
tag value that only an ops.yml glob covers ("CC-2099" under "CC-2*") is found through the glob.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Literal

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, match_name
from bot.answers.pipelines import merge_problems
from bot.answers.scorecard import team_budget
from bot.ops_config import OpsConfig
from integrations.models import Budget, SourceProblem

Kind = Literal["team", "pipeline", "model", "service", "tag"]
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Owned:
    kind: Kind
    name: str
    team: str | None  # the owning team's slug; None when ops.yml names no owner
    tag_key: str | None = None  # for a tag value: its key (cost_center)


@dataclass(frozen=True)
class TeamCard:
    slug: str
    name: str
    channel: str
    leads: tuple[str, ...]
    oncall: str | None
    usergroup: str | None
    members: int
    pipelines: int | None = None  # what it owns: filled in when the team itself was asked
    models: int | None = None
    budget: Budget | None = None


@dataclass(frozen=True)
class OwnersAnswer:
    asked: str
    subjects: list[Owned]
    teams: dict[str, TeamCard]  # slug -> card, for every team a subject names
    problems: tuple[SourceProblem, ...] = ()
    models_fed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # pipeline -> models


def _plain(names: list[str] | dict[str, str]) -> list[str]:
    return [n for n in names if not GLOB_CHARS & set(n)]


def known_things(
    config: OpsConfig, pipelines: list[str], models: list[str]
) -> dict[str, list[Owned]]:
    """Every name the bot can say an owner for -> what it names (a name may be two things)."""
    things: dict[str, list[Owned]] = {}

    def add(label: str, item: Owned) -> None:
        if item not in things.setdefault(label, []):
            things[label].append(item)

    for slug, team in config.teams.items():
        add(slug, Owned("team", slug, slug))
        add(team.name or slug, Owned("team", slug, slug))
    lineage_models = [m for entry in config.lineage.values() for m in [*entry.trains, *entry.feeds]]
    for name in [*pipelines, *_plain(config.ownership.pipelines), *config.lineage]:
        add(name, Owned("pipeline", name, config.team_of_pipeline(name)))
    for name in [*models, *_plain(config.ownership.models), *lineage_models]:
        add(name, Owned("model", name, config.team_of_model(name)))
    for name in _plain(config.ownership.services):
        add(name, Owned("service", name, config.team_of_service(name)))
    for key, values in config.ownership.cost_allocation.items():
        for value in _plain(values):
            add(value, Owned("tag", value, values[value], tag_key=key))
    # A tag value spelled like a team it maps to ("team: data-eng") is that team, said once.
    for items in things.values():
        teams = {i.team for i in items if i.kind == "team"}
        items[:] = [i for i in items if not (i.kind == "tag" and i.team in teams)]
    return things


def _tag_by_glob(config: OpsConfig, asked: str) -> Owned | None:
    for key, values in config.ownership.cost_allocation.items():
        for pattern, team in values.items():
            if GLOB_CHARS & set(pattern) and fnmatchcase(asked, pattern):
                return Owned("tag", asked, team, tag_key=key)
    return None


def team_card(config: OpsConfig, slug: str) -> TeamCard | None:
    team = config.teams.get(slug)
    if team is None:
        return None
    return TeamCard(
        slug=slug,
        name=team.name or slug,
        channel=team.channel,
        leads=tuple(team.leads),
        oncall=team.oncall,
        usergroup=team.usergroup,
        members=len(team.people),
    )


async def owners_answer(deps: AnswerDeps, asked: str) -> OwnersAnswer | Unknown:
    """Who owns `asked` (as typed); Unknown with suggestions when it names nothing known."""
    config = deps.config
    pipelines, models = await asyncio.gather(
        deps.sources.all_pipelines(), deps.sources.all_models()
    )
    pipeline_names = [p.name for p in pipelines.value]
    model_names = [m.name for m in models.value]
    problems = merge_problems(pipelines.problems, models.problems)
    things = known_things(config, pipeline_names, model_names)
    found = match_name(asked.strip(), things, kind="thing")
    if isinstance(found, Unknown):
        by_glob = _tag_by_glob(config, asked.strip())
        if by_glob is None:
            return found
        subjects = [by_glob]
    else:
        subjects = things[found]
    cards: dict[str, TeamCard] = {}
    for subject in subjects:
        if subject.team and (card := team_card(config, subject.team)):
            cards.setdefault(subject.team, card)
    for subject in subjects:
        if subject.kind == "team" and subject.team in cards:
            slug = subject.team
            cards[slug] = replace(
                cards[slug],
                pipelines=sum(config.team_of_pipeline(n) == slug for n in pipeline_names),
                models=sum(config.team_of_model(n) == slug for n in model_names),
                budget=await team_budget(deps, slug),
            )
    fed = {s.name: tuple(config.models_fed_by(s.name)) for s in subjects if s.kind == "pipeline"}
    return OwnersAnswer(
        asked=asked, subjects=subjects, teams=cards, problems=problems, models_fed=fed
    )
