"""Charts go out through the outbox: drawn at send time, uploaded into the answer's thread."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender
from bot.outbox.enqueue import OutboxError
from bot.outbox.files import UPLOAD_METHOD
from bot.surfaces.charts import chart_filename, enqueue_chart
from bot.views.charts import render_chart_png
from bot.views.reply import ChartSpec
from tests.fakeslack import FakeSlack
from tests.test_outbox import PACE, TOKEN, post, run_until_settled

pytestmark = pytest.mark.slow  # real Retry-After and backoff waits between upload attempts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
START = date(2026, 10, 25)
SPEC = ChartSpec(
    title="Daily spend: ml-platform, the last 30 days",
    series=tuple((START + timedelta(days=i), 1200 + 300 * math.sin(i / 3)) for i in range(30)),
    unit="USD",
    alt_text="Daily spend of ml-platform over the last 30 days, peaking at $1,500",
    compare=tuple((START - timedelta(days=30 - i), 1000.0 + i) for i in range(30)),
    limit=1400.0,
)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def outbox(db_engine: Engine) -> Outbox:
    return Outbox(db_engine)


@pytest.fixture
async def sender(db_engine: Engine, slack: FakeSlack) -> AsyncIterator[OutboxSender]:
    made = OutboxSender(
        db_engine,
        base_url=slack.api_url,
        token=TOKEN,
        replica_id="charts",
        channel_pace=PACE,
        lease_seconds=10.0,
        timeout=5.0,  # the first chart of a process also imports matplotlib
        backoff_base=0.05,
        backoff_max=0.2,
    )
    yield made
    await made.aclose()


def shared_files(slack: FakeSlack, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """The file messages in a thread, with the bytes each file holds."""
    found = []
    for message in slack.messages(channel, thread_ts=thread_ts):
        for f in message.get("files", []):
            found.append({**f, "content": slack.files[f["id"]]["content"], "ts": message["ts"]})
    return found


# ---- queueing -----------------------------------------------------------------------------------


async def test_enqueue_chart_returns_the_row_id_and_stores_the_spec_not_the_png(
    outbox: Outbox,
) -> None:
    parent = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart_id = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=parent, thread_ts=None, spec=SPEC
    )
    row = outbox.status(chart_id)
    assert (row.method, row.parent_id, row.status) == (UPLOAD_METHOD, parent, "pending")
    payload = json.loads(row.payload)
    assert payload["filename"] == "daily-spend-ml-platform-the-last-30-days.png"
    assert payload["alt_txt"] == SPEC.alt_text and payload["title"] == SPEC.title
    assert len(payload["chart"]["series"]) == 30
    assert len(row.payload) < len(render_chart_png(SPEC)) / 5


def test_chart_upload_without_a_drawable_spec_is_refused_when_queued(outbox: Outbox) -> None:
    with pytest.raises(OutboxError, match="payload\\['chart'\\]"):
        outbox.enqueue(method=UPLOAD_METHOD, channel="C1", payload={"filename": "a.png"})
    with pytest.raises(OutboxError, match="not a chart spec"):
        outbox.enqueue(
            method=UPLOAD_METHOD,
            channel="C1",
            payload={"filename": "a.png", "chart": {"title": "t", "series": [["nope", 1]]}},
        )
    with pytest.raises(OutboxError, match="filename"):
        outbox.enqueue(method=UPLOAD_METHOD, channel="C1", payload={"chart": {}})


@pytest.mark.parametrize(
    ("title", "filename"),
    [("Daily spend: all teams", "daily-spend-all-teams.png"), ("€€€", "chart.png")],
)
def test_chart_file_is_named_after_its_title(title: str, filename: str) -> None:
    spec = ChartSpec(title=title, series=(), unit="USD", alt_text="")
    assert chart_filename(spec) == filename


# ---- delivery -----------------------------------------------------------------------------------


async def test_chart_is_uploaded_into_the_thread_of_its_answer_after_the_answer(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    answer = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=None, spec=SPEC
    )
    follow_up = post(outbox, "C_SPEND", "budget raised", parent_id=answer)
    await run_until_settled(db_engine, [sender], [answer, chart, follow_up])

    parent_ts = outbox.status(answer).result_ts
    assert [m["text"] for m in slack.messages("C_SPEND")][0] == "ml-platform spent $45k"
    [shared] = shared_files(slack, "C_SPEND", parent_ts)
    assert shared["content"][:8] == PNG_MAGIC
    assert shared["content"] == render_chart_png(SPEC)
    assert shared["title"] == SPEC.title
    assert shared["name"] == "daily-spend-ml-platform-the-last-30-days.png"
    # Thread order is the queue's order: the chart, then the follow-up.
    replies = slack.messages("C_SPEND", thread_ts=parent_ts)
    assert [bool(m.get("files")) for m in replies] == [True, False]
    assert outbox.status(chart).status == "sent"

    [ticket] = slack.calls_to("files.getUploadURLExternal")
    assert ticket.params["alt_txt"] == SPEC.alt_text
    assert int(ticket.params["length"]) == len(shared["content"])
    assert ticket.response is not None
    assert ticket.response["upload_url"].startswith(slack.base_url)
    [upload] = slack.calls_to("file_upload")
    assert "authorization" not in upload.headers  # the token never goes to the upload URL
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C_SPEND"
    assert complete.params["thread_ts"] == parent_ts
    post_answer = slack.calls_to("chat.postMessage")[0]
    assert post_answer.at < ticket.at


async def test_chart_of_an_answer_in_a_users_thread_goes_into_that_thread(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    question = slack.post("C_SPEND", {"text": "@switchboard spend ml-platform"})
    answer = outbox.enqueue(
        method="chat.postMessage",
        channel="C_SPEND",
        payload={"text": "ml-platform spent $45k", "thread_ts": question["ts"]},
    )
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=question["ts"], spec=SPEC
    )
    await run_until_settled(db_engine, [sender], [answer, chart])

    replies = slack.messages("C_SPEND", thread_ts=question["ts"])
    assert [m["ts"] for m in replies][0] == outbox.status(answer).result_ts
    assert [bool(m.get("files")) for m in replies] == [False, True]


async def test_chart_for_a_dm_lands_in_the_dm_channel_its_answer_was_posted_in(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    answer = post(outbox, "U_ALICE", "your team spent $45k")
    chart = await enqueue_chart(
        outbox, channel="U_ALICE", parent_id=answer, thread_ts=None, spec=SPEC
    )
    await run_until_settled(db_engine, [sender], [answer, chart])

    row = outbox.status(answer)
    assert row.result_channel is not None and row.result_channel.startswith("D")
    [shared] = shared_files(slack, row.result_channel, row.result_ts or "")
    assert shared["content"][:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "step", ["files.getUploadURLExternal", "file_upload", "files.completeUploadExternal"]
)
async def test_rate_limited_upload_waits_retry_after_then_shares_the_chart_once(
    step: str, outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    slack.fail_next(step, status=429, retry_after=1)
    answer = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=None, spec=SPEC
    )
    await run_until_settled(db_engine, [sender], [answer, chart])

    [refused] = [c for c in slack.calls_to(step, include_failed=True) if c.status == 429]
    [accepted] = slack.calls_to(step)
    assert accepted.at - refused.at >= 0.95
    [shared] = shared_files(slack, "C_SPEND", outbox.status(answer).result_ts or "")
    assert shared["content"][:8] == PNG_MAGIC
    row = outbox.status(chart)
    assert row.status == "sent" and row.attempts == 1  # a 429 is not a failed attempt


async def test_server_errors_on_upload_are_retried_until_the_chart_is_shared(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    slack.fail_next("files.completeUploadExternal", status=503)
    slack.fail_next("file_upload", status=500)
    answer = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=None, spec=SPEC
    )
    await run_until_settled(db_engine, [sender], [answer, chart])

    assert len(shared_files(slack, "C_SPEND", outbox.status(answer).result_ts or "")) == 1
    row = outbox.status(chart)
    assert row.status == "sent" and row.attempts == 3


async def test_refused_upload_is_dead_and_the_channel_moves_on(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    slack.fail_next("files.completeUploadExternal", error="not_in_channel")
    answer = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=None, spec=SPEC
    )
    after = post(outbox, "C_SPEND", "next answer")
    await run_until_settled(db_engine, [sender], [answer, chart, after])

    row = outbox.status(chart)
    assert (row.status, row.last_error) == ("dead", "not_in_channel")
    assert [m["text"] for m in slack.messages("C_SPEND")][-1] == "next answer"


async def test_chart_of_an_answer_that_was_never_posted_is_not_uploaded(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, sender: OutboxSender
) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    answer = post(outbox, "C_GONE", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_GONE", parent_id=answer, thread_ts=None, spec=SPEC
    )
    await run_until_settled(db_engine, [sender], [answer, chart])

    assert outbox.status(chart).status == "dead"
    assert slack.calls_to("files.getUploadURLExternal", include_failed=True) == []


async def test_chart_survives_a_sender_restart_between_answer_and_upload(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_chart_sender: Callable[[], Any]
) -> None:
    answer = post(outbox, "C_SPEND", "ml-platform spent $45k")
    chart = await enqueue_chart(
        outbox, channel="C_SPEND", parent_id=answer, thread_ts=None, spec=SPEC
    )
    first = make_chart_sender()
    await first.drain_once()  # posts the answer only: the chart's channel is paced
    await first.aclose()
    assert outbox.status(answer).status == "sent" and outbox.status(chart).status == "pending"

    await run_until_settled(db_engine, [make_chart_sender()], [chart])
    assert len(shared_files(slack, "C_SPEND", outbox.status(answer).result_ts or "")) == 1


@pytest.fixture
async def make_chart_sender(
    db_engine: Engine, slack: FakeSlack
) -> AsyncIterator[Callable[[], OutboxSender]]:
    made: list[OutboxSender] = []

    def make() -> OutboxSender:
        sender = OutboxSender(
            db_engine,
            base_url=slack.api_url,
            token=TOKEN,
            replica_id=f"charts-{len(made)}",
            channel_pace=PACE,
            lease_seconds=10.0,
            timeout=5.0,
        )
        made.append(sender)
        return sender

    yield make
    for s in made:
        await s.aclose()
