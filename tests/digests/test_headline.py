"""The headline says what changed since the previous digest of the same name: new failures,
recoveries, models over or back under thresholds, budgets that changed status, incidents opened
and resolved. What merely continues is not news; with nothing new the quiet rule applies."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.digests.compose import compose_digest
from bot.store.models import Incident
from tests.digests.conftest import DEMO_NOW, digest, text_of


async def _state(services, name: str) -> dict:  # type: ignore[no-untyped-def]
    composed = await compose_digest(services, digest(services, name), now=DEMO_NOW, previous=None)
    assert composed is not None
    # What the poster stores: JSON through and through.
    state: dict = json.loads(json.dumps(composed.state))
    return state


async def test_only_what_changed_since_the_previous_state_is_headline_news(demo_services):
    state = await _state(demo_services, "weekly-ops")
    failing = dict(state["failing"])
    assert "nightly_orders" in failing
    healthy = next(p for p in state["pipelines"] if p not in failing)
    fine = next(m for m in sorted(state["models_known"]) if m not in state["models"])
    previous = copy.deepcopy(state)
    # Last time: nightly_orders was fine and `healthy` was failing; recs was already drifting,
    # `fine` was over a threshold; ml-platform's budget was on track.
    del previous["failing"]["nightly_orders"]
    previous["failing"][healthy] = 3
    previous["models"][fine] = ["drift 0.40 above threshold 0.25"]
    previous["budgets"]["ml-platform"] = "on track"
    previous["at"] = (DEMO_NOW - timedelta(days=7)).isoformat()
    composed = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=previous
    )
    assert composed is not None and not composed.quiet
    root = text_of(composed.blocks)
    assert "What changed since Mon 16 Nov 13:00 CET" in root
    assert f"nightly_orders failing ({failing['nightly_orders']} failed runs in a row)" in root
    assert f"{healthy} recovered" in root
    assert f"model {fine} back within its thresholds" in root
    assert "ML Platform's budget is at risk" in root
    # Failures and a drift already reported are not news again.
    for name in failing:
        if name != "nightly_orders":
            assert f"{name} failing" not in root
    assert "model recs over a threshold" not in root


async def test_incidents_opened_and_resolved_since_the_last_digest(demo_services):
    state = await _state(demo_services, "weekly-ops")
    now = DEMO_NOW.timestamp()
    with Session(demo_services.engine) as session:
        incident = Incident(
            fingerprint="fp-digest-1",
            open_key="fp-digest-1",
            title="ModelLatencyHigh search_ranking",
            team="ml-platform",
            severity="critical",
            source="alertmanager",
            opened_at=now,
            last_alert_at=now,
        )
        session.add(incident)
        session.commit()
        session.refresh(incident)
        opened = incident.id
    try:
        previous = copy.deepcopy(state)
        previous["incidents"] = {"999": "Disk full on warehouse"}
        composed = await compose_digest(
            demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=previous
        )
        assert composed is not None
        root = text_of(composed.blocks)
        assert "incident opened: ModelLatencyHigh search_ranking (critical)" in root
        assert "incident no longer open: Disk full on warehouse" in root
        assert composed.state["incidents"] == {str(opened): "ModelLatencyHigh search_ranking"}
        # ml-daily (ml-platform) sees it; a digest of another team does not.
        scoped = await compose_digest(
            demo_services,
            digest(demo_services, "ml-daily", teams=["data-eng"]),
            now=DEMO_NOW,
            previous=None,
        )
        assert scoped is not None
        assert "ModelLatencyHigh" not in text_of(scoped.blocks)
    finally:
        with Session(demo_services.engine) as session:
            found = session.get(Incident, opened)
            session.delete(found)
            session.commit()


@pytest.mark.parametrize("mode", ["skip", "short", "full"])
async def test_quiet_rule_with_nothing_changed(demo_services, mode):
    chosen = digest(demo_services, "weekly-ops", when_quiet=mode)
    state = await _state(demo_services, "weekly-ops")
    state["at"] = (DEMO_NOW - timedelta(days=1)).isoformat()
    composed = await compose_digest(demo_services, chosen, now=DEMO_NOW, previous=state)
    if mode == "skip":
        assert composed is None
        return
    assert composed is not None and composed.quiet
    if mode == "short":
        assert len(composed.blocks) == 1 and composed.replies == [] and composed.chart is None
        assert text_of(composed.blocks).strip() == (
            "weekly-ops: nothing changed since Sun 22 Nov 13:00 CET."
        )
        assert composed.text == "weekly-ops: nothing changed since Sun 22 Nov 13:00 CET."
    else:
        root = text_of(composed.blocks)
        assert "Nothing changed since Sun 22 Nov 13:00 CET." in root
        assert composed.text == "Digest weekly-ops: nothing changed."
        assert "Pipelines:" in root and composed.replies and composed.chart is not None


@pytest.mark.parametrize("mode", ["skip", "short", "full"])
async def test_a_change_is_posted_in_full_whatever_the_quiet_rule(demo_services, mode):
    chosen = digest(demo_services, "weekly-ops", when_quiet=mode)
    state = await _state(demo_services, "weekly-ops")
    state["failing"] = {}  # last time nothing was failing
    composed = await compose_digest(demo_services, chosen, now=DEMO_NOW, previous=state)
    assert composed is not None and not composed.quiet
    assert "nightly_orders failing" in text_of(composed.blocks)
    assert len(composed.replies) == 1 + len(chosen.sections)
    # The notification says how many things changed and starts with them.
    # Only the failures are new (everything else is as it was): one change each.
    assert composed.text.startswith(
        f"Digest weekly-ops: {len(composed.state['failing'])} changes: "
    )
    assert "nightly_orders failing" in composed.text


async def test_a_late_digest_says_so_and_by_how_much(demo_services):
    composed = await compose_digest(
        demo_services,
        digest(demo_services, "weekly-ops"),
        now=DEMO_NOW,
        previous=None,
        late_by=timedelta(minutes=25),
    )
    assert composed is not None
    # Due 25 minutes before DEMO_NOW (12:00 UTC = 13:00 in Berlin).
    assert "Late by 25 min: this digest was due Mon 23 Nov 12:35 CET." in text_of(composed.blocks)
    on_time = await compose_digest(
        demo_services, digest(demo_services, "weekly-ops"), now=DEMO_NOW, previous=None
    )
    assert on_time is not None and "Late by" not in text_of(on_time.blocks)
