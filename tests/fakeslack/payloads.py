"""Slack's wire shapes, as the tests have always imported them (``from tests.fakeslack import
payloads as P``); they live with the Web API in bot/sandbox/slack_api/wire.py."""

from bot.sandbox.slack_api.wire import *  # noqa: F403
