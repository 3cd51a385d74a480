"""How a question's reading is shown ("I read this as …", "Did you mean …?", a short help) and the
buttons that run a command again for everyone ("Share in channel")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.views.ids import Action, BlockId
from bot.views.limits import (
    MESSAGE_BLOCKS_MAX,
    MESSAGE_JSON_MAX,
    SHARE_ROOM,
    fit_message,
    json_size,
    truncate,
)
from bot.views.mrkdwn import actions, button, context, escape, section
from bot.views.reply import Block, Reply

QUESTION_EXAMPLES = (
    "is churn healthy?",
    "why did nightly_orders fail?",
    "what did ml spend last week?",
    "are we over budget?",
    "who owns fraud?",
)


def did_you_mean_id(index: int) -> str:
    """Action ids must differ within a message: the n-th suggestion is `did_you_mean-n`."""
    return f"{Action.did_you_mean}-{index}"


def _command(text: str) -> str:
    return "`/ops " + escape(text).replace("`", "'") + "`"


def read_as_line(command: str, notes: Sequence[str] = (), ignored: Sequence[str] = ()) -> Block:
    """The context line that says how a question was understood."""
    parts = [f"I read this as {_command(command)}"]
    parts += [escape(note) for note in notes]
    if ignored:
        words = ", ".join(f"_{escape(truncate(w, 40))}_" for w in ignored[:5])
        parts.append("I did not use: " + words)
    return context(" · ".join(parts))


def with_reading(
    reply: Reply, command: str, notes: Sequence[str] = (), ignored: Sequence[str] = ()
) -> Reply:
    """`reply` with the "I read this as" line on top (a text-only reply gets its text as a block)."""
    body = reply.blocks or [section(reply.text)]
    blocks = [read_as_line(command, notes, ignored), *body]
    return replace(reply, blocks=fit_message(blocks, max_chars=MESSAGE_JSON_MAX - SHARE_ROOM))


def render_did_you_mean(asked: str, options: Sequence[tuple[str, str]]) -> Reply:
    """A short "Did you mean …?" with one button per (label, command); the button runs it."""
    shown = list(options)[:5]
    buttons = [
        button(label[:75], action_id=did_you_mean_id(i), value=command[:2000])
        for i, (label, command) in enumerate(shown)
    ]
    names = ", ".join(escape(label) for label, _ in shown)
    blocks = [
        section(f"`{escape(asked[:100])}` matches more than one thing. Did you mean…?"),
        actions(*buttons, block_id=BlockId.did_you_mean),
    ]
    return Reply(text=f"Did you mean: {names}?", blocks=blocks)


def suggestion_buttons(options: Sequence[tuple[str, str]]) -> Block:
    """Buttons running suggested commands (label, command), for answers to input with a typo."""
    return actions(
        *(
            button(label[:75], action_id=did_you_mean_id(i), value=command[:2000])
            for i, (label, command) in enumerate(list(options)[:5])
        ),
        block_id=BlockId.did_you_mean,
    )


def question_examples() -> Block:
    return context(
        "You can also ask in plain words: " + "  ".join(f"“{q}”" for q in QUESTION_EXAMPLES)
    )


def render_not_understood(text: str) -> Reply:
    """A short help for a question that matched no intent and no known name."""
    blocks = [
        section(
            f":thinking_face: I did not understand `{escape(text[:200])}`.\n"
            "Ask about a pipeline, model, team or spend, or use an `/ops` command."
        ),
        question_examples(),
        context("`/ops help` lists every command."),
    ]
    return Reply(text="I did not understand that; try `/ops help`.", blocks=blocks)


def with_share_button(reply: Reply, command: str) -> Reply:
    """An ephemeral answer with a "Share in channel" button that re-posts it for everyone."""
    if not reply.blocks or reply.response_type != "ephemeral":
        return reply
    share = actions(
        button("Share in channel", action_id=Action.share_in_channel, value=command[:1500]),
        block_id=BlockId.share,
    )
    room = MESSAGE_JSON_MAX - json_size(share) - 1
    blocks = fit_message(reply.blocks, limit=MESSAGE_BLOCKS_MAX - 1, max_chars=room)
    return replace(reply, blocks=[*blocks, share])


def shared_by(reply: Reply, user_id: str, command: str) -> Reply:
    """The answer as posted in the channel: for everyone, saying who shared which command.
    Nobody the answer names is notified (the owners of a model, who acknowledged an incident)."""
    note = context(f"Shared by <@{escape(user_id)}> · {_command(command)}")
    reply = reply.quiet()
    blocks = fit_message(
        [*reply.blocks] or [section(reply.text)],
        limit=MESSAGE_BLOCKS_MAX - 1,
        max_chars=MESSAGE_JSON_MAX - json_size(note) - 1,
    )
    return replace(reply, blocks=[*blocks, note], response_type="in_channel")
