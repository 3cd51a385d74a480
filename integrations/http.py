"""Shared HTTP access for adapters: timeouts, retries of safe calls, redaction, error mapping.

Every adapter talks to its peer through a `SourceClient`, so all of them fail the same way:
a `SourceError` subclass naming the source, the (redacted) URL and what the operator should fix.

Retry policy (why): reads are retried on connection errors and 502/503/504 (a restarting peer),
never on timeouts — the caller's time budget is already spent and a slow source must degrade an
answer quickly. Writes are retried only when the connection could not be opened at all, because
then the request never reached the peer. The whole call, retries included, ends within `timeout`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from integrations.errors import (
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceNotFound,
    SourceUnavailable,
)
from integrations.models import ProbeResult

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 5.0
REDACTED = "***"
_RETRYABLE_STATUS = frozenset({502, 503, 504})
_SENSITIVE_PARAM = re.compile(
    r"(?i)\b(access_token|token|api[_-]?key|apikey|password|passwd|secret|signature|sig)=([^&\s\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove known secret values, URL credentials, token-ish query params and auth headers."""
    # Very short "secrets" would blank out ordinary characters everywhere; no real one is that short.
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _SENSITIVE_PARAM.sub(rf"\1={REDACTED}", text)
    return _BEARER.sub(rf"\1 {REDACTED}", text)


def redact_url(url: str | httpx.URL, secrets: Iterable[str | None] = ()) -> str:
    """A URL safe for messages and logs: no userinfo, no secret query values."""
    parts = urlsplit(str(url))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return redact(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), secrets)


def make_client(
    *, timeout: float = DEFAULT_TIMEOUT, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An AsyncClient with a timeout on every phase; adapters create one when none is given."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        transport=transport,
        follow_redirects=False,
        headers={"User-Agent": "switchboard"},
    )


def error_for_status(
    source: str,
    response: httpx.Response,
    *,
    url: str,
    auth_fix: str | None = None,
    secrets: Iterable[str | None] = (),
) -> SourceError | None:
    """The SourceError a non-2xx response means, or None when it succeeded."""
    status = response.status_code
    if status < 400:
        return None
    snippet = redact(_body_snippet(response), secrets)
    detail = f" ({snippet})" if snippet else ""
    if status == 401:
        return SourceAuthError(
            source,
            f"{url} rejected the credentials (HTTP 401)",
            auth_fix
            or f"check the {source} token the bot uses (set in the environment, "
            "not in ops.yml): it is missing, expired or revoked",
        )
    if status == 403:
        return SourceAuthError(
            source,
            f"{url} refused access (HTTP 403)",
            f"grant the bot's {source} account read access (and write access where it "
            "changes things, e.g. model aliases)",
        )
    if status == 404:
        return SourceNotFound(
            source,
            f"{url} not found (HTTP 404){detail}",
            f"check the name, and that the {source} URL in ops.yml points at the API root",
        )
    if status >= 500:
        return SourceUnavailable(
            source,
            f"{url} failed with HTTP {status}{detail}",
            f"the {source} server is failing; check its logs and health",
        )
    return SourceDataError(
        source,
        f"{url} refused the request with HTTP {status}{detail}",
        f"check that the {source} server version is one Switchboard supports",
    )


