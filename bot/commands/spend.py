"""`/ops spend` and `/ops budget`: parse → answer → render, nothing else."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.budgets import budget_board
from bot.answers.entities import Unknown
from bot.answers.spend import spend_answer
from bot.commands.asked import Asked, answers
from bot.views.budgets import render_budgets
from bot.views.limits import fit_message
from bot.views.mrkdwn import context
from bot.views.reply import Reply
from bot.views.spend import render_spend
from bot.views.unknown import render_unknown
from integrations.models import SpendDimension

MODEL_SPEND_NOTE = (
    "A model's spend is its training and feeding pipelines (a pipeline shared by several models "
    "split evenly) plus its serving, as `/ops model NAME` counts it."
)
UNALLOCATED_NOTE = " By model, `unallocated` is the spend no model carries."


@answers()
async def spend(asked: Asked) -> Reply:
    cmd, ctx = asked.cmd, asked.ctx
    found = await spend_answer(
        asked.deps,
        team=cmd.filters.get("team"),
        model=cmd.filters.get("model"),
        pipeline=cmd.filters.get("pipeline"),
        service=cmd.filters.get("service"),
        period=cmd.period,
        group_by=cmd.group_by,
    )
    if isinstance(found, Unknown):
        return render_unknown(found, command=ctx.text)
    reply = render_spend(found, command=ctx.text or "spend", page=ctx.page)
    if found.scope.model or found.group_by is SpendDimension.model:
        # Say how a model's spend is counted: it is more than the spend tagged with it.
        note = MODEL_SPEND_NOTE
        if found.group_by is SpendDimension.model and not found.scope.model:
            note += UNALLOCATED_NOTE
        *body, footer = reply.blocks
        reply = replace(reply, blocks=fit_message([*body, context(note), footer]))
    return reply


@answers(team=True)
async def budget(asked: Asked) -> Reply:
    board = await budget_board(asked.deps, team=asked.team)
    return render_budgets(board, command=asked.ctx.text or "budget", page=asked.ctx.page)
