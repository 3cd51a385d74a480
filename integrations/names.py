"""How a name someone typed is matched to names that exist: one normal form, one scorer, and the
few policies every caller shares (take it as meant, suggest it, or neither).

Used wherever a typed name meets known ones: teams, pipelines, models, digests and services in
answers and questions, /ops command words, ops.yml keys, FOCUS column names. Keeping them here
means one idea of "close", tuned once:

- `similarity` compares normal forms (case, `-`, `_` and spaces do not matter); a typed word
  of one or two letters is compared whole (`fuzz.ratio`), because a partial match of one or
  two letters matches almost anything; longer ones with `fuzz.WRatio`, so "orders" is close to
  `nightly_orders`.
- `is_typo` is the stricter test "the same word, mistyped": one edit (a dropped, added, changed
  or swapped letter; two for words of eight letters or more).
- `service_readings` knows the short names people use for cloud services ("s3", "ec2", "bq",
  "gcs") and the run-together spellings providers export (`AmazonS3`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

SHORT_WORD = 2  # words this short are compared whole, never partially


@dataclass(frozen=True)
class Policy:
    """When a fuzzy match is taken as meant, and when it is only suggested."""

    suggest: float  # a choice scoring this much is a "did you mean"
    accept: float | None = None  # ... and taken as meant at this score with a clear lead
    lead: float = 8.0  # how far the best must lead the runner-up to be taken

    def takes(self, best: float, runner_up: float) -> bool:
        return self.accept is not None and best >= self.accept and best - runner_up >= self.lead


# Names typed in a command (`/ops pipeline nightly-orders`): taken when clearly meant, else up
# to three suggestions.
NAMES = Policy(suggest=60.0, accept=90.0)
# Any word of a plain question might be a name: only close words are candidates at all.
QUESTION_WORDS = Policy(suggest=85.0, accept=88.0)
# The closest command, sub-command, dimension or alias for "did you mean".
COMMANDS = Policy(suggest=60.0)
# The closest ops.yml key or FOCUS column for "did you mean".
KEYS = Policy(suggest=75.0)


def normal(name: str) -> str:
    """The form names are compared in: case-folded, with `-` and spaces read as `_`."""
    return name.casefold().replace("-", "_").replace(" ", "_")


def similarity(typed: str, known: str) -> float:
    """0..100: how close `typed` is to `known` (normal forms)."""
    a, b = normal(typed), normal(known)
    if len(a) <= SHORT_WORD:
        return fuzz.ratio(a, b)
    return fuzz.WRatio(a, b)


class _Scorer(Protocol):
    """The shape `process.extract` calls a scorer with (both of rapidfuzz's have it)."""

    def __call__(
        self, s1: Sequence[Hashable], s2: Sequence[Hashable], /, *, score_cutoff: float | None
    ) -> float: ...


def _scorer(typed: str) -> _Scorer:
    return fuzz.ratio if len(normal(typed)) <= SHORT_WORD else fuzz.WRatio


def ranked(
    typed: str, choices: Iterable[str], *, cutoff: float, limit: int = 5
) -> list[tuple[str, float]]:
    """Choices scoring at least `cutoff`, best first (ties in the order given)."""
    names = list(dict.fromkeys(choices))
    if not typed or not names:
        return []
    found = process.extract(
        normal(typed),
        {name: normal(name) for name in names},
        scorer=_scorer(typed),
        limit=limit,
        score_cutoff=cutoff,
    )
    return [(key, score) for _value, score, key in found]


@dataclass(frozen=True)
class Resolved:
    """What a typed name resolved to: the name meant, or suggestions (best first)."""

    name: str | None
    suggestions: tuple[str, ...] = ()


def resolve(typed: str, choices: Iterable[str], policy: Policy = NAMES) -> Resolved:
    """The one choice `typed` means (exact, then same normal form, then a clear fuzzy winner),
    or up to three suggestions."""
    names = list(dict.fromkeys(choices))
    if typed in names:
        return Resolved(typed)
    same = [n for n in names if normal(n) == normal(typed)]
    if len(same) == 1:
        return Resolved(same[0])
    scored = ranked(typed, names, cutoff=policy.suggest)
    if scored:
        best, score = scored[0]
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if policy.takes(score, runner_up):
            return Resolved(best)
    return Resolved(None, tuple(name for name, _ in scored[:3]))


def closest(typed: str, choices: Iterable[str], policy: Policy = COMMANDS) -> str | None:
    """The choice closest to `typed` (a unique prefix first: 'ml' -> 'ml-platform'), or None
    when nothing is close enough to be a useful guess."""
    options = [c for c in dict.fromkeys(choices) if c != typed]
    if not typed or not options:
        return None
    prefixed = [c for c in options if len(typed) >= 2 and normal(c).startswith(normal(typed))]
    if len(prefixed) == 1:
        return prefixed[0]
    scored = ranked(typed, options, cutoff=policy.suggest, limit=1)
    return scored[0][0] if scored else None


def unique_prefix(typed: str, choices: Iterable[str]) -> str | None:
    """The one choice starting with `typed` (normal forms), if exactly one does."""
    if not typed:
        return None
    found = {c for c in choices if normal(c).startswith(normal(typed))}
    return found.pop() if len(found) == 1 else None


def is_typo(typed: str, known: str) -> bool:
    """Whether `typed` is `known` mistyped: within one edit (two from eight letters on)."""
    a, b = normal(typed), normal(known)
    if len(a) < 3 or a == b:  # a two-letter word is one edit from too many words
        return a == b
    return OSA.distance(a, b) <= (1 if len(a) < 8 else 2)


def one_typo_away(typed: str, choices: Iterable[str]) -> str | None:
    """The only choice `typed` is a typo of, if exactly one."""
    close = [c for c in dict.fromkeys(choices) if is_typo(typed, c)]
    return close[0] if len(close) == 1 else None


# -- cloud services ------------------------------------------------------------------------------

# Short names people use -> the words of the services' own names they stand for. A reading is
# checked against the services the bill actually reports, so a short name for a provider you do
# not use names nothing.
SERVICE_SHORT_NAMES: Mapping[str, tuple[str, ...]] = {
    # AWS (FOCUS exports spell them "Amazon Simple Storage Service" or, as service codes,
    # "AmazonS3")
    "s3": ("s3", "simple storage service"),
    "ec2": ("ec2", "elastic compute cloud"),
    "ebs": ("ebs", "elastic block store"),
    "efs": ("efs", "elastic file system"),
    "rds": ("rds", "relational database service"),
    "emr": ("emr", "elastic mapreduce"),
    "eks": ("eks", "elastic kubernetes service", "elastic container service for kubernetes"),
    "ecs": ("ecs", "elastic container service"),
    "ecr": ("ecr", "ec2 container registry", "elastic container registry"),
    "msk": ("msk", "managed streaming for apache kafka", "managed streaming for kafka"),
    "sqs": ("sqs", "simple queue service"),
    "sns": ("sns", "simple notification service"),
    "dynamo": ("dynamodb",),
    "ddb": ("dynamodb",),
    # Google Cloud
    "bq": ("bigquery",),
    "gcs": ("cloud storage",),
    "gce": ("compute engine",),
    "gke": ("kubernetes engine",),
    "vertex": ("vertex ai",),
    "dataproc": ("dataproc",),
    "pubsub": ("pub sub", "pubsub", "cloud pub sub"),
    # Azure
    "adls": ("data lake storage",),
    "aks": ("azure kubernetes service", "kubernetes service"),
}
# Words that name the vendor, not the service: "Amazon S3" is still S3 without "Amazon".
VENDOR_WORDS = frozenset({"amazon", "aws", "google", "gcp", "azure", "microsoft"})
_CAMEL = re.compile(r"[A-Z]+(?![a-z])\d*|[A-Z]?[a-z]+\d*|\d+")


def words(name: str) -> list[str]:
    """A name's words, lower case, camel case split ("AmazonEC2" -> amazon, ec2; "BigQuery" ->
    big, query; "Amazon Simple Storage Service" -> amazon, simple, storage, service)."""
    out: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        out += [w.lower() for w in _CAMEL.findall(part)] or ([part.lower()] if part else [])
    return out


def _runs(tokens: list[str]) -> set[str]:
    """Every run of consecutive words, written together ("big query" -> big, query, bigquery)."""
    return {"".join(tokens[i:j]) for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1)}


