"""Known jobs for the Dagster peer tests: nightly_orders (its load fails unless configured not
to) and churn_features (succeeds), with cron schedules; loaded by `dagster dev -f defs.py`."""

import dagster as dg


class LoadConfig(dg.Config):
    fail: bool = True


@dg.op
def extract_orders() -> int:
    return 42


@dg.op
def load_to_warehouse(config: LoadConfig, rows: int) -> int:
    if config.fail:
        raise RuntimeError("warehouse rejected the load")
    return rows


@dg.job(description="Orders from the shop database into the warehouse", tags={"team": "data"})
def nightly_orders():
    load_to_warehouse(extract_orders())


@dg.op
def build_features() -> int:
    return 7


@dg.job(description="Features for the churn model", tags={"team": "ml-platform"})
def churn_features():
    build_features()


@dg.asset
def churn_feature_table() -> int:
    return 7


defs = dg.Definitions(
    jobs=[nightly_orders, churn_features],
    assets=[churn_feature_table],
    schedules=[
        # 02:00 Berlin: the daemon could only fire it if a session spans that minute.
        dg.ScheduleDefinition(
            job=nightly_orders,
            cron_schedule="0 2 * * *",
            execution_timezone="Europe/Berlin",
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
        dg.ScheduleDefinition(job=churn_features, cron_schedule="0 * * * *"),  # stopped
    ],
)
