"""The answer to a name nothing matches: what was asked, the closest names as buttons that run the
command again with that name, and what exists."""

from __future__ import annotations

from bot.answers.entities import Unknown
from bot.views.format import code
from bot.views.intent import suggestion_buttons
from bot.views.limits import join_within
from bot.views.mrkdwn import context, section
from bot.views.reply import Block, Reply

KNOWN_CHARS = 1500  # characters of known names listed when nothing was close
# What a suggested name runs when the command that was asked is not known: the command that
# answers about that kind of thing. The button's label shows the command, so nothing is hidden.
DEFAULT_COMMANDS = {
    "team": "status team:{}",
    "model": "model {}",
    "pipeline": "pipeline {}",
    "service": "spend service:{}",
    "digest": "digest preview {}",
    "thing": "owners {}",
}


def _word(name: str) -> str:
    """A name as one word of a command (the parser splits like a shell)."""
    return f'"{name}"' if any(c.isspace() for c in name) else name


def corrected_command(command: str, asked: str, suggestion: str) -> str | None:
    """`command` with the word that named `asked` (alone or as `key:asked`) naming
    `suggestion` instead; None when `asked` is not one word of it."""
    words = command.split()
    for index, word in enumerate(words):
        key, colon, value = word.partition(":")
        if word == asked:
            words[index] = _word(suggestion)
            return " ".join(words)
        if colon and value == asked:
            words[index] = f"{key}:{_word(suggestion)}"
            return " ".join(words)
    return None


def suggestion_commands(found: Unknown, command: str | None = None) -> list[tuple[str, str]]:
    """(button label, command) for each suggestion: the asked command with the name corrected,
    else the command that answers about that kind of thing."""
    options = []
    for name in found.suggestions[:3]:
        fixed = corrected_command(command, found.asked, name) if command else None
        if fixed is None and found.kind in DEFAULT_COMMANDS:
            fixed = DEFAULT_COMMANDS[found.kind].format(_word(name))
        if fixed is not None:
            options.append((f"/ops {fixed}", fixed))
    return options


def render_unknown(
    found: Unknown, *, known: list[str] | None = None, command: str | None = None
) -> Reply:
    """Unknown names are shown escaped; the closest names are buttons re-running `command` (the
    command as asked) with that name; `known` (listed when nothing was close) helps the next try."""
    # found.message, not a message of its own: a period not yet started or an unreachable
    # registry says why in its message (NotAPeriod, RegistryUnavailable).
    message = found.message
    blocks: list[Block] = [section(f":warning: {message}")]
    if options := suggestion_commands(found, command):
        blocks.append(suggestion_buttons(options))
    if known and not found.suggestions:
        listed = join_within([code(name) for name in known], KNOWN_CHARS)
        blocks.append(context(f"Known {found.kind}s: {listed}"))
    return Reply(text=message, blocks=blocks)
