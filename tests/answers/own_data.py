"""Answers over a FOCUS export the test writes itself, wired from an ops.yml the way the app wires
it (build_sources), so what a new user configures is what is tested."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.answers.deps import AnswerDeps
from bot.ops_config import OpsConfig, parse_ops_config
from bot.services import Services
from bot.sources import build_sources
from integrations.hub import Sources
from tests.focus_export import Charge, write_export
from tests.services import bare_services

TEAMS = {
    "data-eng": {"channel": "C0123DATA", "members": ["U0DE0ANNA"]},
    "ml-platform": {"channel": "C0123MLPLAT", "members": ["U0ML0EVA"]},
}


def own_config(export: Path, *, focus: dict[str, Any] | None = None, **sections: Any) -> OpsConfig:
    """ops.yml with two teams and one FOCUS source over `export`; `sections` replace or add
    top-level blocks (workspace, ownership, budgets …); `focus` adds keys to the FOCUS block."""
    doc: dict[str, Any] = {
        "version": 1,
        "workspace": {"timezone": "UTC"},
        "teams": TEAMS,
        "sources": {"focus": {"path": f"{export}/*.parquet", **(focus or {})}},
    }
    doc.update(sections)
    return parse_ops_config(yaml.safe_dump(doc, sort_keys=False))


def own_services(config: OpsConfig, *, extra_costs: tuple[Any, ...] = ()) -> Services:
    built = build_sources(config, secrets=lambda _name: None)
    sources = built.sources
    if extra_costs:
        sources = Sources(costs=[*sources.costs.values(), *extra_costs])
    sources.timeout = 60  # what is checked is what answers say, not a loaded machine's speed
    return bare_services(ops_config=config, sources=sources)


def own_deps(
    tmp_path: Path,
    charges: list[Charge],
    *,
    now: datetime,
    focus: dict[str, Any] | None = None,
    extra_costs: tuple[Any, ...] = (),
    **sections: Any,
) -> AnswerDeps:
    """AnswerDeps over `charges` written as a FOCUS export in `tmp_path`, as of `now`."""
    export = write_export(charges, tmp_path / "exports")
    config = own_config(export, focus=focus, **sections)
    services = own_services(config, extra_costs=extra_costs)
    found = services.answer_deps(now=now)
    assert found is not None
    return found
