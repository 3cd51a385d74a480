"""The one SQL statement behind every spend answer, built from a fixed set of identifiers.

Safety: every value that comes from a user or from ops.yml (team names, tag keys, tag values,
service names, the timezone's offsets, the period) is a bound parameter; identifiers come only
from the FOCUS column whitelist in `schema.py`. Nothing user-typed is ever spliced into SQL.

Speed: the statement reads each row's Tags JSON at most once per tag key, and lets DuckDB push
the period filter into the Parquet scan (row groups outside the period are skipped). Local days
are computed as integers from the UTC epoch plus the timezone's offset, which changes only at
DST transitions inside the period, instead of converting every timestamp through ICU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.models import TAX_LINE, SpendDimension, SpendQuery

UNALLOCATED = "unallocated"
DAY_US = 86_400_000_000
TAG_DIMENSIONS = ("team", "model", "pipeline")
_EPOCH = date(1970, 1, 1)
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Layout:
    """How the files spell what we need, derived from their schema (identifiers only)."""

    timestamp: str = "ChargePeriodStart"  # an expression over whitelisted columns
    naive_timestamps: bool = False  # TIMESTAMP without time zone: compare with naive UTC
    costs: Mapping[str, str] = field(default_factory=dict)  # FOCUS measure -> expression
    provider: str = "ProviderName"
    tags: str | None = "json"  # "json", "map" or None (no Tags column)
    tag_keys: tuple[str, ...] = ()  # every tag key the files use, as spelled there
    # account / sub_account -> "name (id)" expression, for the account columns the files have
    accounts: Mapping[str, str] = field(default_factory=dict)

    def spellings(self, key: str) -> tuple[str, ...]:
        """The spellings of tag `key` the files use, the asked one first ('Owner', 'owner'):
        tag keys are matched without regard to case, as people read them. Only spellings the
        files have are read (each costs a JSON lookup per row); `key` itself when none does."""
        if not self.tag_keys:
            return (key,)
        found = [k for k in self.tag_keys if k.casefold() == key.casefold()]
        if key in found:
            return (key, *(k for k in found if k != key))
        return tuple(found) or (key,)


@dataclass(frozen=True)
class Allocation:
    """Tag rules from ops.yml: rules are tried in order, then the `team` tag, then services."""

    rules: tuple[tuple[str, str, str], ...] = ()  # (tag key, tag value or glob, team)
    service_owners: tuple[tuple[str, str], ...] = ()  # (FOCUS ServiceName, team)

    @classmethod
    def build(
        cls,
        rules: Mapping[str, Mapping[str, str]] | None,
        service_owners: Mapping[str, str] | None = None,
    ) -> Allocation:
        flat = tuple(
            (str(key), str(value), str(team))
            for key, values in (rules or {}).items()
            for value, team in values.items()
        )
        return cls(
            rules=flat, service_owners=tuple((s, t) for s, t in (service_owners or {}).items())
        )


class Binder:
    """Collects parameters; returns the placeholder to put in the SQL text."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"


