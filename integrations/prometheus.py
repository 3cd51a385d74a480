"""Prometheus metrics adapter: model health (latency p95, error rate, drift) and sparkline ranges.

Queries are PromQL templates with a `{model}` placeholder, overridable from ops.yml. The model
name is only ever substituted after it matched MODEL_NAME and was escaped as a PromQL string, so
a name can never change the query's structure. The latency template must return seconds
(Prometheus' base unit); the adapter reports milliseconds. When a template yields several
series, the largest value counts: health is judged on the worst replica.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from integrations.errors import SourceDataError
from integrations.http import DEFAULT_TIMEOUT, SourceClient
from integrations.models import ModelHealth, ProbeResult

MODEL_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_RANGE_POINTS = 11_000  # Prometheus refuses more points per series than this

DEFAULT_QUERIES: dict[str, str] = {
    "latency_p95": (
        "histogram_quantile(0.95, sum by (le) "
        '(rate(model_request_latency_seconds_bucket{model="{model}"}[5m])))'
    ),
    "error_rate": (
        'sum(rate(model_request_errors_total{model="{model}"}[5m])) '
        '/ sum(rate(model_requests_total{model="{model}"}[5m]))'
    ),
    "drift": 'max(model_drift_score{model="{model}"})',
}


class HealthThresholds(BaseModel):
    """Above any of these a model is unhealthy; ops.yml may override each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_p95_ms: float = 500.0
    error_rate: float = 0.05
    drift: float = 0.3


