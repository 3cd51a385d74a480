"""The idle assets section (`sections: [idle]`): the spend nobody is using.

- a registered model with no serving traffic: its serving health answered but measured neither
  latency nor an error rate (no requests), with what it carries in the window (model_spend);
- a pipeline with no success in `idle_after_days` (none in the runs read counts as none);
- a pipeline whose output nobody reads: every model it trains or feeds (ops.yml lineage) is
  idle or not registered at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from bot.digests.facts import Facts
from bot.ops_config import OpsConfig


@dataclass(frozen=True)
class IdleAsset:
    kind: Literal["model", "pipeline"]
    name: str
    why: str  # raw text
    cost: Decimal  # in the window, in `currency`
    currency: str


def idle_assets(facts: Facts, config: OpsConfig) -> list[IdleAsset]:
    days = facts.digest.idle_after_days
    costs = {c.model: c.current for c in facts.model_costs}
    out: list[IdleAsset] = []
    idle_models: set[str] = set()
    for model, health, _team in facts.models:
        if health is not None and health.latency_p95_ms is None and health.error_rate is None:
            idle_models.add(model.name)
            out.append(
                IdleAsset(
                    "model",
                    model.name,
                    "no serving traffic",
                    costs.get(model.name, Decimal(0)),
                    facts.currency,
                )
            )
    registered = {m.name for m, _h, _t in facts.all_models}
    # Models of other teams count too: a pipeline feeding another team's model is read.
    idle_everywhere = idle_models | {
        m.name
        for m, h, _t in facts.all_models
        if h is not None and h.latency_p95_ms is None and h.error_rate is None
    }
    cutoff = facts.now - timedelta(days=days)
    for status in facts.statuses:
        name = status.pipeline.name
        cost = facts.pipeline_spend.get(name, Decimal(0))
        last = status.last_success_at
        if last is None or last < cutoff:
            why = f"no success in {days} days" if last is None else f"last success {last:%d %b}"
            out.append(IdleAsset("pipeline", name, why, cost, facts.currency))
            continue
        fed = config.models_fed_by(name)
        if fed and registered and all(m in idle_everywhere or m not in registered for m in fed):
            readers = ", ".join(fed)
            out.append(
                IdleAsset(
                    "pipeline",
                    name,
                    f"nobody reads its output ({readers} idle)",
                    cost,
                    facts.currency,
                )
            )
    return sorted(out, key=lambda a: (-a.cost, a.kind, a.name))
