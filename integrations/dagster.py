"""Dagster adapter: jobs as pipelines (cron from their schedules), runs with the failing step and
links to the Dagster UI, all through the webserver's GraphQL API.

GraphQL answers HTTP 200 even when it fails, so failures are read from the body: an `errors`
array (a query this Dagster does not understand) or an error member of a result union
(`PythonError`: the server broke; `*NotFoundError`: the thing does not exist).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import structlog

from integrations.errors import SourceDataError, SourceError, SourceNotFound, SourceUnavailable
from integrations.http import DEFAULT_TIMEOUT, SourceClient
from integrations.models import Pipeline, PipelineRun, ProbeResult, RunState
from integrations.pipeline_status import newest_first

log = structlog.get_logger(__name__)

PAGE = 200
_MAX_PAGES = 100
RUN_STATUSES = {
    "QUEUED": RunState.queued,
    "NOT_STARTED": RunState.queued,
    "MANAGED": RunState.queued,
    "STARTING": RunState.running,
    "STARTED": RunState.running,
    "CANCELING": RunState.running,
    "SUCCESS": RunState.success,
    "FAILURE": RunState.failed,
    "CANCELED": RunState.cancelled,
}
_DEFAULT_REPOSITORY = "__repository__"  # the UI leaves it out of paths
_SCHEDULED_TAG = "dagster/scheduled_execution_time"

REPOSITORIES = """
query Repositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name }
      jobs { name description tags { key value }
        schedules { name cronSchedule executionTimezone scheduleState { status } } } } }
    ... on PythonError { message }
  }
}"""
RUNS = """
query Runs($filter: RunsFilter, $cursor: String, $limit: Int) {
  runsOrError(filter: $filter, cursor: $cursor, limit: $limit) {
    __typename
    ... on Runs { results { runId jobName status startTime endTime creationTime
      tags { key value } stepStats { stepKey status endTime } } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}"""
STEP_FAILURES = """
query StepFailures($runId: ID!, $limit: Int) {
  logsForRun(runId: $runId, limit: $limit) {
    __typename
    ... on EventConnection { events { __typename
      ... on ExecutionStepFailureEvent { stepKey error { message cause { message } } } } }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}"""
VERSION = "query Version { version }"


def _ts(seconds: Any) -> datetime | None:
    if seconds in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _first_line(text: Any, limit: int = 300) -> str:
    line = next((part.strip() for part in str(text or "").splitlines() if part.strip()), "")
    return line[:limit]


class DagsterSource:
    """PipelineSource over a Dagster webserver (OSS) or a Dagster+ deployment's GraphQL API."""

    name = "dagster"

    def __init__(
        self,
        graphql_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        detail_concurrency: int = 4,
    ) -> None:
        url = graphql_url.rstrip("/")
        self.graphql_url = url if url.endswith("/graphql") else f"{url}/graphql"
        self.base_url = self.graphql_url[: -len("/graphql")]
        self._http = SourceClient(
            self.name,
            self.base_url,
            token=token,
            # Dagster+ reads its own header; a proxy in front of OSS Dagster reads the bearer.
            headers={"Dagster-Cloud-Api-Token": token} if token else None,
            timeout=timeout,
            client=client,
            auth_fix="check the Dagster API token given to the bot (its environment, not "
            "ops.yml): for Dagster+ a user or agent token of this deployment",
        )
        self._detail_slots = asyncio.Semaphore(detail_concurrency)

    # -- links -----------------------------------------------------------------------------
    def job_url(self, job: str, repository: str, location: str) -> str:
        repo = location if repository == _DEFAULT_REPOSITORY else f"{repository}@{location}"
        return f"{self.base_url}/locations/{quote(repo, safe='@')}/jobs/{quote(job, safe='')}"

    def run_url(self, run_id: str) -> str:
        return f"{self.base_url}/runs/{quote(run_id, safe='')}"

    def step_log_url(self, run_id: str, step: str) -> str:
        query = urlencode({"selection": step, "logs": f"step:{step}"})
        return f"{self.run_url(run_id)}?{query}"

    # -- GraphQL ---------------------------------------------------------------------------
    async def query(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        """The `data` of a read-only GraphQL query; SourceError when it has `errors`."""
        answer = await self._http.post_json(
            "graphql", {"query": document, "variables": variables or {}}, idempotent=True
        )
        return self.data_of(answer)

    def data_of(self, answer: Any) -> Any:
        if not isinstance(answer, dict):
            raise SourceDataError(
                self.name,
                "GraphQL answered something other than an object",
                "check that the URL ends in /graphql",
            )
        errors = answer.get("errors")
        if errors and not answer.get("data"):
            first = errors[0] if isinstance(errors, list) and errors else {}
            message = first.get("message") if isinstance(first, dict) else first
            raise SourceDataError(
                self.name,
                f"GraphQL error: {_first_line(message)}",
                "check that this Dagster version is one Switchboard supports",
            )
        return answer.get("data") or {}

    def member(self, result: Any, expected: str) -> dict[str, Any]:
        """The `expected` member of a result union, or the SourceError its error member means."""
        if not isinstance(result, dict):
            raise SourceDataError(
                self.name,
                f"GraphQL gave no {expected}",
                "check that this Dagster version is one Switchboard supports",
            )
        kind = str(result.get("__typename") or "")
        if kind == expected:
            return result
        message = _first_line(result.get("message")) or kind
        if kind == "PythonError":
            raise SourceUnavailable(
                self.name, f"Dagster failed: {message}", "check the Dagster webserver's logs"
            )
        if kind.endswith("NotFoundError"):
            raise SourceNotFound(self.name, message, "check the name in Dagster")
        raise SourceDataError(
            self.name,
            f"{kind}: {message}",
            "check that this Dagster version is one Switchboard supports",
        )

    # -- parsing (pure; unit-tested on captured responses) --------------------------------
    def parse_repositories(self, data: dict[str, Any]) -> list[Pipeline]:
        connection = self.member(data.get("repositoriesOrError"), "RepositoryConnection")
        pipelines = []
        for repo in connection.get("nodes") or []:
            location = str((repo.get("location") or {}).get("name") or "")
            for job in repo.get("jobs") or []:
                if str(job.get("name", "")).startswith("__"):  # Dagster's implicit asset job
                    continue
                pipelines.append(self.parse_job(job, str(repo.get("name")), location))
        return sorted(pipelines, key=lambda p: p.name)

    def parse_job(self, job: dict[str, Any], repository: str, location: str) -> Pipeline:
        schedules = [s for s in job.get("schedules") or [] if s.get("cronSchedule")]
        running = [
            s for s in schedules if (s.get("scheduleState") or {}).get("status") == "RUNNING"
        ]
        chosen = (running or schedules or [{}])[0]
        tags = [
            f"{t['key']}:{t['value']}"
            for t in job.get("tags") or []
            if t.get("key") and not str(t["key"]).startswith("dagster/")
        ]
        cron = chosen.get("cronSchedule")
        return Pipeline(
            name=str(job["name"]),
            source=self.name,
            schedule=" ".join(cron) if isinstance(cron, list) else cron,
            schedule_timezone=chosen.get("executionTimezone") or None,
            paused=bool(schedules) and not running,
            url=self.job_url(str(job["name"]), repository, location),
            tags=tuple(tags),
            description=job.get("description") or None,
        )

    def parse_run(self, raw: dict[str, Any]) -> PipelineRun:
        run_id = raw.get("runId")
        if not run_id:
            raise SourceDataError(self.name, "a run without runId", "check the Dagster version")
        state = RUN_STATUSES.get(str(raw.get("status") or "").upper(), RunState.queued)
        tags = {t.get("key"): t.get("value") for t in raw.get("tags") or []}
        scheduled = tags.get(_SCHEDULED_TAG)
        failed_step = None
        if state is RunState.failed:
            far = float("inf")
            failures = [s for s in raw.get("stepStats") or [] if s.get("status") == "FAILURE"]
            first = min(failures, key=lambda s: s.get("endTime") or far, default=None)
            failed_step = str(first["stepKey"]) if first else None
        return PipelineRun(
            pipeline=str(raw.get("jobName") or raw.get("pipelineName") or ""),
            run_id=str(run_id),
            state=state,
            started_at=_ts(raw.get("startTime")),
            ended_at=_ts(raw.get("endTime")),
            scheduled_for=datetime.fromisoformat(scheduled) if scheduled else None,
            failed_task=failed_step,
            log_url=self._log_url(str(run_id), state, failed_step),
            url=self.run_url(str(run_id)),
        )

    def _log_url(self, run_id: str, state: RunState, step: str | None) -> str | None:
        if step:
            return self.step_log_url(run_id, step)
        return self.run_url(run_id) if state is RunState.failed else None

    def step_error(self, data: dict[str, Any], step: str) -> str | None:
        """The exception that failed `step`, from a logsForRun answer."""
        events = self.member(data.get("logsForRun"), "EventConnection").get("events") or []
        for event in events:
            failure = event.get("__typename") == "ExecutionStepFailureEvent"
            if failure and event.get("stepKey") == step:
                error = event.get("error") or {}
                cause = error.get("cause") or {}
                return _first_line(cause.get("message") or error.get("message")) or None
        return None

    # -- PipelineSource --------------------------------------------------------------------
    async def list_pipelines(self) -> list[Pipeline]:
        return self.parse_repositories(await self.query(REPOSITORIES))

    async def _run_page(
        self, run_filter: dict[str, Any], limit: int, cursor: str | None
    ) -> list[dict[str, Any]]:
        data = await self.query(RUNS, {"filter": run_filter, "limit": limit, "cursor": cursor})
        return list(self.member(data.get("runsOrError"), "Runs").get("results") or [])

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        raw = await self._run_page({"pipelineName": pipeline}, limit, None)
        if not raw and pipeline not in {p.name for p in await self.list_pipelines()}:
            raise SourceNotFound(
                self.name, f"no job named {pipeline!r}", "check the job name (case-sensitive)"
            )
        runs = [self.parse_run(r) for r in raw]
        return newest_first(await asyncio.gather(*(self._with_error(r) for r in runs)))

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        run_filter = {"createdAfter": since.timestamp()}
        raw: list[dict[str, Any]] = []
        cursor = None
        for _ in range(_MAX_PAGES):
            page = await self._run_page(run_filter, PAGE, cursor)
            raw.extend(page)
            if len(page) < PAGE:
                break
            cursor = str(page[-1]["runId"])
        runs = [self.parse_run(r) for r in raw]
        return newest_first(r for r in runs if r.started_at is not None and r.started_at >= since)

    async def _with_error(self, run: PipelineRun) -> PipelineRun:
        if run.failed_task is None:
            return run
        try:
            async with self._detail_slots:
                data = await self.query(STEP_FAILURES, {"runId": run.run_id, "limit": 1000})
            error = self.step_error(data, run.failed_task)
        except SourceError as exc:  # the error text is a nicety: report the run without it
            log.info("dagster_step_error_unavailable", run=run.run_id, error=str(exc))
            return run
        return run.model_copy(update={"error": error})

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            data = await self.query(VERSION)
            return f"authenticated; Dagster {data.get('version') or 'unknown version'}"

        return await self._http.probe(check)

    async def aclose(self) -> None:
        await self._http.aclose()
