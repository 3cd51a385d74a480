"""/ops over signed HTTP: answered in the ack when fast, via response_url when slow."""

from __future__ import annotations

import asyncio

from bot.commands.dispatch import CommandRouter
from bot.surfaces.ops_command import ACK_BUDGET_SECONDS, WORKING
from bot.surfaces.user_zone import forget_zones
from bot.views.reply import Reply
from tests.e2e.conftest import SIGNING_SECRET, ThreadedServer, app_settings, free_port
from tests.fakeslack import SlackSigner
from tests.fakeslack.blockkit import validate_blocks


async def test_ops_help_lists_the_whole_grammar_in_the_ack(running_app):
    resp = await running_app.signer.slash_command(text="help")
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    text = str(body["blocks"])
    for usage in (
        "status [team:T]",
        "spend [team:T|model:M|pipeline:P|service:S] [PERIOD] [by DIM]",
        "promote MODEL VERSION to ALIAS",
        "digest list | preview NAME | run NAME",
    ):
        assert usage in text
    assert validate_blocks(body["blocks"], surface="message") == []
    # bolt checked the token with the (fake) Web API before handling the command
    assert running_app.slack.calls_to("auth.test")


async def test_unknown_subcommand_gets_ephemeral_help_with_closest_match(running_app):
    resp = await running_app.signer.slash_command(text="stauts team:ml")
    body = resp.json()
    assert resp.status_code == 200 and body["response_type"] == "ephemeral"
    assert "Did you mean *`status`*?" in str(body["blocks"])


async def test_a_command_that_fails_is_answered_with_an_apology_not_silence(slack, tmp_path):
    # Every /ops command has a handler (build_router refuses otherwise); one that breaks still
    # answers in the ack, and the error goes to the log.
    from bot.app import create_app

    router = CommandRouter()

    async def broken_digest(parsed, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    router.add("digest", broken_digest)
    settings = app_settings(slack, f"sqlite:///{tmp_path / 'broken.db'}")
    app = create_app(settings, router=router)
    port = free_port()
    with ThreadedServer(app, port):
        signer = SlackSigner(SIGNING_SECRET, f"http://127.0.0.1:{port}")
        body = (await signer.slash_command(text="digest list")).json()
    assert body["text"] == "Sorry, /ops digest failed on my side; the error is logged."


async def test_slow_answer_acks_at_once_and_follows_via_response_url(slack, tmp_path):
    router = CommandRouter()

    async def slow_status(parsed, ctx):  # type: ignore[no-untyped-def]
        await asyncio.sleep(2.5)
        return Reply(text="all pipelines healthy")

    router.add("status", slow_status)
    from bot.app import create_app

    app = create_app(app_settings(slack, f"sqlite:///{tmp_path / 'slow.db'}"), router=router)
    port = free_port()
    with ThreadedServer(app, port):
        signer = SlackSigner(SIGNING_SECRET, f"http://127.0.0.1:{port}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        resp = await signer.slash_command(text="status", response_url=slack.response_url("slow"))
        acked_after = loop.time() - started
        assert resp.status_code == 200 and "Working on it" in resp.json()["text"]
        assert acked_after < 3.0  # Slack's ack deadline
        assert await asyncio.to_thread(
            slack.wait_for, lambda s: any(c.method == "response_url" for c in s.calls), 10
        )
        posted = [c for c in slack.calls if c.method == "response_url"][-1]
        assert posted.params["text"] == "all pipelines healthy"
        assert posted.params.get("replace_original") in (True, "true")


def slow_zone_lookups(monkeypatch, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Let the zone lookup wait `seconds` (not 0.5 s): an ack that waited for it would then be
    far slower than one that did not, whatever else the machine is doing."""
    from bot.surfaces import user_zone

    monkeypatch.setattr(user_zone.user_timezone, "__kwdefaults__", {"timeout": seconds})
    forget_zones()


async def test_the_ack_never_waits_for_users_info_beyond_the_answers_budget(
    slack, tmp_path, monkeypatch
):
    """users.info hanging and an answer too slow for the ack: the ack goes when the answer's
    budget is spent (the zone lookup runs within it, not before it), and the answer follows."""
    slow_zone_lookups(monkeypatch, 4.0)
    router = CommandRouter()
    zones: list[object] = []

    async def slow_status(parsed, ctx):  # type: ignore[no-untyped-def]
        zones.append(ctx.timezone)
        await asyncio.sleep(2.0)
        return Reply(text="all pipelines healthy")

    router.add("status", slow_status)
    from bot.app import create_app

    app = create_app(app_settings(slack, f"sqlite:///{tmp_path / 'zone.db'}"), router=router)
    port = free_port()
    with ThreadedServer(app, port):
        signer = SlackSigner(SIGNING_SECRET, f"http://127.0.0.1:{port}")
        slack.hang_next("users.info", 6.0)  # the lookup gives up after 4 s
        loop = asyncio.get_running_loop()
        started = loop.time()
        resp = await signer.slash_command(
            text="status", user_id="U_CAROL", response_url=slack.response_url("zone")
        )
        acked_after = loop.time() - started
        assert resp.status_code == 200 and resp.json()["text"] == WORKING
        # Waiting for users.info before the answer's budget would ack after 4 s at the earliest.
        limit = ACK_BUDGET_SECONDS + 1.5
        assert acked_after < limit, f"acked after {acked_after:.2f} s"
        assert await slack.wait_for_async(lambda s: bool(s.responses("zone")), 10)
        assert slack.responses("zone")[-1]["text"] == "all pipelines healthy"
    assert zones == [None]  # the handler got the lookup's outcome (none: workspace zone)


async def test_dates_in_a_slash_answer_are_in_the_askers_zone(demo_app):
    forget_zones()
    carol = (await demo_app.signer.slash_command(text="digest list", user_id="U_CAROL")).json()
    alice = (await demo_app.signer.slash_command(text="digest list", user_id="U_ALICE")).json()
    assert "EST" in str(carol["blocks"]) and "CET" not in str(carol["blocks"])
    assert "CET" in str(alice["blocks"]) and "EST" not in str(alice["blocks"])
    assert demo_app.slack.calls_to("users.info")


async def test_help_is_acked_at_once_while_the_zone_lookup_hangs(demo_app, monkeypatch):
    slow_zone_lookups(monkeypatch, 4.0)
    demo_app.slack.hang_next("users.info", 6.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await demo_app.signer.slash_command(text="help", user_id="U_BOB")
    assert "/ops status" in str(resp.json()["blocks"])
    # help needs no zone: it is not held up by the lookup (which here gives up after 4 s)
    assert loop.time() - started < 2.0
