"""Pipeline detectors: the latest finished run failed, and a scheduled run that has not succeeded
by its SLA. Both read the orchestrators as `/ops status` does (pipeline_board)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.answers.deps import AnswerDeps
from bot.answers.pipelines import PipelineBoard, failing_streak, pipeline_board
from bot.incidents.alerts import Severity, Subject, SubjectKind
from bot.incidents.detectors.base import Collected, Findings, firing, link
from bot.ops_config.common import format_duration
from integrations.models import PipelineStatus
from integrations.pipeline_status import pipeline_status

FAILURE = "pipeline_failure"
SLA = "pipeline_sla"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _labels(board: PipelineBoard, status: PipelineStatus) -> dict[str, str | None]:
    """What both detectors say about the pipeline: routing reads `team`."""
    name = status.pipeline.name
    return {"pipeline": name, "team": board.owner_of(name), "orchestrator": status.pipeline.source}


def failure_key(pipeline: str) -> str:
    return f"pipeline:{pipeline}:failed"


def sla_key(pipeline: str) -> str:
    return f"pipeline:{pipeline}:sla"


async def pipeline_failures(deps: AnswerDeps) -> Findings:
    """One alert per pipeline whose newest finished run failed; it clears with a success."""
    board = await pipeline_board(deps)
    found = Collected()
    found.add_problems(board.problems)
    for status in board.failing:
        streak = failing_streak(status.runs)
        latest, first = streak[0], streak[-1]
        name = status.pipeline.name
        where = f" at task {latest.failed_task}" if latest.failed_task else ""
        summary = f"Run {latest.run_id} failed{where}"
        summary += f": {latest.error}" if latest.error else "."
        if len(streak) > 1:
            summary += f" {len(streak)} runs in a row have failed."
        found.firing.append(
            firing(
                FAILURE,
                failure_key(name),
                f"{name} failed",
                now=deps.now,
                summary=summary,
                severity=Severity.error,
                subject=Subject(SubjectKind.pipeline, name),
                labels=_labels(board, status),
                links=(
                    link("Log", latest.log_url),
                    link("Run", latest.url),
                    link("Pipeline", status.pipeline.url),
                ),
                starts_at=first.ended_at or first.started_at or first.scheduled_for,
            )
        )
    return found.findings()


def with_configured_sla(status: PipelineStatus, deps: AnswerDeps) -> PipelineStatus:
    """The status judged with ops.yml's SLA for the pipeline (over its orchestrator's), or the
    default SLA where it has none at all."""
    config = deps.config.incidents.detectors.pipeline_sla
    pipeline = status.pipeline
    sla = config.pipelines.get(pipeline.name)
    if sla is not None:
        pipeline = pipeline.model_copy(update={"sla": sla})
    return pipeline_status(pipeline, status.runs, now=deps.now, default_sla=config.default)


def _sla_text(sla: timedelta | None) -> str:
    return f"an SLA of {format_duration(sla)}" if sla else "its next scheduled run"


async def pipeline_sla_misses(deps: AnswerDeps) -> Findings:
    """One alert per scheduled pipeline that has not succeeded by its deadline (its slot + SLA).

    A pipeline whose latest run failed is left to the failure detector (when it is enabled):
    its failure is the news, and a missed SLA follows from it.
    """
    board = await pipeline_board(deps)
    found = Collected()
    found.add_problems(board.problems)
    detectors = deps.config.incidents.detectors
    failing = {s.pipeline.name for s in board.failing} if detectors.pipeline_failure else set()
    config = detectors.pipeline_sla
    for listed in [*board.failing, *board.late, *board.running, *board.healthy]:
        name = listed.pipeline.name
        if name in failing:
            continue
        status = with_configured_sla(listed, deps)
        if not status.late:
            continue
        sla = config.pipelines.get(name) or status.pipeline.sla or config.default
        summary = (
            f"No successful run by {_when(status.expected_by)} ({_sla_text(sla)}); "
            f"last success {_when(status.last_success_at)}."
        )
        if status.last_run is not None:
            summary += f" Latest run: {status.last_run.state.value}."
        found.firing.append(
            firing(
                SLA,
                sla_key(name),
                f"{name} missed its SLA",
                now=deps.now,
                summary=summary,
                severity=Severity.warning,
                subject=Subject(SubjectKind.pipeline, name),
                labels=_labels(board, status),
                links=(link("Pipeline", status.pipeline.url),),
                starts_at=status.expected_by,
            )
        )
    return found.findings()