def _squashed(phrase: str) -> str:
    return "".join(words(phrase))


@dataclass(frozen=True)
class ServiceReading:
    """A service a short name was read as, and whether it is the name itself (not a guess)."""

    service: str
    exact: bool  # the whole name, less the vendor, is what was typed ("AmazonS3" for s3)


def service_readings(typed: str, services: Iterable[str]) -> list[ServiceReading]:
    """The services `typed` names by a short name or a name of theirs ("s3" -> AmazonS3, Amazon
    Simple Storage Service; "bq" -> BigQuery), those named wholly first; empty when none.

    Wholly: the service's name, less vendor words, is the short name or what it stands for
    (camel case split, so `AmazonEC2` is "amazon ec2"). Failing that, a service whose name as
    written has those words in a row ("s3" in "Amazon S3 Glacier"); the parts of a run-together
    word never count on their own, so "query" names nothing in `BigQuery`.
    """
    key = _squashed(typed)
    if not key:
        return []
    wanted = {_squashed(p) for p in SERVICE_SHORT_NAMES.get(key, ())} | {key}
    exact: list[ServiceReading] = []
    partial: list[ServiceReading] = []
    for service in dict.fromkeys(services):
        tokens = words(service)
        bare = [w for w in tokens if w not in VENDOR_WORDS] or tokens
        written = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", service) if w]
        if {"".join(tokens), "".join(bare)} & wanted:
            exact.append(ServiceReading(service, True))
        elif _runs(written) & wanted:
            partial.append(ServiceReading(service, False))
    return exact or partial


def read_service(typed: str, services: Iterable[str]) -> str | None:
    """The one service `typed` names by a short name or a word of its name, if exactly one
    is named wholly (or, failing that, exactly one contains it)."""
    found = service_readings(typed, services)
    return found[0].service if len(found) == 1 else None
