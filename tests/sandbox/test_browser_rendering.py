"""What the page draws of Block Kit and mrkdwn, and that nothing anyone typed or a peer named can
become markup or script in it. Messages are posted through the sandbox's Web API as the bot
posts them; the page is read in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from tests.sandbox.conftest import Sandbox
from tests.sandbox.test_browser_flows import open_channel, open_sandbox, send, shot

expect: Any = pytest.importorskip("playwright.sync_api").expect

MARTA = "U0FI0MARTA"
HOSTILE = '<img src=x onerror="window.PWNED=1"><script>window.PWNED=2</script>'

EVERY_BLOCK = [
    {"type": "header", "text": {"type": "plain_text", "text": "Report :tada: *not bold*"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                "*bold* _italic_ ~strike~ `code` <https://example.com/a?b=1|a link> "
                "<@U0FI0NOAH> <#C0123FINANCE> <!here> :white_check_mark: :no_such_emoji: "
                "<!date^1796126400^{date_num}|2026-12-01> *`status`* a &lt;b&gt; &amp; b\n"
                "```\nline *one*\n  indented\n```\n&gt; quoted"
            ),
        },
        "accessory": {
            "type": "overflow",
            "action_id": "row_menu",
            "options": [
                {"text": {"type": "plain_text", "text": "Open"}, "value": "open"},
                {"text": {"type": "plain_text", "text": "Mute"}, "value": "mute"},
            ],
        },
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Spend*\n$1,234"},
            {"type": "plain_text", "text": "Budget *as typed*"},
        ],
    },
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            {"type": "image", "image_url": "https://example.com/i.png", "alt_text": "icon"},
            {"type": "mrkdwn", "text": "context _line_"},
        ],
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Delete"},
                "action_id": "delete",
                "style": "danger",
                "confirm": {
                    "title": {"type": "plain_text", "text": "Sure?"},
                    "text": {"type": "mrkdwn", "text": "It goes *for good*."},
                    "confirm": {"type": "plain_text", "text": "Delete"},
                    "deny": {"type": "plain_text", "text": "Keep"},
                },
            },
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Pick a team"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Finance"}, "value": "finance"},
                ],
            },
        ],
    },
    {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "rich ", "style": {"bold": True}},
                    {"type": "user", "user_id": "U0FI0MARTA"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "two"}]},
                ],
            },
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "pre"}]},
        ],
    },
    {
        "type": "table",
        "rows": [
            [{"type": "raw_text", "text": "Team"}, {"type": "raw_text", "text": "Spend"}],
            [{"type": "raw_text", "text": "finance"}, {"type": "raw_text", "text": "$12"}],
        ],
    },
    {
        "type": "video",
        "alt_text": "a video",
        "title": {"type": "plain_text", "text": "Demo video"},
        "thumbnail_url": "https://example.com/t.png",
        "video_url": "https://example.com/v",
    },
]


def post(sandbox: Sandbox, channel: str, **message: Any) -> str:
    client = WebClient(token="xoxb-sandbox", base_url=f"{sandbox.url}/sandbox/slack/api/")
    return str(client.chat_postMessage(channel=channel, **message)["ts"])


def test_every_block_the_bot_may_send_is_drawn_and_unknown_ones_are_labelled(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    ts = post(sandbox, "C0123FINANCE", text="every block", blocks=EVERY_BLOCK)
    open_sandbox(page, sandbox, MARTA, "finance")
    message = page.locator(f'article[data-ts="{ts}"]')
    header = message.locator(".bk-header-text")
    expect(header).to_have_text("Report 🎉 *not bold*")  # plain_text: emoji, no formatting
    text = message.locator('.bk-block[data-block-index="1"] .mrkdwn')
    expect(text.locator("b", has_text="bold")).to_have_count(1)
    expect(text.locator("i", has_text="italic")).to_have_count(1)
    expect(text.locator("s", has_text="strike")).to_have_count(1)
    expect(text.locator("b > code", has_text="status")).to_have_count(1)  # *`status`*
    link = text.locator("a", has_text="a link")
    expect(link).to_have_attribute("href", "https://example.com/a?b=1")
    expect(text.locator(".mention-user")).to_have_text("@noah")
    expect(text.locator(".mention-channel")).to_have_text("#finance")
    expect(text.locator(".mention-broadcast")).to_have_text("@here")
    expect(text).to_contain_text("✅ :no_such_emoji:")  # unknown shortcodes stay as typed
    expect(text.locator("time")).to_have_text("2026-12-01")
    expect(text).to_contain_text("a <b> & b")
    expect(text.locator("pre")).to_have_text("line *one*\n  indented")
    expect(text.locator("blockquote")).to_have_text("quoted")
    fields = message.locator(".bk-fields > *")
    expect(fields).to_have_count(2)
    expect(fields.nth(1)).to_have_text("Budget *as typed*")
    expect(message.locator(".bk-divider hr")).to_have_count(1)
    expect(message.locator(".bk-context-image")).to_have_attribute("alt", "icon")
    expect(message.locator("button.bk-button.danger", has_text="Delete")).to_be_visible()
    expect(message.locator("select[data-action-id=pick] option").first).to_have_text("Pick a team")
    expect(message.locator(".bk-rich b", has_text="rich")).to_have_count(1)
    expect(message.locator(".bk-rich li")).to_have_count(2)
    expect(message.locator(".bk-table td").nth(1)).to_have_text("$12")
    raw = message.locator('.bk-raw[data-raw-type="video"]')
    expect(raw).to_contain_text('Block "video" is not rendered by the sandbox')
    expect(raw.locator("pre")).to_contain_text('"video_url": "https://example.com/v"')
    message.get_by_role("button", name="More actions").click()
    expect(message.locator(".bk-menu-item")).to_have_text(["Open", "Mute"])
    message.locator("button", has_text="Delete").click()  # a confirm dialog comes first
    expect(page.locator(".bk-confirm")).to_contain_text("It goes for good.")
    page.locator(".bk-confirm button", has_text="Keep").click()
    expect(page.locator(".bk-confirm")).to_have_count(0)
    shot(page, screenshots, "every-block.png")


def test_nothing_typed_or_named_becomes_markup_in_the_page(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    dialogs: list[str] = []

    def refuse(dialog: Any) -> None:  # alert() from injected script would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    # A name the bot took from a peer, as if it had not escaped it, in every kind of text.
    ts = post(
        sandbox,
        "C0123FINANCE",
        text=HOSTILE,
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": HOSTILE[:140]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"peer said {HOSTILE}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "<javascript:window.PWNED=3|click me>"}],
            },
        ],
    )
    open_sandbox(page, sandbox, MARTA, "finance")
    # A person typing markup in a message and in a modal field.
    send(page, f"look {HOSTILE}")
    expect(page.locator("#messages article.message", has_text="look")).to_have_count(1)
    page.locator("#apps button").click()
    page.get_by_role("button", name="Request a budget increase").click()
    modal = page.get_by_role("dialog")
    team = modal.locator('.bk-block[data-block-id="team"] select')
    team.select_option(
        value=team.locator("option", has_text="Analytics").first.get_attribute("value")
    )
    modal.locator('.bk-block[data-block-id="amount"] input').fill("1200")
    modal.locator('.bk-block[data-block-id="reason"] textarea').fill(f"reason {HOSTILE}")
    modal.get_by_role("button", name="Request").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    open_channel(page, "analytics")
    card = page.locator("#messages article.message[data-from-app]", has_text="reason").last
    expect(card).to_contain_text(f"reason {HOSTILE}")  # shown as the text it is

    open_channel(page, "finance")
    peer = page.locator(f'article[data-ts="{ts}"]')
    expect(peer.locator(".bk-header-text")).to_have_text(HOSTILE[:140])
    expect(peer.locator("a")).to_have_count(0)  # a javascript: link stays text
    expect(peer).to_contain_text("click me")
    typed = page.locator("#messages article.message", has_text="look").last
    expect(typed).to_contain_text(f"look {HOSTILE}")
    assert page.locator('#messages img[src="x"], #messages script').count() == 0
    assert page.evaluate("window.PWNED") is None
    assert dialogs == []
    shot(page, screenshots, "escaping.png")


def test_the_page_names_people_and_channels_instead_of_ids(page: Any, sandbox: Sandbox) -> None:
    post(sandbox, "C0123DATA", text="ping <@U0DE0BORIS> about <#C0123MLPLAT>")
    open_sandbox(page, sandbox, "U0DE0BORIS", "data-eng")
    line = page.locator("#messages article.message", has_text="ping").last
    expect(line).to_contain_text(re.compile(r"ping @boris about #ml-platform"))
