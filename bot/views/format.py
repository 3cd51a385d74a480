"""How numbers, money, times and partial answers read in Slack: one style for every renderer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from bot.views.mrkdwn import context, escape
from integrations.models import SourceProblem

# The currencies written with their sign before the number ("$1,234", "¥120,000"), and the
# signs, as CLDR writes them in English (tests check them against babel). Every other currency
# is written "1,200 CHF". parse_amount reads exactly these signs, so what is shown can be typed.
CURRENCY_SIGNS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money(amount: Decimal | float | int, currency: str, *, cents: bool | None = None) -> str:
    """`$1,234.56`, `€980`, `1,200 CHF`; cents are shown below 1,000 unless told otherwise."""
    value = Decimal(str(amount))
    show_cents = cents if cents is not None else abs(value) < 1000
    number = f"{abs(value):,.2f}" if show_cents else f"{abs(value):,.0f}"
    sign = "-" if value < 0 else ""
    symbol = CURRENCY_SIGNS.get(currency.upper())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def signed_pct(change: float | None) -> str:
    """+12.3% / -4.0% / 'new' when there was nothing to compare with."""
    if change is None:
        return "new"
    return f"{change * 100:+.1f}%"


def pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    span = now - moment
    if span < timedelta(0):
        return "in " + duration(-span)
    return duration(span) + " ago"


def local_time(moment: datetime | None, tz: tzinfo, *, with_day: bool = True) -> str:
    """A time in the reader's zone, e.g. `Mon 23 Nov 14:05 CET`."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    zone = local.tzname() or ""
    return local.strftime("%a %d %b %H:%M" if with_day else "%H:%M") + (f" {zone}" if zone else "")


def slack_date(moment: datetime | None, tz: tzinfo) -> str:
    """A Slack date token: each reader's client shows it in their own zone; the fallback (and the
    terminal) uses the asking user's zone."""
    if moment is None:
        return "—"
    fallback = local_time(moment, tz)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


# Characters a URL is made of; everything else (<, >, |, spaces, quotes) is percent-encoded so a
# peer's URL can neither close the link early nor smuggle in a mention. '%' stays: already
# encoded URLs are left as they are.
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def link(url: str | None, text: str) -> str:
    """A mrkdwn link whose text is escaped and whose URL is percent-encoded; plain escaped text
    when there is no http(s) URL."""
    label = escape(text).replace("|", "¦")
    if not url or not url.startswith(("http://", "https://")):
        return label
    return f"<{quote(url, safe=URL_SAFE).replace('&', '&amp;')}|{label}>"


def code(text: str) -> str:
    """Inline code for a name that came from a peer or a user (escaped, no backticks inside)."""
    return "`" + escape(text).replace("`", "'") + "`"


def partial_note(problems: Iterable[SourceProblem]) -> dict[str, Any] | None:
    """A context block saying which sources did not answer, or None when all did."""
    items = list(problems)
    if not items:
        return None
    parts = [f"{escape(p.source)}: {escape(p.reason)}" for p in items]
    return context(":warning: *Partial answer* — " + "; ".join(parts))
