"""`/ops owners THING`: parse → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.deps import deps_for
from bot.answers.entities import Unknown
from bot.answers.owners import owners_answer
from bot.commands.dispatch import AskContext
from bot.commands.grammar import ParsedCommand
from bot.views.owners import render_owners, render_owners_unknown
from bot.views.reply import Reply


async def owners(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    # "Amazon SageMaker" arrives as two words: the thing is everything after the command.
    found = await owners_answer(deps, " ".join(cmd.args))
    if isinstance(found, Unknown):
        return render_owners_unknown(found)
    return render_owners(found)
