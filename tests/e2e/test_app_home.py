"""App Home: the user's teams at a glance, published with views.publish, valid for Slack."""

from __future__ import annotations

import asyncio
import json

from bot.views.ids import Action
from tests.e2e.conftest import wait_until
from tests.fakeslack import payloads as P
from tests.fakeslack.blockkit import validate_blocks


async def _home_of(app, user: str) -> dict:  # type: ignore[no-untyped-def]
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user}",
        "tab": "home",
        "event_ts": "1790000003.000100",
    }
    await app.signer.event(event=event)
    slack = app.slack
    assert await asyncio.to_thread(
        wait_until,
        lambda: any(c.params["user_id"] == user for c in slack.calls_to("views.publish")),
        20,
    )
    call = next(c for c in slack.calls_to("views.publish") if c.params["user_id"] == user)
    view = call.params["view"]
    return view if isinstance(view, dict) else json.loads(view)


async def test_ml_platform_lead_sees_their_team_over_budget_and_recs_unhealthy(demo_app):
    demo_app.slack.users["U0ML0EVA"] = P.user("U0ML0EVA", "eva", "Eva", "Europe/Berlin")
    view = await _home_of(demo_app, "U0ML0EVA")
    assert view["type"] == "home"
    text = str(view["blocks"])
    assert "ML Platform" in text
    assert "ml-platform* will go over budget" in text
    assert "recs" in text and "drifting" in text
    assert "Data Engineering" not in text  # only the user's own team
    assert len(view["blocks"]) <= 100
    assert validate_blocks(view["blocks"], surface="home") == []


async def test_home_has_request_buttons_and_ask_me_help(demo_app):
    demo_app.slack.users["U0ML0EVA"] = P.user("U0ML0EVA", "eva", "Eva", "Europe/Berlin")
    view = await _home_of(demo_app, "U0ML0EVA")
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert Action.home_request_promotion in ids and Action.home_request_budget in ids
    assert "is churn healthy?" in str(view["blocks"])


async def test_user_in_no_team_sees_every_team_with_a_hint(demo_app):
    view = await _home_of(demo_app, "U_ALICE")
    text = str(view["blocks"])
    assert "in no team" in text
    assert "data-eng" in text and "analytics" in text  # every team's budget line
    assert validate_blocks(view["blocks"], surface="home") == []
