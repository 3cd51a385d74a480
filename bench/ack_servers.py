"""The two servers `bench/ack.py` compares, each run in its own process:
Switchboard itself, and a bare bolt AsyncApp + FastAPI app that acks with the same /ops help text."""

import logging
import sys

import uvicorn


def bare_app(api_url: str, signing_secret: str):  # type: ignore[no-untyped-def]
    from fastapi import FastAPI, Request
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.views.help import render_help

    help_reply = render_help().as_slack_response()
    bolt = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench", base_url=api_url), signing_secret=signing_secret
    )

    @bolt.command("/ops")
    async def ops(ack):  # type: ignore[no-untyped-def]
        await ack(**help_reply)

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(req: Request):  # type: ignore[no-untyped-def]
        return await handler.handle(req)

    return api


def switchboard_app(api_url: str, signing_secret: str, database_url: str):  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from bot.settings import Settings

    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret=signing_secret,
        slack_api_url=api_url,
        database_url=database_url,
        log_level="WARNING",
    )
    return create_app(settings)


def main() -> None:
    kind, port, api_url, secret = sys.argv[1:5]
    logging.basicConfig(level=logging.WARNING)
    from bot.logging import configure_logging

    configure_logging("WARNING", "console")
    app = (
        switchboard_app(api_url, secret, sys.argv[5])
        if kind == "switchboard"
        else bare_app(api_url, secret)
    )
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
