"""Model serving detectors: latency p95, error rate and drift above ops.yml's thresholds, read
from the metrics sources (Prometheus, the demo) as `/ops models` reads them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.answers.deps import AnswerDeps
from bot.answers.models import model_board
from bot.incidents.alerts import Severity, Subject, SubjectKind
from bot.incidents.detectors.base import Collected, DetectorFn, Findings, firing, link
from bot.ops_config import OpsConfig
from integrations.models import ModelHealth


@dataclass(frozen=True)
class Metric:
    detector: str  # model_latency, model_error_rate, model_drift
    key: str  # the dedup key's last part: model:<name>:<key>
    what: str  # in the title: "churn drift"
    value: Callable[[ModelHealth], float | None]
    threshold: Callable[[OpsConfig], float]
    shown: Callable[[float], str]
    severity: Severity


LATENCY = Metric(
    "model_latency",
    "latency",
    "latency p95",
    lambda h: h.latency_p95_ms,
    lambda c: c.incidents.detectors.model_latency.p95_ms,
    lambda v: f"{v:.0f} ms",
    Severity.warning,
)
ERROR_RATE = Metric(
    "model_error_rate",
    "error_rate",
    "error rate",
    lambda h: h.error_rate,
    lambda c: c.incidents.detectors.model_error_rate.threshold,
    lambda v: f"{v:.1%}",
    Severity.error,
)
DRIFT = Metric(
    "model_drift",
    "drift",
    "drift",
    lambda h: h.drift,
    lambda c: c.incidents.detectors.model_drift.threshold,
    lambda v: f"{v:.2f}",
    Severity.warning,
)


def model_key(model: str, metric: Metric) -> str:
    return f"model:{model}:{metric.key}"


def over_threshold(metric: Metric) -> DetectorFn:
    """A detector firing for each model whose `metric` is above its ops.yml threshold."""

    async def detect(deps: AnswerDeps) -> Findings:
        board = await model_board(deps)
        found = Collected()
        found.add_problems(board.problems)
        limit = metric.threshold(deps.config)
        for model, health, team in board.rows:
            value = metric.value(health) if health is not None else None
            if value is None or value <= limit:
                continue
            found.firing.append(
                firing(
                    metric.detector,
                    model_key(model.name, metric),
                    f"{model.name} {metric.what} {metric.shown(value)} is above "
                    f"{metric.shown(limit)}",
                    now=deps.now,
                    summary=(
                        f"{model.name}'s serving {metric.what} is {metric.shown(value)}, above "
                        f"the threshold of {metric.shown(limit)} (ops.yml incidents.detectors."
                        f"{metric.detector})."
                    ),
                    severity=metric.severity,
                    subject=Subject(SubjectKind.model, model.name),
                    labels={"model": model.name, "team": team},
                    links=(link("Model", model.url),),
                    starts_at=health.measured_at if health is not None else None,
                )
            )
        return found.findings()

    detect.__name__ = metric.detector
    return detect