def error_for_transport(source: str, exc: Exception, *, url: str, timeout: float) -> SourceError:
    """The SourceUnavailable a connection failure or timeout means."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return SourceUnavailable(
            source,
            f"no answer from {url} within {timeout:g}s",
            f"check that {source} is up and not overloaded, or raise its timeout in ops.yml",
        )
    reason = type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return SourceUnavailable(
            source,
            f"cannot connect to {url} ({reason})",
            f"check the {source} URL in ops.yml and that the server is running and "
            "reachable from the bot",
        )
    return SourceUnavailable(
        source,
        f"connection to {url} failed ({reason})",
        f"check that {source} is running and that nothing between the bot and it drops connections",
    )


def _body_snippet(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:  # undecodable body: the status says enough
        return ""
    return " ".join(text.split())[:limit]


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _Retry)


class _Retry(Exception):
    """Internal: wraps a failure that is safe to try again."""

    def __init__(self, error: SourceError) -> None:
        self.error = error


class SourceClient:
    """One peer's HTTP access: base URL, auth, per-call deadline, retries and error mapping."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        token: str | None = None,
        auth_scheme: str = "Bearer",
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        attempts: int = 3,
        auth_fix: str | None = None,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.auth_fix = auth_fix
        self._headers = dict(headers or {})
        if token:
            self._headers["Authorization"] = f"{auth_scheme} {token}".strip()
        # Custom header values may be API keys; long ones are redacted like the token.
        header_values = [v for v in self._headers.values() if len(v) >= 8]
        self._secrets = tuple(s for s in (token, *secrets, *header_values) if s)
        self._own_client = client is None
        self._client = client or make_client(timeout=timeout)

    # -- helpers -----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def display_url(self, path: str = "") -> str:
        return redact_url(self.url(path) if path else self.base_url, self._secrets)

    # -- calls -------------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        attempts: int | None = None,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send one call; raise a SourceError subclass on any failure (never httpx errors).

        `idempotent` defaults to True for GET/HEAD/OPTIONS; non-idempotent calls are retried
        only when the connection could not be opened. `auth` signs the call (a login flow that
        fetches and renews its own token, e.g. Airflow's).
        """
        method = method.upper()
        safe = idempotent if idempotent is not None else method in {"GET", "HEAD", "OPTIONS"}
        url = self.url(path)
        shown = redact_url(url, self._secrets)
        merged = {**self._headers, **(headers or {})}

        async def attempt() -> httpx.Response:
            started = time.perf_counter()
            try:
                response = await self._client.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=merged,
                    timeout=self.timeout,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except (httpx.TransportError, OSError) as exc:
                error = error_for_transport(self.source, exc, url=shown, timeout=self.timeout)
                connect_failed = isinstance(exc, httpx.ConnectError)
                if connect_failed or (safe and not isinstance(exc, httpx.TimeoutException)):
                    raise _Retry(error) from None
                raise error from None
            log.debug(
                "source_call",
                source=self.source,
                method=method,
                url=shown,
                status=response.status_code,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            refused = error_for_status(
                self.source, response, url=shown, auth_fix=self.auth_fix, secrets=self._secrets
            )
            if refused is None:
                return response
            if safe and response.status_code in _RETRYABLE_STATUS:
                raise _Retry(refused)
            raise refused

        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts or self.attempts),
            wait=wait_exponential(multiplier=0.1, max=1.0),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            async with asyncio.timeout(self.timeout):
                async for state in retrying:
                    with state:
                        return await attempt()
        except _Retry as wrapped:
            self._log_failure(wrapped.error)
            raise wrapped.error from None
        except TimeoutError:
            error = error_for_transport(
                self.source, TimeoutError(), url=shown, timeout=self.timeout
            )
            self._log_failure(error)
            raise error from None
        except SourceError as error:
            self._log_failure(error)
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(await self.request("GET", path, params=params), path)

    async def post_json(
        self,
        path: str,
        json: Any = None,
        *,
        idempotent: bool = False,
        params: Mapping[str, Any] | None = None,
        attempts: int | None = None,
    ) -> Any:
        response = await self.request(
            "POST", path, json=json, params=params, idempotent=idempotent, attempts=attempts
        )
        return self._json(response, path)

    def _json(self, response: httpx.Response, path: str) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise SourceDataError(
                self.source,
                f"{self.display_url(path)} did not answer JSON",
                f"check that the {self.source} URL in ops.yml points at the API, not a proxy "
                "or login page",
            ) from None

    def _log_failure(self, error: SourceError) -> None:
        # A missing entity is an ordinary answer (e.g. "is there a model X?"), not an outage.
        level = log.debug if isinstance(error, SourceNotFound) else log.warning
        level("source_call_failed", source=self.source, error=str(error))

    async def probe(self, check: Callable[[], Awaitable[str | None]]) -> ProbeResult:
        return await probe_call(self.source, check, secrets=self._secrets)

    # -- lifecycle ---------------------------------------------------------------------------
    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> SourceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def probe_call(
    source: str, check: Callable[[], Awaitable[str | None]], *, secrets: Iterable[str | None] = ()
) -> ProbeResult:
    """Run `check` (returns a detail line), timing it; never raises."""
    started = time.perf_counter()
    try:
        detail = await check()
    except SourceAuthError as exc:
        return ProbeResult(
            source=source,
            reachable=True,
            authenticated=False,
            latency_ms=_ms(started),
            detail=redact(exc.message, secrets),
            fix=exc.fix,
        )
    except SourceError as exc:
        return ProbeResult(
            source=source,
            reachable=isinstance(exc, SourceNotFound | SourceDataError),
            latency_ms=_ms(started),
            detail=redact(exc.message, secrets),
            fix=exc.fix,
        )
    except Exception as exc:  # a probe must never raise, whatever the adapter did
        return ProbeResult(
            source=source,
            reachable=False,
            latency_ms=_ms(started),
            detail=redact(f"unexpected {type(exc).__name__}: {exc}", secrets)[:300],
            fix="this is a bug in the adapter; report it with the bot's logs",
        )
    return ProbeResult(
        source=source,
        reachable=True,
        authenticated=True,
        latency_ms=_ms(started),
        detail=detail or "ok",
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