def utc_bounds(query: SpendQuery, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the query as UTC instants: local midnights of its first and end day."""
    start = datetime(query.start.year, query.start.month, query.start.day, tzinfo=tz)
    end = datetime(query.end.year, query.end.month, query.end.day, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def offset_segments(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """[(from_instant, utc_offset_seconds)] covering [start, end): one entry per DST regime."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    segments = [(start, offset(start))]
    step = timedelta(hours=6)  # DST regimes last months; no two transitions fall within 6 h
    cursor = start
    while cursor < end:
        nxt = min(cursor + step, end)
        if offset(nxt) != segments[-1][1]:
            lo, hi = cursor, nxt  # offset(lo) is the current one, offset(hi) the new one
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == segments[-1][1] else (lo, mid)
            hi = hi.replace(microsecond=0)
            segments.append((hi, offset(hi)))
        cursor = nxt
    return [(at, off) for at, off in segments if at < end] or segments[:1]


def day_from_number(n: int) -> date:
    return _EPOCH + timedelta(days=int(n))


def _day_expr(
    layout: Layout, segments: Sequence[tuple[datetime, int]], bind: Binder, naive: bool
) -> str:
    ts = layout.timestamp
    if len(segments) == 1:
        offset = bind(segments[0][1] * 1_000_000)
    else:
        whens = " ".join(
            f"WHEN {ts} < {bind(_instant(at, naive))} THEN {bind(prev * 1_000_000)}"
            for (at, _), (_, prev) in zip(segments[1:], segments[:-1], strict=True)
        )
        offset = f"(CASE {whens} ELSE {bind(segments[-1][1] * 1_000_000)} END)"
    # Integer division on the epoch: exact, and far cheaper than a per-row timezone conversion.
    return f"(epoch_us({ts}) + {offset}) // {DAY_US}"


def _instant(at: datetime, naive: bool) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if naive else at.astimezone(UTC)


def _tag_expr(layout: Layout, key: str, bind: Binder) -> str:
    """The value of tag `key` in any spelling of it the files use (the asked one first)."""
    found = [_one_tag(layout, spelling, bind) for spelling in layout.spellings(key)]
    return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"


def _one_tag(layout: Layout, key: str, bind: Binder) -> str:
    if layout.tags == "json":
        pointer = "/" + key.replace("~", "~0").replace("/", "~1")  # RFC 6901 escaping
        # TRY: one malformed Tags value makes that row unallocated instead of failing every
        # answer; probe() counts such rows so the export can be fixed.
        return f"TRY(json_extract_string(Tags, {bind(pointer)}))"
    if layout.tags == "map":
        return f"CAST(element_at(Tags, {bind(key)})[1] AS VARCHAR)"
    return "CAST(NULL AS VARCHAR)"


def _matches(column: str, pattern: str, bind: Binder) -> str:
    if _GLOB_CHARS & set(pattern):
        return f"{column} GLOB {bind(pattern)}"
    return f"{column} = {bind(pattern)}"


@dataclass
class SpendStatement:
    sql: str
    params: dict[str, Any]


def spend_statement(
    query: SpendQuery,
    *,
    layout: Layout,
    measure: str,
    tz: ZoneInfo,
    allocation: Allocation = Allocation(),
) -> SpendStatement:
    """SELECT day_n, key, currency, cost, row_count grouped by (day, key, currency).

    `key` is NULL for a tag dimension without a value; the caller names that 'unallocated'.
    """
    bind = Binder()
    start, end = utc_bounds(query, tz)
    naive = layout.naive_timestamps
    ts = layout.timestamp
    cost = layout.costs[measure]
    day = _day_expr(layout, offset_segments(start, end, tz), bind, naive)

    # Which tag keys this query reads, each extracted once as column t<i> of the inner select.
    team_rules = allocation.rules if _needs_team(query) else ()
    keys: list[str] = []
    for dim in TAG_DIMENSIONS:
        if getattr(query, dim) is not None or query.group_by == SpendDimension(dim):
            keys.append(dim)
    for rule_key, _, _ in team_rules:
        if rule_key not in keys:
            keys.append(rule_key)
    col = {key: f"t{i}" for i, key in enumerate(keys)}

    inner_cols = [
        f"{cost} AS cost",
        "BillingCurrency AS currency",
        f"{day} AS day_n",
        "ServiceName AS service",
        f"{layout.provider} AS provider",
        "ChargeCategory AS category",
    ]
    if query.group_by in (SpendDimension.account, SpendDimension.sub_account):
        inner_cols.append(f"{layout.accounts[str(query.group_by)]} AS account")
    inner_cols += [f"{_tag_expr(layout, key, bind)} AS {col[key]}" for key in keys]
    where = [f"{ts} >= {bind(_instant(start, naive))}", f"{ts} < {bind(_instant(end, naive))}"]
    if query.service is not None:
        where.append(f"ServiceName = {bind(query.service)}")
    inner = f"SELECT {', '.join(inner_cols)} FROM focus_rows WHERE {' AND '.join(where)}"

    team = _team_expr(col, allocation, bind) if "team" in col else None
    outer_where: list[str] = []
    barrier = False
    for dim in TAG_DIMENSIONS:
        wanted = getattr(query, dim)
        if wanted is None:
            continue
        if dim == "team" and (allocation.rules or allocation.service_owners):
            test = "IS NULL" if wanted == UNALLOCATED else f"= {bind(wanted)}"
            outer_where.append(f"{team} {test}")
            barrier = True  # the rule CASE names each tag twice; read the JSON only once
        elif wanted == UNALLOCATED:
            outer_where.append(f"coalesce({col[dim]}, '') = ''")  # one reference: no re-parse
        else:
            outer_where.append(f"{col[dim]} = {bind(wanted)}")

    key = _key_expr(query.group_by, col, team, bind)
    head = f"WITH rows AS {'MATERIALIZED ' if barrier else ''}({inner})"
    sql = (
        f"{head} SELECT day_n, {key} AS key, currency, sum(cost) AS cost, count(*) AS n "
        f"FROM rows{' WHERE ' + ' AND '.join(outer_where) if outer_where else ''} "
        "GROUP BY ALL"
    )
    return SpendStatement(sql=sql, params=bind.params)


def _needs_team(query: SpendQuery) -> bool:
    return query.team is not None or query.group_by == SpendDimension.team


def _team_expr(col: Mapping[str, str], allocation: Allocation, bind: Binder) -> str:
    """First matching rule, else the `team` tag, else the owner of the service, else NULL."""
    parts: list[str] = []
    if allocation.rules:
        whens = " ".join(
            f"WHEN {_matches(col[key], value, bind)} THEN {bind(team)}"
            for key, value, team in allocation.rules
        )
        parts.append(f"CASE {whens} END")
    parts.append(f"nullif({col['team']}, '')")
    if allocation.service_owners:
        whens = " ".join(
            f"WHEN {bind(service)} THEN {bind(team)}" for service, team in allocation.service_owners
        )
        parts.append(f"CASE service {whens} END")
    parts.append("CAST(NULL AS VARCHAR)")
    return f"coalesce({', '.join(parts)})"


def _key_expr(
    group: SpendDimension | None, col: Mapping[str, str], team: str | None, bind: Binder
) -> str:
    if group is None:
        return "'total'"
    if group is SpendDimension.day:
        return "CAST(day_n AS VARCHAR)"  # turned into an ISO date by the caller
    if group is SpendDimension.service:
        # A Tax row names some service (ServiceName is never null) but is not one: one line.
        return f"CASE WHEN category = {bind('Tax')} THEN {bind(TAX_LINE)} ELSE service END"
    if group is SpendDimension.provider:
        return "provider"
    if group is SpendDimension.charge_category:
        return "category"
    if group is SpendDimension.team:
        return team or "NULL"
    if group in (SpendDimension.account, SpendDimension.sub_account):
        return "account"  # the caller checked the files have the account columns
    return col[str(group)]  # model, pipeline: raw tag; '' and NULL become 'unallocated' later


def allocation_statement(layout: Layout, *, measure: str, allocation: Allocation) -> SpendStatement:
    """SELECT currency, total cost, unallocated cost, then one row count per allocation rule
    (rows the rule's tag matches, whether or not an earlier rule took them), over all the data:
    what check-sources needs to say a rule matches nothing or most spend has no team."""
    bind = Binder()
    keys = list(dict.fromkeys(["team", *(key for key, _, _ in allocation.rules)]))
    col = {key: f"t{i}" for i, key in enumerate(keys)}
    inner = ", ".join(
        [
            f"{layout.costs[measure]} AS cost",
            "BillingCurrency AS currency",
            "ServiceName AS service",
        ]
        + [f"{_tag_expr(layout, key, bind)} AS {col[key]}" for key in keys]
    )
    team = _team_expr(col, allocation, bind)
    counts = [
        f"count(*) FILTER (WHERE {_matches(col[key], value, bind)})"
        for key, value, _team in allocation.rules
    ]
    sql = (
        f"WITH rows AS MATERIALIZED (SELECT {inner} FROM focus_rows) "
        f"SELECT currency, sum(cost), coalesce(sum(cost) FILTER (WHERE {team} IS NULL), 0)"
        + "".join(f", {c}" for c in counts)
        + " FROM rows GROUP BY currency"
    )
    return SpendStatement(sql=sql, params=bind.params)
