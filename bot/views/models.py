"""Models in Slack: the `/ops models` board, the `/ops model NAME` page, and the pieces the Home
tab, digests and approval cards reuse (compact board, metrics comparison)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from bot.answers.model_cost import ModelCost, PipelineCost
from bot.answers.models import BoardRow, ModelBoard, ModelDetail, UpstreamPipeline
from bot.views.format import ago, code, link, money, partial_note, slack_date
from bot.views.limits import (
    ANSWER_JSON_MAX,
    FIELD_TEXT_MAX,
    FIELDS_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    fit_message,
    join_within,
    json_size,
    lines_within,
    truncate,
)
from bot.views.mrkdwn import context, divider, escape, header, section
from bot.views.paging import page_blocks
from bot.views.reply import Block, Reply
from integrations.models import Model, ModelHealth, ModelVersion

PER_PAGE = 20
BOARD_LIMIT = 5
METRICS_IN_VERSION_LINE = 2
COMPARISONS = 3  # alias-vs-current comparisons on the model page; the rest are named in a note
HEADLINE_REASONS = 600  # characters of "recs drifting, …" in the board's headline
LIST_CHARS = SECTION_TEXT_MAX - 120  # a section's list, leaving room for its title
# Metric names where smaller is better; anything else (auc, ndcg, recall …) is better when larger.
LOWER_IS_BETTER_HINTS = ("rmse", "mae", "mape", "mse", "loss", "error", "latency", "brier")

UNHEALTHY, HEALTHY, UNKNOWN = ":red_circle:", ":large_green_circle:", ":white_circle:"


# -- small pieces -------------------------------------------------------------------------------
def health_emoji(health: ModelHealth | None) -> str:
    if health is None:
        return UNKNOWN
    return HEALTHY if health.healthy else UNHEALTHY


def health_reason(health: ModelHealth) -> str:
    """A word or two per problem: "drifting", "slow", "erroring" (raw text: escape to show)."""
    words = []
    for problem in health.problems:
        low = problem.lower()
        if "drift" in low:
            words.append("drifting")
        elif "latency" in low:
            words.append("slow")
        elif "error" in low:
            words.append("erroring")
        else:
            words.append(problem)
    return ", ".join(dict.fromkeys(words))


def aliases_text(model: Model) -> str:
    """`champion v12 · challenger v14` (escaped)."""
    return " · ".join(f"{escape(a)} v{escape(v)}" for a, v in model.aliases.items())


def amounts(money_by_currency: dict[str, Decimal]) -> str:
    """`$3,280` or `$3,280 + €120`; currencies are shown side by side, never added up."""
    if not money_by_currency:
        return "none recorded"
    return " + ".join(
        money(value, currency, cents=False) for currency, value in sorted(money_by_currency.items())
    )


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return any(hint in name for hint in LOWER_IS_BETTER_HINTS)


def _channel(channel: str | None) -> str:
    if not channel:
        return ""
    if channel.startswith(("C", "G")) and channel.isalnum():
        return f"<#{channel}>"
    return escape(channel)


# -- metrics comparison (approval cards reuse it) -----------------------------------------------
def _comparison(name: str, new: float | None, old: float | None, new_v: str, old_v: str) -> str:
    if new is None or old is None:
        shown = f"v{new_v} {number(new) if new is not None else '—'}"
        if old_v:
            shown += f" · v{old_v} {number(old) if old is not None else '—'}"
        return f"*{escape(name)}*\n{shown}"
    delta = new - old
    if delta == 0:
        verdict = "= same"
    else:
        arrow = ":arrow_up:" if delta > 0 else ":arrow_down:"
        better = (delta < 0) if lower_is_better(name) else (delta > 0)
        verdict = f"{arrow} {delta:+.4g} {'better' if better else 'worse'}"
    return f"*{escape(name)}*\nv{new_v} {number(new)} · v{old_v} {number(old)}\n{verdict}"


def metrics_comparison_fields(
    candidate: ModelVersion, current: ModelVersion | None
) -> list[dict[str, Any]]:
    """Section fields comparing evaluation metrics, candidate against current: at most 10, the
    tenth naming the metrics left out when there are more."""
    names = list(candidate.metrics)
    if current is not None:
        names += [m for m in current.metrics if m not in candidate.metrics]
    shown = names if len(names) <= FIELDS_MAX else names[: FIELDS_MAX - 1]
    fields = []
    for name in shown:
        text = _comparison(
            name,
            candidate.metrics.get(name),
            current.metrics.get(name) if current else None,
            candidate.version,
            current.version if current else "",
        )
        fields.append({"type": "mrkdwn", "text": truncate(text, FIELD_TEXT_MAX)})
    if rest := names[len(shown) :]:
        listed = join_within([escape(n) for n in rest], FIELD_TEXT_MAX - 60)
        fields.append(
            {"type": "mrkdwn", "text": f"*{len(rest)} more metrics*\n{listed} (see the registry)"}
        )
    return fields


def _with_fields(text: str, fields: list[dict[str, Any]]) -> Block:
    block = section(text)
    if fields:
        block["fields"] = fields
    return block


# -- the board ----------------------------------------------------------------------------------
def headline(board: ModelBoard) -> str:
    """ "12 models, 2 unhealthy: recs drifting, search_ranking slow" (escaped mrkdwn)."""
    total = len(board.rows)
    scope = f" owned by {escape(board.team)}" if board.team else ""
    if total == 0:
        return f"No registered models{scope}."
    count = f"{total} model{'s' if total != 1 else ''}{scope}"
    unhealthy = board.unhealthy
    unknown = sum(1 for _m, h, _t in board.rows if h is None)
    if unhealthy:
        reasons = join_within(
            [f"{escape(m.name)} {escape(health_reason(h))}" for m, h, _t in unhealthy if h],
            HEADLINE_REASONS,
        )
        text = f"{count}, {len(unhealthy)} unhealthy: {reasons}"
    elif unknown == total:
        text = f"{count}, health unknown"
    else:
        text = f"{count}, all healthy"
    if unknown and unknown != total:
        text += f" ({unknown} without health data)"
    return text


def row_text(row: BoardRow) -> str:
    model, health, team = row
    name = f"*{link(model.url, model.name)}*"
    parts = [aliases_text(model)] if model.aliases else []
    if model.latest_version:
        parts.append(f"latest v{escape(model.latest_version)}")
    parts.append(escape(team) if team else "no owner in ops.yml")
    if health is not None and health.latency_p95_ms is not None:
        parts.append(f"p95 {health.latency_p95_ms:.0f} ms")
    if health is not None and health.drift is not None:
        parts.append(f"drift {health.drift:.2f}")
    line = f"{health_emoji(health)} {name} · " + " · ".join(parts)
    if health is not None and not health.healthy:
        line += "\n        " + "; ".join(escape(p) for p in health.problems)
    elif health is None:
        line += "\n        _no health data_"
    return line


def _as_of(board: ModelBoard, tz: tzinfo) -> str | None:
    moments = [h.measured_at for _m, h, _t in board.rows if h and h.measured_at]
    return f"Health as of {slack_date(max(moments), tz)}" if moments else None


def render_models(board: ModelBoard, *, command: str, page: int, tz: tzinfo) -> Reply:
    """The `/ops models` answer: headline, unhealthy first with reasons, a page at a time (at
    most PER_PAGE models, fewer when their lines are long)."""
    title = headline(board)
    top: list[Block] = [header("Models"), section(f"*{title}*")]
    if board.rows:
        top.append(divider())
    end: list[Block] = []
    if note := partial_note(board.problems):
        end.append(note)
    footer = [t for t in (_as_of(board, tz),) if t]
    footer.append("`/ops model NAME` for versions, metrics and cost")
    end.append(context(" · ".join(footer)))
    body = page_blocks(
        [[section(row_text(row))] for row in board.rows],
        page=page,
        command=command,
        max_chars=ANSWER_JSON_MAX - json_size(top + end) - 2,
        max_blocks=min(PER_PAGE + 2, MESSAGE_BLOCKS_MAX - len(top) - len(end)),
    )
    return Reply(text=title, blocks=fit_message(top + body + end))


def model_board_blocks(board: ModelBoard, limit: int = BOARD_LIMIT) -> list[Block]:
    """A compact board (Home tab, digests): the headline and up to `limit` models, unhealthy
    first, in one section."""
    lines = [f"*{headline(board)}*"]
    lines += [row_text(row) for row in board.rows[:limit]]
    if len(board.rows) > limit:
        lines.append(f"…and {len(board.rows) - limit} more: `/ops models`")
    blocks = [section("\n".join(lines))]
    if note := partial_note(board.problems):
        blocks.append(note)
    return blocks


# -- one model ----------------------------------------------------------------------------------
def _health_fields(detail: ModelDetail, now: datetime) -> list[dict[str, Any]]:
    health, limits = detail.health, detail.thresholds
    if health is None:
        return []
    fields = []
    if health.latency_p95_ms is not None:
        limit = f" (alert above {limits.latency_p95_ms:.0f} ms)" if limits.latency_p95_ms else ""
        fields.append(f"*Latency p95*\n{health.latency_p95_ms:.0f} ms{limit}")
    if health.error_rate is not None:
        fields.append(f"*Error rate*\n{health.error_rate:.2%}")
    if health.drift is not None:
        limit = f" (threshold {limits.drift:.2f})" if limits.drift else ""
        over = " :warning:" if limits.drift and health.drift > limits.drift else ""
        fields.append(f"*Drift*\n{health.drift:.2f}{limit}{over}")
    if health.measured_at is not None:
        fields.append(f"*Measured*\n{ago(health.measured_at, now)}")
    return [{"type": "mrkdwn", "text": f} for f in fields]


def upstream_line(item: UpstreamPipeline, tz: tzinfo, now: datetime) -> str:
    """`Fed by nightly_orders, failing since … (2 failed runs, task load_to_warehouse)`."""
    verb = "Trained by" if item.role == "trains" else "Fed by"
    if not item.known:
        return f":grey_question: {verb} {code(item.pipeline)}: its orchestrator did not answer"
    if item.failing and item.failing_since is not None:
        since = "at least since" if item.streak_reaches_back else "since"
        extra = [f"{item.failed_runs} failed run{'s' if item.failed_runs != 1 else ''}"]
        if item.last_run and item.last_run.failed_task:
            extra.append(f"task {code(item.last_run.failed_task)}")
        run = link(item.last_run.url if item.last_run else None, "last run")
        return (
            f":rotating_light: {verb} {code(item.pipeline)}, *failing {since} "
            f"{slack_date(item.failing_since, tz)}* ({ago(item.failing_since, now)}; "
            f"{', '.join(extra)}) · {run}"
        )
    if item.last_run is None:
        return f":white_circle: {verb} {code(item.pipeline)}: no runs known"
    state = escape(str(item.last_run.state))
    when = item.last_run.ended_at or item.last_run.started_at
    return f":white_check_mark: {verb} {code(item.pipeline)}: last run {state} {ago(when, now)}"


def _known(cost: PipelineCost) -> str:
    """The pipeline's cost, marked as a lower bound when a cost source did not answer."""
    if cost.known:
        return amounts(cost.cost)
    return f"at least {amounts(cost.cost)}" if cost.cost else "unknown"


