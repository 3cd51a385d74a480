"""Signed requests to the app as Slack sends them; lives in bot/sandbox/slack_api/signer.py."""

from bot.sandbox.slack_api.signer import SlackSigner, signature

__all__ = ["SlackSigner", "signature"]
