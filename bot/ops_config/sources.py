"""The `sources:` block of ops.yml: systems to read, where, and which env vars hold secrets."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.ops_config.common import EnvVarName, HttpUrl, StrictModel, Timezone

MODEL_PLACEHOLDER = "{model}"

# Keys people reach for when they paste a credential; each has an *_env twin.
_SECRET_KEY = re.compile(
    r"(?i)^(.*[_-])?(token|password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|secret[_-]?access[_-]?key|credentials?)$"
)


def secret_key_hint(key: str, env_keys: list[str]) -> str | None:
    """A message when `key` looks like it holds a secret (e.g. `token:`), else None.

    `env_keys` are the *_env keys allowed where `key` was written, offered instead."""
    if not _SECRET_KEY.match(key) or key.endswith("_env"):
        return None
    message = f"{key!r} looks like a secret; secrets never go in ops.yml"
    twin = key.lower().replace("-", "_") + "_env"
    if twin in env_keys:
        return f"{message}: put it in an environment variable and write `{twin}: VARIABLE_NAME`"
    if env_keys:
        names = ", ".join(env_keys)
        return f"{message}: put it in an environment variable and name it with {names}"
    return f"{message}: Switchboard reads its secrets (SLACK_BOT_TOKEN, …) from the environment"


class SourceConfig(StrictModel):
    enabled: bool = Field(True, description="Set false to keep the block but not use the source")


class HttpSourceConfig(SourceConfig):
    url: HttpUrl = Field(description="Base URL of the server (http or https)")
    timeout: float = Field(5, gt=0, le=300, description="Seconds per request before giving up")


class DemoConfig(SourceConfig):
    """The embedded deterministic demo company (pipelines, models, spend, budgets)."""

    seed: int = Field(42, description="Same seed and date give the same company and numbers")


class AirflowConfig(HttpSourceConfig):
    """Airflow 3 REST API (/api/v2). Use a token, or a username and password to obtain one."""

    username_env: EnvVarName | None = Field(None, description="Env var holding the username")
    password_env: EnvVarName | None = Field(None, description="Env var holding the password")
    token_env: EnvVarName | None = Field(None, description="Env var holding a bearer token")

    @model_validator(mode="after")
    def _username_and_password_together(self) -> AirflowConfig:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("username_env and password_env go together: set both or neither")
        return self


class PrefectConfig(HttpSourceConfig):
    """Prefect 3 server or Cloud API; `url` ends in /api."""

    api_key_env: EnvVarName | None = Field(None, description="Env var holding the API key")


class DagsterConfig(HttpSourceConfig):
    """Dagster webserver GraphQL endpoint; `url` ends in /graphql."""

    token_env: EnvVarName | None = Field(None, description="Env var holding a bearer token")


class MlflowConfig(HttpSourceConfig):
    """MLflow tracking server and model registry (REST 2.0)."""

    token_env: EnvVarName | None = Field(None, description="Env var holding a bearer token")


def _has_placeholder(template: str) -> str:
    if MODEL_PLACEHOLDER not in template:
        raise ValueError(
            f"PromQL template must contain the placeholder {MODEL_PLACEHOLDER} "
            '(replaced by the model name), e.g. model_drift_score{model="{model}"}'
        )
    return template


PromQLTemplate = Annotated[str, AfterValidator(_has_placeholder)]


class PrometheusQueries(StrictModel):
    """PromQL templates per model. The literal text `{model}` is replaced by the model name
    (plain text replacement, not str.format, because PromQL itself uses braces); the name is
    escaped for a PromQL string literal. Use `render` rather than replacing by hand. The
    defaults are the same as integrations.prometheus.DEFAULT_QUERIES."""

    latency_p95: PromQLTemplate = Field(
        "histogram_quantile(0.95, sum by (le) (rate(model_request_latency_seconds_bucket"
        '{model="{model}"}[5m])))',
        description="p95 latency in SECONDS (converted to ms for model_latency.p95_ms)",
    )
    error_rate: PromQLTemplate = Field(
        'sum(rate(model_request_errors_total{model="{model}"}[5m])) '
        '/ sum(rate(model_requests_total{model="{model}"}[5m]))',
        description="fraction of failing requests, 0..1",
    )
    drift: PromQLTemplate = Field(
        'max(model_drift_score{model="{model}"})',
        description="drift score compared with incidents.detectors.model_drift.threshold",
    )

    @staticmethod
    def render(template: str, model: str) -> str:
        escaped = model.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
        return template.replace(MODEL_PLACEHOLDER, escaped)


class PrometheusConfig(HttpSourceConfig):
    """Prometheus HTTP API, for model latency, error rate and drift."""

    queries: PrometheusQueries = Field(default_factory=PrometheusQueries)


def _version_text(value: object) -> object:
    # YAML reads `version: 1.2` as a float; accept it as the string the spec uses.
    return repr(value) if isinstance(value, float) else value


class FocusConfig(SourceConfig):
    """FinOps FOCUS cost exports read with DuckDB (Parquet or CSV, local or object storage)."""

    path: str = Field(
        min_length=1,
        description="File or glob, e.g. exports/focus/*.parquet or s3://bucket/focus/*.parquet; "
        "relative paths are relative to the working directory",
    )
    version: Annotated[Literal["1.0", "1.1", "1.2", "1.3"], BeforeValidator(_version_text)] = Field(
        "1.2", description="FOCUS specification version of the export"
    )
    measure: Literal["EffectiveCost", "BilledCost"] = Field(
        "EffectiveCost", description="Cost column used for spend and budgets"
    )
    day_timezone: Timezone | None = Field(
        None,
        description="Zone whose midnights cut this export's days and months (what '2026-05' and "
        "'30d' cover); default workspace.timezone. FOCUS timestamps are UTC whatever this says",
    )
    timezone: Timezone | None = Field(
        None, description="Deprecated: the old name of day_timezone, still read"
    )

    @model_validator(mode="after")
    def _old_name_of_day_timezone(self) -> FocusConfig:
        if self.timezone is not None:
            if self.day_timezone not in (None, self.timezone):
                raise ValueError(
                    "timezone is the old name of day_timezone and the two differ: keep "
                    "day_timezone only"
                )
            self.day_timezone = self.timezone
        return self


def deprecated_keys(data: object) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, warning) for each old key in the parsed ops.yml that is still read."""
    focus = data.get("sources", {}) if isinstance(data, dict) else {}
    focus = focus.get("focus") if isinstance(focus, dict) else None
    if isinstance(focus, dict) and "timezone" in focus:
        return [
            (
                ("sources", "focus", "timezone"),
                "deprecated: it is the zone days and months are cut in, not the zone of the "
                "timestamps (FOCUS timestamps are UTC); rename it to day_timezone, or remove "
                "it to cut days in workspace.timezone",
            )
        ]
    return []


