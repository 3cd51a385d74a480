"""The `/ops` grammar (DESIGN §4): every command with its usage, and a parser that never raises.

The parser turns text into a `ParsedCommand` or a `ParseProblem` that says what was wrong and,
when it can, which command the user probably meant (fuzzy match).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from integrations import names

FILTER_KEYS = ("team", "model", "pipeline", "service")
PERIOD_RE = re.compile(r"^(today|\d{1,3}d|mtd|last-month|\d{4}-\d{2}|last-\d{1,3}d)$")
GROUP_DIMENSIONS = (
    "service",
    "provider",
    "team",
    "model",
    "pipeline",
    "day",
    "charge_category",
    "account",
    "sub_account",
)
# Other ways people write a dimension.
DIMENSION_ALIASES = {
    "category": "charge_category",
    "charge-category": "charge_category",
    "sub-account": "sub_account",
    "subaccount": "sub_account",
}


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    summary: str
    examples: tuple[str, ...]
    domain: str  # what the help groups it under


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "status",
        "status [team:T]",
        "Pipelines: failing, late (SLA), running, healthy",
        ("/ops status", "/ops status team:data-eng"),
        "Pipelines",
    ),
    CommandSpec(
        "pipeline",
        "pipeline NAME",
        "Recent runs, durations, owner, models it feeds, cost of runs",
        ("/ops pipeline nightly_orders",),
        "Pipelines",
    ),
    CommandSpec(
        "models",
        "models [team:T]",
        "Registered models, aliases, health at a glance",
        ("/ops models", "/ops models team:ml-platform"),
        "Models",
    ),
    CommandSpec(
        "model",
        "model NAME",
        "Versions, aliases, metrics (quality, latency p95, drift), cost",
        ("/ops model churn",),
        "Models",
    ),
    CommandSpec(
        "spend",
        "spend [team:T|model:M|pipeline:P|service:S] [PERIOD] [by DIM]",
        "Spend with trend, budget burn, month-end forecast, top movers. "
        "PERIOD: today, 7d, 30d, mtd, last-month, YYYY-MM. DIM: service, provider, team, model, "
        "pipeline, day, charge_category, account, sub_account. `team:unallocated` is the spend "
        "no team carries",
        ("/ops spend team:ml-platform 30d by service", "/ops spend model:churn mtd"),
        "Spend",
    ),
    CommandSpec(
        "budget",
        "budget [team:T]",
        "Budgets, burn, forecast, breach risk",
        ("/ops budget", "/ops budget team:analytics"),
        "Spend",
    ),
    CommandSpec(
        "owners",
        "owners THING",
        "Who owns a pipeline, model, team or cost center, and their channel",
        ("/ops owners churn",),
        "Ownership",
    ),
    CommandSpec(
        "promote",
        "promote MODEL VERSION to ALIAS [reason…]",
        "Open an approval request to move an alias",
        ("/ops promote churn 14 to champion beats v12 on AUC",),
        "Approvals",
    ),
    CommandSpec(
        "budget-increase",
        "budget-increase TEAM AMOUNT [reason…]",
        "Open an approval request for more budget",
        ("/ops budget-increase ml-platform 5000 Q4 retraining",),
        "Approvals",
    ),
    CommandSpec(
        "approvals",
        "approvals",
        "Requests waiting for me, and mine",
        ("/ops approvals",),
        "Approvals",
    ),
    CommandSpec(
        "incidents",
        "incidents [team:T] [all]",
        "Open incidents (all: resolved ones too)",
        ("/ops incidents team:ml-platform", "/ops incidents all"),
        "Incidents",
    ),
    CommandSpec(
        "incident",
        "incident ID",
        "One incident and its timeline",
        ("/ops incident 12",),
        "Incidents",
    ),
    CommandSpec(
        "digest",
        "digest list | preview NAME | run NAME",
        "Scheduled digests: list, preview, post now",
        ("/ops digest list", "/ops digest preview weekly-ops"),
        "Digests",
    ),
    CommandSpec(
        "help",
        "help [COMMAND]",
        "This help, or the help of one command",
        ("/ops help spend",),
        "Help",
    ),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)
    period: str | None = None
    group_by: str | None = None


@dataclass(frozen=True)
class ParseProblem:
    message: str
    suggestion: str | None = None  # a command name the user probably meant
    command: str | None = None  # the command whose usage to show


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice closest to `word`, or None when nothing is close enough to be a useful guess."""
    return names.closest(word.lower(), choices, names.COMMANDS)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote is not worth an error: fall back to whitespace
        return text.split()


