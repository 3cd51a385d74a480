"""Domain objects at the sizes a large company gives: dozens of teams at risk, a pipeline feeding
over a hundred models, forty teams on one Home tab. Shared by the long-answer tests and the
renderer property tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.answers.budgets import BudgetBoard, BudgetLine
from bot.answers.digests import DigestPlan, SectionBoard
from bot.answers.home import HomeData, TeamGlance
from bot.answers.model_cost import ModelCost, PipelineCost
from bot.answers.models import IncidentThresholds, ModelBoard, ModelDetail, UpstreamPipeline
from bot.answers.owners import Owned, OwnersAnswer, TeamCard
from bot.answers.pipelines import PipelineBoard, PipelineDetail, RunCost
from bot.answers.scorecard import TeamScorecard, TeamSpend
from bot.ops_config.digests import Digest
from bot.store.models import Incident
from bot.views.reply import Reply
from integrations.models import (
    Budget,
    Model,
    ModelHealth,
    ModelVersion,
    Pipeline,
    PipelineRun,
    PipelineStatus,
    RunState,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
BERLIN = ZoneInfo("Europe/Berlin")
# What a peer or a user could put in a name: a broadcast, a user mention, a disguised link.
EVIL = "<!channel> <@U0EVIL123> <https://evil.example|click me>"
INJECTED = ("<!channel>", "<!here>", "<@U0EVIL123>", "<https://evil.example")


def blocks_json(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False, separators=(",", ":"))


def everything(reply: Reply) -> str:
    """What Slack would show or notify with: the fallback text and every block."""
    return reply.text + "\n" + blocks_json(reply.blocks)


def mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text in blocks: where Slack turns `<!channel>` into a mention. (plain_text,
    as in headers and button labels, and button values are shown or used as they are.)"""
    if isinstance(value, list):
        return [text for item in value for text in mrkdwn_texts(item)]
    if not isinstance(value, dict):
        return []
    if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
        return [value["text"]]
    return [text for item in value.values() for text in mrkdwn_texts(item)]


def notifying(reply: Reply) -> str:
    """The text Slack parses for mentions and links: the fallback text and every mrkdwn text."""
    return "\n".join([reply.text, *mrkdwn_texts(reply.blocks)])


# -- budgets ------------------------------------------------------------------------------------
def budget_line(
    team: str, *, monthly: int = 60000, forecast: int = 68900, spent: int = 52000
) -> BudgetLine:
    budget = Budget(team=team, monthly=Decimal(monthly), alert_at=(0.5, 0.8, 1.0))
    return BudgetLine(
        team=team,
        budget=budget,
        spent_mtd=Decimal(spent),
        forecast=Decimal(forecast),
        burn=spent / monthly,
        at_risk=forecast >= monthly,
        drivers=[("Amazon SageMaker", Decimal(45866)), ("model recs", Decimal(28330))],
        breach_on=date(2026, 11, 27) if forecast >= monthly else None,
        crossed=tuple(f for f in budget.alert_at if spent >= monthly * f),
    )


def budget_board(at_risk: int, on_track: int = 0, *, name: str = "team-{n}") -> BudgetBoard:
    lines = [budget_line(name.format(n=n)) for n in range(at_risk)]
    lines += [
        budget_line(name.format(n=at_risk + n), forecast=1000, spent=500) for n in range(on_track)
    ]
    return BudgetBoard(lines, (), TODAY, without_budget=("finance",))


# -- pipelines ----------------------------------------------------------------------------------
def failed_run(name: str, *, hours: int = 2, error: str = "Disk Full") -> PipelineRun:
    start = NOW - timedelta(hours=hours)
    return PipelineRun(
        pipeline=name,
        run_id=f"{name}-{hours}",
        state=RunState.failed,
        started_at=start,
        ended_at=start + timedelta(minutes=40),
        failed_task="load_to_warehouse",
        error=error,
        url=f"https://airflow.example/dags/{name}/runs/{hours}",
    )


def pipeline_status(name: str, *, failed: bool = True, late: bool = False) -> PipelineStatus:
    runs = (failed_run(name),) if failed else ()
    return PipelineStatus(
        pipeline=Pipeline(name=name, source="airflow", schedule="0 2 * * *"),
        runs=runs,
        late=late,
        expected_by=NOW - timedelta(hours=1) if late else None,
        last_success_at=NOW - timedelta(days=1),
    )


def model_names(n: int, prefix: str = "model") -> tuple[str, ...]:
    return tuple(f"{prefix}_{i:03d}_with_a_long_descriptive_name" for i in range(n))


def pipeline_detail(
    feeds: int, *, trains: int = 0, name: str = "feature_store_sync"
) -> PipelineDetail:
    return PipelineDetail(
        name=name,
        status=pipeline_status(name),
        team="data-eng",
        team_name="Data Engineering",
        channel="C0123DATA",
        trains=model_names(trains, "trained"),
        feeds=model_names(feeds),
        success_rate=0.5,
        median_duration=timedelta(minutes=35),
        counted_runs=2,
        cost=RunCost("USD", Decimal("1942.83"), Decimal("156.90"), 2, 23, None),
        now=NOW,
    )


def pipeline_board(
    failing: int, late: int = 0, *, feeds: int = 2, name: str = "p{n:03d}"
) -> PipelineBoard:
    bad = [pipeline_status(name.format(n=n)) for n in range(failing)]
    slow = [
        pipeline_status(name.format(n=failing + n), failed=False, late=True) for n in range(late)
    ]
    return PipelineBoard(
        failing=bad,
        late=slow,
        running=[],
        healthy=[],
        total=failing + late,
        problems=(),
        now=NOW,
        owners={s.pipeline.name: "data-eng" for s in [*bad, *slow]},
        feeds={s.pipeline.name: model_names(feeds) for s in bad},
    )


