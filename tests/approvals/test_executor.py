"""Executing approved requests for real: MLflow aliases on a real server, budgets (and AWS
Budgets under moto); failures leave the request failed with the error, and a retry finishes it."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import httpx
import pytest

from bot.approvals.executor import SourcesExecutor
from bot.approvals.service import ApprovalService
from bot.approvals.types import Refused, RequestSnapshot, RequestState
from bot.budgets import StoredBudgets
from integrations.aws_budgets import AwsBudgetsMirror
from integrations.hub import Sources
from integrations.mlflow import MlflowRegistry
from integrations.models import Budget
from tests.approvals.conftest import FI, ML
from tests.peers.mlflow import MlflowServer
from tests.peers.runtime import free_port
from tests.test_aws_budgets import ACCOUNT, aws, raw_budgets  # noqa: F401  (moto fixture)


def new_model(url: str, versions: int) -> str:
    """A fresh registered model with `versions` versions, made through MLflow's REST API."""
    name = f"approvals-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=f"{url}/api/2.0/mlflow/", timeout=30) as client:
        client.post("registered-models/create", json={"name": name}).raise_for_status()
        for _ in range(versions):
            run = client.post(
                "runs/create",
                json={"experiment_id": "0", "start_time": int(time.time() * 1000)},
            ).json()["run"]["info"]["run_id"]
            client.post(
                "model-versions/create",
                json={"name": name, "source": f"runs:/{run}/model", "run_id": run},
            ).raise_for_status()
    return name


def mlflow_sources(url: str) -> Sources:
    return Sources(registries=[MlflowRegistry(url, timeout=10)], timeout=15)


async def approved_promotion(
    service: ApprovalService, *, model: str, version: str, alias: str = "champion"
) -> RequestSnapshot:
    made = await service.request_promotion(
        requester=ML[0], model=model, version=version, alias=alias, reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot), made
    for approver in ML[1:]:  # champion needs two approvals, challenger one
        done = await service.decide(request_id=made.id, user=approver, approve=True, surface="dm")
        if done.execute:
            return done.snapshot
    raise AssertionError("the request never reached quorum")


async def test_approved_promotion_points_the_mlflow_alias_at_the_version(
    mlflow_server: MlflowServer, db_engine, ops_config, clock
):
    model = new_model(mlflow_server.url, versions=2)
    sources = mlflow_sources(mlflow_server.url)
    executor = SourcesExecutor(sources, StoredBudgets(db_engine, ops_config))
    service = ApprovalService(
        engine=db_engine, config=ops_config, executor=executor, clock=clock, catalog=sources
    )
    request = await approved_promotion(service, model=model, version="2")
    done = await service.execute(request_id=request.id)
    assert done.state == RequestState.executed
    assert done.result == f"champion of {model} now points at version 2 in mlflow"
    read_back = await MlflowRegistry(mlflow_server.url).get_model(model)
    assert read_back is not None and read_back.aliases == {"champion": "2"}


async def test_an_alias_moved_while_the_request_waited_is_not_overwritten(
    mlflow_server: MlflowServer, db_engine, ops_config, clock
):
    model = new_model(mlflow_server.url, versions=3)
    sources = mlflow_sources(mlflow_server.url)
    executor = SourcesExecutor(sources, StoredBudgets(db_engine, ops_config))
    service = ApprovalService(
        engine=db_engine, config=ops_config, executor=executor, clock=clock, catalog=sources
    )
    request = await approved_promotion(service, model=model, version="2")
    assert request.subject.current_version is None  # champion pointed nowhere when asked
    # Meanwhile someone points champion at v3 in MLflow itself.
    await MlflowRegistry(mlflow_server.url).set_alias(model, "champion", "3")
    failed = await service.execute(request_id=request.id)
    assert failed.state == RequestState.failed
    assert failed.error == (
        f"champion of {model} was moved while the request waited: it pointed at no version, "
        "now at version 3. Nothing was changed; ask again if the promotion still makes sense"
    )
    read_back = await MlflowRegistry(mlflow_server.url).get_model(model)
    assert read_back is not None and read_back.aliases == {"champion": "3"}


async def test_unknown_version_fails_with_mlflows_error(
    mlflow_server: MlflowServer, db_engine, ops_config, clock
):
    model = new_model(mlflow_server.url, versions=1)
    executor = SourcesExecutor(
        mlflow_sources(mlflow_server.url), StoredBudgets(db_engine, ops_config)
    )
    # No catalog: the request is not checked up front, so MLflow itself refuses the write.
    service = ApprovalService(engine=db_engine, config=ops_config, executor=executor, clock=clock)
    request = await approved_promotion(service, model=model, version="7")
    failed = await service.execute(request_id=request.id)
    assert failed.state == RequestState.failed
    assert failed.error is not None and failed.error.startswith("mlflow:")
    read_back = await MlflowRegistry(mlflow_server.url).get_model(model)
    assert read_back is not None and read_back.aliases == {}


