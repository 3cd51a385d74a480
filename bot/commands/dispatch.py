"""One code path from command text to a rendered Reply, shared by Slack, mentions and `switchboard ask`."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from bot.commands.context import AskContext, deps_for
from bot.commands.grammar import BY_NAME, ParsedCommand, ParseProblem, parse
from bot.commands.intent import (
    Ambiguous,
    NotUnderstood,
    Understood,
    known_names,
    looks_like_question,
    understand,
)
from bot.metrics import COMMANDS, ask_surface
from bot.views.help import help_for, render_problem
from bot.views.intent import (
    question_examples,
    render_did_you_mean,
    render_not_understood,
    suggestion_buttons,
    with_reading,
)
from bot.views.mrkdwn import context, escape
from bot.views.reply import Reply
from integrations.names import is_typo

if TYPE_CHECKING:
    from bot.commands.asked import Handler

log = structlog.get_logger(__name__)


# Where `/ops WORD` is typed as a command: one unknown word there is answered as an unknown
# command (with the closest one). Mentions and DMs are conversation: they get a question's help.
COMMAND_SURFACES = frozenset({"slash_command", "terminal", "sandbox"})
_ONE_WORD = re.compile(r"[\w\-]+")
# Longer text is refused before anything reads it: Slack itself sends a slash command at most
# about 4,000 characters, and reading (fuzzy-matching every word against every known name) runs
# on the event loop, where a 300,000-character question held every other ack for seconds.
MAX_TEXT_CHARS = 4000
TOO_LONG = Reply(
    text=f":warning: That is too long for me to read: ask in at most {MAX_TEXT_CHARS:,} "
    "characters. `/ops help` lists what I answer."
)
# What a question that named nothing seemed to ask, and what it needed to name.
_ABOUT = {
    "owners": ("who owns something or is on call", "pipeline, model or team"),
    "lineage": ("what a pipeline feeds or what feeds a model", "pipeline or model"),
}


@dataclass(frozen=True)
class RoutedReply:
    reply: Reply
    command: str | None = None  # the command text a handler answered; None for help and problems
    name: str = "unknown"  # the /ops command that answered (help too): a bounded metrics label


class CommandRouter:
    """Maps command names to their handlers (bot.router.build_router registers every command)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler) -> None:
        if name not in BY_NAME:
            raise ValueError(f"{name!r} is not an /ops command")
        self._handlers[name] = handler

    @property
    def commands(self) -> set[str]:
        """The commands with a handler (help is the router's own)."""
        return set(self._handlers)

    async def answer(self, text: str, ctx: AskContext) -> Reply:
        """The reply to a command or a plain question; never raises."""
        return (await self.answer_detail(text, ctx)).reply

    async def answer_detail(self, text: str, ctx: AskContext) -> RoutedReply:
        """The reply, and which command a handler ran for it (what "Share" and "More" re-run)."""
        answer = await self._answer_detail(text, ctx)
        COMMANDS.labels(command=answer.name, surface=ask_surface(ctx.surface)).inc()
        return answer

    async def _answer_detail(self, text: str, ctx: AskContext) -> RoutedReply:
        if len(text) > MAX_TEXT_CHARS:
            log.info("ask.too_long", chars=len(text), surface=ctx.surface)
            return RoutedReply(TOO_LONG)
        text = text.strip()
        if text.startswith("/ops"):
            text = text[len("/ops") :].strip()
        parsed = parse(text)
        if isinstance(parsed, ParsedCommand):
            return await self._run(parsed, replace(ctx, text=text))
        words = text.split()
        head = words[0].lower() if words else ""
        if head in BY_NAME:
            # A command with words it does not take ("status of data-eng") may still be a
            # question; only a reading that used every word is taken over the usage reply.
            if len(words) > 1:
                found = await self._understand(text, ctx)
                if isinstance(found, Understood) and not found.leftovers:
                    return await self._run_understood(found, ctx)
            return RoutedReply(render_problem(parsed, text))
        if (
            parsed.suggestion
            and not looks_like_question(head)
            and _is_typo(head, parsed.suggestion)
        ):
            return RoutedReply(_typo_reply(parsed, text, words))
        found = await self._understand(text, ctx)
        if isinstance(found, Understood):
            return await self._run_understood(found, ctx)
        if isinstance(found, Ambiguous):
            options = [(c.label, c.command) for c in found.candidates]
            return RoutedReply(render_did_you_mean(found.asked, options))
        mine = _asker_teams(ctx)
        if found.intent == "owners" and not found.unknown and len(mine) == 1:
            # "who's on call?" from someone in one team: that team, and the answer says so.
            return await self._run_understood(
                Understood(f"owners {mine[0]}", notes=(f"read as your team, {mine[0]}",)), ctx
            )
        if ctx.surface in COMMAND_SURFACES and len(words) == 1 and _ONE_WORD.fullmatch(head):
            reply = render_problem(parsed, text)
            return RoutedReply(replace(reply, blocks=[*reply.blocks, question_examples()]))
        return RoutedReply(_not_understood(text, found, mine or _all_teams(ctx)))

    async def _understand(
        self, text: str, ctx: AskContext
    ) -> Understood | Ambiguous | NotUnderstood:
        deps = deps_for(ctx)
        today = deps.today if not isinstance(deps, Reply) else None
        try:
            services = ctx.services
            known = await known_names(
                services.ops_config, services.sources, today=today, question=text
            )
            return understand(text, known=known)
        except Exception:
            log.exception("question_not_read")
            return NotUnderstood("reading the question failed")

    async def _run_understood(self, found: Understood, ctx: AskContext) -> RoutedReply:
        parsed = parse(found.command)
        if not isinstance(parsed, ParsedCommand):  # understand() only builds parsable commands
            return RoutedReply(render_problem(parsed, found.command))
        answer = await self._run(parsed, replace(ctx, text=found.command))
        reply = with_reading(answer.reply, found.command, found.notes, found.leftovers)
        return replace(answer, reply=reply)

    async def _run(self, parsed: ParsedCommand, ctx: AskContext) -> RoutedReply:
        name = parsed.name
        if name == "help":
            return RoutedReply(help_for(parsed), name=name)
        ctx = await _zone_known(ctx)
        try:
            # A router built without this command's handler fails as any broken command does.
            return RoutedReply(await self._handlers[name](parsed, ctx), ctx.text, name=name)
        except Exception:
            # A bug in one command must still give the user an answer, never a stack trace.
            log.exception("command_failed", command=name)
            return RoutedReply(
                Reply(text=f"Sorry, /ops {name} failed on my side; the error is logged."),
                name=name,
            )


