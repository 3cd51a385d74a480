"""`/ops digest list | preview NAME | run NAME`: parse → answer → render, nothing else."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.digests import digest_plans, find_digest
from bot.answers.entities import Unknown, match_name
from bot.commands.asked import Asked, answers
from bot.ops_config.digests import Digest
from bot.views.digest_runs import run_queued, run_refused, run_unavailable
from bot.views.digests import render_digest_list, render_preview
from bot.views.mrkdwn import context
from bot.views.reply import Reply
from bot.views.unknown import render_unknown

LIST_HINT = "`/ops digest list` shows every digest with its channel and schedule."
NO_DIGESTS = "No digests are configured: add them under `digests:` in ops.yml."


async def run_digest(asked: Asked, chosen: Digest) -> Reply:
    """`/ops digest run NAME`: post it now, for its teams' members and leads and the admins."""
    from bot.digests.posting import DigestPoster, Outcome
    from bot.digests.problems import may_run
    from scheduler.runner import default_replica_id

    user, services = asked.ctx.user_id, asked.ctx.services
    if not may_run(asked.deps.config, chosen, user):
        return run_refused(chosen, asked.deps.config)
    if services.outbox is None:
        return run_unavailable(chosen)
    poster = DigestPoster(services, replica_id=default_replica_id())
    result = await poster.post_now(chosen.name, now=asked.deps.now, by=user)
    return run_queued(chosen, posted=result.outcome is not Outcome.failed)


@answers()
async def digest(asked: Asked) -> Reply:
    cmd, ctx, deps = asked.cmd, asked.ctx, asked.deps
    action = cmd.args[0].lower()
    if action == "list":
        plans = digest_plans(deps)
        return render_digest_list(
            plans, tz=deps.user_tz, command=ctx.text or "digest list", page=ctx.page
        )
    names = [d.name for d in deps.config.digests]
    found = match_name(cmd.args[1], names, kind="digest")
    if isinstance(found, Unknown):
        # The closest names are buttons asking the same again with that name.
        reply = render_unknown(found, known=names, command=ctx.text)
        hint = context(LIST_HINT if names else NO_DIGESTS)
        return replace(reply, blocks=[*reply.blocks, hint])
    chosen = find_digest(deps, found)
    assert chosen is not None  # match_name only returns configured names
    if action == "run":
        return await run_digest(asked, chosen)
    # The very code path of the scheduled post, against the state its last post left: what
    # previews is what posts.
    from bot.digests.posting import DigestPoster

    poster = DigestPoster(ctx.services, replica_id="preview")
    return render_preview(chosen, await poster.preview(chosen.name, now=deps.now))
