"""Two known DAGs for the Airflow peer tests: nightly_orders (its load fails unless told
otherwise) and churn_features (succeeds).

start_date lies far in the future so the scheduler never creates runs of its own: the tests
trigger exactly the runs they assert on, and the cron schedules are still reported as-is.
"""

from datetime import datetime

from airflow.sdk import dag, get_current_context, task

NEVER = datetime(2099, 1, 1)


@dag(
    dag_id="nightly_orders",
    schedule="0 2 * * *",
    start_date=NEVER,
    catchup=False,
    tags=["orders", "team:data"],
    description="Orders from the shop database into the warehouse",
    params={"fail": True},
)
def nightly_orders():
    @task
    def extract_orders():
        return 42

    @task
    def load_to_warehouse(rows):
        if get_current_context()["params"]["fail"]:
            raise RuntimeError("warehouse rejected the load")
        return rows

    load_to_warehouse(extract_orders())


@dag(
    dag_id="churn_features",
    schedule="@hourly",
    start_date=NEVER,
    catchup=False,
    tags=["ml", "team:ml-platform"],
    description="Features for the churn model",
)
def churn_features():
    @task
    def build_features():
        return 7

    build_features()


nightly_orders()
churn_features()
