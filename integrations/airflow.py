"""Airflow 3 adapter: DAGs as pipelines, DAG runs with their failing task and a log link.

Talks to Airflow's stable REST API v2 (`/api/v2/...`) with httpx. Auth is a JWT: either a static
token, or one obtained from `POST /auth/token` with a username and password, cached and fetched
again once when the server rejects it (tokens expire). Links point at the Airflow 3 UI routes
(`/dags/{dag}/runs/{run}/tasks/{task}` opens the task instance on its log).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from integrations.errors import SourceAuthError, SourceDataError, SourceError, SourceNotFound
from integrations.http import DEFAULT_TIMEOUT, SourceClient, error_for_status
from integrations.models import Pipeline, PipelineRun, ProbeResult, RunState
from integrations.pipeline_status import newest_first
from integrations.timestamps import aware

log = structlog.get_logger(__name__)

API = "api/v2"
PAGE = 100
_MAX_PAGES = 200  # guard against a server whose totals never add up
RUN_STATES = {
    "queued": RunState.queued,
    "running": RunState.running,
    "success": RunState.success,
    "failed": RunState.failed,
}
# Task states that mean the task itself broke (upstream_failed is only a consequence).
_TASK_FAILED = {"failed"}
_PASSWORD_FIX = (
    "check the Airflow username and password given to the bot (its environment, not ops.yml); "
    "with the simple auth manager they are in simple_auth_manager_passwords.json.generated"
)
_TOKEN_FIX = (
    "the Airflow API token given to the bot is wrong or expired: create a new one with "
    "POST /auth/token, or give the bot a username and password so it can renew its own"
)
_NO_CREDENTIALS_FIX = "this Airflow requires login: give the bot a username and password or a token"


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def error_summary(log_content: Any) -> str | None:
    """`ExcType: message` of the last exception in a structured Airflow 3 task log."""
    found: str | None = None
    for event in log_content if isinstance(log_content, list) else []:
        for detail in event.get("error_detail") or [] if isinstance(event, dict) else []:
            if isinstance(detail, dict) and detail.get("exc_type"):
                found = f"{detail['exc_type']}: {detail.get('exc_value', '')}".strip()
    return found


class AirflowLogin(httpx.Auth):
    """Airflow 3's login as an httpx auth flow: a JWT from `POST /auth/token`, fetched once and
    shared by concurrent calls, renewed once when the server rejects it (tokens expire: 401;
    a restarted server answers 403 "Invalid JWT"). A call rejected again is the caller's 401/403.
    """

    def __init__(self, http: SourceClient, username: str, password: str, *, fix: str) -> None:
        self._http = http
        self._body = {"username": username, "password": password}
        self._fix = fix
        self._jwt: str | None = None
        self._lock = asyncio.Lock()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("AirflowLogin signs async calls only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: str | None = None
        for _attempt in (1, 2):
            async with self._lock:  # one login for every call waiting on it
                if self._jwt is None or self._jwt == rejected:
                    login = httpx.Request("POST", self._http.url("auth/token"), json=self._body)
                    answer = yield login
                    await answer.aread()  # the token is in its body
                    self._jwt = self._token(answer)
                jwt = self._jwt
            request.headers["Authorization"] = f"Bearer {jwt}"
            response = yield request
            if response.status_code not in (401, 403):
                return
            rejected = jwt

    def _token(self, answer: httpx.Response) -> str:
        shown = self._http.display_url("auth/token")
        problem = error_for_status(
            self._http.source, answer, url=shown, auth_fix=self._fix, secrets=self._body.values()
        )
        if problem is not None:
            raise problem
        try:
            found = answer.json()
        except ValueError:
            found = None
        token = found.get("access_token") if isinstance(found, dict) else None
        if not token:
            raise SourceDataError(
                self._http.source,
                f"{shown} gave no access_token",
                "check that the URL points at an Airflow 3 API server",
            )
        return str(token)


class AirflowSource:
    """PipelineSource over an Airflow 3 API server (`base_url` is the web root)."""

    name = "airflow"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        detail_concurrency: int = 4,
    ) -> None:
        root = base_url.rstrip("/")
        root = root[: -len(API) - 1] if root.endswith("/" + API) else root
        login = username is not None and password is not None
        fix = _PASSWORD_FIX if username else _TOKEN_FIX if token else _NO_CREDENTIALS_FIX
        self._http = SourceClient(
            self.name,
            root,
            token=None if login else token,
            secrets=(token, password),
            timeout=timeout,
            client=client,
            auth_fix=fix,
        )
        self.base_url = self._http.base_url
        self._auth_fix = fix
        self._login = (
            AirflowLogin(self._http, str(username), str(password), fix=fix) if login else None
        )
        self._detail_slots = asyncio.Semaphore(detail_concurrency)

    # -- links -----------------------------------------------------------------------------
    def dag_url(self, dag_id: str) -> str:
        return f"{self.base_url}/dags/{quote(dag_id, safe='')}"

    def run_url(self, dag_id: str, run_id: str) -> str:
        return f"{self.dag_url(dag_id)}/runs/{quote(run_id, safe='')}"

    def task_url(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        url = f"{self.run_url(dag_id, run_id)}/tasks/{quote(task_id, safe='')}"
        return f"{url}/mapped/{map_index}" if map_index >= 0 else url

    # -- parsing (pure; unit-tested on captured responses) --------------------------------
    def parse_dag(self, raw: dict[str, Any]) -> Pipeline:
        dag_id = raw.get("dag_id")
        if not dag_id:
            raise SourceDataError(self.name, "a DAG without dag_id", "check the Airflow version")
        schedule = raw.get("timetable_summary")
        return Pipeline(
            name=str(dag_id),
            source=self.name,
            schedule=None if schedule in (None, "", "None") else str(schedule),
            paused=bool(raw.get("is_paused")),
            url=self.dag_url(str(dag_id)),
            tags=tuple(str(t["name"]) for t in raw.get("tags") or [] if t.get("name")),
            description=raw.get("description") or None,
        )

    def parse_run(self, raw: dict[str, Any]) -> PipelineRun:
        dag_id, run_id = raw.get("dag_id"), raw.get("dag_run_id")
        if not dag_id or not run_id:
            raise SourceDataError(self.name, "a DAG run without ids", "check the Airflow version")
        state = str(raw.get("state") or "queued").lower()
        return PipelineRun(
            pipeline=str(dag_id),
            run_id=str(run_id),
            state=RUN_STATES.get(state, RunState.queued),
            started_at=aware(raw.get("start_date")),
            ended_at=aware(raw.get("end_date")),
            scheduled_for=aware(raw.get("logical_date")) or aware(raw.get("run_after")),
            url=self.run_url(str(dag_id), str(run_id)),
        )

    def failing_task(self, task_instances: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The task that broke the run: the first to end among those that failed themselves."""
        failed = [t for t in task_instances if t.get("state") in _TASK_FAILED and t.get("task_id")]
        far = datetime.max.replace(tzinfo=UTC)
        return min(failed, key=lambda t: aware(t.get("end_date")) or far, default=None)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request("GET", path, params=params, auth=self._login)
        except SourceAuthError as exc:
            # 401 and 403 alike mean these credentials no longer work here (a 403 is also what
            # a restarted server says of an old JWT): the fix is the credentials'.
            raise SourceAuthError(self.name, exc.message, self._auth_fix) from None
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise SourceDataError(
                self.name,
                f"{self._http.display_url(path)} did not answer JSON",
                "check that the Airflow URL points at the API server, not a proxy or a login page",
            ) from None

    async def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(_MAX_PAGES):
            answer = await self._get(path, {**params, "limit": PAGE, "offset": page * PAGE})
            batch = answer.get(key) if isinstance(answer, dict) else None
            if not isinstance(batch, list):
                raise SourceDataError(
                    self.name,
                    f"{self._http.display_url(path)} answered without '{key}'",
                    "check that the URL points at an Airflow 3 API server",
                )
            items.extend(batch)
            if not batch or len(items) >= int(answer.get("total_entries") or 0):
                break
        return items

    # -- PipelineSource --------------------------------------------------------------------
    async def list_pipelines(self) -> list[Pipeline]:
        dags = await self._pages(f"{API}/dags", "dags", {"order_by": "dag_id"})
        return [self.parse_dag(d) for d in dags if not d.get("is_stale")]

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        path = f"{API}/dags/{quote(pipeline, safe='')}/dagRuns"
        try:
            answer = await self._get(path, {"order_by": "-run_after", "limit": limit})
        except SourceNotFound:
            raise SourceNotFound(
                self.name, f"no DAG named {pipeline!r}", "check the DAG id (it is case-sensitive)"
            ) from None
        runs = [self.parse_run(r) for r in answer.get("dag_runs") or []]
        return newest_first(await self._with_failures(runs, with_error=True))

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        raw = await self._pages(
            f"{API}/dags/~/dagRuns",
            "dag_runs",
            {"start_date_gte": _iso(since), "order_by": "-start_date"},
        )
        runs = [self.parse_run(r) for r in raw]
        return newest_first(await self._with_failures(runs, with_error=False))

    async def _with_failures(
        self, runs: list[PipelineRun], *, with_error: bool
    ) -> list[PipelineRun]:
        return list(await asyncio.gather(*(self._explain(r, with_error) for r in runs)))

    async def _explain(self, run: PipelineRun, with_error: bool) -> PipelineRun:
        """Add the failing task, its log link and (optionally) its exception to a failed run."""
        if run.state is not RunState.failed:
            return run
        base = f"{API}/dags/{quote(run.pipeline, safe='')}/dagRuns/{quote(run.run_id, safe='')}"
        async with self._detail_slots:
            answer = await self._get(f"{base}/taskInstances", {"limit": PAGE})
            task = self.failing_task(answer.get("task_instances") or [])
            if task is None:
                return run
            task_id, map_index = str(task["task_id"]), int(task.get("map_index", -1))
            error = None
            if with_error and int(task.get("try_number") or 0) > 0:
                error = await self._task_error(base, task_id, map_index, int(task["try_number"]))
        return run.model_copy(
            update={
                "failed_task": task_id,
                "log_url": self.task_url(run.pipeline, run.run_id, task_id, map_index),
                "error": error,
            }
        )

    async def _task_error(
        self, base: str, task_id: str, map_index: int, attempt: int
    ) -> str | None:
        path = f"{base}/taskInstances/{quote(task_id, safe='')}/logs/{attempt}"
        params: dict[str, Any] = {"full_content": "true"}
        if map_index >= 0:
            params["map_index"] = map_index
        try:
            answer = await self._get(path, params)
        except SourceError as exc:  # the log is a nicety: the run is reported without it
            log.info("airflow_log_unavailable", task=task_id, error=str(exc))
            return None
        return error_summary(answer.get("content") if isinstance(answer, dict) else None)

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            health = await self._http.get_json(f"{API}/monitor/health")
            sick = sorted(
                name
                for name, part in (health.items() if isinstance(health, dict) else [])
                if isinstance(part, dict) and part.get("status") not in (None, "healthy")
            )
            answer = await self._get(f"{API}/dags", {"limit": 1})
            total = answer.get("total_entries", "?") if isinstance(answer, dict) else "?"
            state = f"unhealthy: {', '.join(sick)}" if sick else "healthy"
            return f"authenticated; {total} DAGs; Airflow {state}"

        return await self._http.probe(check)

    async def aclose(self) -> None:
        await self._http.aclose()
