"""`/ops owners THING`: pipelines, models, teams, cost centers, services resolve to a team."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.entities import Unknown
from bot.answers.owners import OwnersAnswer, owners_answer


async def owners(deps, thing: str) -> OwnersAnswer:  # type: ignore[no-untyped-def]
    found = await owners_answer(deps, thing)
    assert isinstance(found, OwnersAnswer), getattr(found, "message", found)
    return found


async def test_a_model_is_owned_by_its_team_with_leads_oncall_and_channel(deps):
    found = await owners(deps, "churn")
    assert [(s.kind, s.name, s.team) for s in found.subjects] == [("model", "churn", "ml-platform")]
    card = found.teams["ml-platform"]
    assert card.leads == ("U0ML0EVA",) and card.oncall == "U0ML0FARID"
    assert card.channel == "C0123MLPLAT"


async def test_an_exact_owner_beats_the_glob(deps):
    found = await owners(deps, "ltv")
    assert found.subjects[0].team == "analytics"


async def test_a_pipeline_by_a_near_name_names_its_team_and_the_models_it_feeds(deps):
    found = await owners(deps, "nightly-orders")
    assert [(s.kind, s.name, s.team) for s in found.subjects] == [
        ("pipeline", "nightly_orders", "data-eng")
    ]
    assert found.models_fed["nightly_orders"] == ("churn", "ltv", "recs")
    assert found.teams["data-eng"].oncall == "S0DEONCALL"


async def test_a_cost_center_and_a_service_resolve_through_ops_yml(deps):
    center = await owners(deps, "CC-2001")
    assert [(s.kind, s.tag_key, s.team) for s in center.subjects] == [
        ("tag", "cost_center", "ml-platform")
    ]
    service = await owners(deps, "Amazon Redshift")
    assert [(s.kind, s.team) for s in service.subjects] == [("service", "analytics")]


async def test_a_team_says_what_it_owns(deps):
    found = await owners(deps, "Data Engineering")
    assert [(s.kind, s.name) for s in found.subjects] == [("team", "data-eng")]
    card = found.teams["data-eng"]
    names = [p.name for p in (await deps.sources.all_pipelines()).value]
    assert card.pipelines == sum(deps.config.team_of_pipeline(n) == "data-eng" for n in names) > 0
    assert card.models == 0
    assert card.budget is not None and card.budget.monthly == 45000


async def test_a_tag_value_covered_only_by_a_glob_is_found(deps):
    ownership = deps.config.ownership.model_copy(
        update={"cost_allocation": {"cost_center": {"CC-9*": "analytics"}}}
    )
    config = deps.config.model_copy(update={"ownership": ownership})
    found = await owners(replace(deps, config=config), "CC-9042")
    assert [(s.kind, s.name, s.team) for s in found.subjects] == [("tag", "CC-9042", "analytics")]


async def test_an_ambiguous_or_unknown_thing_gets_suggestions(deps):
    vague = await owners_answer(deps, "nightly")
    assert isinstance(vague, Unknown)
    assert {"nightly_orders", "nightly_events"} <= set(vague.suggestions)
    unknown = await owners_answer(deps, "<https://evil|x>")
    assert isinstance(unknown, Unknown) and unknown.asked == "<https://evil|x>"
