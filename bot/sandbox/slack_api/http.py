"""Slack's HTTP surface over a WebApi: how requests are read and answered, whatever the server.

``/api/{method}`` (form, JSON or query parameters; JSON-in-form fields decoded), response_urls
at ``/response/{name}`` and file uploads at ``/upload/{file_id}``, answered as Slack does. The
sandbox mounts them with ``slack_api_router``; the test harness serves the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from .methods import Refusal, WebApi

JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass
class Answer:
    """One HTTP answer: a JSON ``body``, or ``text`` where Slack answers plain text."""

    status: int
    body: dict[str, Any]
    text: str | None = None
    invalid: bool = False  # a request Slack calls malformed (tests list these)
    headers: dict[str, str] = field(default_factory=dict)


def read_params(
    query: Mapping[str, str], raw: bytes, content_type: str
) -> tuple[dict[str, Any], bool]:
    """Query merged with a JSON or form body, JSON-in-form fields decoded; flags unreadable JSON."""
    params: dict[str, Any] = dict(query)
    if raw:
        if content_type.startswith("application/json"):
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return params, True
            if isinstance(body, dict):
                params.update(body)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    for key in JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass  # left as a string: validation reports it as Slack would
    return params, False


def answer_api(
    api: WebApi, method: str, params: dict[str, Any], headers: Mapping[str, str], bad_json: bool
) -> Answer:
    """Slack's answer to a Web API call: HTTP 200 with ``ok`` true or false."""
    limits = api.rate_limits
    wait = limits.check(method, params) if limits is not None else None
    if wait is not None:
        return Answer(
            429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(wait)}
        )
    try:
        if bad_json:
            raise Refusal("invalid_json")
        return Answer(200, {"ok": True, **api.dispatch(method, params, dict(headers))})
    except Refusal as refusal:
        return Answer(200, refusal.body(), invalid=refusal.invalid)


def answer_response_url(api: WebApi, name: str, raw: bytes) -> tuple[Answer, dict[str, Any]]:
    """Slack's plain-text answer to a POST on a response_url, and the body as read."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    status, text, malformed = api.answer_response_url(name, body)
    answer = Answer(status, {"ok": status == 200, **({} if status == 200 else {"error": text})})
    answer.text, answer.invalid = text, malformed
    return answer, body if isinstance(body, dict) else {}


def answer_upload(api: WebApi, file_id: str, data: bytes) -> Answer:
    if not api.store_upload(file_id, data):
        return Answer(404, {"ok": False, "error": "file_not_found"}, "file_not_found")
    return Answer(200, {"ok": True}, f"OK - {len(data)}")


def to_response(answer: Answer) -> Response:
    if answer.text is not None:
        return PlainTextResponse(answer.text, answer.status, headers=answer.headers)
    return JSONResponse(answer.body, answer.status, headers=answer.headers)


def slack_api_router(api: WebApi, *, prefix: str) -> APIRouter:
    """The Web API, response_urls and uploads of ``api`` under ``prefix`` (its ``base_url``)."""
    router = APIRouter(prefix=prefix)

    @router.api_route("/api/{method}", methods=["GET", "POST"])
    async def call(method: str, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        params, bad_json = read_params(
            request.query_params, await request.body(), headers.get("content-type", "")
        )
        return to_response(answer_api(api, method, params, headers, bad_json))

    @router.post("/response/{name}")
    async def response_url(name: str, request: Request) -> Response:
        answer, _ = answer_response_url(api, name, await request.body())
        return to_response(answer)

    @router.post("/upload/{file_id}")
    async def upload(file_id: str, request: Request) -> Response:
        return to_response(answer_upload(api, file_id, await request.body()))

    return router
