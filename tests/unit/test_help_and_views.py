"""Help, problem and home renderers: complete, escaped, and within Slack's Block Kit limits."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.context import AskContext
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import BY_NAME, COMMANDS
from bot.router import build_router
from bot.views.help import render_help
from bot.views.home import render_welcome
from bot.views.limits import fit_message, truncate
from bot.views.mrkdwn import escape, section
from bot.views.terminal import render_blocks
from tests.fakeslack.blockkit import validate_blocks
from tests.services import bare_services

NOTHING_CONFIGURED = bare_services()


def test_help_lists_every_command_with_usage_and_example():
    reply = render_help()
    text = str(reply.blocks)
    for spec in COMMANDS:
        assert f"/ops {spec.usage}" in text
        assert spec.examples[0] in text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_every_command_in_help_has_a_handler_and_none_is_promised_for_later():
    assert build_router().commands == {spec.name for spec in COMMANDS} - {"help"}
    assert "coming soon" not in render_blocks(render_help().blocks)


def test_a_command_without_a_handler_stops_the_router_from_being_built(monkeypatch):
    import bot.router

    monkeypatch.setattr(bot.router, "BY_NAME", {**BY_NAME, "reboot": BY_NAME["status"]})
    with pytest.raises(RuntimeError, match="reboot"):
        bot.router.build_router()


def test_echoed_user_text_is_escaped_so_it_cannot_ping_the_channel():
    reply = asyncio.run(
        CommandRouter().answer(
            "<!channel> <https://evil.example|click>", AskContext(services=NOTHING_CONFIGURED)
        )
    )
    body = str(reply.blocks)
    assert "<!channel>" not in body and "<https://evil" not in body
    assert "&lt;!channel&gt;" in body


def test_escape_covers_ampersand_first():
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"


def test_long_section_is_truncated_visibly():
    block = section("x" * 5000)
    assert len(block["text"]["text"]) == 3000 and block["text"]["text"].endswith("…")
    assert truncate("short", 10) == "short"


def test_fit_message_keeps_50_blocks_and_says_what_was_cut():
    blocks = [section(str(i)) for i in range(80)]
    fitted = fit_message(blocks)
    assert len(fitted) == 50
    assert "31 more blocks" in fitted[-1]["elements"][0]["text"]


def test_welcome_home_view_is_valid():
    view = render_welcome()
    assert view["type"] == "home"
    assert validate_blocks(view["blocks"], surface="home") == []


def test_terminal_rendering_is_readable():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Spend"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Total* `42` <https://x.example|link> &lt;3"},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "More"},
                    "action_id": "more",
                }
            ],
        },
    ]
    assert render_blocks(blocks) == "Spend\n=====\nTotal 42 link (https://x.example) <3\n  [ More ]"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_command_text_renders_a_valid_message(text):
    reply = asyncio.run(CommandRouter().answer(text, AskContext(services=NOTHING_CONFIGURED)))
    assert reply.text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_terminal_shows_mentions_channels_and_groups_as_people_read_them():
    from bot.views.terminal import mrkdwn_to_text

    text = mrkdwn_to_text(
        "<@U1> in <#C1|general> or <#C2>, paging <!subteam^S9|@oncall> <!subteam^S8>"
    )
    assert text == "@U1 in #general or #C2, paging @oncall @S8"


def test_terminal_lays_out_two_line_fields_as_two_columns():
    from bot.views.terminal import render_blocks

    fields = [{"type": "mrkdwn", "text": t} for t in ("*Latency*\n49 ms", "*Errors*\n0.2%")]
    lines = render_blocks([{"type": "section", "fields": fields}], width=40).splitlines()
    assert lines[0].split() == ["Latency", "Errors"]
    assert lines[1].split() == ["49", "ms", "0.2%"]


def test_help_examples_preview_digests_that_the_example_config_has():
    from pathlib import Path

    from bot.ops_config import load_ops_config

    digests = {d.name for d in load_ops_config(Path("ops.example.yml")).digests}
    previewed = [
        example.split()[-1]
        for spec in COMMANDS
        for example in spec.examples
        if example.startswith("/ops digest preview ")
    ]
    assert previewed and set(previewed) <= digests