def _pipeline_line(mtd: PipelineCost, last_30d: PipelineCost | None) -> str:
    role = "trains" if mtd.role == "trains" else "feeds"
    if not mtd.known and not mtd.cost:
        return f"• {code(mtd.pipeline)} {role} · cost unknown (a cost source did not answer)"
    month = _known(mtd)
    days = _known(last_30d) if last_30d else "unknown"
    line = f"• {code(mtd.pipeline)} {role} · {month} this month · {days} in 30 days"
    if mtd.shared:
        others = ", ".join(escape(m) for m in mtd.shared_with)
        n = len(mtd.shared_with) + 1
        line += f"\n    _shared with {others}: 1/{n} counted ({amounts(mtd.counted)} this month)_"
    return line


def cost_blocks(mtd: ModelCost, last_30d: ModelCost) -> list[Block]:
    """Cost month to date and over 30 days, training vs serving, and the pipelines behind it."""
    fields = [
        {
            "type": "mrkdwn",
            "text": f"*{label}*\n{amounts(cost.total)}\n"
            f"training {amounts(cost.training)} · serving {amounts(cost.serving)}",
        }
        for label, cost in (("Month to date", mtd), ("Last 30 days", last_30d))
    ]
    title = "*Cost* (training pipelines + serving)"
    if mtd.partial or last_30d.partial:
        title += " — _partial: a cost source did not answer_"
    blocks: list[Block] = [_with_fields(title, fields)]
    by_pipeline = {p.pipeline: p for p in last_30d.pipelines}
    lines = [_pipeline_line(p, by_pipeline.get(p.pipeline)) for p in mtd.pipelines]
    for pipeline, currency, cost in mtd.serving_pipelines:
        lines.append(
            f"• {code(pipeline)} tagged with the model · {money(cost, currency, cents=False)} "
            "this month "
            "(counted as serving)"
        )
    if not mtd.pipelines:
        lines.append("No pipeline trains or feeds it in ops.yml `lineage`.")
    listed = lines_within(lines, LIST_CHARS, more="…and {n} more pipelines")
    blocks.append(section("*Pipelines behind it*\n" + listed))
    if mtd.shared_pipelines:
        blocks.append(
            context(
                "A pipeline shared by several models is split evenly between them: its full "
                "cost is shown, only this model's share is in the totals."
            )
        )
    return blocks


