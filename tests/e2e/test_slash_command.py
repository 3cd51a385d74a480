"""/ops over signed HTTP: answered in the ack when fast, via response_url when slow."""

from __future__ import annotations

import asyncio

from bot.commands.dispatch import CommandRouter
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


async def test_unbuilt_command_says_it_is_coming(slack, tmp_path):
    # Every /ops command is built now: a router without handlers plays an unbuilt one.
    from bot.app import create_app

    settings = app_settings(slack, f"sqlite:///{tmp_path / 'unbuilt.db'}")
    app = create_app(settings, router=CommandRouter())
    port = free_port()
    with ThreadedServer(app, port):
        signer = SlackSigner(SIGNING_SECRET, f"http://127.0.0.1:{port}")
        body = (await signer.slash_command(text="digest list")).json()
    assert "coming soon" in body["text"]


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
