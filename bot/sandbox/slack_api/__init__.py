"""Slack played locally: a workspace, the Web API methods over it and Slack's HTTP surface; the
sandbox serves it to the bot and tests/fakeslack serves it to the tests."""

from .methods import Refusal, WebApi
from .signer import SlackSigner, signature
from .workspace import ResponseTarget, SlackWorkspace

__all__ = ["Refusal", "ResponseTarget", "SlackSigner", "SlackWorkspace", "WebApi", "signature"]
