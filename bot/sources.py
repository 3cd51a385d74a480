"""From ops.yml to live adapters: builds the `Sources` hub (cached, concurrent) the answers read through.

Secrets are resolved here from the environment variables ops.yml names; adapters only ever
receive plain values, and a named variable that is not set is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.ops_config import OpsConfig
from bot.settings import Settings
from integrations.cache import cached_source
from integrations.hub import Sources
from integrations.models import CostMeasure, ProbeResult

SecretLookup = Callable[[str], str | None]


@dataclass
class BuiltSources:
    sources: Sources
    # Problems found while wiring (an env var ops.yml names is unset), reported by check-sources.
    wiring: list[ProbeResult] = field(default_factory=list)
    # Where approved budgets are also written (AWS Budgets, with aws_cost_explorer.mirror_budgets).
    budget_mirror: Any = None


class _Secrets:
    def __init__(self, lookup: SecretLookup) -> None:
        self.lookup = lookup
        self.missing: list[tuple[str, str, str]] = []  # (source, yaml key, variable)

    def get(self, source: str, key: str, variable: str | None) -> str | None:
        if not variable:
            return None
        value = self.lookup(variable)
        if value is None:
            self.missing.append((source, key, variable))
        return value


def build_sources(
    cfg: OpsConfig,
    *,
    secrets: SecretLookup = Settings.secret_env,
    now: datetime | None = None,
    demo_cache: Path | None = None,
) -> BuiltSources:
    """Adapters for every enabled source in ops.yml, each wrapped in the short TTL cache.

    `demo_cache` keeps the demo company's generated spend files there between processes (the
    CLI's); without it they last as long as the process."""
    from integrations import airflow, dagster, mlflow, prefect, prometheus
    from integrations.demo.company import DemoCompany
    from integrations.focus.source import FocusCostSource

    blocks = cfg.sources
    env = _Secrets(secrets)
    allocation = {k: dict(v) for k, v in cfg.ownership.cost_allocation.items()} or None
    pipelines: list[Any] = []
    registries: list[Any] = []
    metrics: list[Any] = []
    costs: list[Any] = []

    if blocks.is_enabled("demo") and blocks.demo is not None:
        demo = DemoCompany(
            blocks.demo.seed,
            now=now or datetime.now(UTC),
            timezone=cfg.workspace.timezone,
            cache_dir=demo_cache,
        )
        pipelines.append(demo)
        registries.append(demo)
        metrics.append(demo)
        costs.append(demo)
    if blocks.is_enabled("airflow") and (af := blocks.airflow) is not None:
        pipelines.append(
            airflow.AirflowSource(
                str(af.url),
                token=env.get("airflow", "token_env", af.token_env),
                username=env.get("airflow", "username_env", af.username_env),
                password=env.get("airflow", "password_env", af.password_env),
                timeout=af.timeout,
            )
        )
    if blocks.is_enabled("prefect") and (pf := blocks.prefect) is not None:
        pipelines.append(
            prefect.PrefectSource(
                str(pf.url),
                api_key=env.get("prefect", "api_key_env", pf.api_key_env),
                timeout=pf.timeout,
            )
        )
    if blocks.is_enabled("dagster") and (dg := blocks.dagster) is not None:
        pipelines.append(
            dagster.DagsterSource(
                str(dg.url), token=env.get("dagster", "token_env", dg.token_env), timeout=dg.timeout
            )
        )
    if blocks.is_enabled("mlflow") and (mf := blocks.mlflow) is not None:
        registries.append(
            mlflow.MlflowRegistry(
                str(mf.url), token=env.get("mlflow", "token_env", mf.token_env), timeout=mf.timeout
            )
        )
    if blocks.is_enabled("prometheus") and (prom := blocks.prometheus) is not None:
        detectors = cfg.incidents.detectors
        thresholds = prometheus.HealthThresholds(
            latency_p95_ms=detectors.model_latency.p95_ms,
            error_rate=detectors.model_error_rate.threshold,
            drift=detectors.model_drift.threshold,
        )
        metrics.append(
            prometheus.PrometheusMetrics(
                str(prom.url),
                queries=prom.queries.model_dump(),
                thresholds=thresholds,
                timeout=prom.timeout,
            )
        )
    if blocks.is_enabled("focus") and (fc := blocks.focus) is not None:
        costs.append(
            FocusCostSource(
                fc.path,
                version=fc.version,
                measure=CostMeasure(fc.measure),
                timezone=fc.day_timezone or cfg.workspace.timezone,
                allocation=allocation,
                service_owners=dict(cfg.ownership.services) or None,
            )
        )
    mirror = None
    if blocks.is_enabled("aws_cost_explorer") and (aws_ce := blocks.aws_cost_explorer) is not None:
        profile = env.get("aws_cost_explorer", "profile_env", aws_ce.profile_env)
        costs.append(_aws_cost_explorer(aws_ce.region, profile))
        if aws_ce.mirror_budgets:
            mirror = _aws_budgets(aws_ce.region, profile)

    ttl = blocks.cache_ttl
    wrapped: dict[int, Any] = {}  # one cache per adapter, even when it plays several roles

    def wrap(items: list[Any]) -> list[Any]:
        return [
            wrapped.setdefault(id(item), cached_source(item, ttl) if ttl > 0 else item)
            for item in items
        ]

    sources = Sources(
        pipelines=wrap(pipelines),
        registries=wrap(registries),
        metrics=wrap(metrics),
        costs=wrap(costs),
    )
    wiring = [
        ProbeResult(
            source=source,
            reachable=False,
            detail=f"{variable} is not set",
            fix=f"export {variable}=… (named by sources.{source}.{key} in ops.yml)",
        )
        for source, key, variable in env.missing
    ]
    return BuiltSources(sources=sources, wiring=wiring, budget_mirror=mirror)


def _aws_cost_explorer(region: str, profile: str | None) -> Any:
    import boto3

    from integrations.aws_costs import AwsCostExplorer

    session = boto3.Session(profile_name=profile, region_name=region) if profile else None
    return AwsCostExplorer(region=region, session=session)


def _aws_budgets(region: str, profile: str | None) -> Any:
    import boto3

    from integrations.aws_budgets import AwsBudgetsMirror

    session = boto3.Session(profile_name=profile, region_name=region) if profile else None
    return AwsBudgetsMirror(region=region, session=session)


async def probe_sources(built: BuiltSources) -> list[ProbeResult]:
    """What `switchboard check-sources` prints: wiring problems first, then a live probe of each."""
    return [*built.wiring, *await built.sources.probe_all()]


def format_probe(result: ProbeResult) -> str:
    status = "ok" if result.reachable and result.authenticated is not False else "FAIL"
    auth = {True: "authenticated", False: "NOT authenticated", None: "-"}[result.authenticated]
    latency = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "-"
    reach = "reachable" if result.reachable else "unreachable"
    line = f"{status:<4} {result.source:<18} {reach:<11} {auth:<17} {latency:>8}  {result.detail}"
    line += "".join(f"\n     warn: {warning}" for warning in result.warnings)
    return line + (f"\n     fix: {result.fix}" if result.fix else "")
