"""MLflow model registry adapter: models, versions with their run metrics, and alias promotion.

Talks to the MLflow 3 REST API (`/api/2.0/mlflow/...`) with httpx; never imports mlflow.
Unknown model: `get_model` returns None, `versions` raises SourceNotFound (asking for versions
of a model that does not exist is a user error worth naming).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from integrations.errors import SourceDataError, SourceNotFound
from integrations.http import DEFAULT_TIMEOUT, SourceClient
from integrations.models import Model, ModelVersion, ProbeResult

API = "api/2.0/mlflow"
_FILTER_UNSAFE = ("'", '"', "\\")
_MAX_PAGES = 1000  # a guard against a server that keeps returning the same page token


def version_filter(name: str) -> tuple[str, bool]:
    """A model-versions/search filter selecting `name`, and whether results need exact matching.

    MLflow strips the quotes around a filter value but never unescapes inside it, so a name
    containing a quote or backslash cannot be written exactly. Those characters become the
    single-character LIKE wildcard `_`; the caller then keeps exact name matches only.
    """
    if not any(c in name for c in _FILTER_UNSAFE):
        return f"name='{name}'", False
    pattern = "".join("_" if c in _FILTER_UNSAFE else c for c in name)
    return f"name LIKE '{pattern}'", True


def _ts(millis: Any) -> datetime | None:
    if millis in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)


def _pairs(
    items: list[dict[str, Any]] | None, key: str = "key", value: str = "value"
) -> dict[str, str]:
    return {str(i[key]): str(i.get(value, "")) for i in items or [] if key in i}


def _version_number(version: dict[str, Any]) -> int:
    try:
        return int(version.get("version", 0))
    except (TypeError, ValueError):
        return 0


class MlflowRegistry:
    """ModelRegistry over an MLflow tracking server (OSS or hosted, bearer token optional)."""

    name = "mlflow"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        page_size: int = 100,
        run_concurrency: int = 8,
    ) -> None:
        self._http = SourceClient(
            self.name,
            base_url,
            token=token,
            timeout=timeout,
            client=client,
            auth_fix="set the MLflow token the bot uses (MLFLOW_TRACKING_TOKEN in its "
            "environment, never in ops.yml); it is missing, expired or revoked",
        )
        self.base_url = self._http.base_url
        self.page_size = page_size
        self.run_concurrency = run_concurrency

    # -- links ---------------------------------------------------------------------------------
    def model_url(self, name: str) -> str:
        return f"{self.base_url}/#/models/{quote(name, safe='')}"

    def version_url(self, name: str, version: str) -> str:
        return f"{self.model_url(name)}/versions/{quote(str(version), safe='')}"

    # -- parsing (pure; unit-tested on captured responses) ------------------------------------
    def parse_model(self, raw: dict[str, Any]) -> Model:
        try:
            name = str(raw["name"])
        except KeyError:
            raise SourceDataError(
                self.name, "a registered model without a name", "check the MLflow server version"
            ) from None
        latest = max(raw.get("latest_versions") or [], key=_version_number, default=None)
        return Model(
            name=name,
            source=self.name,
            description=raw.get("description") or None,
            aliases=_pairs(raw.get("aliases"), "alias", "version"),
            tags=_pairs(raw.get("tags")),
            latest_version=str(latest["version"]) if latest else None,
            updated_at=_ts(raw.get("last_updated_timestamp")),
            url=self.model_url(name),
        )

    def parse_version(
        self,
        raw: dict[str, Any],
        *,
        aliases: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
    ) -> ModelVersion:
        name, version = str(raw.get("name", "")), str(raw.get("version", ""))
        if not name or not version:
            raise SourceDataError(
                self.name,
                "a model version without name or version",
                "check the MLflow server version",
            )
        return ModelVersion(
            model=name,
            version=version,
            run_id=raw.get("run_id") or None,
            status=raw.get("status") or None,
            source=raw.get("source") or None,
            aliases=tuple(sorted(a for a, v in (aliases or {}).items() if v == version)),
            tags=_pairs(raw.get("tags")),
            metrics=dict(metrics or {}),
            created_at=_ts(raw.get("creation_timestamp")),
            created_by=raw.get("user_id") or None,
            url=self.version_url(name, version),
        )

    @staticmethod
    def parse_run_metrics(raw: dict[str, Any]) -> dict[str, float]:
        """Latest value of each metric of a runs/get answer."""
        metrics = ((raw.get("run") or {}).get("data") or {}).get("metrics") or []
        latest: dict[str, tuple[int, int, float]] = {}
        for m in metrics:
            try:
                rank = (int(m.get("step") or 0), int(m.get("timestamp") or 0))
                value = float(m["value"])
            except (KeyError, TypeError, ValueError):
                continue
            if m.get("key") and (m["key"] not in latest or rank >= latest[m["key"]][:2]):
                latest[m["key"]] = (*rank, value)
        return {k: v[2] for k, v in latest.items()}

    # -- reads ---------------------------------------------------------------------------------
    async def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            page = await self._http.get_json(
                f"{API}/{path}",
                params={
                    **params,
                    "max_results": self.page_size,
                    **({"page_token": token} if token else {}),
                },
            )
            items.extend(page.get(key) or [])
            next_token = page.get("next_page_token")
            if not next_token or next_token == token:
                return items
            token = next_token
        raise SourceDataError(
            self.name,
            f"{path} kept paging past {_MAX_PAGES} pages",
            "check the MLflow server; its page tokens never end",
        )

    async def list_models(self) -> list[Model]:
        raw = await self._pages("registered-models/search", "registered_models", {})
        return sorted((self.parse_model(m) for m in raw), key=lambda m: m.name)

    async def _registered_model(self, name: str) -> dict[str, Any] | None:
        try:
            body = await self._http.get_json(f"{API}/registered-models/get", params={"name": name})
        except SourceNotFound:
            return None
        return body.get("registered_model") or None

    async def get_model(self, name: str) -> Model | None:
        raw = await self._registered_model(name)
        return self.parse_model(raw) if raw else None

    async def _run(self, run_id: str | None, limit: asyncio.Semaphore) -> dict[str, Any]:
        if not run_id:
            return {}
        async with limit:
            try:
                run: dict[str, Any] = await self._http.get_json(
                    f"{API}/runs/get", params={"run_id": run_id}
                )
                return run
            except SourceNotFound:  # the run was deleted; the version is still worth listing
                return {}

    async def versions(self, name: str) -> list[ModelVersion]:
        filter_string, needs_exact = version_filter(name)
        model, raw_versions = await asyncio.gather(
            self._registered_model(name),
            self._pages("model-versions/search", "model_versions", {"filter": filter_string}),
        )
        if model is None:
            raise SourceNotFound(
                self.name,
                f"no registered model named {name!r}",
                "check the model name; `/ops models` lists them",
            )
        if needs_exact:
            raw_versions = [v for v in raw_versions if v.get("name") == name]
        raw_versions.sort(key=_version_number, reverse=True)
        # A semaphore per call: it binds to the running loop, and adapters outlive loops in tests.
        limit = asyncio.Semaphore(self.run_concurrency)
        runs = await asyncio.gather(*(self._run(v.get("run_id"), limit) for v in raw_versions))
        aliases = _pairs(model.get("aliases"), "alias", "version")
        # MLflow OSS leaves a version's user_id empty; the user of its run is who registered it.
        return [
            self.parse_version(
                {**raw, "user_id": raw.get("user_id") or _run_user(run)},
                aliases=aliases,
                metrics=self.parse_run_metrics(run) if run else {},
            )
            for raw, run in zip(raw_versions, runs, strict=True)
        ]

    async def get_version(self, name: str, version: str) -> ModelVersion | None:
        """One version as the registry has it now (no run metrics); None if there is none.

        Its `created_by` is MLflow's `user_id`, which hosted MLflow fills and MLflow OSS
        (3.17) leaves empty; `run_user` names who logged the run it was registered from.
        """
        try:
            body = await self._http.get_json(
                f"{API}/model-versions/get", params={"name": name, "version": str(version)}
            )
        except SourceNotFound:
            return None
        raw = body.get("model_version")
        if not raw:
            return None
        aliases = {str(a): str(raw.get("version", "")) for a in raw.get("aliases") or []}
        return self.parse_version(raw, aliases=aliases)

    async def run_user(self, run_id: str) -> str | None:
        """The user a run was logged by (MLflow clients send the login or `mlflow.user`)."""
        try:
            raw = await self._http.get_json(f"{API}/runs/get", params={"run_id": run_id})
        except SourceNotFound:
            return None
        return _run_user(raw)

    # -- writes --------------------------------------------------------------------------------
    async def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` at `version`.

        Setting an alias is idempotent, but it is a write: it is retried once, and only when
        the connection could not be opened (the request never reached MLflow). A timeout or
        5xx is reported, not retried — the approval flow shows it and the user can retry.
        """
        await self._http.post_json(
            f"{API}/registered-models/alias",
            {"name": name, "alias": alias, "version": str(version)},
            attempts=2,
        )

    # -- health --------------------------------------------------------------------------------
    async def probe(self) -> ProbeResult:
        async def check() -> str:
            page = await self._http.get_json(
                f"{API}/registered-models/search", params={"max_results": 1}
            )
            if not isinstance(page, dict):
                raise SourceDataError(
                    self.name,
                    "registered-models/search did not answer an object",
                    "check that the URL points at MLflow",
                )
            return f"model registry answers at {self._http.display_url()}"

        return await self._http.probe(check)

    async def aclose(self) -> None:
        await self._http.aclose()


def _run_user(raw: dict[str, Any]) -> str | None:
    """The user_id of a runs/get answer, if it names one."""
    user = ((raw.get("run") or {}).get("info") or {}).get("user_id")
    return (str(user).strip() or None) if user else None
