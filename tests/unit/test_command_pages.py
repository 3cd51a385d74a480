"""Through the real router, as a click would: "More" on /ops budget, a team scorecard and the digest
list shows the next page (not page 0 again), and every item is on exactly one page.

The demo company is too small to page, so ops.yml gets sixty more budgeted teams and sixty
digests; the scorecard's pipelines come from the big fixtures of the view tests.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.commands.context import AskContext
from bot.router import build_router
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import make_engine, upgrade
from bot.surfaces.actions import ReadingCommand
from bot.views.ids import Action
from bot.views.paging import PageRef
from bot.views.reply import Reply
from tests.fakeslack.blockkit import validate_blocks
from tests.views import big_answers as big

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXTRA = 60


@pytest.fixture(scope="module")
def big_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    """ops.example.yml with EXTRA more teams, each with a budget, and EXTRA more digests."""
    folder = tmp_path_factory.mktemp("big")
    data = yaml.safe_load(Path("ops.example.yml").read_text())
    for n in range(EXTRA):
        slug = f"squad-{n:02d}"
        data["teams"][slug] = {"channel": f"C0SQUAD{n:02d}", "members": [f"U0SQUAD{n:02d}"]}
        data["budgets"][slug] = {"monthly": 1000 + n}
        data["digests"].append(
            {"name": f"squad-digest-{n:02d}", "channel": "C0123OPSWEEK", "schedule": "0 9 * * MON"}
        )
    path = folder / "ops.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    url = f"sqlite:///{folder / 'sb.db'}"
    upgrade(url)
    engine = make_engine(url)
    services = build_services(Settings(), engine=engine, config_path=path, now=NOW, sends=False)
    # Under load the demo's DuckDB queries can outlast the 5 s default, which would turn a page
    # into a partial answer missing teams; these tests are about paging, not slow sources.
    assert services.sources is not None
    services.sources.timeout = 60
    return services


def _more(reply: Reply) -> PageRef | None:
    for block in reply.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("action_id") == Action.page_more:
                return PageRef.model_validate_json(element["value"])
    return None


def _blocks(reply: Reply) -> str:
    return str(reply.blocks)


async def _follow_more(services: Services, text: str) -> list[Reply]:
    """Ask `text`, then click "More" on each page as the button handler does (its value checked
    as a reading command, run again with the page it names), until no "More" is left."""
    router = build_router()
    ctx = AskContext(user_id="U0ML0EVA", surface="slash_command", services=services, now=NOW)
    pages = [await router.answer(text, ctx)]
    while (ref := _more(pages[-1])) is not None:
        assert ref.page == len(pages), "More must ask for the page after the one shown"
        command = ReadingCommand.validate_python(ref.command)
        pages.append(await router.answer(command, replace(ctx, surface="button", page=ref.page)))
        assert len(pages) < 30, "More never stopped"
    for page in pages:
        assert validate_blocks(page.blocks, surface="message") == []
    return pages


def _on_each_page(pages: list[Reply], pattern: str) -> list[set[str]]:
    return [set(re.findall(pattern, _blocks(page))) for page in pages]


async def test_more_on_the_budget_board_shows_the_next_teams_until_all_were_shown(big_services):
    pages = await _follow_more(big_services, "budget")
    assert len(pages) >= 2
    seen = _on_each_page(pages, r"\*(squad-\d\d)\*")
    assert seen[0] and seen[1] and not seen[0] & seen[1], "page 2 repeated page 1"
    every = [team for page in seen for team in page]
    assert sorted(every) == [f"squad-{n:02d}" for n in range(EXTRA)]  # each exactly once
    assert "Showing" in _blocks(pages[-1]) and _more(pages[-1]) is None


async def test_more_on_a_question_about_budgets_pages_the_command_it_was_read_as(big_services):
    first, second, *_ = await _follow_more(big_services, "are we over budget?")
    assert "I read this as `/ops budget`" in _blocks(first)
    assert _more(first) == PageRef(command="budget", page=1)
    one, two = _on_each_page([first, second], r"\*(squad-\d\d)\*")
    assert one and two and not one & two


async def test_more_on_the_digest_list_shows_the_next_digests(big_services):
    pages = await _follow_more(big_services, "digest list")
    assert len(pages) >= 2
    seen = _on_each_page(pages, r"`(squad-digest-\d\d)`")
    assert seen[0] and seen[1] and not seen[0] & seen[1], "page 2 repeated page 1"
    every = [name for page in seen for name in page]
    assert sorted(every) == [f"squad-digest-{n:02d}" for n in range(EXTRA)]
    assert all("`weekly-ops`" not in _blocks(page) for page in pages[1:])


async def test_more_on_a_team_scorecard_lists_the_pipelines_after_the_first_five(
    big_services, monkeypatch
):
    card = big.scorecard(failing=14)

    async def fourteen_failing(deps: Any, team: str) -> Any:
        assert team == "ml-platform"
        return card

    monkeypatch.setattr("bot.commands.pipelines.team_scorecard", fourteen_failing)
    pages = await _follow_more(big_services, "status team:ml")
    refs = [_more(page) for page in pages[:-1]]
    # "ml" was read as ml-platform; More re-runs what was asked, page by page.
    assert {ref.command for ref in refs if ref} == {"status team:ml"}
    seen = _on_each_page(pages, r"\*`(p\d{3})`\*")
    assert len(seen[0]) == 5 and seen[1] and not seen[0] & seen[1]
    every = [name for page in seen for name in page]
    assert sorted(every) == [f"p{n:03d}" for n in range(14)]
