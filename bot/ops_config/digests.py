"""The `digests:` block of ops.yml: scheduled summaries posted to channels."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, get_args

from apscheduler.triggers.cron import CronTrigger
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from bot.ops_config.common import Channel, Duration, NoDuplicates, Slug, StrictModel, Timezone

Section = Literal["pipelines", "models", "spend", "budgets", "approvals", "incidents", "idle"]
# `idle` (models nobody calls, pipelines nobody needs) is opt-in: a digest without `sections:`
# shows ALL_SECTIONS, the standard ones.
OPT_IN_SECTIONS: tuple[Section, ...] = ("idle",)
ALL_SECTIONS: tuple[Section, ...] = tuple(s for s in get_args(Section) if s not in OPT_IN_SECTIONS)
WhenQuiet = Literal["skip", "short", "full"]

_CRON_HELP = "format: minute hour day month day-of-week, e.g. '0 9 * * MON'"


def _numeric_weekday(day_of_week: str) -> bool:
    # APScheduler counts 0 = Monday, cron counts 0 = Sunday: a number would fire a day late.
    for part in day_of_week.split(","):
        base = part.split("/")[0]
        if any(piece.strip().isdigit() for piece in base.split("-")):
            return True
    return False


def _check_cron(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "cron",
            "expected a cron schedule string ({help}), got {got}",
            {"help": _CRON_HELP, "got": repr(value)},
        )
    fields = value.split()
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except Exception as exc:  # APScheduler raises ValueError, but never let a typo crash loading
        raise PydanticCustomError(
            "cron",
            "invalid cron schedule {got}: {reason} ({help})",
            {"got": repr(value), "reason": str(exc), "help": _CRON_HELP},
        ) from exc
    if _numeric_weekday(fields[4]):
        raise PydanticCustomError(
            "cron",
            "write the day of week as a name (MON, TUE-FRI, SAT,SUN) in {got}: numbers mean "
            "different days in cron and in APScheduler",
            {"got": repr(value)},
        )
    return value


CronSchedule = Annotated[str, BeforeValidator(_check_cron)]


class Digest(StrictModel):
    """One scheduled digest post."""

    name: Slug = Field(description="Unique name used by `/ops digest run NAME`")
    channel: Channel = Field(description="Where the digest is posted")
    schedule: CronSchedule = Field(description="5-field cron, day of week by name")
    timezone: Timezone | None = Field(None, description="Defaults to workspace.timezone")
    teams: Annotated[list[Slug], NoDuplicates] | None = Field(
        None, description="Teams covered; omit for every team"
    )
    sections: Annotated[list[Section], NoDuplicates] = Field(
        default_factory=lambda: list(ALL_SECTIONS),
        min_length=1,
        description="Sections in the order they are shown; `idle` is opt-in",
    )
    when_quiet: WhenQuiet = Field(
        "skip",
        description="With nothing changed since the last post: skip (post nothing), short (one "
        "line) or full (the whole digest)",
    )
    grace: Duration = Field(
        timedelta(hours=1),
        description="A slot missed while the bot was down is posted late within this, e.g. 1h",
    )
    idle_after_days: int = Field(
        14,
        ge=1,
        le=366,
        description="Idle section: a pipeline with no success for this many days is idle",
    )
    enabled: bool = True

    def trigger(self) -> CronTrigger:
        """The APScheduler trigger firing this digest in its time zone."""
        return CronTrigger.from_crontab(self.schedule, timezone=self.timezone or "UTC")
