"""`/ops owners THING` in Slack, and the mentions of people and channels other views reuse."""

from __future__ import annotations

import re

from bot.answers.entities import Unknown
from bot.answers.owners import Owned, OwnersAnswer, TeamCard
from bot.views.format import code, money, partial_note
from bot.views.intent import suggestion_buttons
from bot.views.limits import FIELD_TEXT_MAX, SECTION_TEXT_MAX, fit_message, join_within
from bot.views.mrkdwn import context, escape, fields, header, section
from bot.views.reply import Block, Reply

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,20}$")

KIND_WORDS = {
    "team": "team",
    "pipeline": "pipeline",
    "model": "model",
    "service": "cloud service",
    "tag": "cost-allocation tag",
}
CONFIG_KEYS = {
    "pipeline": "ownership.pipelines",
    "model": "ownership.models",
    "service": "ownership.services",
    "tag": "ownership.cost_allocation",
    "team": "teams",
}


def channel_ref(channel: str) -> str:
    """`<#C…>` for a channel id (Slack shows its name), the escaped `#name` otherwise."""
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else escape(channel)


def person_ref(user_or_group: str) -> str:
    """`<@U…>` for a user, `<!subteam^S…>` for a user group; anything else escaped.

    Slack shows these as names, and an ephemeral answer notifies nobody; an answer posted for a
    channel goes through `Reply.quiet()` first, so asking "who owns churn?" pings no one."""
    if _USER_ID.match(user_or_group):
        return f"<@{user_or_group}>"
    if _GROUP_ID.match(user_or_group):
        return f"<!subteam^{user_or_group}>"
    return escape(user_or_group)


def _subject(item: Owned) -> str:
    if item.kind == "tag" and item.tag_key:
        return f"{code(item.tag_key + '=' + item.name)} ({KIND_WORDS['tag']})"
    return f"{code(item.name)} ({KIND_WORDS[item.kind]})"


def team_fields(card: TeamCard) -> list[str]:
    """The team's people and channel as section fields (leads, on-call, channel, members)."""
    leads = join_within([person_ref(u) for u in card.leads], FIELD_TEXT_MAX - 20) or "—"
    fields = [
        f"*Leads*\n{leads}",
        f"*On-call*\n{person_ref(card.oncall) if card.oncall else '—'}",
        f"*Channel*\n{channel_ref(card.channel)}",
        f"*People*\n{card.members}"
        + (f" · group {person_ref(card.usergroup)}" if card.usergroup else ""),
    ]
    if card.pipelines is not None or card.models is not None:
        fields.append(f"*Owns*\n{card.pipelines or 0} pipelines · {card.models or 0} models")
    if card.budget is not None:
        amount = money(card.budget.monthly, card.budget.currency, cents=False)
        fields.append(f"*Budget*\n{amount} a month")
    elif card.pipelines is not None:
        fields.append("*Budget*\nnone in ops.yml")
    return fields


def owners_headline(answer: OwnersAnswer) -> str:
    parts = []
    for item in answer.subjects:
        if item.kind == "team":
            card = answer.teams.get(item.name)
            parts.append(f"*{escape(card.name if card else item.name)}* is a team")
        elif item.team is None:
            parts.append(f"{_subject(item)} has no owner in ops.yml")
        else:
            card = answer.teams.get(item.team)
            who = escape(card.name) if card else escape(item.team)
            parts.append(f"{_subject(item)} is owned by *{who}*")
    return "; ".join(parts) + "."


def _subject_block(item: Owned, answer: OwnersAnswer) -> list[Block]:
    if item.team is None:
        key = CONFIG_KEYS[item.kind]
        return [section(f"No team owns {_subject(item)}: add it under `{key}` in ops.yml.")]
    card = answer.teams.get(item.team)
    if card is None:
        return [section(f"{_subject(item)} → `{escape(item.team)}`, a team ops.yml does not list.")]
    text = f"*{escape(card.name)}* (`{escape(card.slug)}`)"
    if item.kind != "team" and len(answer.subjects) > 1:
        text = f"{_subject(item)} → {text}"
    if fed := answer.models_fed.get(item.name):
        room = SECTION_TEXT_MAX - len(text) - 20
        text += "\nFeeds models " + join_within([code(m) for m in fed], room)
    return [section(text), fields(team_fields(card))]


def render_owners(answer: OwnersAnswer) -> Reply:
    """Who owns THING: the owning team's leads, on-call and channel; for a team, what it owns."""
    headline = owners_headline(answer)
    blocks: list[Block] = [header("Owners"), section(headline)]
    for item in answer.subjects:
        blocks += _subject_block(item, answer)
    if partial := partial_note(answer.problems):
        blocks.append(partial)
    return Reply(text=headline, blocks=fit_message(blocks))


def render_owners_unknown(found: Unknown) -> Reply:
    """THING names nothing known: say what was searched, and the closest names."""
    text = (
        f"I don't know who owns {code(found.asked)}: it is not a pipeline, model, team, "
        "cost center or cloud service I know."
    )
    if found.suggestions:
        text += " Did you mean " + " or ".join(code(s) for s in found.suggestions[:3]) + "?"
    blocks: list[Block] = [section(text)]
    if found.suggestions:
        options = [(f"/ops owners {s}", f"owners {s}") for s in found.suggestions[:3]]
        blocks.append(suggestion_buttons(options))
    blocks.append(
        context(
            "Owners come from `ownership:` and `teams:` in ops.yml; names from the "
            "orchestrators and the model registry."
        )
    )
    return Reply(text=text, blocks=blocks)
