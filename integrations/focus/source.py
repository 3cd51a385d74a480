"""Spend from FOCUS exports (Parquet or CSV files) queried in place with DuckDB.

What counts as spend: every row, whatever its ChargeCategory. FOCUS designs its two cost
columns to be summed as they are: EffectiveCost (the default) spreads Purchase rows (savings
plans, reservations) over the usage they cover and sets the purchase row itself to 0, so the sum
never counts a commitment twice; BilledCost is the cash view, with the purchase on the day it
was billed and covered usage at 0. Credits (negative), Tax and Adjustment rows change what the
organisation pays, so they are included too; group by `charge_category` to see them apart.

Days are local days in the configured timezone (ChargePeriodStart is UTC in FOCUS). Amounts in
different BillingCurrency values are never added together: lines, totals and the daily series
are per currency. Tags give team/model/pipeline; ops.yml allocation rules map other tag keys
(e.g. a cost centre) to teams; rows with neither are 'unallocated'. Tag keys match in any
spelling the files use (`Owner` reads `owner`), from the keys read once per set of files.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import structlog

from integrations import names
from integrations.errors import SourceDataError, SourceError, SourceNotFound, SourceUnavailable
from integrations.focus.schema import SUPPORTED_VERSIONS, provider_column, required_columns
from integrations.focus.sql import (
    TAG_DIMENSIONS,
    UNALLOCATED,
    Allocation,
    Layout,
    allocation_statement,
    day_from_number,
    spend_statement,
)
from integrations.http import probe_call, redact
from integrations.models import (
    CostCoverage,
    CostMeasure,
    ProbeResult,
    SpendDimension,
    SpendLine,
    SpendQuery,
    SpendSummary,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")
UNALLOCATED_WARNING = 0.5  # check-sources warns when more of the spend than this has no team
_NUMERIC = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT")
_CSV_TYPES = {
    "BilledCost": "DECIMAL(38,10)",
    "EffectiveCost": "DECIMAL(38,10)",
    "ChargePeriodStart": "TIMESTAMPTZ",
    "ChargePeriodEnd": "TIMESTAMPTZ",
    "BillingCurrency": "VARCHAR",
    "ChargeCategory": "VARCHAR",
    "ServiceName": "VARCHAR",
    "ProviderName": "VARCHAR",
    "ServiceProviderName": "VARCHAR",
    "Tags": "VARCHAR",
}


class FocusCostSource:
    """CostSource over FOCUS files; one in-memory DuckDB database per instance."""

    def __init__(
        self,
        path_or_glob: str,
        *,
        version: str = "1.2",
        measure: CostMeasure = CostMeasure.effective,
        timezone: str = "UTC",
        allocation: Mapping[str, Mapping[str, str]] | None = None,
        service_owners: Mapping[str, str] | None = None,
        timeout: float = 10,
        name: str = "focus",
    ) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"FOCUS version {version!r} is not supported: {SUPPORTED_VERSIONS}")
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {timezone!r}: use an IANA name") from None
        self.name = name
        self.path = str(path_or_glob)
        self.version = version
        self.measure = CostMeasure(measure)
        self.timeout = timeout
        self.allocation = Allocation.build(allocation, service_owners)
        self._conn = duckdb.connect(":memory:")
        self._conn.execute("SET TimeZone = 'UTC'")  # FOCUS timestamps without an offset are UTC
        self._lock = threading.Lock()
        self._files: tuple[str, ...] = ()
        self._layout: Layout | None = None
        self._coverage: tuple[tuple[str, ...], CostCoverage] | None = None  # per set of files

    # -- CostSource ----------------------------------------------------------------------------
    async def spend(self, query: SpendQuery) -> SpendSummary:
        # An explicit measure in the query wins; otherwise the source's configured one.
        measure = query.measure if "measure" in query.model_fields_set else self.measure
        query = query.model_copy(update={"measure": measure})
        if query.end <= query.start:
            return SpendSummary(query=query, rows_scanned=0)
        rows = await self._run(lambda cur: self._spend_rows(cur, query))
        return summarize(query, rows)

    async def coverage(self) -> CostCoverage:
        """First and last charge day (local days of `timezone`), measure and services; read once
        per set of files, so a new monthly file is seen and an unchanged export costs one glob."""
        return await self._run(self._coverage_of)

    async def probe(self) -> ProbeResult:
        warnings: list[str] = []

        async def check() -> str:
            files, fmt, rows, first, last, bad_tags = await self._run(self._probe_rows)
            span = f"charges {first} to {last}" if first else "no charges"
            detail = f"{files} {fmt} file(s), {rows:,} rows, {span} (FOCUS {self.version})"
            if bad_tags:
                detail += f"; {bad_tags:,} rows have Tags that are not a JSON object (unallocated)"
            if rows:
                warnings.extend(await self._run(self._allocation_warnings))
            return detail

        result = await probe_call(self.name, check)
        return result.model_copy(update={"warnings": tuple(warnings)})

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- work done in a thread -----------------------------------------------------------------
    async def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cursors: list[duckdb.DuckDBPyConnection] = []

        def job() -> T:
            with self._lock:  # the parent connection is touched only under the lock
                cursor = self._conn.cursor()  # one cursor per call: cursors are not shared
            cursors.append(cursor)
            try:
                return work(cursor)
            finally:
                cursor.close()  # by the worker thread, which may outlive a timed-out caller

        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.to_thread(job)
        except TimeoutError:
            for cursor in cursors:
                cursor.interrupt()  # stops the running query; the worker then closes the cursor
            raise SourceUnavailable(
                self.name,
                f"the query took longer than {self.timeout:g} s",
                "convert CSV exports to Parquet, narrow the period, or raise the timeout",
            ) from None
        except SourceError:
            raise
        except duckdb.IOException as exc:
            raise SourceUnavailable(
                self.name, _short(exc), "check the files are readable"
            ) from None
        except duckdb.Error as exc:
            raise SourceDataError(
                self.name,
                _short(exc),
                f"check the files are valid FOCUS {self.version} exports",
            ) from None

    def _spend_rows(
        self, cur: duckdb.DuckDBPyConnection, query: SpendQuery
    ) -> list[tuple[Any, ...]]:
        layout = self._prepare(cur)
        group = query.group_by
        if group in (SpendDimension.account, SpendDimension.sub_account):
            if str(group) not in layout.accounts:
                column = _ACCOUNT_COLUMNS[str(group)][0]
                raise SourceDataError(
                    self.name,
                    f"these files have no {column} column, so spend cannot be split by {group}",
                    "split by account or service, or export the column (FOCUS "
                    f"{self.version} {column})",
                )
        started = time.perf_counter()
        statement = spend_statement(
            query, layout=layout, measure=str(query.measure), tz=self.tz, allocation=self.allocation
        )
        rows = cur.execute(statement.sql, statement.params).fetchall()
        log.debug(
            "focus_spend_query",
            source=self.name,
            groups=len(rows),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return rows

    def _coverage_of(self, cur: duckdb.DuckDBPyConnection) -> CostCoverage:
        layout = self._prepare(cur)
        files = self._files
        if self._coverage is not None and self._coverage[0] == files:
            return self._coverage[1]
        found = cur.execute(
            f"SELECT min(epoch_us({layout.timestamp})), max(epoch_us({layout.timestamp})), "
            "list(DISTINCT ServiceName ORDER BY ServiceName) FILTER (WHERE ServiceName <> '') "
            "FROM focus_rows"
        ).fetchall()
        first, last, services = found[0] if found else (None, None, None)
        coverage = CostCoverage(
            source=self.name,
            first_day=self._local_day(first),
            last_day=self._local_day(last),
            timezone=self.tz.key,
            measure=self.measure,
            services=tuple(services or ()),
        )
        with self._lock:
            self._coverage = (files, coverage)
        return coverage

    def _local_day(self, epoch_us: int | None) -> date | None:
        if epoch_us is None:
            return None
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(epoch_us))
        return instant.astimezone(self.tz).date()

    def _allocation_warnings(self, cur: duckdb.DuckDBPyConnection) -> list[str]:
        """Allocation rules that match no row, and most spend landing on no team."""
        layout = self._prepare(cur)
        statement = allocation_statement(
            layout, measure=str(self.measure), allocation=self.allocation
        )
        rows = cur.execute(statement.sql, statement.params).fetchall()
        warnings = []
        folded = {k.casefold() for k in layout.tag_keys}
        for i, (key, value, team) in enumerate(self.allocation.rules):
            if sum(int(row[3 + i] or 0) for row in rows):
                continue
            where = f"ownership.cost_allocation.{key}"
            if key.casefold() not in folded:
                guess = names.closest(key, layout.tag_keys, names.KEYS)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                warnings.append(f"{where}: no row has a tag '{key}'{hint}")
            else:
                warnings.append(f"{where}: '{value}' -> {team} matches no row")
        if rows:
            currency, total, unallocated, *_counts = max(rows, key=lambda r: abs(r[1] or 0))
            share = float(unallocated / total) if total and total > 0 else 0.0
            if share > UNALLOCATED_WARNING:
                warnings.append(
                    f"{share:.0%} of the {currency} spend has no team: no allocation rule, "
                    "`team` tag or service owner names one (`/ops spend team:unallocated by "
                    "service` shows where it is)"
                )
        return warnings

    def _probe_rows(self, cur: duckdb.DuckDBPyConnection) -> tuple[int, str, int, str, str, int]:
        layout = self._prepare(cur)
        bad = (
            "count(*) FILTER (WHERE Tags IS NOT NULL AND "
            "TRY(json_type(Tags)) IS DISTINCT FROM 'OBJECT')"
            if layout.tags == "json"
            else "0"
        )
        found = cur.execute(
            f"SELECT count(*), min(epoch_us({layout.timestamp})), "
            f"max(epoch_us({layout.timestamp})), {bad} FROM focus_rows"
        ).fetchall()
        count, first, last, bad_tags = found[0] if found else (0, None, None, 0)
        days = [
            day_from_number(v // 86_400_000_000).isoformat() if v is not None else ""
            for v in (first, last)
        ]
        return (
            len(self._files),
            _format(self._files, self.name),
            int(count),
            days[0],
            days[1],
            int(bad_tags or 0),
        )

    def _prepare(self, cur: duckdb.DuckDBPyConnection) -> Layout:
        """(Re)define the view over the files matching the path; new files are picked up."""
        with self._lock:
            files = self._glob(cur)
            if files == self._files and self._layout is not None:
                return self._layout
            fmt = _format(files, self.name)
            if fmt == "csv":
                relation = self._csv_relation(cur, files)
            else:
                relation = self._conn.read_parquet(list(files), union_by_name=True)
            columns = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
            layout = self._layout_for(columns)
            relation.create_view("focus_rows", replace=True)
            layout = replace(layout, tag_keys=self._tag_keys(cur, layout))
            self._files, self._layout = files, layout
            log.info("focus_files", source=self.name, files=len(files), format=fmt)
            return layout

    def _tag_keys(self, cur: duckdb.DuckDBPyConnection, layout: Layout) -> tuple[str, ...]:
        """Every tag key the files use, read once per set of files, so a rule on `Owner` also
        reads rows tagged `owner` without parsing every row's keys in every query."""
        if layout.tags == "json":
            keys = "unnest(TRY(json_keys(Tags)))"
        elif layout.tags == "map":
            keys = "unnest(map_keys(Tags))"
        else:
            return ()
        found = cur.execute(
            f"SELECT DISTINCT k FROM (SELECT {keys} AS k FROM focus_rows "
            "WHERE Tags IS NOT NULL) WHERE k IS NOT NULL ORDER BY k"
        ).fetchall()
        return tuple(str(row[0]) for row in found)

    def _csv_relation(self, cur: duckdb.DuckDBPyConnection, files: tuple[str, ...]) -> Any:
        """Sniff the dialect and header once; the view then reads with a fixed schema, so a
        query never re-sniffs (sniffing costs more than reading a month of rows)."""
        found = cur.execute(
            "SELECT Delimiter, Quote, Escape, Columns FROM sniff_csv($p)", {"p": files[0]}
        ).fetchall()
        delimiter, quote, escape, sniffed = found[0]
        columns = {c["name"]: _CSV_TYPES.get(c["name"], "VARCHAR") for c in sniffed}
        return self._conn.read_csv(
            list(files),  # type: ignore[arg-type]  # duckdb types one path; it reads a list too
            header=True,
            auto_detect=False,
            columns=columns,
            delimiter=delimiter or ",",
            quotechar=quote or '"',
            escapechar=escape or '"',
        )

    def _glob(self, cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
        patterns = [self.path]
        if Path(self.path).is_dir():
            patterns = [str(Path(self.path) / "*.parquet"), str(Path(self.path) / "*.csv")]
        for pattern in patterns:
            # The pattern is bound as a parameter: a path is data, never SQL.
            found = tuple(
                r[0]
                for r in cur.execute(
                    "SELECT file FROM glob($p) ORDER BY file", {"p": pattern}
                ).fetchall()
            )
            if found:
                return found
        raise SourceNotFound(
            self.name,
            f"no FOCUS file matches {self.path!r}",
            "check sources.focus.path in ops.yml (a file, a directory or a glob like "
            "exports/*.parquet)",
        )

    def _layout_for(self, columns: Mapping[str, str]) -> Layout:
        check_columns(columns, version=self.version, source=self.name, path=self.path)
        stamp = columns["ChargePeriodStart"].upper()
        if stamp.startswith("TIMESTAMP WITH TIME ZONE"):
            timestamp, naive = "ChargePeriodStart", False
        elif stamp.startswith("TIMESTAMP"):  # without zone: UTC wall time, as FOCUS says
            timestamp, naive = "ChargePeriodStart", True
        elif stamp.startswith("DATE"):
            timestamp, naive = "CAST(ChargePeriodStart AS TIMESTAMP)", True
        else:  # text timestamps ('2025-01-01T00:00:00Z'): slower, still right
            timestamp, naive = "CAST(ChargePeriodStart AS TIMESTAMPTZ)", False
        costs = {
            measure.value: (
                measure.value
                if columns[measure.value].upper().startswith(_NUMERIC)
                else f"CAST({measure.value} AS DECIMAL(38,10))"
            )
            for measure in CostMeasure
        }
        tag_type = columns.get("Tags", "").upper()
        if not tag_type:
            tags = None
        elif tag_type.startswith("MAP"):
            tags = "map"
        elif tag_type in ("JSON", "VARCHAR"):
            tags = "json"
        else:
            raise SourceDataError(
                self.name,
                f"Tags column has type {columns['Tags']}, expected a JSON object",
                "export Tags as a JSON string (FOCUS key-value format)",
            )
        return Layout(
            timestamp=timestamp,
            naive_timestamps=naive,
            costs=costs,
            provider=provider_column(self.version),
            tags=tags,
            accounts={
                dim: _account_label(id_column, name_column, columns)
                for dim, (id_column, name_column) in _ACCOUNT_COLUMNS.items()
                if id_column in columns
            },
        )


# The FOCUS columns behind `by account` and `by sub_account`: (id, name). BillingAccountId is
# mandatory, SubAccountId conditional (absent from exports of single-account setups).
_ACCOUNT_COLUMNS = {
    "account": ("BillingAccountId", "BillingAccountName"),
    "sub_account": ("SubAccountId", "SubAccountName"),
}


def _account_label(id_column: str, name_column: str, columns: Mapping[str, str]) -> str:
    """SQL for "name (id)", or the id alone; NULL without an id (shown as 'unknown')."""
    ident = f"nullif(CAST({id_column} AS VARCHAR), '')"
    name = f"nullif(CAST({name_column} AS VARCHAR), '')" if name_column in columns else "NULL"
    return (
        f"CASE WHEN {ident} IS NULL THEN NULL WHEN {name} IS NULL THEN {ident} "
        f"ELSE {name} || ' (' || {ident} || ')' END"
    )


def check_columns(columns: Mapping[str, str], *, version: str, source: str, path: str) -> None:
    """Raise SourceDataError naming each missing mandatory column and its likely misspelling."""
    present = list(columns)
    missing = [c for c in required_columns(version) if c not in columns]
    if not missing:
        return
    candidates = [c for c in present if not c.lower().startswith("x_")]
    problems = []
    for column in missing:
        guess = names.closest(column, candidates, names.KEYS)
        hint = f"; did you mean '{guess}'?" if guess else ""
        problems.append(f"{column} missing (FOCUS {version} mandatory column){hint}")
    fix = f"re-export {path} with the FOCUS {version} column names"
    other = "1.3" if version != "1.3" else "1.2"
    if provider_column(version) in missing and provider_column(other) in columns:
        fix = f'these files look like FOCUS {other}: set version "{other}" for this source'
    raise SourceDataError(source, "; ".join(problems), fix)


def summarize(query: SpendQuery, rows: list[tuple[Any, ...]]) -> SpendSummary:
    """Fold (day_n, key, currency, cost, n) groups into lines, totals and a daily series."""
    tag_dimension = query.group_by is not None and str(query.group_by) in TAG_DIMENSIONS
    by_key: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    daily: dict[tuple[Any, str], Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    scanned = 0
    for day_n, key, currency, cost, n in rows:
        amount = _decimal(cost)
        day = day_from_number(day_n)
        if query.group_by is not None and str(query.group_by) == "day":
            key = day.isoformat()
        elif key is None or key == "":
            key = UNALLOCATED if tag_dimension else "unknown"
        currency = currency or "unknown"
        by_key[(str(key), currency)] += amount
        daily[(day, currency)] += amount
        totals[currency] += amount
        scanned += int(n)
    lines = sorted(
        (SpendLine(key=k, cost=c, currency=cur) for (k, cur), c in by_key.items()),
        key=lambda line: (line.currency, -line.cost, line.key),
    )
    return SpendSummary(
        query=query,
        lines=tuple(lines),
        totals=dict(totals),
        daily=tuple((d, cur, c) for (d, cur), c in sorted(daily.items())),
        rows_scanned=scanned,
    )


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # float sums: the shortest repr, no invented digits


def _format(files: tuple[str, ...], source: str = "focus") -> str:
    kinds = {"csv" if ".csv" in Path(f).name.lower() else "parquet" for f in files}
    if len(kinds) > 1:
        raise SourceDataError(
            source,
            "the path matches both CSV and Parquet files",
            "point the source at one format (e.g. *.parquet)",
        )
    return kinds.pop() if kinds else "parquet"


def _short(exc: Exception) -> str:
    return redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)[
        :300
    ]