# -- owners -------------------------------------------------------------------------------------
def team_card(
    *, leads: int = 2, slug: str = "data-eng", name: str = "Data Engineering"
) -> TeamCard:
    return TeamCard(
        slug=slug,
        name=name,
        channel="C0123DATA",
        leads=tuple(f"U0LEAD{i:04d}" for i in range(leads)),
        oncall="S0DEONCALL",
        usergroup="S0DATAENG",
        members=4,
    )


def owners_answer(fed: int, *, leads: int = 2, thing: str = "feature_store_sync") -> OwnersAnswer:
    return OwnersAnswer(
        asked=thing,
        subjects=[Owned("pipeline", thing, "data-eng")],
        teams={"data-eng": team_card(leads=leads)},
        models_fed={thing: model_names(fed)},
    )


# -- models -------------------------------------------------------------------------------------
def model_board(n: int, *, team: str = "ml-platform", name: str = "model_{n}") -> ModelBoard:
    rows = [
        (
            Model(
                name=name.format(n=i),
                source="mlflow",
                latest_version="3",
                url="https://mlflow.example/m",
            ),
            ModelHealth(model=name.format(n=i), drift=0.4, problems=("drift 0.40 above 0.25",)),
            team,
        )
        for i in range(n)
    ]
    return ModelBoard(rows=rows, team=team)


def model_detail(
    *, metrics: int = 4, aliases: int = 2, upstream: int = 2, name: str = "churn"
) -> ModelDetail:
    values = {f"metric_{n:02d}": 0.5 + n / 100 for n in range(metrics)}
    versions = {
        f"alias_{n}": ModelVersion(model=name, version=str(20 + n), metrics=values)
        for n in range(aliases)
    }
    champion = ModelVersion(model=name, version="12", metrics=values)
    aliased = {"champion": champion, **versions}
    cost = ModelCost(
        model=name,
        start=date(2026, 11, 1),
        end=date(2026, 11, 24),
        pipelines=tuple(
            PipelineCost(f"pipe_{n:03d}", "feeds", {"USD": Decimal(100 + n)})
            for n in range(upstream)
        ),
        serving={"USD": Decimal(880)},
    )
    return ModelDetail(
        model=Model(
            name=name,
            source="mlflow",
            description="Probability a subscriber cancels within 30 days",
            aliases={a: v.version for a, v in aliased.items()},
            url="https://mlflow.example/#/models/churn",
        ),
        asked=name,
        versions=(champion, *versions.values()),
        version_count=14,
        aliased=aliased,
        health=ModelHealth(model=name, latency_p95_ms=120, drift=0.1),
        thresholds=IncidentThresholds(drift=0.25, latency_p95_ms=250),
        team="ml-platform",
        channel="C0123MLPLAT",
        cost_mtd=cost,
        cost_30d=cost,
        upstream=tuple(UpstreamPipeline(f"pipe_{n:03d}", "feeds") for n in range(upstream)),
    )


# -- scorecard, incidents -----------------------------------------------------------------------
def incident(n: int, *, team: str = "ml-platform", title: str | None = None) -> Incident:
    return Incident(
        id=n,
        fingerprint=f"f{n}",
        title=title or f"Alert {n}",
        team=team,
        severity="warning",
        status="open",
        source="alertmanager",
        opened_at=NOW.timestamp() - 3600,
        last_alert_at=NOW.timestamp(),
        alert_count=3,
    )


def scorecard(
    *, failing: int = 1, unhealthy: int = 1, incidents: int = 0, name: str = "ML Platform"
) -> TeamScorecard:
    line = budget_line("ml-platform")
    board = model_board(unhealthy)
    return TeamScorecard(
        team="ml-platform",
        name=name,
        channel="C0123MLPLAT",
        pipelines=pipeline_board(failing),
        models=[(m, h) for m, h, _t in board.rows],
        spend=TeamSpend("USD", line.spent_mtd, line.forecast, line),
        incidents=[incident(n) for n in range(1, incidents + 1)],
        today=TODAY,
    )


# -- digests, home ------------------------------------------------------------------------------
def digest_plans(n: int, *, name: str = "digest-{n}") -> list[DigestPlan]:
    return [
        DigestPlan(
            Digest.model_validate(
                {"name": name.format(n=i), "channel": "C0123OPSWEEK", "schedule": "0 9 * * MON"}
            ),
            "Mondays at 09:00",
            NOW,
            ("ML Platform", "Data Engineering"),
        )
        for i in range(n)
    ]


def glance(slug: str, name: str | None = None) -> TeamGlance:
    boards = [
        SectionBoard("pipelines", slug, pipeline_board(8)),
        SectionBoard("models", slug, model_board(12, team=slug)),
        SectionBoard("budgets", slug, budget_board(4)),
        SectionBoard("incidents", slug, [incident(n, team=slug) for n in range(1, 9)]),
    ]
    return TeamGlance(
        team=slug, name=name if name is not None else slug, channel="C0123TEAM", boards=boards
    )


def home(teams: int, *, name: str = "team-{n}") -> HomeData:
    return HomeData(
        user_id="U0ML0EVA",
        teams=[glance(name.format(n=n)) for n in range(teams)],
        in_no_team=False,
        approvals_waiting=None,
        now=NOW,
        tz=BERLIN,
    )
