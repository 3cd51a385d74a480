"""Which team owns an alert, why, and which open incident upstream (through lineage) it joins.

Routing, in order: the first ops.yml `incidents.routes` entry that matches; a `team` label naming
a team; the owner (ownership) of the `pipeline`, `model` or `service` label or of the alert's
subject; the generic source's `team`; `incidents.default_team`. An alert nothing routes goes to
`incidents.fallback_channel` (else the default team's channel) and its root says why.

Lineage (ops.yml `lineage`): a pipeline feeds or trains models, and a model's serving (subject
`service:<model>`, or `<model>-serving`) drives its spend. An alert whose subject is downstream
of another open incident's subject is probably caused by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.incidents.alerts import AlertEvent, Subject, SubjectKind
from bot.ops_config import OpsConfig

UNROUTED = "unrouted"  # the team of an incident nothing routes (only admins may act on it)
SERVING_SUFFIXES = ("-serving", "_serving", " serving")


@dataclass(frozen=True)
class Route:
    team: str  # a team slug, or UNROUTED
    channel: str | None  # None: nowhere to post (no fallback configured)
    reason: str  # how the team was chosen, shown in the root when it is a fallback
    severity: str | None = None  # the route's severity for alerts that carry none
    group_by: str = "fingerprint"
    fallback: bool = False


def source_family(source: str) -> str:
    """`generic:ci` -> `generic`, `detector:drift` -> `detector` (what routes match on)."""
    return source.split(":", 1)[0]


def subject_of(event: AlertEvent) -> Subject | None:
    """The event's subject, else one named by its labels (pipeline, model, service)."""
    if event.subject is not None:
        return event.subject
    labels = event.labels
    for key, kind in (
        ("pipeline", SubjectKind.pipeline),
        ("model", SubjectKind.model),
        ("service", SubjectKind.service),
    ):
        value = labels.get(key)
        if value:
            return Subject(kind, str(value))
    return None


def _owner(config: OpsConfig, subject: Subject) -> str | None:
    if subject.kind is SubjectKind.pipeline:
        return config.team_of_pipeline(subject.name)
    if subject.kind is SubjectKind.model:
        return config.team_of_model(subject.name)
    if subject.kind is SubjectKind.service:
        model = serving_model(subject.name)
        served = model is not None and (model != subject.name or model in known_models(config))
        return config.team_of_service(subject.name) or (
            config.team_of_model(model) if served and model else None
        )
    if subject.kind is SubjectKind.team and subject.name in config.teams:
        return subject.name
    return None


def route(config: OpsConfig, event: AlertEvent, *, group_by_source: str | None = None) -> Route:
    """Where `event`'s incident goes, and why (see the module docstring for the order)."""
    labels: Mapping[str, str] = event.labels
    family = source_family(event.source)
    matched = config.incidents.route_for(source=family, labels=labels)
    teams = config.teams
    if matched is not None:
        index = config.incidents.routes.index(matched)
        return Route(
            team=matched.team,
            channel=teams[matched.team].channel if matched.team in teams else None,
            reason=f"incidents.routes[{index}]",
            severity=matched.severity,
            group_by=matched.group_by,
        )
    label_team = labels.get("team")
    if label_team and label_team in teams:
        return Route(label_team, teams[label_team].channel, f"label team={label_team}")
    subject = subject_of(event)
    if subject is not None:
        owner = _owner(config, subject)
        if owner and owner in teams:
            return Route(
                owner,
                teams[owner].channel,
                f"{subject.kind.value} {subject.name} is owned by {owner}",
            )
    if family == "generic":
        name = event.source.split(":", 1)[1] if ":" in event.source else ""
        generic = config.incidents.generic.get(name)
        if generic is not None and generic.team and generic.team in teams:
            return Route(
                generic.team, teams[generic.team].channel, f"incidents.generic.{name}.team"
            )
    why = _unrouted_reason(event, subject)
    default = config.incidents.default_team
    fallback = config.incidents.fallback_channel
    if fallback:
        return Route(default or UNROUTED, fallback, why, fallback=True)
    if default and default in teams:
        return Route(
            default, teams[default].channel, f"{why}; incidents.default_team", fallback=True
        )
    return Route(UNROUTED, None, why, fallback=True)


def _unrouted_reason(event: AlertEvent, subject: Subject | None) -> str:
    said = f"label team={event.labels['team']} is not a team" if event.labels.get("team") else ""
    parts = [said] if said else []
    if subject is not None:
        parts.append(f"nobody owns {subject.kind.value} {subject.name}")
    else:
        parts.append("no route matched and no team, pipeline, model or service label")
    return "unroutable: " + "; ".join(parts)


# -- lineage ----------------------------------------------------------------------------------
def known_models(config: OpsConfig) -> set[str]:
    """Models named in the lineage or by exact name in ownership."""
    named = {m for entry in config.lineage.values() for m in (*entry.trains, *entry.feeds)}
    return named | {m for m in config.ownership.models if not any(c in m for c in "*?[")}


def serving_model(name: str) -> str | None:
    """`churn-serving` -> churn; a bare name is the model it serves."""
    for suffix in SERVING_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name or None


def upstream_of(config: OpsConfig, subject: Subject) -> list[Subject]:
    """Every subject `subject` depends on, nearest first: a model's pipelines; a serving's
    model and that model's pipelines."""
    if subject.kind is SubjectKind.model:
        return [Subject(SubjectKind.pipeline, p) for p in config.pipelines_feeding(subject.name)]
    if subject.kind is SubjectKind.service:
        model = serving_model(subject.name)
        if model is None:
            return []
        found = [Subject(SubjectKind.model, model)]
        return found + upstream_of(config, found[0])
    return []
