"""Test harness that plays Slack: a fake Web API server, a request signer and Block Kit checks."""

from .blockkit import validate_blocks, validate_view
from .server import Call, FakeSlack
from .signer import SlackSigner, signature

__all__ = ["Call", "FakeSlack", "SlackSigner", "signature", "validate_blocks", "validate_view"]
