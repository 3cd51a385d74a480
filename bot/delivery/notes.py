"""Short notes to one person: an ephemeral where they clicked, or a DM with a rendered reply."""

from __future__ import annotations

from typing import Any, Protocol

from bot.views.reply import Reply


class Enqueues(Protocol):
    """The outbox as senders of messages see it: `bot.outbox.Outbox.aenqueue` (method, channel,
    payload, and optionally parent_id and dedupe_key) answering the message's outbox id."""

    async def aenqueue(self, **message: Any) -> int: ...


def message_payload(reply: Reply) -> dict[str, Any]:
    """A chat.postMessage body for `reply`: blocks, fallback text, no link previews."""
    return {
        "text": reply.text,
        "blocks": reply.blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


async def tell(outbox: Enqueues, *, channel: str | None, user: str, text: str) -> None:
    """An ephemeral note to one person where they clicked (a DM when no channel is known)."""
    if channel:
        await outbox.aenqueue(
            method="chat.postEphemeral", channel=channel, payload={"user": user, "text": text}
        )
    else:
        await outbox.aenqueue(method="chat.postMessage", channel=user, payload={"text": text})


async def tell_reply(outbox: Enqueues, *, user: str, reply: Reply) -> None:
    """A DM to one person with a rendered reply (blocks and fallback text)."""
    await outbox.aenqueue(method="chat.postMessage", channel=user, payload=message_payload(reply))