def _versions_text(detail: ModelDetail, now: datetime) -> str:
    lines = []
    for version in detail.versions:
        parts = [f"*{link(version.url, 'v' + version.version)}*"]
        if version.aliases:
            parts.append(", ".join(escape(a) for a in version.aliases))
        if version.created_at:
            parts.append(f"registered {ago(version.created_at, now)}")
        shown = list(version.metrics.items())[:METRICS_IN_VERSION_LINE]
        if shown:
            parts.append(", ".join(f"{escape(k)} {number(v)}" for k, v in shown))
        lines.append(" · ".join(parts))
    title = f"*Versions* ({detail.version_count}, newest first)"
    listed = lines_within(lines, LIST_CHARS, more="…and {n} more versions in the registry")
    return title + "\n" + (listed if lines else "_none reported by the registry_")


def _metrics_blocks(detail: ModelDetail) -> list[Block]:
    current_alias = next((a for a in ("champion", "production") if a in detail.aliased), None)
    current = detail.aliased.get(current_alias) if current_alias else None
    blocks = []
    for alias, version in detail.aliased.items():
        if alias == current_alias:
            continue
        title = f"*{escape(alias)} v{escape(version.version)}*"
        if current is not None and current_alias is not None:
            title += f" vs *{escape(current_alias)} v{escape(current.version)}*"
        blocks.append(_with_fields(title, metrics_comparison_fields(version, current)))
    if not blocks and current is not None and current_alias is not None:
        title = f"*{escape(current_alias)} v{escape(current.version)}*: evaluation metrics"
        blocks.append(_with_fields(title, metrics_comparison_fields(current, None)))
    if len(blocks) > COMPARISONS:
        others = [
            f"{escape(a)} v{escape(v.version)}"
            for a, v in detail.aliased.items()
            if a != current_alias
        ][COMPARISONS:]
        note = context(
            f"Also aliased, not compared here: {join_within(others, 1500)}; "
            "their metrics are in the registry."
        )
        return [*blocks[:COMPARISONS], note]
    return blocks


