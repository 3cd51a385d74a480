"""Block Kit validation as Slack does it; lives with the Web API in bot/sandbox/slack_api."""

from bot.sandbox.slack_api.blockkit import slack_error_code, validate_blocks, validate_view

__all__ = ["slack_error_code", "validate_blocks", "validate_view"]