async def test_mlflow_down_fails_and_retry_succeeds_once_it_is_back(
    mlflow_server: MlflowServer, db_engine, ops_config, clock
):
    model = new_model(mlflow_server.url, versions=2)
    down = mlflow_sources(f"http://127.0.0.1:{free_port()}")
    executor = SourcesExecutor(down, StoredBudgets(db_engine, ops_config))
    service = ApprovalService(engine=db_engine, config=ops_config, executor=executor, clock=clock)
    request = await approved_promotion(service, model=model, version="1", alias="challenger")
    failed = await service.execute(request_id=request.id)
    assert failed.state == RequestState.failed
    assert failed.error is not None and "could not reach the model registry" in failed.error

    executor.sources = mlflow_sources(mlflow_server.url)
    retried = await service.retry(request_id=request.id, user=ML[0])
    assert isinstance(retried, RequestSnapshot) and retried.state == RequestState.executed
    read_back = await MlflowRegistry(mlflow_server.url).get_model(model)
    assert read_back is not None and read_back.aliases == {"challenger": "1"}
    actions = [r.action for r in await service.audit(request_id=request.id)]
    assert actions[-5:] == ["executing", "failed", "retried", "executing", "executed"]


def budget_service(
    engine,
    config,
    clock,
    *,
    mirror=None,  # type: ignore[no-untyped-def]
) -> tuple[ApprovalService, StoredBudgets]:
    """An approval service executing budget increases into the store (and `mirror`)."""
    budgets = StoredBudgets(engine, config, mirror=mirror)
    service = ApprovalService(
        engine=engine,
        config=config,
        clock=clock,
        budgets=budgets,
        executor=SourcesExecutor(Sources(), budgets),
    )
    return service, budgets


async def approved_budget(service: ApprovalService, amount: str) -> RequestSnapshot:
    made = await service.request_budget_increase(
        requester=ML[0],
        team="ml-platform",
        amount=Decimal(amount),
        reason="GPU quota",
        surface="command",
    )
    assert isinstance(made, RequestSnapshot), made
    await service.decide(request_id=made.id, user=FI[0], approve=True, surface="dm")
    await service.decide(request_id=made.id, user=ML[3], approve=True, surface="dm")
    return made


async def test_approved_budget_increase_raises_the_stored_budget(db_engine, ops_config, clock):
    service, budgets = budget_service(db_engine, ops_config, clock)
    made = await approved_budget(service, "7500")
    done = await service.execute(request_id=made.id)
    assert done.state == RequestState.executed
    assert done.result == "ml-platform budget raised from 60000 to 67500 USD a month"
    stored = await budgets.budget("ml-platform")
    assert stored is not None and stored.monthly == Decimal("67500") and stored.source == "store"


class FlakyMirror:
    """AWS Budgets that fails its first write (throttled), then works."""

    def __init__(self, real: AwsBudgetsMirror) -> None:
        self.real = real
        self.failures = 1

    async def budgets(self) -> list[Budget]:
        return await self.real.budgets()

    async def set_budget(self, budget: Budget) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("aws_budgets: ThrottlingException")
        await self.real.set_budget(budget)


@pytest.mark.usefixtures("aws")
async def test_budget_mirror_failure_fails_and_retry_mirrors_without_adding_twice(
    db_engine, ops_config, clock
):
    service, budgets = budget_service(
        db_engine, ops_config, clock, mirror=FlakyMirror(AwsBudgetsMirror(account_id=ACCOUNT))
    )
    made = await approved_budget(service, "5000")
    failed = await service.execute(request_id=made.id)
    assert failed.state == RequestState.failed
    assert failed.error == (
        "stored the new ml-platform budget (65000 USD a month), but AWS Budgets was not "
        "updated: aws_budgets: ThrottlingException. Retry to update AWS Budgets; the increase "
        "is not added twice"
    )
    assert raw_budgets() == {}
    retried = await service.retry(request_id=made.id, user=FI[0])
    assert isinstance(retried, RequestSnapshot) and retried.state == RequestState.executed
    stored = await budgets.budget("ml-platform")
    assert stored is not None and stored.monthly == Decimal("65000")
    assert raw_budgets()["switchboard-ml-platform"]["BudgetLimit"]["Amount"] == "65000"


