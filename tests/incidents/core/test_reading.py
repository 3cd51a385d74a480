"""Reading incidents the service wrote: `/ops incident ID` (its timeline), `/ops incidents all`,
and the thread links `/ops incidents` gives."""

from __future__ import annotations

import json
from datetime import UTC
from urllib.parse import urlsplit

from bot.commands.grammar import ParsedCommand, parse
from bot.incidents.alerts import AlertEvent, AlertStatus
from bot.incidents.queries import (
    incident_with_timeline,
    open_incidents,
    recent_incidents,
    root_posts,
)
from bot.views.incidents import incident_timeline, render_incidents
from tests.fakeslack import FakeSlack, validate_blocks
from tests.incidents.core.conftest import ANNA, DATA_CHANNEL, deliver
from tests.incidents.core.test_service import CHURN_DRIFT, alert


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


def thread_links(reply_blocks: list[dict], title: str) -> list[str]:
    """The URL of the `thread` link on the line of the incident titled `title`."""
    lines = [b["text"]["text"] for b in reply_blocks if b["type"] == "section"]
    [line] = [t for t in lines if f"*{title}*" in t]
    return [part.split("|", 1)[0] for part in line.split("<")[1:] if part.endswith("|thread> in ")]


async def test_a_linked_incidents_link_opens_the_upstream_thread_at_its_reply(
    service, sender, slack: FakeSlack
):
    await service.ingest([alert()])
    drift = CHURN_DRIFT
    await service.ingest([drift])  # downstream of nightly_orders: a reply in its thread
    await deliver(sender)
    [root, reply] = slack.calls_to("chat.postMessage")
    assert reply.response is not None and root.response is not None
    root_ts, reply_ts = root.response["ts"], reply.response["ts"]
    assert (reply.params["channel"], reply.params["thread_ts"]) == (DATA_CHANNEL, root_ts)

    listed = open_incidents(service.engine, team=None)
    answer = render_incidents(listed, tz=UTC, threads=root_posts(service.engine, listed))
    assert validate_blocks(answer.blocks) == []
    archive = f"https://slack.com/archives/{DATA_CHANNEL}/p"
    # mrkdwn escapes the & of a link's URL; Slack reads it back as &
    assert thread_links(answer.blocks, "churn drifts") == [
        f"{archive}{reply_ts.replace('.', '')}?thread_ts={root_ts}&amp;cid={DATA_CHANNEL}"
    ]
    assert thread_links(answer.blocks, "nightly_orders failed") == [
        f"{archive}{root_ts.replace('.', '')}"  # a root's link stays the plain archive link
    ]
    # the shape Slack's own permalink for that reply has (only the host differs)
    permalink = slack.dispatch(
        "chat.getPermalink",
        {"channel": DATA_CHANNEL, "message_ts": reply_ts},
        {"authorization": "Bearer xoxb-1"},
    )["permalink"]
    [shown] = thread_links(answer.blocks, "churn drifts")
    ours, theirs = urlsplit(shown.replace("&amp;", "&")), urlsplit(permalink)
    assert (ours.path, ours.query) == (theirs.path, theirs.query)
