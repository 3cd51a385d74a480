"""The sandbox page in a real browser, used as a person would: typing commands, clicking buttons,
switching who they are, filling modals. Every step goes through the app's signed Slack path.

Each flow saves a screenshot; SWITCHBOARD_SCREENSHOTS=docs keeps them (docs/sandbox.png is one).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import Sandbox

expect: Any = pytest.importorskip("playwright.sync_api").expect

EVA = "U0ML0EVA"  # ML Platform lead
FARID = "U0ML0FARID"  # ML Platform: approves the team's promotions
ANNA = "U0DE0ANNA"  # Data Engineering lead: no say over an ML Platform model
KEMI = "U0AN0KEMI"  # Analytics lead


def open_sandbox(page: Any, sandbox: Sandbox, user: str, channel: str | None = None) -> None:
    page.goto(f"{sandbox.url}/sandbox?user={user}")
    expect(page.locator("body")).to_have_attribute("data-user", user)
    if channel:
        open_channel(page, channel)


def open_channel(page: Any, name: str) -> None:
    page.locator("#channel-list button", has_text=f"# {name}").click()
    expect(page.locator("#main-title")).to_have_text(f"# {name}")


def open_dm(page: Any) -> None:
    page.locator("#dm-list button").click()
    page.get_by_role("tab", name="Messages").click()
    expect(page.locator("#messages")).to_be_visible()


def switch_to(page: Any, user: str) -> None:
    page.select_option("#user-switcher", user)
    expect(page.locator("body")).to_have_attribute("data-user", user)


def send(page: Any, text: str) -> None:
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")


def app_messages(page: Any, has_text: str | re.Pattern[str]) -> Any:
    """The app's messages in the open channel containing ``has_text`` (case-sensitive)."""
    if isinstance(has_text, str):
        has_text = re.compile(re.escape(has_text))
    return page.locator("#messages article.message[data-from-app]", has_text=has_text)


def shot(page: Any, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / name))


def test_spend_by_service_shows_the_table_then_the_chart_once_shared(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    open_sandbox(page, sandbox, EVA, "ml-platform")
    send(page, "/ops spend team:ml-platform 30d by service")
    answer = app_messages(page, "By service").filter(has_text="Only visible to you").last
    expect(answer.locator(".bk-header-text")).to_have_text("Spend · ml-platform · the last 30 days")
    expect(answer.locator("pre")).to_contain_text("Amazon SageMaker")  # the by-service table
    answer.get_by_role("button", name="Share in channel").click()
    shared = app_messages(page, "Shared by").filter(has_text="By service").last
    expect(shared.get_by_role("button", name="1 reply")).to_be_visible()
    expect(app_messages(page, "By service").filter(has_text="Only visible to you")).to_have_count(0)
    shared.get_by_role("button", name="1 reply").click()
    chart = page.locator("#thread .file-image img")
    expect(chart).to_be_visible()
    expect(page.locator("#thread figcaption")).to_have_text(
        "Daily spend: ml-platform, the last 30 days"
    )
    assert chart.evaluate("img => img.complete && img.naturalWidth > 200")
    chart.scroll_into_view_if_needed()
    shot(page, screenshots, "sandbox.png")


def test_more_shows_the_next_page_in_place(page: Any, sandbox: Sandbox, screenshots: Path) -> None:
    open_sandbox(page, sandbox, EVA, "data-eng")
    send(page, "/ops spend 30d by pipeline")
    answer = app_messages(page, "Showing").filter(has_text="by pipeline").last
    more = answer.get_by_role("button", name=re.compile(r"^More \(\d+ left\)$"))
    before = int(re.search(r"Showing (\d+) of", answer.inner_text()).group(1))  # type: ignore[union-attr]
    ts = answer.get_attribute("data-ts")
    more.click()
    same = page.locator(f'#messages article.message[data-ts="{ts}"]')
    expect(same).not_to_contain_text(f"Showing {before} of")
    after = re.search(r"Showing (\d+) of", same.inner_text())
    assert after is None or int(after.group(1)) > before  # further on, or the last page
    shot(page, screenshots, "more.png")


def test_did_you_mean_button_runs_the_suggestion(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    open_sandbox(page, sandbox, EVA, "analytics")
    send(page, "/ops stauts")
    answer = app_messages(page, "I don't know the command").last
    expect(answer.locator("code", has_text="stauts").first).to_be_visible()
    ts = answer.get_attribute("data-ts")
    answer.get_by_role("button", name="/ops status").click()
    same = page.locator(f'#messages article.message[data-ts="{ts}"]')
    expect(same).not_to_contain_text("I don't know the command")
    expect(same.locator(".bk-header-text").first).to_be_visible()  # the status answer
    shot(page, screenshots, "did-you-mean.png")


def test_promotion_is_refused_to_an_outsider_then_approved_and_updated_everywhere(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    open_sandbox(page, sandbox, EVA, "ml-platform")
    send(page, "/ops promote churn 13 to staging sandbox check")
    expect(app_messages(page, re.compile(r"Request #\d+ sent to"))).to_have_count(1)
    card = app_messages(page, "asks to promote").filter(has_text="staging").last
    expect(card.get_by_role("button", name="Approve")).to_be_visible()
    card_ts = card.get_attribute("data-ts")

    switch_to(page, ANNA)  # Data Engineering: may see the card, may not decide it
    open_channel(page, "ml-platform")
    page.locator(f'article[data-ts="{card_ts}"]').get_by_role("button", name="Approve").click()
    refusal = app_messages(page, "not an approver").filter(has_text="Only visible to you")
    expect(refusal).to_have_count(1)
    shot(page, screenshots, "approval-refused.png")

    switch_to(page, FARID)
    open_dm(page)
    dm_card = app_messages(page, "asks to promote").filter(has_text="staging").last
    dm_card.get_by_role("button", name="Approve").click()
    expect(dm_card).to_contain_text("Approved")
    expect(dm_card.get_by_role("button", name="Approve")).to_have_count(0)
    open_channel(page, "ml-platform")
    channel_card = page.locator(f'article[data-ts="{card_ts}"]')
    expect(channel_card).to_contain_text("Approved")
    expect(channel_card).to_contain_text("(edited)")  # chat.update, in place
    expect(channel_card.get_by_role("button", name="Approve")).to_have_count(0)
    shot(page, screenshots, "approval-approved.png")

    send(page, "/ops model churn")
    model = app_messages(page, "Serving health").last
    expect(model).to_contain_text(re.compile(r"staging v13"))


def test_home_shows_my_teams_and_the_budget_modal_shows_field_errors(
    page: Any, sandbox: Sandbox, screenshots: Path
) -> None:
    open_sandbox(page, sandbox, KEMI)
    page.locator("#apps button").click()
    home = page.locator("#home")
    expect(home).to_contain_text("Analytics")
    expect(home).not_to_contain_text("Data Engineering")
    shot(page, screenshots, "home.png")

    home.get_by_role("button", name=re.compile("budget increase", re.I)).click()
    modal = page.get_by_role("dialog")
    expect(modal).to_be_visible()
    team = modal.locator('.bk-block[data-block-id="team"] select')
    team.select_option(
        value=team.locator("option", has_text="nalytics").first.get_attribute("value")
    )
    amount = modal.locator('.bk-block[data-block-id="amount"] input')
    amount.fill("lots")
    modal.get_by_role("button", name="Request").click()
    error = modal.locator('.bk-block[data-block-id="amount"] .bk-input-error')
    expect(error).not_to_have_text("")
    expect(amount).to_have_value("lots")  # what was typed stays for correcting
    shot(page, screenshots, "budget-modal-error.png")
