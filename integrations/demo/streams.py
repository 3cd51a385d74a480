"""The demo company's cost streams: which service each team uses, for what, and how much.

A stream is one kind of charge (a service used by a team for a pipeline or a model) with its
average daily cost in USD; spend.py turns streams into daily FOCUS rows. The numbers put
data-eng and analytics at roughly 80% of their budgets and ml-platform near 85% before its
GPU training jump (the `jump` amounts), which takes it over budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.demo.catalog import SERVING_SURGE

CATEGORY = {
    "Amazon Redshift": "Databases",
    "Amazon EMR": "Analytics",
    "AWS Glue": "Analytics",
    "Amazon S3": "Storage",
    "Amazon Kinesis": "Analytics",
    "Amazon MWAA": "Integration",
    "Amazon EC2": "Compute",
    "AWS Lambda": "Compute",
    "Amazon SageMaker": "AI and Machine Learning",
    "Google BigQuery": "Databases",
    "Google Cloud Storage": "Storage",
    "Snowflake Data Cloud": "Databases",
    "Amazon QuickSight": "Analytics",
    "Amazon Athena": "Analytics",
    "Amazon CloudWatch": "Management and Governance",
    "AWS Data Transfer": "Networking",
}


@dataclass(frozen=True)
class Stream:
    service: str
    daily: float  # average USD per day
    sku: str
    unit: str
    tags: dict[str, str] = field(default_factory=dict)
    resources: int = 1  # rows per day, one per resource
    weekend: float = 1.0
    jump: float = 0.0  # extra USD per day since the GPU jump
    surge: float = 0.0  # extra USD per day over the last SURGE_DAYS (the churn cascade)
    pricing: str = "Standard"
    covered: bool = False  # usage paid by the savings plan (BilledCost 0)
    region: str = "us-east-1"

    @property
    def provider(self) -> str:
        return "Google Cloud" if self.service.startswith("Google") else "AWS"

    @property
    def publisher(self) -> str:
        return "Snowflake" if self.service.startswith("Snowflake") else self.provider

    @property
    def team(self) -> str | None:
        return self.tags.get("team")


def _t(team: str | None = None, **more: str) -> dict[str, str]:
    tags = {"team": team} if team else {}
    tags.update(more)
    return tags


def streams() -> list[Stream]:
    s: list[Stream] = []
    de, ml, an = "data-eng", "ml-platform", "analytics"
    prod = {"env": "prod"}
    s.append(Stream("Amazon Redshift", 380, "ra3.4xlarge", "Hours", _t(de, **prod), resources=4))
    for name, usd in (
        ("nightly_orders", 85),
        ("nightly_events", 70),
        ("clickstream_sessionize", 75),
        ("fact_orders_build", 45),
        ("dim_customers_build", 20),
        ("churn_features", 18),
        ("feature_store_materialize", 28),
    ):
        team = ml if name in ("churn_features", "feature_store_materialize") else de
        s.append(Stream("Amazon EMR", usd, "m6g.2xlarge", "Hours", _t(team, pipeline=name, **prod)))
    glue: tuple[tuple[str, float], ...] = (
        ("hourly_events_ingest", 60),
        ("orders_cdc_ingest", 38),
        ("web_logs_ingest", 30),
        ("payments_ingest", 18),
        ("crm_contacts_ingest", 6),
        ("inventory_snapshot_ingest", 8),
        ("product_catalog_ingest", 5),
        ("shipments_ingest", 7),
        ("currency_rates_ingest", 1.5),
        ("data_quality_checks", 9),
        ("fraud_features", 24),
        ("ad_ctr_features", 15),
    )
    for name, glue_usd in glue:
        team = ml if name.endswith("_features") else de
        weekend = 0.85 if name.endswith("_ingest") else 1.0
        s.append(
            Stream(
                "AWS Glue",
                glue_usd,
                "G.1X",
                "DPU-Hours",
                _t(team, pipeline=name, **prod),
                weekend=weekend,
            )
        )
    s += [
        Stream("Amazon S3", 140, "StandardStorage", "GB-Months", _t(de, **prod)),
        Stream("Amazon Kinesis", 55, "ShardHour", "Hours", _t(de, pipeline="hourly_events_ingest")),
        Stream("Amazon MWAA", 40, "mw1.large", "Hours", _t(de, **prod)),
        Stream(
            "Amazon EC2",
            80,
            "m7i.4xlarge",
            "Hours",
            _t(de, env="prod"),
            resources=2,
            pricing="Committed",
            covered=True,
        ),
        Stream("AWS Lambda", 12, "Lambda-GB-Second", "GB-Seconds", {"cost_center": "CC-1001"}),
    ]
    trains = {
        "churn": 55,
        "fraud": 80,
        "ltv": 35,
        "recs": 170,
        "search_ranking": 110,
        "demand_forecast": 22,
        "price_elasticity": 14,
        "support_triage": 30,
        "ad_ctr": 65,
        "credit_risk": 26,
        "eta": 22,
    }
    for model, usd in trains.items():
        gpu = model in ("recs", "search_ranking")
        s.append(
            Stream(
                "Amazon SageMaker",
                usd,
                "ml.p4d.24xlarge" if gpu else "ml.m5.4xlarge",
                "Hours",
                _t(ml, model=model, pipeline=f"{model}_training", **prod),
                jump=1500 if model == "recs" else 0,
            )
        )
    serving = {
        "churn": 38,
        "fraud": 105,
        "ltv": 18,
        "recs": 150,
        "search_ranking": 135,
        "support_triage": 22,
        "ad_ctr": 85,
        "credit_risk": 28,
        "eta": 42,
        "anomaly_guard": 12,
    }
    for model, usd in serving.items():
        s.append(
            Stream(
                "Amazon SageMaker",
                usd,
                "ml.g5.xlarge" if model == "recs" else "ml.c6i.2xlarge",
                "Hours",
                _t(ml, model=model, **prod),
                resources=2,
                surge=SERVING_SURGE.get(model, 0.0),
            )
        )
    s += [
        Stream(
            "Amazon EC2",
            105,
            "g5.12xlarge",
            "Hours",
            _t(ml, model="recs", pipeline="recs_embeddings", **prod),
            jump=400,
            pricing="Dynamic",
        ),
        Stream("Amazon S3", 55, "StandardStorage", "GB-Months", _t(ml, **prod)),
        Stream("Amazon SageMaker", 60, "ml.t3.xlarge", "Hours", {"cost_center": "CC-2001"}),
        Stream("Amazon SageMaker", 20, "ml.g4dn.xlarge", "Hours", _t("ml", env="dev")),
    ]
    for name, usd in (
        ("finance_daily_rollup", 40),
        ("marketing_attribution", 65),
        ("exec_kpi_dashboard", 20),
        ("cohort_retention_report", 22),
        ("sales_pipeline_report", 15),
        ("ab_test_report", 18),
    ):
        s.append(
            Stream(
                "Google BigQuery", usd, "Analysis", "TB", _t(an, pipeline=name, **prod), region="US"
            )
        )
    s += [
        Stream(
            "Google BigQuery", 110, "Analysis", "TB", _t(an, env="prod"), weekend=0.3, region="US"
        ),
        Stream("Google Cloud Storage", 30, "Standard Storage", "GB-Months", _t(an), region="US"),
        Stream("Snowflake Data Cloud", 85, "Enterprise Credits", "Credits", _t(an, **prod)),
        Stream("Amazon QuickSight", 38, "Author", "Users", _t(an)),
        Stream("Amazon Athena", 14, "DataScanned", "TB", {"cost_center": "CC-3001"}),
        Stream("Amazon CloudWatch", 32, "Logs-Ingested", "GB"),
        Stream("AWS Data Transfer", 48, "DataTransfer-Out", "GB"),
        Stream("Amazon EC2", 36, "t3.large", "Hours", {"env": "dev"}),
    ]
    return s
