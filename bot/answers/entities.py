"""Turning a name someone typed into a team, pipeline or model that exists (exact, then fuzzy).

A name is matched against known names, never passed on to a source as typed: an unknown name
gets suggestions, and only a known name ever reaches SQL, PromQL or an API path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.ops_config import OpsConfig

# A fuzzy match this good with a clear lead over the runner-up is taken as meant
# ("nightly-orders" for nightly_orders); anything weaker becomes a "did you mean".
ACCEPT_SCORE = 90.0
SUGGEST_SCORE = 60.0
CLEAR_LEAD = 8.0


@dataclass(frozen=True)
class Unknown:
    kind: str  # team, pipeline, model, thing
    asked: str
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def message(self) -> str:
        """`I don't know a model called `chrn`. Did you mean `churn`?` as Slack mrkdwn: the asked
        name and the suggestions (names peers reported) escaped, whoever shows it."""
        from bot.views.format import code

        text = f"I don't know a {self.kind} called {code(self.asked)}."
        if self.suggestions:
            text += " Did you mean " + " or ".join(code(s) for s in self.suggestions[:3]) + "?"
        return text


def _normal(name: str) -> str:
    return name.casefold().replace("-", "_").replace(" ", "_")


def match_name(asked: str, choices: Iterable[str], *, kind: str) -> str | Unknown:
    """The one choice `asked` means, or Unknown with up to 3 suggestions (best first)."""
    names = list(dict.fromkeys(choices))
    if asked in names:
        return asked
    normal = _normal(asked)
    same = [n for n in names if _normal(n) == normal]
    if len(same) == 1:
        return same[0]
    scored = process.extract(
        normal,
        {n: _normal(n) for n in names},
        scorer=fuzz.WRatio,
        limit=5,
        score_cutoff=SUGGEST_SCORE,
    )
    ranked = [(key, score) for _value, score, key in scored]
    if ranked:
        best, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if score >= ACCEPT_SCORE and score - runner_up >= CLEAR_LEAD:
            return best
    return Unknown(kind, asked, tuple(key for key, _ in ranked[:3]))


def resolve_team(config: OpsConfig, asked: str) -> str | Unknown:
    """A team slug from its slug or display name ("ml" is not enough when two teams start so,
    but is taken when only ml-platform does)."""
    by_label: dict[str, str] = {}
    for slug, team in config.teams.items():
        by_label[slug] = slug
        if team.name:
            by_label[team.name] = slug
    found = match_name(asked, by_label, kind="team")
    if isinstance(found, str):
        return by_label[found]
    prefixed = sorted({s for s in config.teams if _normal(s).startswith(_normal(asked))})
    if asked and len(prefixed) == 1:
        return prefixed[0]
    suggestions = tuple(dict.fromkeys(by_label[s] for s in found.suggestions))
    return Unknown("team", asked, suggestions)


def team_filter(config: OpsConfig, filters: dict[str, str]) -> str | None | Unknown:
    """The team of a `team:T` filter (None without one), or Unknown with suggestions."""
    asked = filters.get("team")
    return resolve_team(config, asked) if asked else None