def _summary(detail: ModelDetail, tz: tzinfo, now: datetime) -> str:
    health = detail.health
    if health is None:
        status = f"{UNKNOWN} *Health unknown*"
    elif health.healthy:
        status = f"{HEALTHY} *Healthy*"
    else:
        problems = "; ".join(escape(p) for p in health.problems)
        status = f"{UNHEALTHY} *Unhealthy*: {problems}"
    lines = [status]
    if detail.model.description:
        lines.append(f"_{escape(truncate(detail.model.description, 300))}_")
    failing = [upstream_line(u, tz, now) for u in detail.failing_upstream]
    if failing:
        lines.append(lines_within(failing, 1200, more="…and {n} more failing upstream"))
    owner = f"Owner *{escape(detail.team)}*" if detail.team else "No owner in ops.yml"
    if channel := _channel(detail.channel):
        owner += f" {channel}"
    aliases = aliases_text(detail.model)
    lines.append(" · ".join(p for p in (owner, aliases, link(detail.model.url, "MLflow")) if p))
    return "\n".join(lines)


def fallback_text(detail: ModelDetail) -> str:
    name = escape(detail.model.name)
    health = detail.health
    state = (
        "health unknown"
        if health is None
        else ("healthy" if health.healthy else escape(health_reason(health)))
    )
    text = f"{name}: {state}; {amounts(detail.cost_mtd.total)} this month"
    failing = detail.failing_upstream
    if failing:
        text += "; fed by " + ", ".join(escape(u.pipeline) for u in failing) + " (failing)"
    return text


def render_model(detail: ModelDetail, *, tz: tzinfo, now: datetime) -> Reply:
    """The `/ops model NAME` answer: health, upstream, aliases and metrics, versions, cost."""
    blocks: list[Block] = [header(f"Model {detail.model.name}")]
    if detail.matched_loosely:
        blocks.append(
            context(
                f"Showing {code(detail.model.name)}, the closest match to {code(detail.asked)}."
            )
        )
    blocks.append(section(_summary(detail, tz, now)))
    if fields := _health_fields(detail, now):
        blocks.append(_with_fields("*Serving health*", fields))
    blocks += _metrics_blocks(detail)
    blocks.append(section(_versions_text(detail, now)))
    blocks.append(divider())
    blocks += cost_blocks(detail.cost_mtd, detail.cost_30d)
    if detail.upstream:
        lines = [upstream_line(u, tz, now) for u in detail.upstream]
        listed = lines_within(lines, LIST_CHARS, more="…and {n} more pipelines")
        blocks.append(section("*Upstream pipelines* (ops.yml lineage)\n" + listed))
    if note := partial_note(detail.problems):
        blocks.append(note)
    blocks.append(context("Drift and latency thresholds come from ops.yml `incidents.detectors`."))
    return Reply(text=fallback_text(detail), blocks=fit_message(blocks))
