"""Plain questions ("is churn healthy?") turned into /ops commands by keywords and known names.

No external service: an intent comes from keyword patterns, the thing asked about from the
pipelines, models, teams and services Switchboard knows (exact, then fuzzy), and the period
from everyday words ("last week" is `7d`). Only known names ever reach the command text.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache

from bot.answers.periods import PeriodError, resolve_period
from bot.commands.grammar import DIMENSION_ALIASES, GROUP_DIMENSIONS, ParsedCommand, parse
from integrations import names
from integrations.models import TAX_LINE, SpendDimension, SpendQuery

if TYPE_CHECKING:
    from bot.ops_config import OpsConfig
    from integrations.hub import Sources

MAX_CANDIDATES = 5


@dataclass(frozen=True)
class KnownNames:
    """Every name a question may be about, from the sources and ops.yml."""

    pipelines: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    teams: Mapping[str, str] = field(default_factory=dict)  # slug -> display name
    services: tuple[str, ...] = ()
    owners: Mapping[str, str] = field(default_factory=dict)  # pipeline or model -> team slug
    today: date | None = None  # for month names ("spend in october")
    data_ends: date | None = None  # the last day of cost data: "in may" is a May that has data


@dataclass(frozen=True)
class Understood:
    command: str  # the /ops command text, without "/ops"
    notes: tuple[str, ...] = ()  # how everyday words were read ("last week" → 7d)
    leftovers: tuple[str, ...] = ()  # words that played no part in the reading


@dataclass(frozen=True)
class Candidate:
    label: str  # what the button says
    command: str


@dataclass(frozen=True)
class Ambiguous:
    asked: str  # the word that matched several names
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class NotUnderstood:
    reason: str = ""
    intent: str | None = None  # what the question seemed to ask ("owners"), when anything
    unknown: tuple[str, ...] = ()  # words that named nothing Switchboard knows


@dataclass(frozen=True)
class Entity:
    kind: str  # pipeline, model, team, service
    name: str


# Checked in this order: the first intent whose pattern matches wins.
_INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("help", r"^(help|what can you do|how do i use|what do you know|commands)\b"),
        (
            "approvals",
            r"\b(approvals?|approve|pending requests?|waiting for me|my requests?|"
            r"sign[ -]?offs?)\b",
        ),
        ("incidents", r"\b(incidents?|outages?|alerts?|on fire|firing|paged)\b"),
        (
            "owners",
            r"\b(who owns|owners?|owned by|owns|who is responsible|responsible for|"
            r"who runs|who maintains|on[ -]?call|whose)\b",
        ),
        ("budget", r"\b(budgets?|over ?spend\w*|overrun|burn rate|burn|breach\w*)\b"),
        (
            "spend",
            r"\b(spend\w*|spent|costs?|costing|bill|billing|paid|pay|paying|expensive|"
            r"money|how much)\b",
        ),
        ("digest", r"\bdigests?\b"),
        (
            "failure",
            r"\b(fail\w*|broke\w*|broken|break|breaks|breaking|errors?|erroring|crash\w*|down|wrong|"
            r"problems?|issues?|late|stuck|behind)\b",
        ),
        (
            "lineage",
            r"\b(feeds?|fed|feeding|downstream|upstream|lineage|trains|trained (by|on)|"
            r"depends? on|depend\w*)\b",
        ),
        ("models", r"\b(models|which model|list (the )?models?)\b"),
        (
            "health",
            r"\b(health\w*|doing|ok|okay|fine|good|drift\w*|latency|slow|accuracy|"
            r"performing|performance|how is|how are|working)\b",
        ),
        ("status", r"\b(status|pipelines?|running|overview|scorecard|dashboard|going on)\b"),
    )
)
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_PERIODS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), token, note)
    for pattern, token, note in (
        (r"\b(?:last|past|previous) ([0-9]{1,3}) days?\b", "{0}d", ""),
        (r"\b(?:last|past|previous) ([0-9]{1,2}) weeks?\b", "{w}d", "read as {w} days"),
        (r"\b(?:this|current) month\b|\bmonth to date\b|\bso far this month\b|\bmtd\b", "mtd", ""),
        (r"\b(?:last|previous|past) month\b|\blast-month\b", "last-month", ""),
        (r"\b(?:this|last|past|previous) week\b|\bweekly\b", "7d", "read as the last 7 days"),
        (r"\byesterday\b", "2d", "read as yesterday and today (there is no yesterday-only period)"),
        (r"\blast night\b|\bovernight\b", "2d", "read as yesterday and today"),
        (r"\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b", "today", ""),
        (r"\b([0-9]{4}-[0-9]{2})\b", "{0}", ""),
        (r"\b(?:last-)?([0-9]{1,3})d\b", "{0}d", ""),
    )
)
_MONTH_RE = re.compile(
    r"\b(?:(in|for|during|of|over|last|previous|past) )?("
    + "|".join(_MONTHS)
    + r"|"
    + "|".join(m[:3] for m in _MONTHS if len(m) > 4 and m != "june")
    + r"|sept)(?: ([0-9]{4}))?\b"
)
_GROUP_RE = re.compile(
    r"\b(?:by|per|split by|broken down by|grouped by|for each) ("
    + "|".join(sorted([*GROUP_DIMENSIONS, *DIMENSION_ALIASES, "charge category"], key=len)[::-1])
    + r")s?\b"
)
_FILTER_RE = re.compile(r"\b(team|model|pipeline|service):([a-z0-9_.\-]+)")
_TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9_\-.]*")
_STOPWORDS = frozenset(
    """a about across all am an and any anything are as at be been being both but by can could
    current day days did do does doing done for from get give going got had has have how i if in
    into is it its just last latest me month months my no not now of on or our over past please
    previous right see show so some tell than that the their them then there these this those to
    up us was we week weeks were what whats when where which who why will with would year you
    your since ago daily weekly monthly hourly yearly total forecast trend team teams pipeline
    model service services compared much many more most top biggest lot happened happening
    currently look looking like latest so far each per split broken grouped things everything
    something stuff anyone someone today yesterday know open waiting night tonight morning
    afternoon evening overnight""".split()
)
# Words of service names that say too little to name one service on their own ("compute" is
# not "Savings Plans for AWS Compute usage"): only a service's full name or a telling word counts.
_VENDOR_WORDS = frozenset(
    """amazon aws google gcp azure microsoft cloud data compute storage usage savings plans plan
    transfer web simple elastic engine platform managed database analytics""".split()
)
_QUESTION_WORDS = frozenset(
    "what why who whos how hows is are did does do which when where whose any show tell can "
    "could give list".split()
)


_normal = names.normal


def _clean(text: str) -> str:
    text = text.casefold().replace("’", "'").replace("‘", "'")
    text = re.sub(r"'s\b", "", text).replace("'", "")
    text = re.sub(r"[^a-z0-9_:\-. ]+", " ", text)
    return " ".join(word.strip(".-") or word for word in text.split())


def looks_like_question(word: str) -> bool:
    """Whether a first word starts a question rather than misspelling a command."""
    word = _clean(word)
    return word in _QUESTION_WORDS or any(p.search(word) for _, p in _INTENTS)


# -- entities ----------------------------------------------------------------------------------


class _Index:
    """Exact labels (names, team display names and unique words of them) and fuzzy choices."""

    def __init__(self, known: KnownNames) -> None:
        self.exact: dict[str, list[Entity]] = {}  # label or unique word -> what it names
        self.named: dict[str, list[Entity]] = {}  # full labels only: the fuzzy choices
        self.services = known.services
        for kind, labels in (
            ("pipeline", known.pipelines),
            ("model", known.models),
            ("service", known.services),
            ("team", tuple(known.teams)),
        ):
            for name in labels:
                self._add(_normal(name), Entity(kind, name))
        for slug, display in known.teams.items():
            self._add(_normal(display or slug), Entity("team", slug))
        self._add_unique_words("team", {slug: f"{slug} {d}" for slug, d in known.teams.items()})
        self._add_unique_words("service", {s: s for s in known.services}, skip=_VENDOR_WORDS)

    def _add(self, label: str, entity: Entity) -> None:
        if not label:
            return
        for table in (self.exact, self.named):
            found = table.setdefault(label, [])
            if entity not in found:
                found.append(entity)

    def _add_unique_words(
        self, kind: str, texts: dict[str, str], skip: frozenset[str] | set[str] | None = None
    ) -> None:
        owners: dict[str, set[str]] = {}
        for name, text in texts.items():
            for word in re.split(r"[\s_\-]+", text.casefold()):
                if len(word) >= 2 and word not in _STOPWORDS and word not in (skip or set()):
                    owners.setdefault(word, set()).add(name)
        for word, named in owners.items():
            if len(named) == 1 and word not in self.exact:
                self.exact[word] = [Entity(kind, next(iter(named)))]

    def lookup(self, words: list[str]) -> Lookup:
        """Entities named exactly or clearly, words matching several names, unmatched words."""
        words = [_normal(w) for w in words]
        found = Lookup()
        i = 0
        while i < len(words):
            for size in (3, 2, 1):
                phrase = "_".join(words[i : i + size])
                if i + size <= len(words) and phrase in self.exact:
                    if size == 1 and phrase in _STOPWORDS:
                        continue
                    found.hits.extend(self.exact[phrase])
                    i += size
                    break
            else:
                word = words[i]
                i += 1
                if word in _STOPWORDS or word.isdigit():
                    continue
                if word in _VENDOR_WORDS:  # too generic to guess a name from: say it was unused
                    found.unmatched.append(word)
                    continue
                if services := self._services(word):
                    if len(services) == 1:
                        found.hits.append(services[0])
                        found.read_as[services[0]] = word
                    else:
                        found.unclear.append((word, services))
                    continue
                fuzzy = self._fuzzy(word)
                if isinstance(fuzzy, Entity):
                    found.hits.append(fuzzy)
                elif fuzzy:
                    found.unclear.append((word, fuzzy))
                else:
                    found.unmatched.append(word)
        return found

    def _services(self, word: str) -> list[Entity]:
        """The services a short name stands for ("s3" is AmazonS3, "bq" BigQuery)."""
        return [Entity("service", r.service) for r in names.service_readings(word, self.services)]

    def _fuzzy(self, word: str) -> Entity | list[Entity] | None:
        if len(word) < 3 or not self.named:
            return None
        policy = names.QUESTION_WORDS
        ranked = names.ranked(word, list(self.named), cutoff=policy.suggest, limit=8)
        if not ranked:
            return None
        entities = [e for label, _score in ranked for e in self.named[label]]
        best, runner_up = ranked[0][1], (ranked[1][1] if len(ranked) > 1 else 0.0)
        if len(entities) == 1 or policy.takes(best, runner_up):
            return entities[0]
        return list(dict.fromkeys(entities))


@dataclass
class Lookup:
    """What the words of a question named."""

    hits: list[Entity] = field(default_factory=list)  # named exactly or clearly
    unclear: list[tuple[str, list[Entity]]] = field(default_factory=list)  # word -> several
    unmatched: list[str] = field(default_factory=list)  # named nothing
    read_as: dict[Entity, str] = field(default_factory=dict)  # service -> the short name used


# -- periods and grouping ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Said:
    """A period found in a question: the token, how it was read, and the words as typed."""

    token: str
    note: str
    spoken: str


def _period(
    text: str, today: date | None, data_ends: date | None = None
) -> tuple[_Said | None, str]:
    """The period the text names, and the text with the period words removed."""
    for pattern, token, note in _PERIODS:
        found = pattern.search(text)
        if found:
            groups = found.groups()
            weeks = int(groups[0]) * 7 if groups and token == "{w}d" else 0
            value = token.format(*groups, w=weeks)
            if value.endswith("d") and value[:-1].isdigit() and not 1 <= int(value[:-1]) <= 366:
                continue
            spoken = found.group(0)
            told = note.format(*groups, w=weeks) if note else ""
            said = _Said(value, f"“{spoken}” {told}" if told else "", spoken)
            return said, _cut(text, found)
    found = _MONTH_RE.search(text)
    if found and today is not None:
        month = _month(found, today, data_ends)
        if month is not None:
            return month, _cut(text, found)
    return None, text


def _month(found: re.Match[str], today: date, data_ends: date | None) -> _Said | None:
    """A month name as a period: with a year as written; without one, the most recent such
    month that has ended or has cost data ("may" alone is a verb: only "in may", "may 2026")."""
    lead, name, year = found.group(1), found.group(2), found.group(3)
    if (name == "may" or name not in _MONTHS) and not (lead or year):
        return None  # "may" alone is a verb, "mar" or "dec" alone may be anything
    month = next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(name[:3]))
    spoken = found.group(0).removeprefix(f"{lead} " if lead else "")
    if year:
        return _Said(f"{int(year):04d}-{month:02d}", "", spoken)
    this_month = (today.year, today.month)
    chosen = today.year if (today.year, month) <= this_month else today.year - 1
    if (chosen, month) == this_month:
        has_data = data_ends is None or data_ends >= date(chosen, month, 1)
        if lead in ("last", "previous", "past") or not has_data:
            chosen -= 1  # this month has no data yet, or the one before was meant
    token = f"{chosen:04d}-{month:02d}"
    so_far = " so far" if (chosen, month) == this_month else ""
    note = f"“{spoken}” read as {calendar.month_name[month]} {chosen}{so_far}"
    return _Said(token, note, spoken)


def _cut(text: str, found: re.Match[str]) -> str:
    return (text[: found.start()] + " " + text[found.end() :]).strip()


# -- commands ----------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w.\-]+", value) else '"' + value.replace('"', "") + '"'


def _pick(entities: list[Entity], kinds: tuple[str, ...]) -> Entity | None:
    for kind in kinds:
        for entity in entities:
            if entity.kind == kind:
                return entity
    return None


def _team_of(entity: Entity, known: KnownNames) -> str | None:
    return entity.name if entity.kind == "team" else known.owners.get(entity.name)


def _command(
    intent: str, entity: Entity | None, known: KnownNames, period: str | None, group: str | None
) -> str | None:
    """The command text for `intent` about `entity`, or None when it needs an entity."""
    if intent in ("health", "failure", "status"):
        if entity is None:
            return "status"
        if entity.kind in ("pipeline", "model"):
            return f"{entity.kind} {entity.name}"
        if entity.kind == "service":
            return f"spend service:{_quote(entity.name)}"
        return f"status team:{entity.name}"
    if intent == "spend":
        parts = ["spend"]
        if entity is not None:
            parts.append(f"{entity.kind}:{_quote(entity.name)}")
        parts += [period] if period else []
        parts += [f"by {group}"] if group else []
        return " ".join(parts)
    if intent == "lineage":
        # What a pipeline feeds is on its page; what feeds a model is on the model's.
        if entity is not None and entity.kind in ("pipeline", "model"):
            return f"{entity.kind} {entity.name}"
        return None
    if intent in ("budget", "incidents", "models"):
        if intent == "models" and entity is not None and entity.kind in ("model", "pipeline"):
            return f"{entity.kind} {entity.name}"
        team = _team_of(entity, known) if entity is not None else None
        return f"{intent} team:{team}" if team else intent
    if intent == "owners":
        return f"owners {_quote(entity.name)}" if entity is not None else None
    if intent == "digest":
        return "digest list"
    return intent  # help, approvals


_PREFERRED: dict[str, tuple[str, ...]] = {
    "health": ("model", "pipeline", "team", "service"),
    "failure": ("pipeline", "model", "team", "service"),
    "status": ("pipeline", "model", "team", "service"),
    "spend": ("model", "pipeline", "service", "team"),
    "owners": ("pipeline", "model", "service", "team"),
    "models": ("team", "model", "pipeline"),
    "lineage": ("pipeline", "model"),
    "budget": ("team", "model", "pipeline"),
    "incidents": ("team", "model", "pipeline"),
}


def understand(text: str, *, known: KnownNames) -> Understood | Ambiguous | NotUnderstood:
    """What a plain question asks, as an /ops command; never raises."""
    cleaned = _clean(text)
    if not cleaned:
        return NotUnderstood("nothing to read")
    notes: list[str] = []
    explicit = [Entity(k, v) for k, v in _FILTER_RE.findall(cleaned)]
    said, rest = _period(_FILTER_RE.sub(" ", cleaned), known.today, known.data_ends)
    period = said.token if said else None
    group = None
    if found := _GROUP_RE.search(rest):
        said_group = found.group(1).replace(" ", "_")
        group, rest = DIMENSION_ALIASES.get(said_group, said_group), _cut(rest, found)
    intent = next((name for name, pattern in _INTENTS if pattern.search(rest)), None)
    for _name, pattern in _INTENTS:
        rest = pattern.sub(" ", rest)
    index = _Index(known)
    found_words = index.lookup(_TOKEN_RE.findall(rest))
    hits, unclear, unmatched = found_words.hits, found_words.unclear, found_words.unmatched
    for wanted in explicit:  # team:ml and the like, resolved among names of that kind only
        by_kind = [e for e in index.lookup([_normal(wanted.name)]).hits if e.kind == wanted.kind]
        hits = by_kind[:1] + hits if by_kind else hits
    if intent is None:
        if period or group:
            intent = "spend"
        elif hits or unclear:
            intent = "health"
        else:
            return NotUnderstood("no question words or known names", unknown=tuple(unmatched))
    kinds = _PREFERRED.get(intent, ())
    entity = _pick(hits, kinds) if kinds else None
    if kinds and entity is None:
        options = [e for _w, found in unclear for e in found if e.kind in kinds]
        if options:
            candidates = [
                Candidate(f"{e.name} ({e.kind})", cmd)
                for e in options
                if (cmd := _command(intent, e, known, period, group))
            ]
            unique = tuple(dict.fromkeys(candidates))[:MAX_CANDIDATES]
            if len(unique) == 1:
                return _checked(
                    unique[0].command, [*notes, *_period_notes(said, intent)], unmatched
                )
            return Ambiguous(asked=unclear[0][0], candidates=unique)
    command = _command(intent, entity, known, period if intent == "spend" else None, group)
    if entity is not None and entity in found_words.read_as:
        notes.append(f"“{found_words.read_as[entity]}” read as {entity.name}")
    if command is None:
        return NotUnderstood(
            f"I could not tell what the {intent} question is about",
            intent=intent,
            unknown=tuple(unmatched),
        )
    return _checked(command, [*notes, *_period_notes(said, intent)], unmatched)


def _period_notes(said: _Said | None, intent: str) -> list[str]:
    """How the period was read for spend; for anything else, that it was not used."""
    if said is None:
        return []
    if intent == "spend":
        return [said.note] if said.note else []
    return [f"“{said.spoken}” is not a period here: this is the latest state"]


def _checked(command: str, notes: list[str], leftovers: list[str]) -> Understood | NotUnderstood:
    # Belt and braces: whatever we built must be a command the grammar accepts.
    if not isinstance(parse(command), ParsedCommand):
        return NotUnderstood(f"I built `{command}`, which does not parse")
    return Understood(command=command, notes=tuple(notes), leftovers=tuple(leftovers))


# -- the names a question may use, per process ---------------------------------------------------

KNOWN_NAMES_TTL = 60.0  # seconds; new pipelines and models show up within a minute
BILLED_SERVICES_TTL = 3600.0  # the services on the bill change rarely: one query an hour
BILLED_SERVICES_DAYS = 90  # without a period asked, services billed in this many days count
Services = tuple[str, ...]
BILLED_WINDOWS_KEPT = 64  # periods asked about come and go: the most recent ones are kept
# Per sources object, held weakly: a hub that is rebuilt (ops.yml reloaded) takes its entries.
_known_cache: weakref.WeakKeyDictionary[Any, TTLCache[str, KnownNames]] = (
    weakref.WeakKeyDictionary()
)
_billed_cache: weakref.WeakKeyDictionary[Any, TTLCache[tuple[date, date], Services]] = (
    weakref.WeakKeyDictionary()
)
_NOT_A_SERVICE = frozenset({"", "unallocated", "unknown", "total", TAX_LINE.casefold()})


async def known_names(
    config: OpsConfig | None,
    sources: Sources | None,
    *,
    today: date | None = None,
    question: str = "",
) -> KnownNames:
    """Names from the sources (pipelines, models, the services in the cost data) and ops.yml
    (teams, services, owners).

    Services are those the cost sources list for all their data; a source that cannot list them
    is asked which it billed in the period the question names (else the last 90 days of data).
    Cached per sources object: a question should not list every pipeline again, nor scan the
    bill for its services. A source that does not answer leaves its names out (the question may
    then be ambiguous) and is asked again next time.
    """
    if config is None or sources is None:
        return KnownNames(today=today)
    names, (listed, unlisted, data_ends) = await asyncio.gather(
        _catalog(config, sources), _covered(sources)
    )
    billed: Services = ()
    if unlisted and today is not None:
        window = _window(question, today, data_ends)
        billed = await _billed_services(sources, window)
    configured = tuple(config.ownership.services)
    return replace(
        names,
        services=tuple(dict.fromkeys((*configured, *listed, *billed))),
        today=today,
        data_ends=data_ends,
    )


async def _covered(sources: Any) -> tuple[Services, bool, date | None]:
    """(services the cost sources list, whether any cannot list them, the last day of data)."""
    ask = getattr(sources, "coverage", None)
    if ask is None:
        return (), True, None
    found = await ask()
    coverage = found.value
    listed = tuple(
        s for c in coverage for s in (c.services or ()) if s.casefold() not in _NOT_A_SERVICE
    )
    unlisted = bool(found.problems) or not coverage or any(c.services is None for c in coverage)
    lasts = [c.last_day for c in coverage]
    ends = max(d for d in lasts if d) if lasts and all(lasts) and not found.problems else None
    return tuple(dict.fromkeys(listed)), unlisted, ends


def _window(question: str, today: date, data_ends: date | None) -> tuple[date, date]:
    """[start, end) to look for billed services in: the period the question names, else the
    last BILLED_SERVICES_DAYS days of data."""
    said, _rest = _period(_clean(question), today, data_ends)
    if said is not None:
        try:
            period = resolve_period(said.token, today)
            return period.start, period.end
        except PeriodError:
            pass
    last = min(today, data_ends) if data_ends else today
    return last - timedelta(days=BILLED_SERVICES_DAYS), last + timedelta(days=1)


async def _catalog(config: Any, sources: Any) -> KnownNames:
    """Pipelines and models from the sources, teams and owners from ops.yml (a minute's cache)."""
    known = _known_cache.get(sources)
    if known is None:
        known = _known_cache[sources] = TTLCache(maxsize=1, ttl=KNOWN_NAMES_TTL)
    cached = known.get("names")
    if cached is not None:
        return cached
    pipelines, models = await asyncio.gather(sources.all_pipelines(), sources.all_models())
    pipeline_names = tuple(dict.fromkeys(p.name for p in pipelines.value))
    model_names = tuple(dict.fromkeys(m.name for m in models.value))
    owners = {p: t for p in pipeline_names if (t := config.team_of_pipeline(p))}
    owners |= {m: t for m in model_names if (t := config.team_of_model(m))}
    names = KnownNames(
        pipelines=pipeline_names,
        models=model_names,
        teams={slug: team.name or slug for slug, team in config.teams.items()},
        owners=owners,
    )
    if not pipelines.problems and not models.problems:  # never keep a partial list
        known["names"] = names
    return names


async def _billed_services(sources: Any, window: tuple[date, date]) -> Services:
    """The services billed in `window` ("s3" is Amazon S3 even when ops.yml assigns it to no
    team), from one grouped query an hour per sources object and window."""
    windows = _billed_cache.get(sources)
    if windows is None:
        windows = _billed_cache[sources] = TTLCache(BILLED_WINDOWS_KEPT, BILLED_SERVICES_TTL)
    cached = windows.get(window)
    if cached is not None:
        return cached
    query = SpendQuery(start=window[0], end=window[1], group_by=SpendDimension.service)
    found = await sources.spend(query)
    names = tuple(
        dict.fromkeys(
            line.key for line in found.value.lines if line.key.casefold() not in _NOT_A_SERVICE
        )
    )
    if not found.problems:
        windows[window] = names
    return names
