"""Open incidents in Slack: the `/ops incidents` answer (a page at a time) and the incident lines
the scorecard, Home tab and digests embed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from bot.incidents.queries import RootPost
from bot.store.models import Incident, IncidentStatus
from bot.views.format import link, partial_note, slack_date
from bot.views.limits import fit_message, truncate
from bot.views.mrkdwn import context, escape, header, section
from bot.views.owners import channel_ref, person_ref
from bot.views.paging import more_blocks, page_of
from bot.views.reply import Block, Reply
from integrations.models import SourceProblem

PER_PAGE = 15
TITLE_MAX = 200

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "error": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def thread_url(post: RootPost) -> str:
    """A link to the incident's thread (Slack opens it in the reader's workspace)."""
    return f"https://slack.com/archives/{post.channel}/p{post.ts.replace('.', '')}"


def incident_text(incident: Incident, tz: tzinfo, *, thread: RootPost | None = None) -> str:
    """`:red_circle: *Title* · critical` then team, since, alert count, ack and thread."""
    emoji = SEVERITY_EMOJI.get(incident.severity, ":white_circle:")
    title = escape(truncate(" ".join(incident.title.split()), TITLE_MAX))
    first = f"{emoji} *{title}* · {escape(incident.severity)}"
    parts = [
        f"`{escape(incident.team)}`",
        f"since {slack_date(_moment(incident.opened_at), tz)}",
        f"{incident.alert_count} alert{'s' if incident.alert_count != 1 else ''}",
    ]
    if incident.status == IncidentStatus.acknowledged:
        who = person_ref(incident.acknowledged_by) if incident.acknowledged_by else "someone"
        parts.append(f"ack'd by {who}")
    else:
        parts.append("*not acknowledged*")
    if thread is not None:
        parts.append(f"{link(thread_url(thread), 'thread')} in {channel_ref(thread.channel)}")
    elif incident.channel:
        parts.append(f"in {channel_ref(incident.channel)}")
    if incident.url:
        parts.append(link(incident.url, "source"))
    return first + "\n" + " · ".join(parts)


def incidents_headline(incidents: Sequence[Incident], *, team: str | None = None) -> str:
    where = f" for *{escape(team)}*" if team else ""
    if not incidents:
        return f":white_check_mark: No open incidents{where}."
    critical = sum(i.severity == "critical" for i in incidents)
    unacked = sum(i.status == IncidentStatus.open for i in incidents)
    count = f"{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}"
    notes = [f"{critical} critical"] if critical else []
    if unacked:
        notes.append(f"{unacked} not acknowledged")
    emoji = ":rotating_light:" if critical else ":warning:"
    # The team stays outside the count's bold: Slack does not nest *bold*.
    return f"{emoji} *{count}*{where}" + (f" ({', '.join(notes)})" if notes else "") + "."


def incident_blocks(
    incidents: Sequence[Incident],
    *,
    tz: tzinfo = UTC,
    limit: int = 5,
    threads: Mapping[int, RootPost] | None = None,
    more_command: str = "incidents",
) -> list[Block]:
    """Up to `limit` incident lines, most severe first, and how many were left out with the
    command listing them all (`more_command`); for the scorecard, the Home tab and digests (no
    headline: the caller has its own)."""
    threads = threads or {}
    shown = list(incidents[: max(limit, 0)])
    blocks: list[Block] = [
        section(incident_text(i, tz, thread=threads.get(i.id or -1))) for i in shown
    ]
    if len(incidents) > len(shown):
        rest = len(incidents) - len(shown)
        blocks.append(context(f"…and {rest} more: `/ops {escape(more_command)}`."))
    return blocks


def render_incidents(
    incidents: Sequence[Incident],
    *,
    tz: tzinfo,
    team: str | None = None,
    threads: Mapping[int, RootPost] | None = None,
    command: str = "incidents",
    page: int = 0,
    problems: Sequence[SourceProblem] = (),
) -> Reply:
    """The `/ops incidents` answer: a one-line count, then each open incident."""
    headline = incidents_headline(incidents, team=team)
    title = "Open incidents" + (f" · {team.replace('<', '‹').replace('>', '›')}" if team else "")
    blocks: list[Block] = [header(title), section(headline)]
    shown, more = page_of(list(incidents), page, PER_PAGE)
    threads = threads or {}
    blocks += [section(incident_text(i, tz, thread=threads.get(i.id or -1))) for i in shown]
    if more:
        blocks += more_blocks(
            command=command, page=page, shown=page * PER_PAGE + len(shown), total=len(incidents)
        )
    if partial := partial_note(problems):
        blocks.append(partial)
    return Reply(text=headline, blocks=fit_message(blocks))
