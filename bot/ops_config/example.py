"""The sample ops.yml that matches the demo company, from the checkout or the installed wheel."""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib import resources
from pathlib import Path


def example_config() -> AbstractContextManager[Path]:
    """A context giving a real file path of ops.example.yml (the wheel may be zipped)."""
    checkout = Path(__file__).resolve().parents[2] / "ops.example.yml"
    if checkout.is_file():
        return resources.as_file(checkout)
    return resources.as_file(resources.files("bot").joinpath("ops.example.yml"))
