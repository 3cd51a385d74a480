"""`/ops owners THING`: parse → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.entities import Unknown
from bot.answers.owners import owners_answer
from bot.commands.asked import Asked, answers
from bot.views.owners import render_owners, render_owners_unknown
from bot.views.reply import Reply


@answers()
async def owners(asked: Asked) -> Reply:
    # "Amazon SageMaker" arrives as two words: the thing is everything after the command.
    found = await owners_answer(asked.deps, " ".join(asked.cmd.args))
    if isinstance(found, Unknown):
        return render_owners_unknown(found)
    return render_owners(found)
