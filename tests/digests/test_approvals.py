"""Approvals waiting are headline news when one is new; the digest names people without
notifying them (it is posted for a whole channel)."""

from __future__ import annotations

import copy
from decimal import Decimal

from bot.digests.compose import compose_digest
from tests.digests.conftest import DEMO_NOW, digest, text_of


async def test_a_new_approval_request_is_news_and_names_people_quietly(demo_services):
    chosen = digest(demo_services, "finops-monthly")
    before = await compose_digest(demo_services, chosen, now=DEMO_NOW, previous=None)
    assert before is not None and before.state["approvals"] == []
    assert demo_services.approvals is not None
    made = await demo_services.approvals.request_budget_increase(
        requester="U0ML0EVA",
        team="ml-platform",
        amount=Decimal(2000),
        reason="bigger GPUs",
        surface="test",
    )
    request_id = getattr(made, "id", None)
    assert request_id is not None, made
    after = await compose_digest(
        demo_services, chosen, now=DEMO_NOW, previous=copy.deepcopy(before.state)
    )
    assert after is not None and not after.quiet
    assert after.state["approvals"] == [str(request_id)]
    assert "1 approval waiting (1 new)" in text_of(after.blocks)
    replies = str(after.replies)
    assert f"#{request_id}" in replies and "@U0ML0EVA" in replies
    assert "<@U0ML0EVA>" not in replies and "<@" not in str(after.blocks)
    # The same request next time is no longer news: with nothing else new the digest is quiet.
    again = await compose_digest(
        demo_services,
        digest(demo_services, "finops-monthly", when_quiet="short"),
        now=DEMO_NOW,
        previous=after.state,
    )
    assert again is not None and again.quiet
    # A team outside the request's does not see it.
    other = await compose_digest(
        demo_services,
        digest(demo_services, "finops-monthly", teams=["analytics"]),
        now=DEMO_NOW,
        previous=None,
    )
    assert other is not None and other.state["approvals"] == []
