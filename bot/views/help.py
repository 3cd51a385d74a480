"""Renderers for `/ops help`, the help of one command, and answers to input that did not parse."""

from __future__ import annotations

from bot.commands.grammar import BY_NAME, COMMANDS, CommandSpec, ParsedCommand, ParseProblem, parse
from bot.views.limits import fit_message
from bot.views.mrkdwn import context, divider, escape, header, section
from bot.views.reply import Reply


def _command_line(spec: CommandSpec) -> str:
    examples = "  ".join(f"`{e}`" for e in spec.examples)
    return f"*`/ops {spec.usage}`*\n{spec.summary}\n{examples}"


def render_help() -> Reply:
    blocks = [
        header("Switchboard: /ops commands"),
        section(
            "Ask about pipelines, models and cloud spend, open approvals and follow incidents. "
            "Mention me or DM me with the same commands or a plain question."
        ),
    ]
    domain = None
    for spec in COMMANDS:
        if spec.domain != domain:
            domain = spec.domain
            blocks.append(divider())
            blocks.append(section(f"*{domain}*"))
        blocks.append(section(_command_line(spec)))
    blocks.append(context("Names are matched loosely: `/ops model chrn` finds `churn`."))
    return Reply(
        text="Switchboard /ops commands: " + ", ".join(s.name for s in COMMANDS),
        blocks=fit_message(blocks),
    )


def render_command_help(name: str) -> Reply:
    spec = BY_NAME[name]
    return Reply(text=f"/ops {spec.usage}", blocks=[section(_command_line(spec))])


def render_problem(problem: ParseProblem, original: str) -> Reply:
    lines = [f":warning: {escape(problem.message)}"]
    if problem.suggestion:
        spec = BY_NAME.get(problem.suggestion)
        usage = f" — `/ops {spec.usage}`" if spec else ""
        lines.append(f"Did you mean *`{problem.suggestion}`*?{usage}")
    if problem.command and problem.command in BY_NAME:
        lines.append(f"Usage: `/ops {BY_NAME[problem.command].usage}`")
    blocks = [
        section("\n".join(lines)),
        context(f"You typed: `/ops {escape(original[:200])}`  ·  `/ops help` lists everything"),
    ]
    # The message quotes what was typed: escaped here too, the fallback text notifies.
    return Reply(text=escape(problem.message), blocks=blocks)


def help_for(parsed: ParsedCommand) -> Reply:
    """The reply to a parsed "help [command]"."""
    if parsed.args and parsed.args[0].lower() in BY_NAME:
        return render_command_help(parsed.args[0].lower())
    return render_help()


def help_reply(text: str) -> Reply | None:
    """The reply to "/ops help [command]", which reads nothing; None for any other text
    (`switchboard ask` answers help without building the app's services)."""
    text = text.strip()
    if text.startswith("/ops"):
        text = text[len("/ops") :].strip()
    parsed = parse(text)
    if isinstance(parsed, ParsedCommand) and parsed.name == "help":
        return help_for(parsed)
    return None
