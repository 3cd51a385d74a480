"""Prefect 3 adapter: flows as pipelines (schedules from their deployments), flow runs with the
task that failed them and links to the Prefect UI.

Talks to the Prefect REST API (`.../api`) with httpx; never imports prefect. The `*/filter`
endpoints are POSTs that only read, so they are retried like GETs. Auth: a Prefect Cloud API key
(bearer) or a self-hosted server's `PREFECT_SERVER_API_AUTH_STRING` ("user:password", basic).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from integrations.errors import SourceDataError, SourceNotFound
from integrations.http import DEFAULT_TIMEOUT, SourceClient
from integrations.models import Pipeline, PipelineRun, ProbeResult, RunState
from integrations.pipeline_status import newest_first
from integrations.timestamps import aware

PAGE = 200  # Prefect's default maximum page size
_MAX_PAGES = 100
STATE_TYPES = {
    "COMPLETED": RunState.success,
    "FAILED": RunState.failed,
    "CRASHED": RunState.failed,
    "RUNNING": RunState.running,
    "PAUSED": RunState.running,
    "CANCELLING": RunState.running,
    "SCHEDULED": RunState.queued,
    "PENDING": RunState.queued,
    "CANCELLED": RunState.cancelled,
}
_FAILED_TYPES = ["FAILED", "CRASHED"]
# Prefect names task runs "<task name>-<3 hex chars>" unless a task_run_name is given.
_GENERATED_SUFFIX = re.compile(r"^(?P<task>.+)-[0-9a-f]{3}$")
_EXCEPTION_PREFIX = re.compile(r"^(Task|Flow) run encountered an exception:?\s*")
_CLOUD_API = re.compile(
    r"^(?P<scheme>https?://)api\.(?P<host>[^/]+)/api/accounts/(?P<a>[^/]+)"
    r"/workspaces/(?P<w>[^/]+)"
)


def ui_url_for(api_url: str) -> str:
    """The UI root that belongs to an API URL (self-hosted: strip /api; Cloud: app.<host>)."""
    api_url = api_url.rstrip("/")
    cloud = _CLOUD_API.match(api_url)
    if cloud:
        return f"{cloud['scheme']}app.{cloud['host']}/account/{cloud['a']}/workspace/{cloud['w']}"
    return api_url[: -len("/api")] if api_url.endswith("/api") else api_url


def task_name(task_run: dict[str, Any]) -> str:
    """The task's own name: the run name without Prefect's generated suffix."""
    name = str(task_run.get("name") or task_run.get("task_key") or "")
    match = _GENERATED_SUFFIX.match(name)
    key = str(task_run.get("task_key") or "")
    if match and key.startswith(match["task"] + "-"):
        return match["task"]
    return name


def _message(state: Any) -> str | None:
    text = state.get("message") if isinstance(state, dict) else None
    if not text:
        return None
    return _EXCEPTION_PREFIX.sub("", str(text)).strip() or None


class PrefectSource:
    """PipelineSource over a Prefect 3 server or Prefect Cloud workspace."""

    name = "prefect"

    def __init__(
        self,
        api_url: str,
        *,
        api_key: str | None = None,
        auth_string: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        ui_url: str | None = None,
    ) -> None:
        token, scheme, secrets = api_key, "Bearer", [api_key, auth_string]
        if auth_string and not api_key:
            token = base64.b64encode(auth_string.encode()).decode()
            scheme = "Basic"
            secrets.append(token)
        self._http = SourceClient(
            self.name,
            api_url,
            token=token,
            auth_scheme=scheme,
            secrets=secrets,
            timeout=timeout,
            client=client,
            auth_fix="check the Prefect credentials given to the bot (its environment, not "
            "ops.yml): a Prefect Cloud API key, or the server's auth string as user:password",
        )
        self.api_url = self._http.base_url
        self.ui_url = (ui_url or ui_url_for(self.api_url)).rstrip("/")

    # -- links -----------------------------------------------------------------------------
    def flow_url(self, flow_id: str) -> str:
        return f"{self.ui_url}/flows/flow/{flow_id}"

    def flow_run_url(self, run_id: str) -> str:
        return f"{self.ui_url}/runs/flow-run/{run_id}"

    def task_run_url(self, task_run_id: str) -> str:
        return f"{self.ui_url}/runs/task-run/{task_run_id}"

    # -- parsing (pure; unit-tested on captured responses) --------------------------------
    def parse_flow(self, raw: dict[str, Any], deployments: list[dict[str, Any]]) -> Pipeline:
        """A flow with the schedule of its first active cron deployment schedule."""
        if not raw.get("name") or not raw.get("id"):
            raise SourceDataError(self.name, "a flow without name or id", "check Prefect's version")
        mine = [d for d in deployments if d.get("flow_id") == raw["id"]]
        schedules = [
            (d, s)
            for d in mine
            for s in d.get("schedules") or []
            if s.get("active", True) and (s.get("schedule") or {}).get("cron")
        ]
        running = [(d, s) for d, s in schedules if not d.get("paused")]
        chosen = next(iter(running or schedules), None)
        schedule = chosen[1]["schedule"] if chosen else {}
        tags = [*(raw.get("tags") or []), *(t for d in mine for t in d.get("tags") or [])]
        description = next((d["description"] for d in mine if d.get("description")), None)
        return Pipeline(
            name=str(raw["name"]),
            source=self.name,
            schedule=schedule.get("cron"),
            schedule_timezone=schedule.get("timezone") or None,
            paused=bool(mine) and not running,
            url=self.flow_url(str(raw["id"])),
            tags=tuple(dict.fromkeys(str(t) for t in tags)),
            description=description,
        )

    def parse_run(
        self,
        raw: dict[str, Any],
        flow_names: dict[str, str],
        failed_tasks: dict[str, dict[str, Any]] | None = None,
    ) -> PipelineRun:
        run_id, flow_id = raw.get("id"), raw.get("flow_id")
        if not run_id or not flow_id:
            raise SourceDataError(self.name, "a flow run without ids", "check Prefect's version")
        state = raw.get("state") or {}
        state_type = str(raw.get("state_type") or state.get("type") or "PENDING").upper()
        run_state = STATE_TYPES.get(state_type, RunState.queued)
        task = (failed_tasks or {}).get(str(run_id))
        failed_task = error = log_url = None
        if run_state is RunState.failed:
            # The flow run's page holds its logs; a failed task's page narrows them to it.
            log_url = self.flow_run_url(str(run_id))
            error = _message(state)
            if task:
                failed_task = task_name(task)
                error = _message(task.get("state")) or error
                log_url = self.task_run_url(str(task["id"]))
        return PipelineRun(
            pipeline=flow_names.get(str(flow_id), str(flow_id)),
            run_id=str(run_id),
            state=run_state,
            started_at=aware(raw.get("start_time")),
            ended_at=aware(raw.get("end_time")),
            scheduled_for=aware(raw.get("expected_start_time")),
            failed_task=failed_task,
            error=error,
            log_url=log_url,
            url=self.flow_run_url(str(run_id)),
        )

    @staticmethod
    def first_failed_tasks(task_runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """flow run id -> its task run that failed first (later failures are usually fallout)."""
        far = datetime.max.replace(tzinfo=UTC)
        chosen: dict[str, dict[str, Any]] = {}
        for task in sorted(task_runs, key=lambda t: aware(t.get("end_time")) or far):
            flow_run = task.get("flow_run_id")
            if flow_run and str(flow_run) not in chosen:
                chosen[str(flow_run)] = task
        return chosen

    # -- calls -----------------------------------------------------------------------------
    async def _filter(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        answer = await self._http.post_json(path, body, idempotent=True)
        if not isinstance(answer, list):
            raise SourceDataError(
                self.name,
                f"{self._http.display_url(path)} did not answer a list",
                "check that the Prefect URL points at the API (it ends in /api)",
            )
        return answer

    async def _all(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(_MAX_PAGES):
            batch = await self._filter(path, {**body, "limit": PAGE, "offset": page * PAGE})
            items.extend(batch)
            if len(batch) < PAGE:
                break
        return items

    async def _flow_names(self, flow_ids: set[str]) -> dict[str, str]:
        if not flow_ids:
            return {}
        flows = await self._all("flows/filter", {"flows": {"id": {"any_": sorted(flow_ids)}}})
        return {str(f["id"]): str(f["name"]) for f in flows if f.get("id") and f.get("name")}

    async def _runs(
        self, raw_runs: list[dict[str, Any]], names: dict[str, str]
    ) -> list[PipelineRun]:
        failed = [
            str(r["id"])
            for r in raw_runs
            if str(r.get("state_type") or "").upper() in _FAILED_TYPES and r.get("id")
        ]
        tasks: dict[str, dict[str, Any]] = {}
        if failed:
            task_runs = await self._all(
                "task_runs/filter",
                {
                    "flow_runs": {"id": {"any_": failed}},
                    "task_runs": {"state": {"type": {"any_": _FAILED_TYPES}}},
                    "sort": "EXPECTED_START_TIME_DESC",
                },
            )
            tasks = self.first_failed_tasks(task_runs)
        return newest_first(self.parse_run(r, names, tasks) for r in raw_runs)

    # -- PipelineSource --------------------------------------------------------------------
    async def list_pipelines(self) -> list[Pipeline]:
        flows = await self._all("flows/filter", {"sort": "NAME_ASC"})
        deployments = await self._all("deployments/filter", {"sort": "NAME_ASC"})
        return [self.parse_flow(f, deployments) for f in flows]

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        flows = await self._filter("flows/filter", {"flows": {"name": {"any_": [pipeline]}}})
        if not flows:
            raise SourceNotFound(
                self.name, f"no flow named {pipeline!r}", "check the flow name (case-sensitive)"
            )
        names = {str(f["id"]): str(f["name"]) for f in flows}
        raw = await self._filter(
            "flow_runs/filter",
            {
                "flows": {"id": {"any_": sorted(names)}},
                # Future runs the scheduler created in advance are not history yet.
                "flow_runs": {"expected_start_time": {"before_": datetime.now(UTC).isoformat()}},
                "sort": "START_TIME_DESC",
                "limit": limit,
            },
        )
        return await self._runs(raw, names)

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        raw = await self._all(
            "flow_runs/filter",
            {
                "flow_runs": {"start_time": {"after_": since.isoformat()}},
                "sort": "START_TIME_DESC",
            },
        )
        names = await self._flow_names({str(r["flow_id"]) for r in raw if r.get("flow_id")})
        return await self._runs(raw, names)

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            await self._http.get_json("health")
            count = await self._http.post_json("flows/count", {}, idempotent=True)
            return f"authenticated; {count} flows"

        return await self._http.probe(check)

    async def aclose(self) -> None:
        await self._http.aclose()
