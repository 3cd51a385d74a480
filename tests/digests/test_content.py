"""What the demo company's digest says, checked against figures this test computes itself from
the demo data (the orchestrators' runs, the bill, ops.yml lineage), not text copied from output."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.digests.compose import compose_digest
from tests.digests.conftest import (
    DEMO_NOW,
    WINDOW_END,
    WINDOW_START,
    digest,
    money,
    raw_config,
    runs_of,
    spend_of,
    streak,
    text_of,
    window_bounds,
)
from tests.fakeslack.blockkit import validate_blocks


async def test_headline_names_every_failing_pipeline_with_its_streak(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    runs = await runs_of(demo_services, limit=10)
    expected = {name: n for name, found in runs.items() if (n := streak(found))}
    assert expected, "the demo company has failing pipelines"
    assert composed.state["failing"] == expected
    root = text_of(composed.blocks)
    for name, count in expected.items():
        runs_text = "last run failed" if count == 1 else f"{count} failed runs in a row"
        assert f"{name} failing ({runs_text})" in root
    assert validate_blocks(composed.blocks, surface="message") == []
    for reply in composed.replies:
        assert validate_blocks(reply, surface="message") == []


async def test_spend_on_failed_runs_is_the_failed_share_of_run_time(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    start, end = window_bounds()
    total = Decimal(0)
    lines = {}
    for name, runs in (await runs_of(demo_services)).items():
        inside = [
            r
            for r in runs
            if r.started_at
            and start <= r.started_at < end
            and r.state.value in ("success", "failed")
        ]
        failed = [r for r in inside if r.state.value == "failed"]
        if not failed:
            continue
        seconds = sum((r.ended_at - r.started_at).total_seconds() for r in inside if r.ended_at)
        lost = sum((r.ended_at - r.started_at).total_seconds() for r in failed if r.ended_at)
        spend = await spend_of(demo_services, WINDOW_START, WINDOW_END, pipeline=name)
        cost = (spend * Decimal(lost) / Decimal(seconds)).quantize(Decimal("0.01"))
        lines[name] = cost
        total += cost
    assert total > 0
    assert f"Failed runs cost about {money(total)}" in text_of(composed.blocks)
    details = text_of(composed.replies[0])
    for name, cost in lines.items():
        assert f"{name} ~{money(cost)} of" in details


async def test_cost_per_model_is_lineage_share_plus_serving_and_its_change(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    lineage = raw_config()["lineage"]

    def fed(pipeline: str) -> list[str]:
        entry = lineage[pipeline]
        return list(dict.fromkeys([*entry.get("trains", []), *entry.get("feeds", [])]))

    async def cost(model: str, start, end) -> Decimal:  # type: ignore[no-untyped-def]
        total = await spend_of(demo_services, start, end, model=model)
        for pipeline in lineage:
            if model in fed(pipeline):
                whole = await spend_of(demo_services, start, end, pipeline=pipeline)
                tagged = await spend_of(demo_services, start, end, model=model, pipeline=pipeline)
                total += whole / len(fed(pipeline)) - tagged
        return total

    before = WINDOW_START - timedelta(days=7)
    details = text_of(composed.replies[0])
    for model in ("recs", "churn", "fraud"):
        now, then = (
            await cost(model, WINDOW_START, WINDOW_END),
            await cost(model, before, WINDOW_START),
        )
        change = f"{float((now - then) / then) * 100:+.1f}%"
        assert f"{model} {money(now)} (7 days before: {money(then)}, {change})" in details


async def test_a_failing_pipeline_is_joined_with_the_drifting_model_it_feeds(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    assert demo_services.sources is not None
    lineage = raw_config()["lineage"]
    runs = await runs_of(demo_services, limit=10)
    root = text_of(composed.blocks)
    joined = 0
    for pipeline, entry in lineage.items():
        count = streak(runs.get(pipeline, []))
        if not count:
            continue
        for model in [*entry.get("trains", []), *entry.get("feeds", [])]:
            health = (await demo_services.sources.model_health(model)).value
            if health is not None and any(p.startswith("drift") for p in health.problems):
                times = {1: "once", 2: "twice"}.get(count, f"{count} times")
                assert f"{pipeline} failed {times} and feeds " in root
                assert f"{model}, which drifted" in root
                joined += 1
    assert joined, "the demo has a failing pipeline feeding a drifting model"


async def test_spend_section_total_is_the_bill_of_the_last_seven_days(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "finops-monthly"), now=DEMO_NOW, previous=None
    )
    assert composed is not None
    total = await spend_of(demo_services, WINDOW_START, WINDOW_END)
    before = await spend_of(demo_services, WINDOW_START - timedelta(days=7), WINDOW_START)
    root = text_of(composed.blocks)
    assert f"spent {money(total)} in the last 7 days" in root
    assert f"{float((total - before) / before) * 100:+.1f}%" in root
