"""A digest with many teams and many items stays within Slack's limits: ≤ 50 blocks per message,
≤ 3000 characters per section text, ≤ 150 per header, and valid Block Kit, root and replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.digests.facts import CostWindow, Facts, FailedSpend, ModelCostChange
from bot.digests.headline import Change
from bot.digests.idle import IdleAsset
from bot.ops_config.digests import Digest
from bot.views.digests import details_reply, digest_root, idle_reply
from tests.digests.conftest import DEMO_NOW, digest, text_of
from tests.fakeslack.blockkit import validate_blocks

BERLIN = ZoneInfo("Europe/Berlin")
LONG = "x" * 120


class _Config:
    def models_fed_by(self, pipeline: str) -> list[str]:
        return []

    def team_of_pipeline(self, name: str) -> str | None:
        return None

    def team_of_model(self, name: str) -> str | None:
        return None


def _check(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            limit = 150 if block["type"] == "header" else 3000
            assert len(text["text"]) <= limit, block["type"]
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                assert len(element["text"]) <= 3000
    assert validate_blocks(blocks, surface="message") == []


def _facts(teams: int, items: int) -> tuple[Digest, Facts, list[Change]]:
    slugs = [f"team-{n:03d}" for n in range(teams)]
    chosen = Digest(
        name="everyone",
        channel="C0123OPSWEEK",
        schedule="0 9 * * MON",
        teams=slugs,
        sections=["pipelines", "models", "spend", "budgets", "approvals", "incidents", "idle"],
    )
    window = CostWindow(date(2026, 11, 17), date(2026, 11, 24), date(2026, 11, 10), None)
    facts = Facts(
        digest=chosen,
        teams=tuple(slugs),
        now=datetime(2026, 11, 23, 12, tzinfo=UTC),
        window=window,
        currency="USD",
        statuses=[],
        failing=[],
        late=[],
        pipeline_board=None,
        models=[],
        all_models=[],
        budgets=[],
        budget_board=None,
        approvals=[],
        incidents=[],
        spend=[],
        model_costs=[
            ModelCostChange(f"model_{n}_{LONG}", "USD", Decimal(1000 + n), Decimal(900))
            for n in range(items)
        ],
        pipeline_spend={},
        failed_spend=[
            FailedSpend(f"pipe_{n}_{LONG}", "USD", Decimal(500), Decimal(n), 2, 7)
            for n in range(1, items)
        ],
        missing={"spend": "timed out after 8 s " + LONG * 3},
    )
    changes = [Change("failure", f"pipeline_{n}_{LONG}", count=n) for n in range(items)]
    changes += [
        Change("incident_opened", f"<!channel> {LONG * 5} {n}", "critical") for n in range(items)
    ]
    return chosen, facts, changes


def test_root_and_replies_stay_within_limits_with_many_teams_and_items():
    chosen, facts, changes = _facts(teams=300, items=400)
    names = {t: f"Team {t} {LONG}" for t in chosen.teams or []}
    root = digest_root(
        digest=chosen,
        facts=facts,
        config=_Config(),
        changes=changes,
        idle=[
            IdleAsset("model", f"m{n}", "no serving traffic", Decimal(n), "USD") for n in range(400)
        ],
        previous_at=facts.now - timedelta(days=7),
        first=False,
        late_by=timedelta(hours=3, minutes=5),
        has_chart=True,
        team_names=names,
        tz=BERLIN,
    )
    _check(root)
    text = text_of(root)
    assert f"…and {len(changes) - 8} more in the thread" in text
    assert "Late by 3 h 05 min" in text
    assert "<!channel>" not in str(root)  # peer text is escaped, never a broadcast
    _check(details_reply(facts=facts, changes=changes, tz=BERLIN, title="What changed"))
    _check(
        idle_reply(
            [IdleAsset("pipeline", f"p{n}{LONG}", "why", Decimal(1), "USD") for n in range(500)],
            days=14,
        )
    )


async def test_a_real_digest_for_every_team_fits_with_every_section(demo_services):
    assert demo_services.ops_config is not None
    every = list(demo_services.ops_config.teams)
    from bot.digests.compose import compose_digest

    composed = await compose_digest(
        demo_services,
        digest(
            demo_services,
            "weekly-ops",
            teams=every,
            sections=["pipelines", "models", "spend", "budgets", "approvals", "incidents", "idle"],
        ),
        now=DEMO_NOW,
        previous=None,
    )
    assert composed is not None
    _check(composed.blocks)
    for reply in composed.replies:
        _check(reply)
    assert len(composed.text) <= 3000
    assert set(composed.state["budgets"]) == set(every) - {"finance"}  # finance has no budget