async def test_budget_request_for_a_team_without_budget_is_refused(db_engine, ops_config, clock):
    service, _budgets = budget_service(db_engine, ops_config, clock)
    refused = await service.request_budget_increase(
        requester=ML[0], team="finance", amount=Decimal("10"), reason=None, surface="dm"
    )
    assert isinstance(refused, Refused) and "has no budget to raise" in refused.reason


@pytest.mark.usefixtures("aws")
async def test_a_retried_increase_is_not_added_again_after_another_request_raised_the_budget(
    db_engine, ops_config, clock
):
    # #1 is stored but its mirror fails; then the budget changes again by another hand (a
    # second request cannot open while #1 is open); retrying #1 must only mirror:
    # 60000 + 1000 + 2000, never + 1000 twice.
    service, budgets = budget_service(
        db_engine, ops_config, clock, mirror=FlakyMirror(AwsBudgetsMirror(account_id=ACCOUNT))
    )
    first = await approved_budget(service, "1000")
    assert (await service.execute(request_id=first.id)).state == RequestState.failed
    stored = await budgets.budget("ml-platform")
    assert stored is not None and stored.monthly == Decimal("61000")
    await budgets.set_budget(
        stored.model_copy(update={"monthly": Decimal("63000")}), by=FI[1], reason="by hand"
    )
    retried = await service.retry(request_id=first.id, user=FI[0])
    assert isinstance(retried, RequestSnapshot) and retried.state == RequestState.executed
    assert "stored by an earlier attempt" in (retried.result or "")
    stored = await budgets.budget("ml-platform")
    assert stored is not None and stored.monthly == Decimal("63000")
    assert raw_budgets()["switchboard-ml-platform"]["BudgetLimit"]["Amount"] == "63000"


async def test_concurrent_increases_of_one_team_both_count(db_url, db_engine, ops_config):
    # Two replicas executing two different requests for the same team at once: neither
    # increase may overwrite the other (a read-then-write race would lose one).
    import asyncio

    from bot.store.db import make_engine

    budgets = [StoredBudgets(make_engine(db_url), ops_config) for _ in range(4)]
    # The ledger's request_id refers to approval_request: make four real requests first.
    from bot.approvals.store import REQUEST

    with db_engine.begin() as conn:
        for i in range(1, 5):
            conn.execute(
                REQUEST.insert().values(
                    id=i,
                    kind="budget_increase",
                    state="executing",
                    subject="{}",
                    policy="{}",
                    requester="U1",
                    team="data-eng",
                    surface="t",
                    created_at=0,
                    expires_at=1,
                )
            )

    def raise_in_thread(budget_store: StoredBudgets, request_id: int) -> None:
        asyncio.run(
            budget_store.raise_by(
                "data-eng", Decimal(100), request_id=request_id, by="t", reason="r"
            )
        )

    await asyncio.gather(
        *(asyncio.to_thread(raise_in_thread, b, i) for i, b in enumerate(budgets, start=1))
    )
    stored = await StoredBudgets(db_engine, ops_config).budget("data-eng")
    configured = Decimal(str(ops_config.budgets["data-eng"].monthly))
    assert stored is not None and stored.monthly == configured + 400
    for b in budgets:
        b.engine.dispose()


@pytest.mark.usefixtures("aws")
async def test_the_app_mirrors_approved_budgets_when_ops_yml_asks(tmp_path, clock):
    # Wired as the app wires it: ops.yml's aws_cost_explorer.mirror_budgets builds the mirror.
    import yaml

    from bot.services import build_services
    from bot.settings import Settings
    from bot.store.db import make_engine, upgrade
    from tests.approvals.conftest import EXAMPLE

    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["sources"]["aws_cost_explorer"] = {"region": "us-east-1", "mirror_budgets": True}
    config = tmp_path / "ops.yml"
    config.write_text(yaml.safe_dump(doc))
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    services = build_services(
        Settings(database_url=url), engine=engine, config_path=config, sends=False
    )
    assert services.budgets is not None and isinstance(services.budgets.mirror, AwsBudgetsMirror)
    service = services.approvals
    assert service is not None
    service.clock = clock
    made = await approved_budget(service, "2500")
    done = await service.execute(request_id=made.id)
    assert done.state == RequestState.executed, done.error
    assert done.result == (
        "ml-platform budget raised from 60000 to 62500 USD a month and in AWS Budgets"
    )
    assert raw_budgets("123456789012")["switchboard-ml-platform"]["BudgetLimit"]["Amount"] == (
        "62500"
    )
    engine.dispose()
