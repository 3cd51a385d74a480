"""The Slack app manifest: the repository's manifest.yml, optionally filled in for a host or Socket Mode."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = "https://switchboard.example.com"


def manifest_text() -> str:
    checkout = Path(__file__).resolve().parents[1] / "manifest.yml"
    if checkout.is_file():
        return checkout.read_text()
    return resources.files("bot").joinpath("manifest.yml").read_text()  # installed wheel


def load_manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(manifest_text())
    return data


def render_manifest(*, base_url: str | None = None, socket_mode: bool = False) -> str:
    if not base_url and not socket_mode:
        return manifest_text()
    data = load_manifest()
    if socket_mode:
        data["settings"]["socket_mode_enabled"] = True
        data["settings"]["event_subscriptions"].pop("request_url", None)
        data["settings"]["interactivity"].pop("request_url", None)
        for command in data["features"]["slash_commands"]:
            command.pop("url", None)
    elif base_url:
        url = base_url.rstrip("/") + "/slack/events"
        data["settings"]["event_subscriptions"]["request_url"] = url
        data["settings"]["interactivity"]["request_url"] = url
        for command in data["features"]["slash_commands"]:
            command["url"] = url
    return yaml.safe_dump(data, sort_keys=False)
