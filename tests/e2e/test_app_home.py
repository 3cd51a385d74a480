"""App Home: the user's teams at a glance, published with views.publish, valid for Slack."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.views.ids import Action
from tests.e2e.conftest import wait_until
from tests.fakeslack import payloads as P
from tests.fakeslack.blockkit import validate_blocks, validate_view


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


async def _budget_modal(app, user: str) -> dict:  # type: ignore[no-untyped-def]
    home = {"type": "home", "id": "V_HOME", "blocks": []}
    resp = await app.signer.block_actions(Action.home_request_budget, user_id=user, view=home)
    assert resp.status_code == 200
    slack = app.slack
    assert await asyncio.to_thread(wait_until, lambda: slack.calls_to("views.open"), 20)
    view = slack.calls_to("views.open")[-1].params["view"]
    return view if isinstance(view, dict) else json.loads(view)


def _own_app(slack, tmp_path, budgets: dict):  # type: ignore[no-untyped-def]
    """The app over ops.example.yml with the test's own `budgets:` (and no cost source)."""
    import yaml

    from tests.e2e.conftest import _run

    doc = yaml.safe_load(Path("ops.example.yml").read_text(encoding="utf-8"))
    doc["budgets"] = budgets
    doc["sources"] = {}
    path = tmp_path / "ops.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return _run(slack, f"sqlite:///{tmp_path / 'e2e.db'}", config=path)


async def test_the_budget_modal_offers_only_teams_that_have_a_budget(slack, tmp_path):
    running = _own_app(
        slack, tmp_path, {"analytics": {"monthly": 2000}, "ml-platform": {"monthly": 9000}}
    )
    app = next(running)
    try:
        view = await _budget_modal(app, "U0FI0MARTA")
    finally:
        running.close()
    team = next(b for b in view["blocks"] if b.get("block_id") == "team")
    offered = [(o["value"], o["text"]["text"]) for o in team["element"]["options"]]
    assert offered == [("ml-platform", "ML Platform"), ("analytics", "Analytics")]  # ops.yml order
    assert validate_view(view) == []


async def test_with_no_budget_anywhere_the_modal_says_so_and_asks_nothing(slack, tmp_path):
    running = _own_app(slack, tmp_path, {})
    app = next(running)
    try:
        view = await _budget_modal(app, "U0ML0EVA")
    finally:
        running.close()
    assert "submit" not in view and not [b for b in view["blocks"] if b["type"] == "input"]
    assert "No team has a budget yet" in json.dumps(view["blocks"])
    assert validate_view(view) == []
