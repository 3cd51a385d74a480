"""The demo company on paper: teams, pipelines, models, lineage, budgets and allocation rules.

Pure data. The generators in this package turn it into run histories, model versions and
FOCUS spend; DemoCompany exposes it. Names follow the conventions of ops.example.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TypedDict, Unpack

TEAMS = ("data-eng", "ml-platform", "analytics")

BUDGETS: dict[str, tuple[Decimal, tuple[float, ...]]] = {
    "data-eng": (Decimal(45000), (0.8, 1.0)),
    "ml-platform": (Decimal(60000), (0.5, 0.8, 1.0)),
    "analytics": (Decimal(20000), (0.8, 1.0)),
}

# Tag rules in ops.yml form ({tag key: {tag value: team}}), tried in order; the spend carries
# a few rows tagged only with a cost centre, and a legacy `team: ml` tag.
ALLOCATION: dict[str, dict[str, str]] = {
    "team": {
        "data-eng": "data-eng",
        "ml": "ml-platform",
        "ml-platform": "ml-platform",
        "analytics": "analytics",
    },
    "cost_center": {"CC-1001": "data-eng", "CC-2001": "ml-platform", "CC-3001": "analytics"},
}

DRIFT_THRESHOLD = 0.25
LATENCY_P95_MS = 250.0
ERROR_RATE_MAX = 0.02

BASE_URL = "https://demo.example"  # reserved domain: links look real and lead nowhere


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    team: str
    cadence: str  # "hourly", "daily" or "weekly"
    minute: int = 0
    hour: int = 0
    weekday: int = 0  # for weekly: 0 = Monday (cron day 1)
    sla: timedelta = timedelta(hours=3)
    minutes: float = 20.0  # typical duration
    tasks: tuple[str, ...] = ("extract", "transform", "load")
    description: str = ""
    kind: str = "ingestion"

    @property
    def schedule(self) -> str:
        if self.cadence == "hourly":
            return f"{self.minute} * * * *"
        if self.cadence == "daily":
            return f"{self.minute} {self.hour} * * *"
        return f"{self.minute} {self.hour} * * {(self.weekday + 1) % 7}"


class _SpecOptions(TypedDict, total=False):
    """PipelineSpec's optional fields, for `_p`'s keywords."""

    minute: int
    hour: int
    weekday: int
    sla: timedelta
    minutes: float
    tasks: tuple[str, ...]
    description: str
    kind: str


def _p(name: str, team: str, cadence: str, **kw: Unpack[_SpecOptions]) -> PipelineSpec:
    return PipelineSpec(name=name, team=team, cadence=cadence, **kw)


H = timedelta(hours=1)
_LOAD = ("extract", "transform", "load_to_warehouse")
_TRAIN = ("build_dataset", "train", "evaluate", "register_model")
_FEAT = ("read_sources", "compute_features", "write_feature_store")
_REPORT = ("query_warehouse", "build_tables", "refresh_dashboards")

# fmt: off
PIPELINES: tuple[PipelineSpec, ...] = (
    # data-eng: ingestion and transformation
    _p("nightly_orders", "data-eng", "daily", hour=2, minutes=42, sla=3 * H,
       tasks=("extract_orders", "transform_orders", "load_to_warehouse", "publish_metrics"),
       description="Orders from the shop database into the warehouse"),
    _p("nightly_events", "data-eng", "daily", hour=1, minute=30, minutes=55, sla=3 * H,
       tasks=("extract_events", "dedupe_events", "load_to_warehouse"),
       description="Product events of the previous day, deduplicated"),
    _p("hourly_events_ingest", "data-eng", "hourly", minute=5, minutes=14, sla=1.5 * H,
       tasks=("read_kinesis", "write_raw", "update_partitions"),
       description="Clickstream events from Kinesis into the lake"),
    _p("orders_cdc_ingest", "data-eng", "hourly", minute=15, minutes=6, sla=H,
       tasks=("read_binlog", "merge_changes"), description="Change data capture of orders"),
    _p("web_logs_ingest", "data-eng", "hourly", minute=20, minutes=9, sla=2 * H,
       tasks=("list_objects", "parse_logs", "write_raw")),
    _p("payments_ingest", "data-eng", "daily", hour=0, minute=30, minutes=18, tasks=_LOAD),
    _p("crm_contacts_ingest", "data-eng", "daily", hour=4, minutes=11,
       tasks=("fetch_contacts", "normalize", "load_to_warehouse"),
       description="Contacts and accounts from the CRM"),
    _p("inventory_snapshot_ingest", "data-eng", "daily", hour=5, minutes=9, tasks=_LOAD),
    _p("product_catalog_ingest", "data-eng", "daily", hour=3, minute=30, minutes=7, tasks=_LOAD),
    _p("currency_rates_ingest", "data-eng", "daily", hour=0, minute=10, minutes=2,
       tasks=("fetch_rates", "load_to_warehouse")),
    _p("shipments_ingest", "data-eng", "daily", hour=6, minutes=12, tasks=_LOAD),
    _p("clickstream_sessionize", "data-eng", "daily", hour=3, minutes=64, kind="transformation",
       tasks=("read_events", "sessionize", "write_sessions")),
    _p("dim_customers_build", "data-eng", "daily", hour=4, minute=30, minutes=16,
       kind="transformation", tasks=("dbt_run", "dbt_test")),
    _p("fact_orders_build", "data-eng", "daily", hour=5, minutes=23, kind="transformation",
       tasks=("dbt_run", "dbt_test")),
    _p("data_quality_checks", "data-eng", "daily", hour=7, minutes=8, kind="quality",
       tasks=("run_expectations", "publish_report")),
    _p("s3_compaction", "data-eng", "weekly", weekday=6, hour=6, minutes=95, sla=6 * H,
       kind="maintenance", tasks=("plan", "compact", "vacuum")),
    _p("gdpr_deletions", "data-eng", "weekly", weekday=5, hour=2, minutes=31, sla=6 * H,
       kind="maintenance", tasks=("collect_requests", "delete_rows", "audit_log")),
    # ml-platform: features, training, scoring
    _p("churn_features", "ml-platform", "daily", hour=6, minutes=26, kind="features", tasks=_FEAT),
    _p("churn_training", "ml-platform", "weekly", weekday=0, hour=8, minutes=78, sla=6 * H,
       kind="training", tasks=_TRAIN),
    _p("fraud_features", "ml-platform", "hourly", minute=50, minutes=7, sla=2 * H,
       kind="features", tasks=_FEAT),
    _p("fraud_training", "ml-platform", "daily", hour=9, minutes=52, kind="training", tasks=_TRAIN),
    _p("ltv_training", "ml-platform", "weekly", weekday=2, hour=8, minutes=47, sla=6 * H,
       kind="training", tasks=_TRAIN),
    _p("recs_embeddings", "ml-platform", "daily", hour=3, minutes=170, sla=6 * H,
       kind="features", tasks=("sample_interactions", "train_embeddings", "publish_index"),
       description="Item and user embeddings on GPU"),
    _p("recs_training", "ml-platform", "daily", hour=10, minutes=115, sla=6 * H,
       kind="training", tasks=_TRAIN, description="Ranking model for recommendations (GPU)"),
    _p("search_ranking_training", "ml-platform", "weekly", weekday=1, hour=9, minutes=88,
       sla=6 * H, kind="training", tasks=_TRAIN),
    _p("demand_forecast_training", "ml-platform", "weekly", weekday=0, hour=5, minutes=41,
       sla=6 * H, kind="training", tasks=_TRAIN),
    _p("price_elasticity_training", "ml-platform", "weekly", weekday=3, hour=5, minutes=33,
       sla=6 * H, kind="training", tasks=_TRAIN),
    _p("support_triage_training", "ml-platform", "weekly", weekday=4, hour=9, minutes=36,
       sla=6 * H, kind="training", tasks=_TRAIN),
    _p("ad_ctr_features", "ml-platform", "daily", hour=5, minute=30, minutes=34, kind="features",
       tasks=("read_impressions", "join_impressions", "write_feature_store")),
    _p("ad_ctr_training", "ml-platform", "daily", hour=7, minute=30, minutes=44, kind="training",
       tasks=_TRAIN),
    _p("credit_risk_training", "ml-platform", "weekly", weekday=2, hour=6, minutes=39,
       sla=6 * H, kind="training", tasks=_TRAIN),
    _p("eta_training", "ml-platform", "daily", hour=4, minutes=29, kind="training", tasks=_TRAIN),
    _p("anomaly_guard_scoring", "ml-platform", "hourly", minute=10, minutes=4, sla=2 * H,
       kind="scoring", tasks=("load_batch", "score", "emit_alerts")),
    _p("feature_store_materialize", "ml-platform", "daily", hour=5, minutes=21, kind="features",
       tasks=("plan", "materialize_online", "materialize_offline")),
    _p("model_monitoring", "ml-platform", "daily", hour=8, minutes=17, kind="monitoring",
       tasks=("collect_predictions", "compute_drift", "publish_metrics")),
    # analytics: reporting and BI
    _p("finance_daily_rollup", "analytics", "daily", hour=5, minutes=19, sla=2 * H,
       kind="reporting", tasks=("wait_for_orders", "rollup_revenue", "export_to_finance"),
       description="Daily revenue rollup for finance; needs nightly_orders"),
    _p("marketing_attribution", "analytics", "daily", hour=7, minutes=37, kind="reporting",
       tasks=_REPORT),
    _p("exec_kpi_dashboard", "analytics", "daily", hour=6, minute=30, minutes=12,
       kind="reporting", tasks=_REPORT),
    _p("cohort_retention_report", "analytics", "weekly", weekday=0, hour=6, minutes=27,
       sla=6 * H, kind="reporting", tasks=_REPORT),
    _p("sales_pipeline_report", "analytics", "daily", hour=7, minute=30, minutes=10,
       kind="reporting", tasks=_REPORT),
    _p("ab_test_report", "analytics", "daily", hour=8, minutes=22, kind="reporting",
       tasks=_REPORT),
)
# fmt: on

# Pipelines failing right now: name -> (failing task, error text, how many latest runs failed).
# nightly_orders has failed since yesterday: every run from yesterday's slot on.
FAILING: dict[str, tuple[str, str, int | None]] = {
    "nightly_orders": (
        "load_to_warehouse",
        "COPY into analytics.orders failed: ERROR: Disk Full (SQLSTATE 53100). Redshift "
        "cluster dw-prod is at 100% of its storage; the task failed after 3 retries.",
        None,
    ),
    "crm_contacts_ingest": (
        "fetch_contacts",
        "HTTPError 401 Unauthorized from the CRM REST API (GET /services/data/v59.0/query): "
        "INVALID_SESSION_ID - session expired or invalid",
        3,
    ),
    "ad_ctr_features": (
        "join_impressions",
        "java.lang.OutOfMemoryError: Java heap space. Container killed by YARN for exceeding "
        "memory limits: 27.4 GB of 27 GB physical memory used",
        1,
    ),
}
LATE = "finance_daily_rollup"  # waits on nightly_orders, so it missed its SLA
RUNNING = "hourly_events_ingest"  # its latest run is in progress
GPU_JUMP_DAYS = 10  # recs training moved to bigger GPUs this many days ago (today included)
# The cascade of nightly_orders failing since yesterday: churn, which it feeds, scores on stale
# order features and drifts (drift score now), and churn's serving scaled out to absorb the
# retries of clients rejecting its scores (extra USD per day, yesterday and today).
DRIFTING: dict[str, float] = {"churn": 0.38}
SERVING_SURGE: dict[str, float] = {"churn": 420.0}
SURGE_DAYS = 2


@dataclass(frozen=True)
class ModelSpec:
    name: str
    team: str
    kind: str  # classification, regression, ranking
    versions: int
    every_days: int  # a new version about this often
    metrics: dict[str, float] = field(default_factory=dict)  # of the latest version
    champion: int | None = None
    challenger: int | None = None
    latency_ms: float | None = None  # p95 when served online; None for batch models
    drift: float = 0.05
    description: str = ""


LOWER_IS_BETTER = frozenset({"rmse", "mae", "mape", "log_loss", "mae_minutes", "rmse_minutes"})

# fmt: off
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("churn", "ml-platform", "classification", 14, 7,
              {"auc": 0.871, "precision": 0.64, "recall": 0.58, "f1": 0.61},
              champion=12, challenger=14, latency_ms=48, drift=0.07,
              description="Probability a subscriber cancels within 30 days"),
    ModelSpec("fraud", "ml-platform", "classification", 9, 10,
              {"auc": 0.943, "precision": 0.81, "recall": 0.73}, champion=9, latency_ms=35,
              drift=0.04, description="Scores card payments at checkout"),
    ModelSpec("ltv", "analytics", "regression", 6, 14, {"rmse": 41.2, "mae": 23.5},
              champion=5, challenger=6, latency_ms=62, drift=0.09,
              description="Predicted 12-month customer lifetime value"),
    ModelSpec("recs", "ml-platform", "ranking", 22, 3,
              {"ndcg_at_10": 0.412, "map_at_10": 0.331, "recall_at_50": 0.618},
              champion=21, challenger=22, latency_ms=118, drift=0.34,
              description="Home page recommendations"),
    ModelSpec("search_ranking", "ml-platform", "ranking", 8, 9,
              {"ndcg_at_10": 0.524, "mrr": 0.47}, champion=7, challenger=8, latency_ms=482,
              drift=0.06, description="Re-ranks search results"),
    ModelSpec("demand_forecast", "ml-platform", "regression", 5, 14,
              {"mape": 0.082, "rmse": 132.0}, champion=5, drift=0.11,
              description="Daily units per SKU and warehouse (batch)"),
    ModelSpec("price_elasticity", "ml-platform", "regression", 3, 21,
              {"rmse": 0.071, "r2": 0.64}, champion=3, drift=0.05,
              description="Price elasticity per category (batch)"),
    ModelSpec("support_triage", "ml-platform", "classification", 4, 12,
              {"f1_macro": 0.78, "accuracy": 0.84}, champion=3, challenger=4, latency_ms=91,
              drift=0.08, description="Routes support tickets to queues"),
    ModelSpec("ad_ctr", "ml-platform", "classification", 11, 5, {"auc": 0.772, "log_loss": 0.412},
              champion=10, challenger=11, latency_ms=22, drift=0.12,
              description="Click-through rate for ad auctions"),
    ModelSpec("credit_risk", "ml-platform", "classification", 6, 14, {"auc": 0.812, "ks": 0.47},
              champion=5, latency_ms=57, drift=0.03, description="Default risk at sign-up"),
    ModelSpec("eta", "ml-platform", "regression", 7, 8,
              {"mae_minutes": 4.3, "rmse_minutes": 6.8}, champion=7, latency_ms=29, drift=0.10,
              description="Delivery time estimate shown at checkout"),
    ModelSpec("anomaly_guard", "ml-platform", "classification", 3, 30,
              {"precision": 0.88, "recall": 0.69}, champion=3, latency_ms=14, drift=0.02,
              description="Flags anomalous pipeline volumes"),
)
# fmt: on

LINEAGE: dict[str, dict[str, list[str]]] = {
    "nightly_orders": {"trains": [], "feeds": ["churn", "ltv", "recs", "demand_forecast"]},
    "nightly_events": {"trains": [], "feeds": ["recs", "fraud"]},
    "hourly_events_ingest": {"trains": [], "feeds": ["fraud", "ad_ctr", "anomaly_guard"]},
    "orders_cdc_ingest": {"trains": [], "feeds": ["fraud"]},
    "payments_ingest": {"trains": [], "feeds": ["fraud", "credit_risk"]},
    "crm_contacts_ingest": {"trains": [], "feeds": ["support_triage", "churn"]},
    "shipments_ingest": {"trains": [], "feeds": ["eta"]},
    "clickstream_sessionize": {"trains": [], "feeds": ["recs", "search_ranking", "ad_ctr"]},
    "fact_orders_build": {"trains": [], "feeds": ["demand_forecast", "price_elasticity"]},
    "churn_features": {"trains": [], "feeds": ["churn", "ltv"]},
    "churn_training": {"trains": ["churn"], "feeds": []},
    "fraud_features": {"trains": [], "feeds": ["fraud"]},
    "fraud_training": {"trains": ["fraud"], "feeds": []},
    "ltv_training": {"trains": ["ltv"], "feeds": []},
    "recs_embeddings": {"trains": [], "feeds": ["recs", "search_ranking"]},
    "recs_training": {"trains": ["recs"], "feeds": []},
    "search_ranking_training": {"trains": ["search_ranking"], "feeds": []},
    "demand_forecast_training": {"trains": ["demand_forecast"], "feeds": []},
    "price_elasticity_training": {"trains": ["price_elasticity"], "feeds": []},
    "support_triage_training": {"trains": ["support_triage"], "feeds": []},
    "ad_ctr_features": {"trains": [], "feeds": ["ad_ctr"]},
    "ad_ctr_training": {"trains": ["ad_ctr"], "feeds": []},
    "credit_risk_training": {"trains": ["credit_risk"], "feeds": []},
    "eta_training": {"trains": ["eta"], "feeds": []},
}
