"""The sandbox page: type `/ops …` as a Slack user would; the request is signed and goes through
POST /slack/events exactly like Slack's. Posted messages are shown per channel."""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.webapi import SandboxWorkspace
from bot.views.terminal import render_blocks

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Switchboard sandbox</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}}
nav{{width:200px;background:#3f0e40;color:#fff;padding:12px}} nav b{{display:block;margin:8px 0}}
main{{flex:1;display:flex;flex-direction:column}} #log{{flex:1;overflow:auto;padding:12px}}
pre{{background:#f8f8f8;border-left:4px solid #1d3557;padding:8px;white-space:pre-wrap}}
form{{display:flex;padding:12px;border-top:1px solid #ddd}} input{{flex:1;font-size:16px;padding:8px}}</style>
</head><body><nav><b>Demo Co</b># ops-sandbox<br>{channels}</nav><main><div id="log">{log}</div>
<form method="post" action="/sandbox/command"><input name="text" autofocus placeholder="/ops help">
<button>Send</button></form></main></body></html>"""


def page_router(workspace: SandboxWorkspace, *, app_url: str, signing_secret: str) -> APIRouter:
    router = APIRouter()
    signer = SignatureVerifier(signing_secret)  # signs exactly as Slack does (v0 HMAC-SHA256)
    transcript: list[tuple[str, str]] = []

    def render() -> HTMLResponse:
        log = "".join(
            f"<p><b>{html.escape(who)}</b></p><pre>{html.escape(text)}</pre>"
            for who, text in transcript[-30:]
        )
        channels = "<br>".join(
            f"# {html.escape(c)} ({len(m)})" for c, m in workspace.messages.items()
        )
        return HTMLResponse(PAGE.format(log=log, channels=channels))

    @router.get("/sandbox")
    async def sandbox() -> HTMLResponse:
        return render()

    @router.post("/sandbox/command")
    async def command(request: Request) -> HTMLResponse:
        # The page's form is urlencoded; parsed here to avoid a multipart dependency.
        text = parse_qs((await request.body()).decode("utf-8", "replace")).get("text", [""])[0]
        words = text.strip().split(maxsplit=1)
        command_text = words[1] if words and words[0] == "/ops" and len(words) > 1 else text.strip()
        body = urlencode(
            {
                "token": "sandbox",
                "team_id": "T_DEMO",
                "team_domain": "demo",
                "channel_id": "C_SANDBOX",
                "channel_name": "ops-sandbox",
                "user_id": "U_DEMO",
                "user_name": "demo",
                "command": "/ops",
                "text": command_text,
                "api_app_id": "A_DEMO",
                "is_enterprise_install": "false",
                "response_url": f"{app_url}/sandbox/response",
                "trigger_id": "sandbox.trigger",
            }
        ).encode()
        ts = int(time.time())
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(
                f"{app_url}/slack/events",
                content=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(ts),
                    "X-Slack-Signature": str(
                        signer.generate_signature(timestamp=str(ts), body=body)
                    ),
                },
            )
        transcript.append(("you", f"/ops {command_text}"))
        answer = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        transcript.append(
            (
                "switchboard",
                render_blocks(answer.get("blocks") or []) or answer.get("text", resp.text),
            )
        )
        return render()

    @router.post("/sandbox/response")
    async def response_url(payload: dict) -> dict[str, bool]:  # type: ignore[type-arg]
        transcript.append(
            ("switchboard", render_blocks(payload.get("blocks") or []) or payload.get("text", ""))
        )
        return {"ok": True}

    return router
