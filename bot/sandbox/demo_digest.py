"""The demo's own digest: posted every two minutes to a channel of its own, so `switchboard demo`
shows scheduled posting without waiting for Monday 09:00."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.ops_config.digests import Digest

DEMO_DIGEST: dict[str, Any] = {
    "name": "demo-pulse",
    "channel": "C0DEMOPULSE",
    "schedule": "*/2 * * * *",
    "sections": ["pipelines", "models", "spend", "incidents"],
}


def demo_config(example: Path, folder: Path) -> Path:
    """ops.example.yml plus the demo digest, written into `folder`; returns the new file."""
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    entry = dict(DEMO_DIGEST)
    if "when_quiet" in Digest.model_fields:  # the demo company's data hardly changes: post anyway
        entry["when_quiet"] = "full"
    data["digests"] = [*(data.get("digests") or []), entry]
    target = folder / "ops.demo.yml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target