_AWS_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+")


def _check_region(value: object) -> str:
    if isinstance(value, str) and _AWS_REGION.fullmatch(value):
        return value
    raise PydanticCustomError(
        "aws_region", "{got} is not an AWS region such as 'us-east-1'", {"got": repr(value)}
    )


AwsRegion = Annotated[str, BeforeValidator(_check_region)]


class AwsCostExplorerConfig(SourceConfig):
    """AWS Cost Explorer (and, with mirror_budgets, AWS Budgets) through boto3."""

    region: AwsRegion = Field("us-east-1", description="Cost Explorer's endpoint region")
    profile_env: EnvVarName | None = Field(
        None, description="Env var holding the AWS profile name; default boto3 credential chain"
    )
    mirror_budgets: bool = Field(False, description="Also write approved budgets to AWS Budgets")


# Sources that supply pipelines, models or cost; when none is configured the demo fills in.
DATA_SOURCES = ("airflow", "prefect", "dagster", "mlflow", "focus", "aws_cost_explorer")


class SourcesConfig(StrictModel):
    """Every block is optional. `demo` defaults to enabled (seed 42) only when the file has no
    `demo` block and no other pipeline, model or cost source is enabled; write
    `demo: {enabled: false}` to turn it off explicitly."""

    demo: DemoConfig | None = None
    airflow: AirflowConfig | None = None
    prefect: PrefectConfig | None = None
    dagster: DagsterConfig | None = None
    mlflow: MlflowConfig | None = None
    prometheus: PrometheusConfig | None = None
    focus: FocusConfig | None = None
    aws_cost_explorer: AwsCostExplorerConfig | None = None
    cache_ttl: float = Field(60, ge=0, le=86400, description="Seconds source answers are cached")

    @model_validator(mode="after")
    def _demo_when_nothing_else(self) -> SourcesConfig:
        if self.demo is None and not any(self.is_enabled(name) for name in DATA_SOURCES):
            self.demo = DemoConfig()
        return self

    def is_enabled(self, name: str) -> bool:
        block = getattr(self, name, None)
        return isinstance(block, SourceConfig) and block.enabled

    def enabled(self) -> dict[str, SourceConfig]:
        """Name -> block of each enabled source, in schema order."""
        return {
            name: block
            for name in type(self).model_fields
            if isinstance(block := getattr(self, name), SourceConfig) and block.enabled
        }
