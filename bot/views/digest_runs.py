"""What `/ops digest run NAME` answers: posted (or not), and who may run a digest when you may not."""

from __future__ import annotations

from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.views.digests import channel_ref
from bot.views.mrkdwn import context, escape, section
from bot.views.reply import Reply


def run_refused(digest: Digest, config: OpsConfig) -> Reply:
    teams = digest.teams or sorted(config.teams)
    names = ", ".join(escape(config.teams[t].name or t) for t in teams if t in config.teams)
    text = (
        f"Only members of {names or 'its teams'} and workspace admins may post "
        f"`{escape(digest.name)}` now."
    )
    return Reply(
        text=text,
        blocks=[
            section(f":lock: {text}"),
            context(f"`/ops digest preview {escape(digest.name)}` shows it to you instead."),
        ],
    )


def run_unavailable(digest: Digest) -> Reply:
    text = f"Nothing is posted from here: `switchboard digest run {digest.name}` posts it."
    return Reply(text=text, blocks=[section(escape(text))])


def run_queued(digest: Digest, *, posted: bool) -> Reply:
    where = channel_ref(digest.channel)
    if not posted:
        text = f"I could not build `{escape(digest.name)}` just now; the logs say why."
        return Reply(text=text, blocks=[section(f":x: {text}")])
    text = f"Posting `{escape(digest.name)}` to {where} now."
    return Reply(
        text=text,
        blocks=[
            section(f":outbox_tray: {text}"),
            context("Its next scheduled post still comes, and compares against this one."),
        ],
    )
