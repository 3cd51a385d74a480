"""The demo model registry and serving health: versions with metrics, aliases, drift, latency."""

from __future__ import annotations

from datetime import datetime, timedelta

from integrations.demo.catalog import (
    BASE_URL,
    DRIFT_THRESHOLD,
    DRIFTING,
    ERROR_RATE_MAX,
    LATENCY_P95_MS,
    LINEAGE,
    LOWER_IS_BETTER,
    ModelSpec,
)
from integrations.demo.pipelines import seeded
from integrations.models import Model, ModelHealth, ModelVersion

_FRAMEWORK = {"classification": "xgboost", "regression": "lightgbm", "ranking": "pytorch"}
# Who registers versions, in turn (ops.example.yml maps the first three to Slack users).
REGISTRARS = ("eva@acme.example", "kemi@acme.example", "farid@acme.example", "ml-ci-bot")


def training_pipeline(model: str) -> str | None:
    return next((p for p, links in LINEAGE.items() if model in links["trains"]), None)


def versions(spec: ModelSpec, *, seed: int, now: datetime) -> list[ModelVersion]:
    """All versions, newest first; metrics improve slowly towards the latest version's."""
    rng = seeded(seed, "model", spec.name)
    newest = now - timedelta(days=spec.every_days * rng.uniform(0.2, 0.9))
    pipeline = training_pipeline(spec.name)
    out = []
    for v in range(spec.versions, 0, -1):
        age = spec.versions - v
        created = newest - timedelta(days=spec.every_days * age, hours=rng.uniform(0, 6))
        metrics = {}
        for name, value in spec.metrics.items():
            drift = 1 + (0.006 if name in LOWER_IS_BETTER else -0.004) * age
            metrics[name] = round(value * drift * rng.uniform(0.997, 1.003), 4)
        run_id = f"{rng.getrandbits(128):032x}"
        aliases = tuple(
            a for a, n in (("champion", spec.champion), ("challenger", spec.challenger)) if n == v
        )
        tags = {"framework": _FRAMEWORK[spec.kind]}
        if pipeline:
            tags["pipeline"] = pipeline
        out.append(
            ModelVersion(
                model=spec.name,
                version=str(v),
                run_id=run_id,
                status="READY",
                source=f"s3://acme-ml-artifacts/{spec.name}/{run_id}/artifacts/model",
                aliases=aliases,
                tags=tags,
                metrics=metrics,
                created_at=created,
                created_by=REGISTRARS[v % len(REGISTRARS)],
                url=f"{BASE_URL}/mlflow/#/models/{spec.name}/versions/{v}",
            )
        )
    return out


def model(spec: ModelSpec, history: list[ModelVersion], aliases: dict[str, str]) -> Model:
    return Model(
        name=spec.name,
        source="demo",
        description=spec.description,
        aliases=dict(aliases),
        tags={"team": spec.team, "kind": spec.kind},
        latest_version=history[0].version if history else None,
        updated_at=history[0].created_at if history else None,
        url=f"{BASE_URL}/mlflow/#/models/{spec.name}",
    )


def health(spec: ModelSpec, *, seed: int, now: datetime) -> ModelHealth:
    """Serving metrics now; problems name each threshold crossed (same thresholds as ops.yml)."""
    rng = seeded(seed, "health", spec.name, now.date().isoformat())
    latency = round(spec.latency_ms * rng.uniform(0.97, 1.03), 1) if spec.latency_ms else None
    errors = round(rng.uniform(0.0005, 0.004), 4) if spec.latency_ms else None
    drift = round(DRIFTING.get(spec.name, spec.drift) * rng.uniform(0.97, 1.03), 3)
    problems = []
    if drift > DRIFT_THRESHOLD:
        problems.append(f"drift {drift:.2f} above threshold {DRIFT_THRESHOLD:.2f}")
    if latency is not None and latency > LATENCY_P95_MS:
        problems.append(f"latency p95 {latency:.0f} ms above {LATENCY_P95_MS:.0f} ms")
    if errors is not None and errors > ERROR_RATE_MAX:
        problems.append(f"error rate {errors:.1%} above {ERROR_RATE_MAX:.0%}")
    return ModelHealth(
        model=spec.name,
        latency_p95_ms=latency,
        error_rate=errors,
        drift=drift,
        measured_at=now,
        problems=tuple(problems),
    )
