"""Reading incidents the service wrote: `/ops incident ID` (its timeline), `/ops incidents all`."""

from __future__ import annotations

import json
from datetime import UTC

from bot.commands.grammar import ParsedCommand, parse
from bot.incidents.alerts import AlertEvent, AlertStatus
from bot.incidents.queries import incident_with_timeline, open_incidents, recent_incidents
from bot.views.incidents import incident_timeline
from tests.fakeslack import validate_blocks
from tests.incidents.core.conftest import ANNA


def test_grammar_reads_incident_and_all():
    assert parse("incident 12") == ParsedCommand("incident", ("12",))
    assert parse("incidents team:data-eng all") == ParsedCommand(
        "incidents", ("all",), {"team": "data-eng"}
    )


async def test_timeline_and_all_read_the_store(service, clock):
    event = AlertEvent(
        source="generic:ci", dedup_key="k1", status=AlertStatus.firing, title="CI red"
    )
    [opened] = (await service.ingest([event])).opened
    clock.advance(60)
    service.act(opened, ANNA, "ack")
    clock.advance(60)
    service.act(opened, ANNA, "resolve", note="flaky runner replaced")
    assert open_incidents(service.engine, team=None) == []
    assert [i.id for i in recent_incidents(service.engine, team="data-eng")] == [opened]
    found = incident_with_timeline(service.engine, opened)
    assert found is not None
    incident, events = found
    assert [e.kind for e in events] == ["opened", "acknowledged", "resolved"]
    reply = incident_timeline(incident, [(e.at, e.kind, e.actor, e.detail) for e in events], tz=UTC)
    said = json.dumps(reply.blocks)
    assert validate_blocks(reply.blocks) == []
    assert "*acknowledged* by <@U0DE0ANNA>" in said and "flaky runner replaced" in said
    assert "resolved" in said and "not acknowledged" not in said
