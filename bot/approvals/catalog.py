"""Registry look-ups for promotions: which registry has a model, and does the version exist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from integrations.errors import SourceError
from integrations.hub import Sources
from integrations.models import Model, ModelVersion
from integrations.protocols import ModelRegistry


@dataclass(frozen=True)
class Found:
    registry: ModelRegistry
    model: Model


class CatalogProblem(Exception):
    """A registry could not be asked; `str()` is safe to show."""


async def find_model(sources: Sources, name: str) -> Found | None:
    """The first registry (configuration order) that has the model; None if none has it.

    Raises CatalogProblem when no registry has it and at least one could not be asked, so an
    outage is never reported as "unknown model".
    """
    problems: list[str] = []
    for key, registry in sources.registries.items():
        try:
            async with asyncio.timeout(sources.timeout):
                model = await registry.get_model(name)
        except TimeoutError:
            problems.append(f"{key}: timed out after {sources.timeout} s")
            continue
        except SourceError as exc:
            problems.append(str(exc))
            continue
        if model is not None:
            return Found(registry=registry, model=model)
    if problems:
        raise CatalogProblem("; ".join(problems))
    return None


async def known_versions(sources: Sources, found: Found) -> list[ModelVersion]:
    """Known versions of the model, or raises CatalogProblem."""
    try:
        async with asyncio.timeout(sources.timeout):
            versions = await found.registry.versions(found.model.name)
    except TimeoutError as exc:
        raise CatalogProblem(f"{found.model.source}: timed out listing versions") from exc
    except SourceError as exc:
        raise CatalogProblem(str(exc)) from exc
    return list(versions)
