"""Block Kit as readable terminal text, for `switchboard ask` (same blocks Slack would show)."""

from __future__ import annotations

import re
from typing import Any

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]+)>")
_USER = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]+))?>")


def _mention(m: re.Match[str]) -> str:
    """<@U1> → @U1, <#C1|general> → #general, <!subteam^S1|@oncall> → @oncall, <!here> → @here."""
    kind, target, label = m.group(1), m.group(2), m.group(3)
    if label:
        return label if label.startswith(("@", "#")) else ("#" if kind == "#" else "@") + label
    if kind == "!":
        return "@" + target.split("^")[-1]
    return kind + target


def _emphasis(text: str, ansi: bool) -> str:
    bold = "\033[1m\\1\033[0m" if ansi else r"\1"
    text = re.sub(r"(?<![\w*])\*([^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])", bold, text)
    return re.sub(r"(?<![\w_])_([^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])", r"\1", text)


def mrkdwn_to_text(text: str, *, ansi: bool = False) -> str:
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _USER.sub(_mention, text)
    # Emphasis applies outside code spans only: `0 2 * * *` is a cron, not bold text.
    text = re.sub(r"(?<![\w*])\*(`[^`\n]+`)\*(?![\w*])", r"\1", text)  # *`code`*: bold code
    parts = re.split(r"(```.*?```|`[^`\n]+`)", text, flags=re.DOTALL)
    text = "".join(
        part.strip("`") if part.startswith("`") else _emphasis(part, ansi) for part in parts
    )
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None, ansi: bool) -> str:
    if not obj:
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw, ansi=ansi) if obj.get("type") == "mrkdwn" else raw


def _element(el: dict[str, Any], ansi: bool) -> str:
    kind = el.get("type")
    if kind == "button":
        return f"[ {_text(el.get('text'), ansi)} ]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(el, ansi)
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    return f"[{kind}]"


def _side_by_side(left: str, right: str, width: int) -> list[str]:
    """Two section fields as two columns, line by line (fields often hold a label and a value)."""
    lefts, rights = left.split("\n"), right.split("\n")
    column = max(width // 2 - 2, max(len(line) for line in lefts) + 2)
    rows = max(len(lefts), len(rights))
    lefts += [""] * (rows - len(lefts))
    rights += [""] * (rows - len(rights))
    return [f"  {a:<{column}}{b}".rstrip() for a, b in zip(lefts, rights, strict=True)]


def render_blocks(blocks: list[dict[str, Any]], *, width: int = 80, ansi: bool = False) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"), ansi)
            out += [
                f"\033[1m{title}\033[0m" if ansi else title,
                "=" * min(width, max(len(title), 3)),
            ]
        elif kind == "section":
            if block.get("text"):
                out.append(_text(block["text"], ansi))
            fields = [_text(f, ansi) for f in block.get("fields", [])]
            for left, right in zip(fields[::2], fields[1::2] + [""], strict=False):
                out += _side_by_side(left, right, width)
            if block.get("accessory"):
                out.append("  " + _element(block["accessory"], ansi))
        elif kind == "divider":
            out.append("-" * width)
        elif kind == "context":
            out.append("  " + "  ·  ".join(_element(e, ansi) for e in block.get("elements", [])))
        elif kind == "actions":
            out.append("  " + " ".join(_element(e, ansi) for e in block.get("elements", [])))
        elif kind == "image":
            out.append(f"[image: {block.get('alt_text', '')}]")
        else:
            out.append(f"[{kind} block]")
    return "\n".join(out)
