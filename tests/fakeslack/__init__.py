"""Test harness that plays Slack: the sandbox's Web API served on a local port with calls recorded
and faults injected, a request signer and Block Kit checks."""

from bot.sandbox.slack_api.blockkit import validate_blocks, validate_view
from bot.sandbox.slack_api.signer import SlackSigner, signature

from .server import Call, FakeSlack

__all__ = ["Call", "FakeSlack", "SlackSigner", "signature", "validate_blocks", "validate_view"]