def promql_string(value: str) -> str:
    """Escape for the inside of a double- or single-quoted PromQL string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")


def render_query(template: str, model: str, *, source: str = "prometheus") -> str:
    """The template with the validated, escaped model name in place of `{model}`."""
    if not MODEL_NAME.fullmatch(model):
        raise SourceDataError(
            source,
            f"refusing model name {model[:60]!r} in a PromQL query: only letters, digits and "
            "_ . : - are allowed (1-128 characters)",
            "use the model's registered name; `/ops models` lists them",
        )
    # str.replace, not str.format: PromQL itself is full of braces.
    return template.replace("{model}", promql_string(model))


def _number(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None  # NaN: no traffic; Inf: nothing to show


def parse_instant(body: Mapping[str, Any]) -> tuple[float | None, datetime | None]:
    """The largest finite value of a /api/v1/query answer and its time; (None, None) if empty."""
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    samples: list[tuple[Any, Any]] = []
    if kind == "vector":
        samples = [tuple(s.get("value") or (None, None)) for s in result or []]
    elif kind == "scalar" and result:
        samples = [tuple(result)]
    best: tuple[float, datetime] | None = None
    for ts, raw in samples:
        value = _number(raw)
        if value is None or ts is None:
            continue
        if best is None or value > best[0]:
            best = (value, datetime.fromtimestamp(float(ts), tz=UTC))
    return (best[0], best[1]) if best else (None, None)


def parse_range(body: Mapping[str, Any]) -> list[tuple[datetime, float]]:
    """Points of an /api/v1/query_range answer, the max across series per timestamp."""
    by_time: dict[float, float] = {}
    for series in (body.get("data") or {}).get("result") or []:
        for ts, raw in series.get("values") or []:
            value = _number(raw)
            if value is not None:
                key = float(ts)
                by_time[key] = max(value, by_time.get(key, value))
    return [(datetime.fromtimestamp(t, tz=UTC), v) for t, v in sorted(by_time.items())]


def health_problems(health: ModelHealth, thresholds: HealthThresholds) -> tuple[str, ...]:
    problems: list[str] = []
    if health.latency_p95_ms is not None and health.latency_p95_ms > thresholds.latency_p95_ms:
        problems.append(
            f"latency p95 {health.latency_p95_ms:.0f} ms is above {thresholds.latency_p95_ms:g} ms"
        )
    if health.error_rate is not None and health.error_rate > thresholds.error_rate:
        problems.append(f"error rate {health.error_rate:.1%} is above {thresholds.error_rate:.1%}")
    if health.drift is not None and health.drift > thresholds.drift:
        problems.append(f"drift score {health.drift:.2f} is above {thresholds.drift:g}")
    return tuple(problems)


class PrometheusMetrics:
    """MetricsSource over the Prometheus HTTP API."""

    name = "prometheus"

    def __init__(
        self,
        base_url: str,
        *,
        queries: Mapping[str, str] | None = None,
        thresholds: HealthThresholds | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        unknown = set(queries or {}) - set(DEFAULT_QUERIES)
        if unknown:
            raise ValueError(
                f"unknown Prometheus query keys {sorted(unknown)}; known: {sorted(DEFAULT_QUERIES)}"
            )
        self.queries = {**DEFAULT_QUERIES, **(queries or {})}
        self.thresholds = thresholds or HealthThresholds()
        self.timeout = timeout
        self._http = SourceClient(self.name, base_url, token=token, timeout=timeout, client=client)

    def _query_params(self) -> dict[str, str]:
        # Ask Prometheus to give up evaluating when we stop waiting.
        return {"timeout": f"{max(self.timeout, 0.1):g}s"}

    async def _instant(self, metric: str, model: str) -> tuple[float | None, datetime | None]:
        query = render_query(self.queries[metric], model, source=self.name)
        try:
            body = await self._http.get_json(
                "api/v1/query", params={"query": query, **self._query_params()}
            )
        except SourceDataError as exc:  # 400/422: the template is wrong, say which one
            raise SourceDataError(
                self.name,
                f"the {metric} query failed: {exc.message}",
                f"check the PromQL for `{metric}` under the prometheus source in ops.yml",
            ) from None
        return parse_instant(body)

    async def model_health(self, model: str) -> ModelHealth:
        for metric in DEFAULT_QUERIES:  # validate before any request goes out
            render_query(self.queries[metric], model, source=self.name)
        (latency, t1), (errors, t2), (drift, t3) = await asyncio.gather(
            self._instant("latency_p95", model),
            self._instant("error_rate", model),
            self._instant("drift", model),
        )
        measured = max((t for t in (t1, t2, t3) if t is not None), default=None)
        health = ModelHealth(
            model=model,
            latency_p95_ms=latency * 1000 if latency is not None else None,
            error_rate=errors,
            drift=drift,
            measured_at=measured,
        )
        return health.model_copy(update={"problems": health_problems(health, self.thresholds)})

    async def range(
        self, model: str, metric: str, start: datetime, end: datetime, step: timedelta
    ) -> list[tuple[datetime, float]]:
        """A metric's values over [start, end] every `step`, oldest first (for sparklines)."""
        if metric not in self.queries:
            raise SourceDataError(
                self.name,
                f"unknown metric {metric!r}",
                f"use one of {', '.join(sorted(self.queries))}",
            )
        seconds = step.total_seconds()
        if seconds <= 0 or end <= start:
            raise SourceDataError(
                self.name, "a range needs end after start and a positive step", None
            )
        if (end - start).total_seconds() / seconds > MAX_RANGE_POINTS:
            raise SourceDataError(
                self.name,
                f"{metric} over that period at that step is more than {MAX_RANGE_POINTS} points",
                "use a larger step",
            )
        query = render_query(self.queries[metric], model, source=self.name)
        body = await self._http.get_json(
            "api/v1/query_range",
            params={
                "query": query,
                "start": f"{start.timestamp():.3f}",
                "end": f"{end.timestamp():.3f}",
                "step": f"{seconds:g}",
                **self._query_params(),
            },
        )
        points = parse_range(body)
        if metric == "latency_p95":
            return [(t, v * 1000) for t, v in points]
        return points

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            body = await self._http.get_json("api/v1/status/buildinfo")
            version = (body.get("data") or {}).get("version") or "unknown version"
            return f"Prometheus {version} answers at {self._http.display_url()}"

        return await self._http.probe(check)

    async def aclose(self) -> None:
        await self._http.aclose()
