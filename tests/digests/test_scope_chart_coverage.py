"""Team scoping of every section, the spend chart and its alt text, idle assets, and cost data
that ends before today (a digest never reads the missing days as a drop)."""

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
)
from tests.fakeslack.blockkit import validate_blocks


def _owner(kind: str, name: str) -> str | None:
    """ops.yml ownership read by hand: exact names first, then globs in order."""
    from fnmatch import fnmatchcase

    rules = raw_config()["ownership"][kind]
    if name in rules:
        return str(rules[name])
    return next((str(team) for rule, team in rules.items() if fnmatchcase(name, rule)), None)


async def test_teams_scope_every_section(demo_services):
    composed = await compose_digest(
        demo_services,
        digest(
            demo_services,
            "ml-daily",
            sections=["pipelines", "models", "spend", "budgets", "incidents"],
        ),
        now=DEMO_NOW,
        previous=None,
    )
    assert composed is not None
    state = composed.state
    runs = await runs_of(demo_services, limit=10)
    mine = {
        n: c
        for n, f in runs.items()
        if (c := streak(f)) and _owner("pipelines", n) == "ml-platform"
    }
    assert state["failing"] == mine
    assert all(_owner("pipelines", p) == "ml-platform" for p in state["pipelines"])
    assert state["models_known"] and all(
        _owner("models", m) == "ml-platform" for m in state["models_known"]
    )
    assert list(state["budgets"]) == ["ml-platform"]
    root = text_of(composed.blocks)
    # data-eng's failures are not this team's headline; its pipeline feeding our drifting model is.
    assert "crm_contacts_ingest" not in root
    assert "nightly_orders failed twice and feeds " in root
    assert "recs, which drifted" in root and "churn, which drifted" in root
    team_spend = await spend_of(demo_services, WINDOW_START, WINDOW_END, team="ml-platform")
    assert f"ml-platform spent {money(team_spend)} in the last 7 days" in root
    details = text_of(composed.replies[0])
    assert "ltv " not in details  # analytics' model
    assert "recs " in details


async def test_spend_chart_is_a_png_with_alt_text_computed_from_the_bill(demo_services):
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert composed is not None and composed.chart is not None
    chart = composed.chart
    assert chart.data.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.data) > 5000
    assert chart.filename.endswith(".png")
    total = await spend_of(demo_services, WINDOW_START, WINDOW_END)
    days = {}
    for n in range(7):
        day = WINDOW_START + timedelta(days=n)
        days[day] = await spend_of(demo_services, day, day + timedelta(days=1))
    peak_day = max(days, key=lambda d: (days[d], d))
    assert chart.alt_text.startswith(f"Daily spend of all teams in the last 7 days: {money(total)}")
    assert f"highest {money(days[peak_day])} on {peak_day:%d %b}" in chart.alt_text
    assert "spend chart" in text_of(composed.blocks)
    # A digest without the spend section has no chart.
    ml = await compose_digest(
        demo_services, digest(demo_services, "ml-daily"), now=DEMO_NOW, previous=None
    )
    assert ml is not None and ml.chart is None


async def test_several_teams_chart_adds_their_daily_spend(demo_services):
    composed = await compose_digest(
        demo_services,
        digest(demo_services, "finops-monthly", teams=["data-eng", "analytics"]),
        now=DEMO_NOW,
        previous=None,
    )
    assert composed is not None and composed.chart is not None
    both = sum(
        [
            await spend_of(demo_services, WINDOW_START, WINDOW_END, team=t)
            for t in ("data-eng", "analytics")
        ],
        Decimal(0),
    )
    assert f"{both:,.2f} USD in total" in composed.chart.alt_text
    assert "Data Engineering, Analytics" in composed.chart.title


async def test_idle_assets_are_models_without_traffic_with_their_cost(demo_services):
    composed = await compose_digest(
        demo_services,
        digest(demo_services, "ml-daily", sections=["models", "idle"]),
        now=DEMO_NOW,
        previous=None,
    )
    assert composed is not None
    assert demo_services.sources is not None
    idle = []
    for model in (await demo_services.sources.all_models()).value:
        health = (await demo_services.sources.model_health(model.name)).value
        owned = _owner("models", model.name) == "ml-platform"
        if owned and health and health.latency_p95_ms is None and health.error_rate is None:
            idle.append(model.name)
    assert idle, "the demo has registered models nobody calls"
    reply = text_of(composed.replies[-1])
    for name in idle:
        assert f"model {name}: no serving traffic" in reply
    assert f"{len(idle)} models without traffic" in text_of(composed.blocks)


async def test_cost_data_that_ends_before_today_is_not_read_as_a_drop(demo_services):
    """Three days after the bill's last day, the window still ends on that day: same figures,
    and the digest says where the data ends."""
    on_time = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    later = await compose_digest(
        demo_services,
        digest(demo_services, "weekly-ops"),
        now=DEMO_NOW + timedelta(days=3),
        previous=None,
    )
    assert on_time is not None and later is not None
    root = text_of(later.blocks)
    assert "cost data ends 23 Nov" in root
    assert "spend down" not in root and "spend down" not in text_of(later.replies[0])
    # Runs are read for the last 8 days only: failed-run spend says which days it counts.
    assert "Failed runs cost about" in root and "since 19 Nov (the runs read)" in root
    cost_lines = [
        line for line in text_of(on_time.replies[0]).splitlines() if "7 days before" in line
    ]
    assert cost_lines
    later_details = text_of(later.replies[0])
    for line in cost_lines:
        assert line in later_details
    assert validate_blocks(later.blocks, surface="message") == []


async def test_a_one_team_digest_tells_time_in_the_teams_zone(demo_services):
    from dataclasses import replace as with_

    config = demo_services.ops_config
    assert config is not None
    teams = dict(config.teams)
    teams["ml-platform"] = teams["ml-platform"].model_copy(update={"timezone": "America/New_York"})
    services = with_(demo_services, ops_config=config.model_copy(update={"teams": teams}))
    team_digest = digest(demo_services, "ml-daily", timezone=None)
    composed = await compose_digest(services, team_digest, now=DEMO_NOW, previous=None)
    assert composed is not None
    assert "ml-daily · Mon 23 Nov 07:00 EST" in text_of(composed.blocks)  # 12:00 UTC
    # Its own timezone wins; a digest of several teams uses the workspace's.
    own = await compose_digest(
        services,
        digest(demo_services, "ml-daily", timezone="Asia/Tokyo"),
        now=DEMO_NOW,
        previous=None,
    )
    assert own is not None and "Mon 23 Nov 21:00 JST" in text_of(own.blocks)
    several = await compose_digest(
        services,
        digest(demo_services, "ml-daily", timezone=None, teams=["ml-platform", "analytics"]),
        now=DEMO_NOW,
        previous=None,
    )
    assert several is not None and "Mon 23 Nov 13:00 CET" in text_of(several.blocks)
