"""Model renderers: domain objects in, valid and escaped Block Kit out, unhealthy first, cost
with its shared pipelines said out loud."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.answers.model_cost import ModelCost, PipelineCost
from bot.answers.models import IncidentThresholds, ModelBoard, ModelDetail, UpstreamPipeline
from bot.views.ids import Action
from bot.views.models import (
    PER_PAGE,
    metrics_comparison_fields,
    model_board_blocks,
    render_model,
    render_models,
)
from bot.views.paging import PageRef
from bot.views.terminal import render_blocks
from integrations.models import (
    Model,
    ModelHealth,
    ModelVersion,
    PipelineRun,
    RunState,
    SourceProblem,
)
from tests.fakeslack import validate_blocks

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def model(name: str, **aliases: str) -> Model:
    return Model(
        name=name,
        source="mlflow",
        aliases=aliases,
        latest_version=max(aliases.values(), default=None),
        url=f"https://mlflow.example/#/models/{name}",
    )


def healthy(name: str) -> ModelHealth:
    return ModelHealth(
        model=name, latency_p95_ms=48.0, error_rate=0.002, drift=0.07, measured_at=NOW
    )


def drifting(name: str) -> ModelHealth:
    return ModelHealth(
        model=name, drift=0.35, measured_at=NOW, problems=("drift 0.35 above threshold 0.25",)
    )


def text_of(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# -- the board ------------------------------------------------------------------------------------
def board_of(*rows, problems=(), team=None) -> ModelBoard:
    return ModelBoard(rows=list(rows), problems=problems, team=team)


def test_board_headline_counts_unhealthy_with_reasons_and_lists_them_first():
    board = board_of(
        (model("recs", champion="21"), drifting("recs"), "ml-platform"),
        (model("churn", champion="12", challenger="14"), healthy("churn"), "ml-platform"),
        (model("ltv", champion="5"), healthy("ltv"), "analytics"),
    )
    reply = render_models(board, command="models", page=0, tz=BERLIN)
    assert reply.text == "3 models, 1 unhealthy: recs drifting"
    rows = [b for b in reply.blocks if b["type"] == "section"][1:]
    assert "recs" in rows[0]["text"]["text"] and "drift 0.35 above" in rows[0]["text"]["text"]
    assert "champion v12 · challenger v14" in rows[1]["text"]["text"]
    assert validate_blocks(reply.blocks, surface="message") == []


def test_all_healthy_board_says_so():
    board = board_of((model("churn", champion="12"), healthy("churn"), "ml-platform"))
    assert render_models(board, command="models", page=0, tz=BERLIN).text == "1 model, all healthy"


def test_long_board_goes_out_a_page_at_a_time_with_a_more_button():
    rows = [(model(f"m{n:02d}", champion="1"), healthy(f"m{n:02d}"), "ml") for n in range(45)]
    board = board_of(*rows)
    first = render_models(board, command="models team:ml", page=0, tz=BERLIN)
    last = render_models(board, command="models team:ml", page=2, tz=BERLIN)
    buttons = [e for b in first.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [Action.page_more]
    ref = PageRef.model_validate_json(buttons[0]["value"])
    assert ref == PageRef(command="models team:ml", page=1)
    assert f"Showing {PER_PAGE} of 45" in text_of(first.blocks)
    assert "m44" in text_of(last.blocks) and "m00" not in text_of(last.blocks)
    assert not any(b["type"] == "actions" for b in last.blocks)
    for reply in (first, last):
        assert validate_blocks(reply.blocks, surface="message") == []


def test_partial_board_names_the_source_that_did_not_answer():
    board = board_of(
        (model("churn", champion="12"), None, "ml-platform"),
        problems=(SourceProblem(source="prometheus", reason="timed out after 5.0 s"),),
    )
    reply = render_models(board, command="models", page=0, tz=BERLIN)
    assert "Partial answer" in text_of(reply.blocks) and "prometheus" in text_of(reply.blocks)
    assert "health unknown" in reply.text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_peer_text_on_the_board_is_escaped():
    evil = Model(name="<!channel>", source="mlflow", aliases={"<!here>": "1"})
    health = ModelHealth(model="<!channel>", problems=("<https://evil.example|click me>",))
    reply = render_models(board_of((evil, health, None)), command="models", page=0, tz=BERLIN)
    rendered = text_of(reply.blocks) + reply.text
    assert "<!channel>" not in rendered and "<!here>" not in rendered
    assert "<https://evil" not in rendered and "&lt;!channel&gt;" in rendered


def test_compact_board_shows_the_headline_and_a_few_models_unhealthy_first():
    rows = [(model("recs", champion="21"), drifting("recs"), "ml-platform")] + [
        (model(f"m{n}", champion="1"), healthy(f"m{n}"), "ml") for n in range(9)
    ]
    blocks = model_board_blocks(board_of(*rows), limit=3)
    text = text_of(blocks)
    assert "10 models, 1 unhealthy" in text and "recs" in text
    assert "…and 7 more" in text and "m5" not in text
    assert validate_blocks(blocks, surface="message") == []


# -- metrics comparison ---------------------------------------------------------------------------
def version(number: str, **metrics: float) -> ModelVersion:
    return ModelVersion(model="churn", version=number, metrics=metrics)


def test_metrics_comparison_marks_higher_auc_better_and_higher_rmse_worse():
    fields = metrics_comparison_fields(
        version("14", auc=0.872, rmse=41.9), version("12", auc=0.863, rmse=41.2)
    )
    auc, rmse = (f["text"] for f in fields)
    assert auc.startswith("*auc*") and ":arrow_up:" in auc and "better" in auc
    assert rmse.startswith("*rmse*") and ":arrow_up:" in rmse and "worse" in rmse


def test_metrics_comparison_lower_loss_is_better_and_missing_values_show_a_dash():
    loss, extra = (
        f["text"]
        for f in metrics_comparison_fields(
            version("2", log_loss=0.40), version("1", log_loss=0.41, recall=0.5)
        )
    )
    assert ":arrow_down:" in loss and "better" in loss
    assert extra.startswith("*recall*") and "v2 —" in extra


def test_metrics_comparison_without_a_current_version_lists_values_and_stays_within_ten():
    many = version("3", **{f"metric_{n}": n / 10 for n in range(15)})
    fields = metrics_comparison_fields(many, None)
    assert len(fields) == 10 and "better" not in text_of(fields)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "fields": fields}
    assert validate_blocks([block], surface="message") == []


# -- one model ------------------------------------------------------------------------------------
def churn_cost(start: date, scale: int = 1) -> ModelCost:
    return ModelCost(
        model="churn",
        start=start,
        end=date(2026, 11, 24),
        pipelines=(
            PipelineCost("churn_training", "trains", {"USD": Decimal(1500 * scale)}),
            PipelineCost(
                "nightly_orders", "feeds", {"USD": Decimal(1800 * scale)}, ("ltv", "recs")
            ),
        ),
        serving={"USD": Decimal(880 * scale)},
    )


def churn_detail(**changes) -> ModelDetail:
    champion = version("12", auc=0.863, precision=0.63)
    challenger = version("14", auc=0.872, precision=0.64)
    failed_at = NOW - timedelta(hours=34)
    values = dict(
        model=Model(
            name="churn",
            source="mlflow",
            description="Probability a subscriber cancels within 30 days",
            aliases={"champion": "12", "challenger": "14"},
            url="https://mlflow.example/#/models/churn",
        ),
        asked="churn",
        versions=(challenger, version("13", auc=0.87), champion),
        version_count=14,
        aliased={"champion": champion, "challenger": challenger},
        health=healthy("churn"),
        thresholds=IncidentThresholds(drift=0.25, latency_p95_ms=250),
        team="ml-platform",
        channel="C0123MLPLAT",
        cost_mtd=churn_cost(date(2026, 11, 1)),
        cost_30d=churn_cost(date(2026, 10, 25), scale=2),
        upstream=(
            UpstreamPipeline("churn_training", "trains"),
            UpstreamPipeline(
                "nightly_orders",
                "feeds",
                last_run=PipelineRun(
                    pipeline="nightly_orders",
                    run_id="r2",
                    state=RunState.failed,
                    started_at=NOW - timedelta(hours=10),
                    failed_task="load_to_warehouse",
                ),
                failing_since=failed_at,
                failed_runs=2,
            ),
        ),
    )
    values.update(changes)
    return ModelDetail(**values)  # type: ignore[arg-type]


def test_model_page_compares_challenger_with_champion_and_says_where_it_is_fed_from():
    reply = render_model(churn_detail(), tz=BERLIN, now=NOW)
    text = text_of(reply.blocks)
    assert "challenger v14* vs *champion v12" in text
    assert "Fed by `nightly_orders`, *failing since" in text and "load_to_warehouse" in text
    assert "<#C0123MLPLAT>" in text and "https://mlflow.example/#/models/churn" in text
    assert "48 ms (alert above 250 ms)" in text
    assert "0.07 (threshold 0.25)" in text
    assert reply.text.startswith("churn: healthy;") and "nightly_orders (failing)" in reply.text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_model_cost_shows_training_serving_and_the_shared_pipeline_share():
    text = render_blocks(render_model(churn_detail(), tz=BERLIN, now=NOW).blocks)
    # month to date: training 1,500 + 1,800 / 3 = 2,100; serving 880; total 2,980
    assert "$2,980" in text and "training $2,100 · serving $880" in text
    assert "$5,960" in text  # the last 30 days (twice the spend in this example)
    assert "shared with ltv, recs: 1/3 counted ($600 this month)" in text
    assert "split evenly" in text


def test_loosely_matched_name_says_what_was_understood():
    reply = render_model(churn_detail(asked="chrn"), tz=BERLIN, now=NOW)
    assert "closest match to `chrn`" in text_of(reply.blocks)


def test_model_page_without_health_or_cost_is_marked_partial_and_still_valid():
    problems = (
        SourceProblem(source="prometheus", reason="connection refused"),
        SourceProblem(source="focus", reason="timed out after 5.0 s"),
    )
    unknown = ModelCost(
        model="churn",
        start=date(2026, 11, 1),
        end=date(2026, 11, 24),
        pipelines=(PipelineCost("churn_training", "trains", {}, known=False),),
        problems=problems[1:],
    )
    reply = render_model(
        churn_detail(health=None, cost_mtd=unknown, cost_30d=unknown, problems=problems),
        tz=BERLIN,
        now=NOW,
    )
    text = text_of(reply.blocks)
    assert "Health unknown" in text and "Partial answer" in text and "cost unknown" in text
    assert "health unknown" in reply.text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_model_page_escapes_peer_text_and_stays_within_limits():
    evil = Model(
        name="churn",
        source="mlflow",
        description="<!channel> " + "x" * 5000,
        aliases={"champion": "12"},
    )
    reply = render_model(churn_detail(model=evil, asked="<!here>"), tz=BERLIN, now=NOW)
    text = text_of(reply.blocks)
    assert "<!channel>" not in text and "<!here>" not in text
    assert validate_blocks(reply.blocks, surface="message") == []
