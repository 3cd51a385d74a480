"""Open incidents in Slack: the `/ops incidents` answer (a page at a time) and the incident lines
the scorecard, Home tab and digests embed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.incidents.queries import RootPost
from bot.store.models import Incident, IncidentStatus
from bot.views.format import code, duration, link, local_time, partial_note, slack_date
from bot.views.ids import Action, BlockId, Callback, FormField
from bot.views.limits import fit_message, lines_within, truncate
from bot.views.mrkdwn import actions, button, context, escape, fields, header, section
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
    """A link to the incident's thread (Slack opens it in the reader's workspace), in the shape
    of chat.getPermalink's: a reply in another incident's thread carries `thread_ts` and `cid`,
    so the thread opens at it (without them Slack shows the channel, not the reply)."""
    url = f"https://slack.com/archives/{post.channel}/p{post.ts.replace('.', '')}"
    if post.thread_ts and post.thread_ts != post.ts:
        url += f"?thread_ts={post.thread_ts}&cid={post.channel}"
    return url


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
    if incident.status == IncidentStatus.resolved:
        parts.append("resolved")
    elif incident.status == IncidentStatus.acknowledged:
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


# -- the incident thread: its root message (updated in place) and its replies -----------------
INSTANCES_SHOWN = 10
STATE_EMOJI = {
    "open": ":rotating_light:",
    "acknowledged": ":eyes:",
    "resolved": ":white_check_mark:",
}


@dataclass(frozen=True)
class RootView:
    """What the root message of one incident shows (built by the incident service)."""

    id: int
    title: str
    severity: str
    state: str
    team: str
    team_name: str
    oncall: str | None
    source: str
    summary: str
    started: float
    last_seen: float
    alerts: int
    instances: Sequence[str]  # the firing instances' names (fingerprints), newest first
    truncated: int  # instances the sender left out (Alertmanager's truncatedAlerts)
    links: Sequence[tuple[str, str]]
    acked_by: str | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    resolve_note: str | None = None
    route_note: str | None = None  # why a fallback channel got it
    caused_by: str | None = None  # "nightly_orders failing (open 2h 05m)"
    linked: Sequence[str] = ()  # downstream incidents joined to this thread
    muted_until: float | None = None
    silence_id: str | None = None


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def root_message(view: RootView, *, now: float) -> dict[str, Any]:
    """The root (or a linked incident's message) as chat.postMessage/chat.update payload:
    severity, summary, owner team, on-call, when it started, links, state, counts and the
    buttons while it is not resolved."""
    emoji = SEVERITY_EMOJI.get(view.severity, ":white_circle:")
    title = escape(truncate(" ".join(view.title.split()), TITLE_MAX))
    state = view.state
    headline = f"{emoji} *{escape(view.severity.upper())}* · {title}"
    if state == IncidentStatus.resolved:
        headline = f"{STATE_EMOJI['resolved']} ~{escape(view.severity.upper())}~ · {title}"
    blocks: list[Block] = [section(headline)]
    if view.caused_by:
        blocks.append(section(f":link: Probably caused by *{escape(view.caused_by)}*"))
    if view.summary:
        blocks.append(section(escape(truncate(view.summary, 2000))))
    state_text = f"{STATE_EMOJI.get(state, '')} {state}"
    if state == IncidentStatus.acknowledged and view.acked_by:
        state_text += f" by {person_ref(view.acked_by)}"
    if state == IncidentStatus.resolved and view.resolved_at is not None:
        took = duration(timedelta(seconds=max(0.0, view.resolved_at - view.started)))
        by = f" by {person_ref(view.resolved_by)}" if view.resolved_by else ""
        state_text += f"{by} after {took}"
    oncall = person_ref(view.oncall) if view.oncall else "—"
    counts = f"{view.alerts} alert{'s' if view.alerts != 1 else ''}"
    shown_instances = len(view.instances) + view.truncated
    if shown_instances > 1:
        counts += f" · {shown_instances} instances"
    blocks.append(
        fields(
            [
                f"*State*\n{state_text}",
                f"*Owner*\n{escape(view.team_name)}",
                f"*On-call*\n{oncall}",
                f"*Started*\n{slack_date(_when(view.started), UTC)}",
                f"*Last seen*\n{slack_date(_when(view.last_seen), UTC)}",
                f"*Alerts*\n{counts}",
            ]
        )
    )
    if len(view.instances) > 1 or view.truncated:
        names = [code(i) for i in view.instances[:INSTANCES_SHOWN]]
        more = len(view.instances) - len(names) + view.truncated
        listed = ", ".join(names) + (f" +{more} more" if more else "")
        blocks.append(section(f"*Firing instances:* {listed}"))
    if view.linked:
        blocks.append(section("*Linked incidents:* " + "; ".join(escape(x) for x in view.linked)))
    if view.resolve_note and state == IncidentStatus.resolved:
        blocks.append(section(f"*Resolution note:* {escape(truncate(view.resolve_note, 1500))}"))
    notes = [link(url, label) for label, url in view.links[:8]]
    if view.muted_until and view.muted_until > now and state != IncidentStatus.resolved:
        silence = f" (Alertmanager silence `{escape(view.silence_id)}`)" if view.silence_id else ""
        notes.append(f":mute: silenced until {slack_date(_when(view.muted_until), UTC)}{silence}")
    if view.route_note:
        notes.append(f":twisted_rightwards_arrows: {escape(view.route_note)}")
    notes.append(f"#{view.id} · from {escape(view.source)}")
    blocks.append(context(" · ".join(notes)))
    if state != IncidentStatus.resolved:
        blocks.append(incident_buttons(view, now=now))
    text = f"{view.severity.upper()} · {' '.join(view.title.split())} · {state}"
    return {"text": truncate(text, 300), "blocks": fit_message(blocks)}


def incident_buttons(view: RootView, *, now: float) -> Block:
    value = str(view.id)
    elements = []
    if view.state == IncidentStatus.open:
        elements.append(
            button("Acknowledge", action_id=Action.incident_ack, value=value, style="primary")
        )
    elements.append(button("Resolve", action_id=Action.incident_resolve, value=value))
    if view.muted_until and view.muted_until > now:
        elements.append(button("Unsilence", action_id=Action.incident_unsilence, value=value))
    else:
        elements.append(silence_select(view.id))
    return actions(*elements, block_id=f"{BlockId.incident}_{view.id}")


SILENCE_HOURS = (1, 4, 24)


def silence_select(incident_id: int) -> Block:
    """Silence 1 h / 4 h / 24 h, as one menu (an actions block needs unique action ids)."""
    options = [
        {
            "text": {"type": "plain_text", "text": f"Silence {hours}h"},
            "value": f"{incident_id}:{hours}",
        }
        for hours in SILENCE_HOURS
    ]
    return {
        "type": "static_select",
        "action_id": Action.incident_silence,
        "placeholder": {"type": "plain_text", "text": "Silence…"},
        "options": options,
    }


def news_reply(lines: Sequence[str]) -> dict[str, Any]:
    """One thread reply with everything new since the last (a burst is one reply)."""
    text = lines_within([f"• {line}" for line in lines], 2800, more="…and {n} more updates")
    return {"text": truncate(" · ".join(lines), 300), "blocks": [section(text)]}


def incident_timeline(
    incident: Incident, events: Sequence[tuple[float, str, str | None, str | None]], *, tz: tzinfo
) -> Reply:
    """`/ops incident ID`: the incident and its timeline (when, what, who, detail)."""
    blocks: list[Block] = [
        header(f"Incident #{incident.id}"),
        section(incident_text(incident, tz)),
    ]
    lines = []
    for at, kind, actor, detail in events:
        who = f" by {person_ref(actor)}" if actor else ""
        said = f": {escape(detail)}" if detail else ""
        lines.append(f"{local_time(_when(at), tz)} · *{escape(kind)}*{who}{said}")
    if lines:
        blocks.append(section(lines_within(lines[-40:], 2900, more="…and {n} earlier")))
    return Reply(text=f"Incident #{incident.id}: {incident.title}", blocks=fit_message(blocks))


# Why usergroups.users.list failed, in the words of what to do about it.
LOOKUP_HINTS = {
    "no_such_subteam": "that group does not exist: an admin should fix the team's oncall in "
    "ops.yml",
    "missing_scope": "Switchboard lacks the usergroups:read scope: an admin should reinstall it "
    "from manifest.yml",
}


def oncall_unknown(*, incident_id: int, team_name: str, group: str, reason: str) -> str:
    """Plain text for someone whose click needed Slack to say who is in the owning team's on-call
    user group, when Slack did not: nothing was done, why, and who can act meanwhile."""
    hint = LOOKUP_HINTS.get(reason, "try again in a minute")
    return (
        f"Nothing was done to incident #{incident_id}: I could not check whether you are in "
        f"{group}, the {team_name} on-call group (Slack: {reason}; {hint}). Its members and "
        "leads and Switchboard admins can act meanwhile."
    )


def resolve_modal(incident: Incident) -> dict[str, Any]:
    """Resolve incident #N, with an optional note shown on the root and in the thread."""
    title = escape(truncate(" ".join(incident.title.split()), TITLE_MAX))
    return {
        "type": "modal",
        "callback_id": Callback.incident_resolve_note,
        "title": {"type": "plain_text", "text": "Resolve incident"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": str(incident.id),
        "blocks": [
            section(f"Resolving *#{incident.id}* {title} ({escape(incident.team)})."),
            {
                "type": "input",
                "block_id": FormField.note,
                "optional": True,
                "label": {"type": "plain_text", "text": "What fixed it? (optional)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FormField.note,
                    "multiline": True,
                    "max_length": 1500,
                },
            },
        ],
    }
