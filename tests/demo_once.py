"""The demo company's FOCUS files and run history, built once per test session and handed out again.

The demo company is a pure function of its seed, its day and its moment. About a hundred tests
build one (every e2e app, every golden `switchboard ask`, each answer module), and generating
90 days of spend into FOCUS Parquet files and simulating ~13k pipeline runs took nearly half of
the suite's time. Here both are made once per set of arguments: the FOCUS files are copied into
the directory each company asks for, and a run history is a new list of the same frozen runs, so
no test sees what another changed. Tests of the generator itself, marked
`pytest.mark.fresh_demo`, get the real functions.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.demo import pipelines
from integrations.demo.catalog import PipelineSpec
from integrations.demo.company import DemoCompany
from integrations.models import PipelineRun

REAL_HISTORY = pipelines.history
REAL_WRITE_FOCUS = DemoCompany.write_focus


class DemoOnce:
    """Replacements for `pipelines.history` and `DemoCompany.write_focus` that remember."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self._lock = threading.Lock()  # companies build from worker threads (asyncio.to_thread)
        self._runs: dict[tuple[PipelineSpec, int, datetime, datetime], list[PipelineRun]] = {}
        self._files: dict[tuple[int, date, str, str], list[Path]] = {}

    def history(
        self, spec: PipelineSpec, *, seed: int, start: datetime, now: datetime
    ) -> list[PipelineRun]:
        key = (spec, seed, start, now)
        with self._lock:
            if key not in self._runs:
                self._runs[key] = REAL_HISTORY(spec, seed=seed, start=start, now=now)
            return list(self._runs[key])

    def write_focus_method(self) -> Callable[..., list[Path]]:
        once = self

        def write_focus(
            company: DemoCompany, directory: Path, fmt: str = "parquet", version: str = "1.2"
        ) -> list[Path]:
            key = (company.seed, company.today, fmt, version)
            with once._lock:
                if key not in once._files:
                    made = once.store / f"{company.seed}-{company.today}-{fmt}-{version}"
                    once._files[key] = REAL_WRITE_FOCUS(company, made, fmt, version)
                made_files = once._files[key]
            target = Path(directory)
            target.mkdir(parents=True, exist_ok=True)
            return [Path(shutil.copyfile(p, target / p.name)) for p in made_files]

        return write_focus


def install(once: DemoOnce, patch: pytest.MonkeyPatch) -> None:
    patch.setattr(pipelines, "history", once.history)
    patch.setattr(DemoCompany, "write_focus", once.write_focus_method())


def uninstall(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(pipelines, "history", REAL_HISTORY)
    patch.setattr(DemoCompany, "write_focus", REAL_WRITE_FOCUS)


def count_builds(patch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on, count what makes a demo company slow the first time it answers: simulating
    a pipeline's run history and writing its spend as FOCUS files. An answer from a warm
    company does neither."""
    builds: Counter[str] = Counter()
    history, write_focus = pipelines.history, DemoCompany.write_focus

    def counted_history(*args: Any, **kwargs: Any) -> list[PipelineRun]:
        builds["pipeline history"] += 1
        return history(*args, **kwargs)

    def counted_write_focus(*args: Any, **kwargs: Any) -> list[Path]:
        builds["FOCUS files"] += 1
        return write_focus(*args, **kwargs)

    patch.setattr(pipelines, "history", counted_history)
    patch.setattr(DemoCompany, "write_focus", counted_write_focus)
    return builds
