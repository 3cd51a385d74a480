""" "Run a digest now": post one of ops.yml's digests at once, through the outbox, as
`/ops digest run` does, instead of waiting for its schedule."""

from __future__ import annotations

from bot.digests.posting import DigestPoster, Outcome
from bot.sandbox.controls import Control, ControlContext, ControlError, Field
from bot.sandbox.demo_digest import DEMO_DIGEST


async def run_now(ctx: ControlContext, values: dict[str, str]) -> str:
    services = ctx.app.state.services
    config = services.ops_config
    if config is None or services.outbox is None:
        raise ControlError("No ops.yml is loaded, so there are no digests to run.")
    name = (values.get("digest") or "").strip()
    digest = next((d for d in config.digests if d.name == name), None)
    if digest is None:
        known = ", ".join(d.name for d in config.digests) or "none"
        raise ControlError(f"No digest called {name!r}; the digests are: {known}.")
    poster = DigestPoster(services, replica_id="sandbox")
    result = await poster.post_now(name, now=services.clock(), by=ctx.user or "sandbox")
    if result.outcome is Outcome.quiet:
        return f"{name}: nothing changed since its last post, and it skips quiet runs."
    if result.outcome is Outcome.failed:
        return f"{name} could not be built; the app's log says why."
    return f"Posting {name} to its channel now (it appears within a second or two)."


RUN_DIGEST = Control(
    name="run-digest",
    label="Run a digest now",
    help="Post a digest at once instead of waiting for its schedule (demo-pulse posts every 2 min).",
    run=run_now,
    fields=(Field("digest", "Digest", default=str(DEMO_DIGEST["name"])),),
)