def parse(text: str) -> ParsedCommand | ParseProblem:
    words = _split(text.strip())
    if not words:
        return ParsedCommand("help")
    head, rest = words[0].lower(), words[1:]
    if head in ("-h", "--help", "?"):
        head = "help"
    if head not in BY_NAME:
        guess = closest(head, list(BY_NAME))
        return ParseProblem(f"I don't know the command `{head}`.", suggestion=guess)
    if head == "spend":
        return _parse_filtered(head, rest, allow_period=True)
    if head in ("status", "models", "budget", "incidents"):
        return _parse_filtered(head, rest, allowed_filters=("team",))
    return _parse_positional(head, rest)


def _parse_positional(name: str, rest: list[str]) -> ParsedCommand | ParseProblem:
    spec = BY_NAME[name]
    needs = {
        "pipeline": 1,
        "model": 1,
        "owners": 1,
        "promote": 4,
        "budget-increase": 2,
        "digest": 1,
        "incident": 1,
    }
    if len(rest) < needs.get(name, 0):
        return ParseProblem(f"`{name}` needs more: usage is `/ops {spec.usage}`.")
    if name == "promote" and rest[2].lower() != "to":
        return ParseProblem(
            f"`promote` reads `MODEL VERSION to ALIAS`; I got `{' '.join(rest[:4])}`.", command=name
        )
    if name == "digest":
        sub = rest[0].lower()
        if sub not in ("list", "preview", "run"):
            return ParseProblem(
                f"`digest {sub}` is not a digest action.",
                suggestion=closest(sub, ["list", "preview", "run"]),
                command=name,
            )
        if sub != "list" and len(rest) < 2:
            return ParseProblem(f"`digest {sub}` needs a digest name.", command=name)
    return ParsedCommand(name, tuple(rest))


def _parse_filtered(
    name: str,
    rest: list[str],
    *,
    allow_period: bool = False,
    allowed_filters: tuple[str, ...] = FILTER_KEYS,
) -> ParsedCommand | ParseProblem:
    filters: dict[str, str] = {}
    args: list[str] = []
    period: str | None = None
    group_by: str | None = None
    i = 0
    while i < len(rest):
        word = rest[i]
        low = word.lower()
        if ":" in word:
            key, _, value = word.partition(":")
            key = key.lower()
            if key not in allowed_filters:
                return ParseProblem(
                    f"`{key}:` is not a filter of `{name}` (filters: "
                    + ", ".join(f"`{k}:`" for k in allowed_filters)
                    + ").",
                    command=name,
                )
            if not value:
                return ParseProblem(f"`{key}:` needs a value, e.g. `{key}:NAME`.", command=name)
            filters[key] = value
        elif name == "incidents" and low == "all":
            args.append("all")
        elif allow_period and low == "by":
            if i + 1 >= len(rest):
                return ParseProblem(
                    "`by` needs a dimension: " + ", ".join(GROUP_DIMENSIONS) + ".", command=name
                )
            dim = rest[i + 1].lower()
            dim = DIMENSION_ALIASES.get(dim, dim)
            if dim not in GROUP_DIMENSIONS:
                guess = closest(dim, GROUP_DIMENSIONS)
                return ParseProblem(f"I can't group by `{dim}`.", suggestion=guess, command=name)
            group_by = dim
            i += 1
        elif allow_period and PERIOD_RE.match(low):
            period = low.removeprefix("last-") if re.match(r"^last-\d", low) else low
        else:
            hint = (
                " PERIOD is one of today, 7d, 30d, mtd, last-month, YYYY-MM."
                if allow_period
                else ""
            )
            return ParseProblem(f"I don't understand `{word}` in `{name}`.{hint}", command=name)
        i += 1
    return ParsedCommand(name, tuple(args), filters, period, group_by)