# Commands that only read: safe to re-run from a button someone else sees ("Share", "More").
# promote, budget-increase and `digest run` act, so no button ever re-runs them for a clicker.
READ_ONLY = frozenset(
    {
        "help",
        "status",
        "pipeline",
        "models",
        "model",
        "spend",
        "budget",
        "owners",
        "approvals",
        "incidents",
        "incident",
        "digest",
    }
)


def read_only(command: str) -> bool:
    """Whether `command` parses and only reads (`digest run` posts, so it does not count)."""
    parsed = parse(command)
    if not isinstance(parsed, ParsedCommand) or parsed.name not in READ_ONLY:
        return False
    return not (parsed.name == "digest" and parsed.args[0].lower() == "run")


def _is_typo(head: str, command: str) -> bool:
    """A first word this close to a command name was meant as that command ("stauts")."""
    return is_typo(head, command)


def _typo_reply(problem: ParseProblem, text: str, words: list[str]) -> Reply:
    """The usual "did you mean" reply, with a button running the corrected command if it parses."""
    reply = render_problem(problem, text)
    corrected = " ".join([problem.suggestion or "", *words[1:]]).strip()
    if isinstance(parse(corrected), ParsedCommand):
        button = suggestion_buttons([(f"/ops {corrected}"[:75], corrected)])
        return replace(reply, blocks=[*reply.blocks, button])
    return reply


async def _zone_known(ctx: AskContext) -> AskContext:
    """`ctx` with the asker's zone looked up, when the lookup was still under way."""
    if not isinstance(ctx.timezone, asyncio.Future):
        return ctx
    try:
        zone = await ctx.timezone
    except Exception:  # the lookup never raises; if it did, the workspace zone still answers
        log.exception("user_zone_lookup_failed")
        zone = None
    return replace(ctx, timezone=zone)


def _asker_teams(ctx: AskContext) -> list[str]:
    """The teams the asker belongs to (members and leads), in ops.yml order."""
    config = ctx.services.ops_config
    if config is None:
        return []
    return [slug for slug, team in config.teams.items() if ctx.user_id in team.people]


def _all_teams(ctx: AskContext) -> list[str]:
    config = ctx.services.ops_config
    return list(config.teams) if config is not None else []


def _not_understood(text: str, found: NotUnderstood, teams: list[str]) -> Reply:
    """The short help for a question, saying what was understood of it, with a button per team
    for a question about owners that named nothing ("who's on call?" from outside any team)."""
    reply = render_not_understood(text)
    said: list[str] = []
    if about := _ABOUT.get(found.intent or ""):
        said.append(f"I understood a question about {about[0]}, but not which {about[1]}.")
        if found.unknown:
            words = ", ".join(f"_{escape(w)}_" for w in found.unknown[:5])
            said.append(f"I know no pipeline, model, team or service called {words}.")
    extra = [context(" ".join(said))] if said else []
    if found.intent == "owners" and teams and not found.unknown:
        extra.append(suggestion_buttons([(f"/ops owners {t}", f"owners {t}") for t in teams[:5]]))
    return replace(reply, blocks=[*reply.blocks[:1], *extra, *reply.blocks[1:]])
