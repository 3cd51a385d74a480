"""`/ops promote`, `/ops budget-increase` and `/ops approvals`; the request modals share the checks
and the path that opens a request and routes it to its approvers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, match_name, resolve_team
from bot.approvals.evidence import registry_versions
from bot.approvals.service import ApprovalService
from bot.approvals.types import Refused, RequestSnapshot
from bot.commands.asked import Asked, answers
from bot.commands.grammar import closest
from bot.services import Services
from bot.views.approval_cards import confirmation
from bot.views.approval_lists import render_approvals
from bot.views.format import CURRENCY_SIGNS, money
from bot.views.ids import FormField
from bot.views.mrkdwn import escape, section
from bot.views.reply import Reply

SYMBOLS = {sign: code for code, sign in CURRENCY_SIGNS.items()}  # the signs money() writes
_AMOUNT = re.compile(
    rf"(?P<symbol>[{re.escape(''.join(SYMBOLS))}])?\s*"
    r"(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?\s*"
    r"(?P<suffix>[kKmM])?\s*(?P<code>[A-Za-z]{3})?"
)
SCALE = {"k": Decimal(1000), "m": Decimal(1_000_000)}
MAX_AMOUNT_DIGITS = 15  # whole digits once scaled: far above any budget, within Decimal's 28
NO_SERVICE = Reply(
    text="Approvals are not set up here: no ops.yml is loaded, so I know no "
    "approval policies. Set SWITCHBOARD_CONFIG and restart."
)


class AmountError(ValueError):
    """Not a usable amount; the message says what was expected."""


def parse_amount(text: str, *, currency: str) -> Decimal:
    """'5000', '5,000', '$5k', '5000.50', '1.5k USD' → Decimal; raises AmountError otherwise."""
    example = "write it like 5000, 5,000, $5k or 5000.50"
    found = _AMOUNT.fullmatch(text.strip())
    if not found:
        raise AmountError(f"`{escape(text)}` is not an amount: {example}.")
    named = found["code"].upper() if found["code"] else SYMBOLS.get(found["symbol"] or "")
    if named and named != currency.upper():
        raise AmountError(f"budgets here are in {currency}, not {named}: {example}.")
    try:
        value = Decimal(found["number"].replace(",", "") + (found["fraction"] or ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise AmountError(f"`{escape(text)}` is not an amount: {example}.") from exc
    value *= SCALE.get((found["suffix"] or "").lower(), Decimal(1))
    if value.adjusted() >= MAX_AMOUNT_DIGITS:
        raise AmountError(
            f"`{escape(text[:40])}` is too large: at most {MAX_AMOUNT_DIGITS} digits before the cents."
        )
    if value != value.quantize(Decimal("0.01")):
        raise AmountError(f"`{escape(text)}` has more than cents: {example}.")
    if value <= 0:
        raise AmountError("a budget increase must be more than zero.")
    return value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PromotionAsk:
    model: str
    version: str
    alias: str


@dataclass(frozen=True)
class BudgetAsk:
    team: str
    amount: Decimal


Problems = dict[FormField, str]  # what is wrong with each field


async def check_promotion(
    deps: AnswerDeps, *, model: str, version: str, alias: str
) -> PromotionAsk | Problems:
    """Model known (fuzzy), version exists in the registry, alias allowed by ops.yml."""
    problems: Problems = {}
    allowed = deps.config.approvals.allowed_aliases
    alias = alias.strip().lower()
    if alias not in allowed:
        guess = closest(alias, allowed)
        hint = f" Did you mean `{guess}`?" if guess else ""
        problems[FormField.alias] = (
            f"`{escape(alias)}` is not an alias I may set (allowed: {', '.join(allowed)}).{hint}"
        )
    listed = await deps.sources.all_models()
    names = [m.name for m in listed.value]
    found = match_name(model, names, kind="model") if names else model
    if isinstance(found, Unknown):
        problems[FormField.model] = found.message
        return problems
    version = version.strip().lower().removeprefix("v")
    versions = await registry_versions(deps, found)
    known = [v.version for v in versions.value]
    if known and version not in known:
        shown = ", ".join(known[:10])
        problems[FormField.version] = (
            f"{escape(found)} has no version `{escape(version)}` (latest: {shown})."
        )
    return problems or PromotionAsk(model=found, version=version, alias=alias)


async def budgeted_teams(deps: AnswerDeps) -> list[str]:
    """The ops.yml teams that have a budget to raise (in ops.yml or stored), in ops.yml order:
    a request for any other team (finance's own, say) could only be refused."""
    if deps.budgets is not None:
        budgeted = {b.team for b in await deps.budgets.budgets()}
    else:
        budgeted = set(deps.config.budgets)
    return [slug for slug in deps.config.teams if slug in budgeted]


def no_budget(deps: AnswerDeps, slug: str) -> str:
    team = deps.config.teams.get(slug)
    name = team.name if team is not None and team.name else slug
    return f"{escape(name)} has no budget to raise (budgets are set under `budgets:` in ops.yml)."


async def check_budget(deps: AnswerDeps, *, team: str, amount: str) -> BudgetAsk | Problems:
    """Team known (fuzzy) and with a budget, amount a positive number within
    approvals.max_budget_increase."""
    problems: Problems = {}
    slug = resolve_team(deps.config, team)
    if isinstance(slug, Unknown):
        problems[FormField.team] = slug.message
    elif slug not in await budgeted_teams(deps):
        problems[FormField.team] = no_budget(deps, slug)
    currency = deps.config.workspace.currency
    if isinstance(slug, str) and slug in deps.config.budgets:
        currency = deps.config.budgets[slug].currency or currency
    value: Decimal | None = None
    try:
        value = parse_amount(amount, currency=currency)
    except AmountError as exc:
        problems[FormField.amount] = str(exc)
    ceiling = deps.config.approvals.max_budget_increase
    if value is not None and ceiling is not None and value > Decimal(str(ceiling)):
        problems[FormField.amount] = (
            f"{money(value, currency)} is more than one request may ask for "
            f"({money(Decimal(str(ceiling)), currency)})."
        )
    if problems or value is None or not isinstance(slug, str):
        return problems
    return BudgetAsk(team=slug, amount=value)


async def routed(services: Services, made: RequestSnapshot | Refused) -> Reply:
    """What the requester is told once a request was made (and sent) or refused."""
    if isinstance(made, Refused):
        return Reply(text=f":no_entry: I could not open that request: {escape(made.reason)}")
    notices = services.approval_notices
    sent = await notices.deliver_now(made.id) if notices is not None else None
    return confirmation(sent or made)


def problems_reply(problems: Problems, *, intro: str = "") -> Reply:
    text = intro + "\n".join(f":warning: {msg}" for msg in problems.values())
    return Reply(text=text, blocks=[section(text)])


NO_SLACK = Reply(
    text="Requests are opened in Slack (or the sandbox of `switchboard demo`), where the "
    "approvers can be reached; here I only answer questions. Nothing was requested."
)


def _service(asked: Asked, *, opens_request: bool = False) -> ApprovalService | Reply:
    """The approval service, or why a command about approvals cannot be answered here."""
    services = asked.ctx.services
    if services.approvals is None:
        return NO_SERVICE
    # A request nobody is told about would only wait in the database until it expires.
    if opens_request and services.outbox is None:
        return NO_SLACK
    return services.approvals


@answers()
async def promote(asked: Asked) -> Reply:
    service = _service(asked, opens_request=True)
    if isinstance(service, Reply):
        return service
    model, version, _to, alias, *why = asked.cmd.args
    checked = await check_promotion(asked.deps, model=model, version=version, alias=alias)
    if not isinstance(checked, PromotionAsk):
        return problems_reply(checked)
    made = await service.request_promotion(
        requester=asked.ctx.user_id,
        model=checked.model,
        version=checked.version,
        alias=checked.alias,
        reason=" ".join(why) or None,
        surface=asked.ctx.surface,
    )
    return await routed(asked.ctx.services, made)


@answers()
async def budget_increase(asked: Asked) -> Reply:
    service = _service(asked, opens_request=True)
    if isinstance(service, Reply):
        return service
    team, amount, *why = asked.cmd.args
    checked = await check_budget(asked.deps, team=team, amount=amount)
    if not isinstance(checked, BudgetAsk):
        return problems_reply(checked)
    made = await service.request_budget_increase(
        requester=asked.ctx.user_id,
        team=checked.team,
        amount=checked.amount,
        reason=" ".join(why) or None,
        surface=asked.ctx.surface,
    )
    return await routed(asked.ctx.services, made)


@answers()
async def approvals(asked: Asked) -> Reply:
    service = _service(asked)
    if isinstance(service, Reply):
        return service
    ctx = asked.ctx
    waiting = await service.waiting_for(ctx.user_id)
    mine = await service.requested_by(ctx.user_id)
    return render_approvals(
        waiting, mine, tz=asked.deps.user_tz, command=ctx.text or "approvals", page=ctx.page
    )
