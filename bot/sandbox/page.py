"""The sandbox page's routes: the page itself, what one person sees (long-polled for changes), the
actions they take (each becomes a signed Slack request to the app), controls and files."""

from __future__ import annotations

import asyncio
import dataclasses
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from bot.sandbox.client import SandboxClient
from bot.sandbox.controls import Control, ControlContext, ControlError
from bot.sandbox.people import Person
from bot.sandbox.slack_api import WebApi
from bot.sandbox.state import PNG, page_state

DEFAULT_USER = "U0ML0EVA"  # the ML Platform lead of the demo company: sees the most at first
WAIT_SECONDS = 3.0  # a long poll answers within this even when nothing changed

Text = Annotated[str, Field(max_length=4000)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class Send(BaseModel):
    user: Id
    channel: Id
    text: Text
    thread_ts: Id | None = None


class ActionRef(BaseModel):
    block_index: int = Field(ge=0, le=100)
    action_id: Annotated[str, Field(max_length=255)]
    value: Annotated[str, Field(max_length=2000)] | None = None


class Click(BaseModel):
    user: Id
    action: ActionRef
    channel: Id | None = None
    message_ts: Id | None = None
    view_id: Id | None = None
    state: dict[str, Any] = Field(default_factory=dict)


class Submit(BaseModel):
    user: Id
    view_id: Id
    values: dict[str, Any] = Field(default_factory=dict)


class Close(BaseModel):
    user: Id
    view_id: Id


class Who(BaseModel):
    user: Id


class Shortcut(BaseModel):
    user: Id
    callback_id: Annotated[str, Field(max_length=255)]


class RunControl(BaseModel):
    user: Id
    values: dict[str, Annotated[str, Field(max_length=200)]] = Field(default_factory=dict)


class Changes:
    """Wakes long polls when the workspace changes (from any thread)."""

    def __init__(self, api: WebApi) -> None:
        self._api = api
        self._waiters: set[asyncio.Future[None]] = set()
        api.on_change(self._changed)

    def _changed(self) -> None:
        for waiter in list(self._waiters):
            waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    async def wait(self, after: int) -> None:
        if self._api.version > after:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, WAIT_SECONDS)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def page_router(
    api: WebApi,
    *,
    client: SandboxClient,
    people: list[Person],
    controls: tuple[Control, ...],
    context: ControlContext,
    team_name: str,
) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    changes = Changes(api)
    known = {p.id for p in people}
    by_name = {c.name: c for c in controls}
    static = resources.files("bot.sandbox").joinpath("static")

    def person(user: str) -> str:
        if user not in known:
            raise HTTPException(400, f"unknown user {user!r}: pick someone from the switcher")
        return user

    @router.get("", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(static.joinpath("index.html").read_text(encoding="utf-8"))

    @router.get("/static/{name}")
    async def asset(name: str) -> Response:
        if "/" in name or name.startswith(".") or not static.joinpath(name).is_file():
            raise HTTPException(404, "no such file")
        with resources.as_file(static.joinpath(name)) as path:
            return FileResponse(path, headers={"Cache-Control": "no-cache"})

    @router.get("/people")
    async def everyone() -> dict[str, Any]:
        default = DEFAULT_USER if DEFAULT_USER in known else people[0].id
        return {"default": default, "people": [p.id for p in people]}

    @router.get("/state")
    async def state(
        user: Annotated[str, Query(max_length=64)],
        after: Annotated[int, Query(ge=-1)] = -1,
    ) -> dict[str, Any]:
        await changes.wait(after)
        return page_state(
            api,
            user=person(user),
            people=people,
            controls=controls,
            clock=context.clock,
            team_name=team_name,
        )

    @router.post("/send")
    async def send(body: Send) -> dict[str, Any]:
        outcome = await client.send(
            user=person(body.user), channel=body.channel, text=body.text, thread_ts=body.thread_ts
        )
        return outcome.as_json()

    @router.post("/click")
    async def click(body: Click) -> dict[str, Any]:
        outcome = await client.click(
            user=person(body.user),
            action=body.action.model_dump(),
            channel=body.channel,
            message_ts=body.message_ts,
            view_id=body.view_id,
            state=body.state,
        )
        return outcome.as_json()

    @router.post("/submit")
    async def submit(body: Submit) -> dict[str, Any]:
        outcome = await client.submit(
            user=person(body.user), view_id=body.view_id, values=body.values
        )
        return outcome.as_json()

    @router.post("/close")
    async def close(body: Close) -> dict[str, Any]:
        return (await client.close(user=person(body.user), view_id=body.view_id)).as_json()

    @router.post("/home")
    async def home(body: Who) -> dict[str, Any]:
        return (await client.open_home(user=person(body.user))).as_json()

    @router.post("/shortcut")
    async def shortcut(body: Shortcut) -> dict[str, Any]:
        outcome = await client.shortcut(user=person(body.user), callback_id=body.callback_id)
        return outcome.as_json()

    @router.post("/controls/{name}")
    async def run_control(name: str, body: RunControl) -> JSONResponse:
        control = by_name.get(name)
        if control is None:
            raise HTTPException(404, f"no control {name!r}")
        ctx = dataclasses.replace(context, user=person(body.user))
        try:
            said = await control.run(ctx, body.values)
        except ControlError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "said": said})

    @router.get("/files/{file_id}")
    async def file(file_id: Id) -> Response:
        record = api.files.get(file_id)
        content = (record or {}).get("content")
        if not content:
            raise HTTPException(404, "no such file")
        kind = "image/png" if content.startswith(PNG) else "application/octet-stream"
        # Served as a download unless it is a PNG, so an uploaded file can never run as a page.
        headers = {"X-Content-Type-Options": "nosniff"}
        if kind != "image/png":
            headers["Content-Disposition"] = "attachment"
        return Response(content, media_type=kind, headers=headers)

    return router
