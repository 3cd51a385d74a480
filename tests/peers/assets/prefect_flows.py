"""Known flow runs for the Prefect peer tests; run with PREFECT_API_URL pointing at the peer.

Prints {"churn_ok": id, "nightly_ok": id, "nightly_fail": id} as JSON on its last line.
"""

import json

from prefect import flow, task


@task
def extract_orders() -> int:
    return 42


@task
def load_to_warehouse(rows: int, fail: bool) -> int:
    if fail:
        raise RuntimeError("warehouse rejected the load")
    return rows


@flow(name="nightly_orders")
def nightly_orders(fail: bool = True) -> int:
    return load_to_warehouse(extract_orders(), fail)


@task
def build_features() -> int:
    return 7


@flow(name="churn_features")
def churn_features() -> int:
    return build_features()


def run_id(state) -> str:
    return str(state.state_details.flow_run_id)


if __name__ == "__main__":
    ids = {
        "churn_ok": run_id(churn_features(return_state=True)),
        "nightly_ok": run_id(nightly_orders(fail=False, return_state=True)),
        "nightly_fail": run_id(nightly_orders(fail=True, return_state=True)),
    }
    print(json.dumps(ids))
