"""Pipeline, scorecard, owners and incident renderers: domain objects in, valid Block Kit out,
every peer or user text escaped."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from bot.answers.budgets import BudgetLine
from bot.answers.entities import Unknown
from bot.answers.owners import Owned, OwnersAnswer, TeamCard
from bot.answers.pipelines import PipelineBoard, PipelineDetail, RunCost
from bot.answers.scorecard import TeamScorecard, TeamSpend
from bot.incidents.queries import RootPost
from bot.store.models import Incident
from bot.views.ids import Action
from bot.views.incidents import incident_blocks, render_incidents
from bot.views.owners import render_owners, render_owners_unknown
from bot.views.paging import PageRef
from bot.views.pipelines import (
    PER_PAGE,
    pipeline_board_blocks,
    render_pipeline,
    render_status,
    render_unknown_pipeline,
)
from bot.views.reply import Reply
from bot.views.scorecard import render_scorecard
from integrations.models import (
    Budget,
    Model,
    ModelHealth,
    Pipeline,
    PipelineRun,
    PipelineStatus,
    RunState,
    SourceProblem,
)
from tests.e2e.conftest import DEMO_NOW as NOW
from tests.fakeslack import validate_blocks

EVIL = "<!channel> <@U0EVIL123> <https://evil.example|click me>"


def shown(reply: Reply) -> str:
    return reply.text + json.dumps(reply.blocks, ensure_ascii=False)


def valid(reply: Reply) -> Reply:
    assert validate_blocks(reply.blocks, surface="message") == []
    return reply


def failed_run(
    name: str, *, task: str = "load_to_warehouse", error: str = "Disk Full", hours: int = 2
) -> PipelineRun:
    start = NOW - timedelta(hours=hours)
    return PipelineRun(
        pipeline=name,
        run_id=f"{name}-{hours}",
        state=RunState.failed,
        started_at=start,
        ended_at=start + timedelta(minutes=40),
        failed_task=task,
        error=error,
        url=f"https://airflow.example/dags/{name}/runs/{hours}",
        log_url=f"https://airflow.example/dags/{name}/runs/{hours}/logs",
    )


def ok_run(name: str, hours: int) -> PipelineRun:
    start = NOW - timedelta(hours=hours)
    return PipelineRun(
        pipeline=name,
        run_id=f"{name}-{hours}",
        state=RunState.success,
        started_at=start,
        ended_at=start + timedelta(minutes=30),
    )


def status(name: str, *runs: PipelineRun, late: bool = False) -> PipelineStatus:
    return PipelineStatus(
        pipeline=Pipeline(
            name=name,
            source="airflow",
            schedule="0 2 * * *",
            url=f"https://airflow.example/dags/{name}",
        ),
        runs=runs,
        late=late,
        expected_by=NOW - timedelta(hours=1) if late else None,
        last_success_at=NOW - timedelta(days=1),
    )


def board(failing: int = 1, late: int = 1, healthy: int = 5, **kw: Any) -> PipelineBoard:
    bad = [
        status(f"p{i:02d}", failed_run(f"p{i:02d}"), ok_run(f"p{i:02d}", 30))
        for i in range(failing)
    ]
    slow = [status(f"late{i}", ok_run(f"late{i}", 30), late=True) for i in range(late)]
    fine = [status(f"ok{i}", ok_run(f"ok{i}", 3)) for i in range(healthy)]
    everyone = [*bad, *slow, *fine]
    values: dict[str, Any] = {
        "failing": bad,
        "late": slow,
        "running": [],
        "healthy": fine,
        "total": len(everyone),
        "problems": (),
        "now": NOW,
        "owners": {s.pipeline.name: "data-eng" for s in everyone},
        "feeds": {s.pipeline.name: ("churn", "ltv") for s in bad},
    }
    return PipelineBoard(**(values | kw))


# -- /ops status --------------------------------------------------------------------------------
def test_status_headline_answers_in_one_line():
    reply = valid(render_status(board(failing=3, late=2, healthy=36), now=NOW, tz=UTC))
    assert reply.text == ":red_circle: *3 failing*, *2 late*, 36 healthy of 41 pipelines."
    assert "36 healthy, not listed." in shown(reply)


def test_failing_pipeline_shows_task_owner_links_and_the_models_it_feeds():
    text = shown(valid(render_status(board(), now=NOW, tz=UTC)))
    assert "Failed on `load_to_warehouse`" in text
    assert "<https://airflow.example/dags/p00/runs/2/logs|log>" in text
    assert "data-eng" in text and "Feeds `churn`, `ltv`" in text
    assert "Due by <!date^" in text  # the late one, in each reader's zone


def test_all_healthy_says_so():
    reply = valid(render_status(board(failing=0, late=0, healthy=4), now=NOW, tz=UTC))
    assert reply.text == ":large_green_circle: All 4 pipelines are healthy."


def test_a_long_board_pages_with_a_more_button_instead_of_cutting():
    many = board(failing=30, late=0)
    first = valid(render_status(many, now=NOW, tz=UTC, command="status", page=0))
    button = next(e for b in first.blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == Action.page_more
    assert PageRef.model_validate_json(button["value"]) == PageRef(command="status", page=1)
    assert "p11" in shown(first) and "p12" not in shown(first)
    pages = [render_status(many, now=NOW, tz=UTC, page=p) for p in range(3)]
    listed = [
        n for p in pages for n in [f"p{i:02d}" for i in range(30)] if f"`p{n[1:]}`" in shown(p)
    ]
    assert len(listed) == 30 and PER_PAGE < 30
    assert not any(b["type"] == "actions" for b in pages[2].blocks)


def test_peer_text_on_the_board_is_escaped():
    bad = status(EVIL, failed_run(EVIL, task=EVIL, error=EVIL))
    evil_board = PipelineBoard(
        failing=[bad],
        late=[],
        running=[],
        healthy=[],
        total=1,
        problems=(),
        now=NOW,
        owners={EVIL: EVIL},
        feeds={EVIL: (EVIL,)},
    )
    reply = valid(render_status(evil_board, now=NOW, tz=UTC))
    text = shown(reply)
    for raw in ("<!channel>", "<@U0EVIL123>", "<https://evil.example"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text


def test_partial_board_says_which_source_did_not_answer():
    problem = SourceProblem(source="airflow", reason="timed out after 5.0 s")
    reply = valid(render_status(board(problems=(problem,)), now=NOW, tz=UTC))
    assert "Partial answer" in shown(reply) and "airflow: timed out" in shown(reply)
    empty = PipelineBoard([], [], [], [], 0, (problem,), NOW)
    assert "could not read any pipeline" in render_status(empty, now=NOW, tz=UTC).text


def test_compact_board_for_home_and_digests_stays_within_its_limit():
    blocks = pipeline_board_blocks(board(failing=9, late=0), limit=3)
    assert validate_blocks(blocks, surface="message") == []
    assert len(blocks) == 5 and "…and 6 more" in json.dumps(blocks, ensure_ascii=False)


# -- /ops pipeline ------------------------------------------------------------------------------
def detail(**kw: Any) -> PipelineDetail:
    long_error = "Traceback ```" + "x" * 3000 + EVIL
    values: dict[str, Any] = {
        "name": "nightly_orders",
        "status": status(
            "nightly_orders",
            failed_run("nightly_orders", error=long_error),
            ok_run("nightly_orders", 26),
        ),
        "team": "data-eng",
        "team_name": "Data Engineering",
        "channel": "C0123DATA",
        "trains": (),
        "feeds": ("churn", "ltv", "recs"),
        "success_rate": 0.5,
        "median_duration": timedelta(minutes=35),
        "counted_runs": 2,
        "cost": RunCost("USD", Decimal("1942.83"), Decimal("156.90"), 2, 23, None),
        "now": NOW,
    }
    return PipelineDetail(**(values | kw))


def test_pipeline_answer_has_owner_channel_lineage_and_failure():
    reply = valid(render_pipeline(detail(), tz=UTC))
    text = shown(reply)
    assert reply.text.startswith(":red_circle: *`nightly_orders`* is failing: the last run failed")
    assert "Data Engineering · <#C0123DATA>" in text
    assert "feeds `churn`, `ltv`, `recs`" in text
    assert "50% of the last 2 runs succeeded · median 35m 00s" in text
    assert "/logs|log>" in text


def test_the_failed_runs_cost_is_said_to_be_estimated_from_run_time():
    text = shown(valid(render_pipeline(detail(), tz=UTC)))
    assert "*$1,943* this month" in text
    assert "2 failed runs (of 23) cost about *$156.90*, estimated from run time" in text


def test_a_long_error_is_escaped_and_cut():
    reply = valid(render_pipeline(detail(), tz=UTC))
    failure = next(b for b in reply.blocks if "Last run failed" in json.dumps(b))
    body = failure["text"]["text"]
    assert "<!channel>" not in body and "…" in body and "``````" not in body
    assert len(body) < 1200


def test_unreachable_orchestrators_and_unknown_names_are_answered():
    down = detail(
        status=None, cost=None, problems=(SourceProblem(source="airflow", reason="down"),)
    )
    assert "could not reach the orchestrators" in valid(render_pipeline(down, tz=UTC)).text
    unknown = valid(render_unknown_pipeline(Unknown("pipeline", "<!channel>", ("nightly_orders",))))
    assert unknown.text == (
        "I don't know a pipeline called `&lt;!channel&gt;`. Did you mean `nightly_orders`?"
    )


# -- scorecard ----------------------------------------------------------------------------------
def scorecard(**kw: Any) -> TeamScorecard:
    budget = Budget(team="ml-platform", monthly=Decimal(60000))
    line = BudgetLine(
        team="ml-platform",
        budget=budget,
        spent_mtd=Decimal(55259),
        forecast=Decimal(72077),
        burn=0.92,
        at_risk=True,
        breach_on=date(2026, 11, 25),
        crossed=(0.5, 0.8),
    )
    health = ModelHealth(model="recs", drift=0.35, problems=("drift 0.35 above threshold 0.25",))
    values: dict[str, Any] = {
        "team": "ml-platform",
        "name": "ML Platform",
        "channel": "C0123MLPLAT",
        "pipelines": board(failing=1, late=0, healthy=17),
        "models": [
            (Model(name="recs", source="mlflow"), health),
            (Model(name="churn", source="mlflow"), ModelHealth(model="churn")),
        ],
        "spend": TeamSpend("USD", line.spent_mtd, line.forecast, line),
        "incidents": [],
        "today": date(2026, 11, 23),
    }
    return TeamScorecard(**(values | kw))


def test_scorecard_puts_the_domains_side_by_side_then_the_evidence():
    reply = valid(render_scorecard(scorecard(), tz=UTC))
    assert reply.text == (
        ":red_circle: *ML Platform*: 1 failing pipeline, 1 unhealthy model, forecast over budget."
    )
    fields = next(b for b in reply.blocks if "fields" in b)["fields"]
    assert [f["text"].split("\n")[0] for f in fields] == [
        "*Pipelines* (18)",
        "*Models* (2)",
        "*Spend* (November)",
        "*Incidents*",
    ]
    text = shown(reply)
    assert "$55,259 of $60,000 (92%) · forecast $72,077" in text
    assert "drift 0.35 above threshold 0.25" in text and "<#C0123MLPLAT>" in text


def test_a_clean_team_scorecard_says_all_clear():
    clean = scorecard(
        pipelines=board(failing=0, late=0, healthy=3),
        models=[],
        spend=TeamSpend("USD", Decimal(10), Decimal(20), None),
    )
    assert "all clear" in valid(render_scorecard(clean, tz=UTC)).text


# -- owners -------------------------------------------------------------------------------------
def card(**kw: Any) -> TeamCard:
    values: dict[str, Any] = {
        "slug": "data-eng",
        "name": "Data Engineering",
        "channel": "C0123DATA",
        "leads": ("U0DE0ANNA",),
        "oncall": "S0DEONCALL",
        "usergroup": None,
        "members": 4,
    }
    return TeamCard(**(values | kw))


def test_owners_mentions_leads_oncall_group_and_channel():
    answer = OwnersAnswer(
        asked="nightly_orders",
        subjects=[Owned("pipeline", "nightly_orders", "data-eng")],
        teams={"data-eng": card()},
        models_fed={"nightly_orders": ("churn",)},
    )
    reply = valid(render_owners(answer))
    text = shown(reply)
    assert reply.text == "`nightly_orders` (pipeline) is owned by *Data Engineering*."
    assert "<@U0DE0ANNA>" in text and "<!subteam^S0DEONCALL>" in text and "<#C0123DATA>" in text


def test_owners_of_a_team_says_what_it_owns_and_its_budget():
    answer = OwnersAnswer(
        asked="data-eng",
        subjects=[Owned("team", "data-eng", "data-eng")],
        teams={
            "data-eng": card(
                pipelines=17, models=0, budget=Budget(team="data-eng", monthly=Decimal(45000))
            )
        },
    )
    text = shown(valid(render_owners(answer)))
    assert "17 pipelines · 0 models" in text and "$45,000 a month" in text


def test_owners_of_an_unowned_or_unknown_thing_is_escaped_and_helpful():
    unowned = OwnersAnswer(asked=EVIL, subjects=[Owned("service", EVIL, None)], teams={})
    text = shown(valid(render_owners(unowned)))
    assert "<!channel>" not in text and "`ownership.services`" in text
    unknown = valid(render_owners_unknown(Unknown("thing", "<https://evil|x>", ("churn",))))
    assert "<https://evil" not in shown(unknown) and "`&lt;https://evil¦x&gt;`" not in unknown.text
    assert "&lt;https://evil|x&gt;" in unknown.text and "Did you mean `churn`?" in unknown.text


# -- incidents ----------------------------------------------------------------------------------
def incident(n: int, **kw: Any) -> Incident:
    values: dict[str, Any] = {
        "id": n,
        "fingerprint": f"f{n}",
        "title": f"Alert {n}",
        "team": "ml-platform",
        "severity": "warning",
        "status": "open",
        "source": "alertmanager",
        "opened_at": NOW.timestamp() - 3600,
        "last_alert_at": NOW.timestamp(),
        "alert_count": 3,
    }
    return Incident(**(values | kw))


def test_incidents_show_severity_team_since_alerts_ack_and_thread():
    acked = incident(
        1,
        severity="critical",
        status="acknowledged",
        acknowledged_by="U0ML0EVA",
        title=EVIL,
        channel="C0123MLPLAT",
    )
    reply = valid(
        render_incidents(
            [acked, incident(2)],
            tz=UTC,
            threads={1: RootPost(channel="C0123MLPLAT", ts="1795000000.000100")},
        )
    )
    text = shown(reply)
    assert reply.text == ":rotating_light: *2 open incidents* (1 critical, 1 not acknowledged)."
    assert ":red_circle: *&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "ack'd by <@U0ML0EVA>" in text and "3 alerts" in text and "since <!date^" in text
    assert (
        "<https://slack.com/archives/C0123MLPLAT/p1795000000000100|thread> in <#C0123MLPLAT>"
        in text
    )


def test_no_open_incidents_is_a_headline_of_its_own():
    reply = valid(render_incidents([], tz=UTC, team="data-eng"))
    assert reply.text == ":white_check_mark: No open incidents for *data-eng*."


def test_incident_lists_page_and_embed_within_limits():
    many = [incident(n) for n in range(1, 40)]
    first = valid(render_incidents(many, tz=UTC, command="incidents", page=0))
    assert any(b["type"] == "actions" for b in first.blocks)
    blocks = incident_blocks(many, tz=UTC, limit=4)
    assert len(blocks) == 5 and "…and 35 more" in json.dumps(blocks, ensure_ascii=False)
