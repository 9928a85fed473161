"""The demo's calendar: which days are generated, as of which moment.

By default the calendar ends on the reference moment's date (the real now), so freshness in the demo
shows exactly the injected late deliveries: every retailer has delivered what was due by then, and a
period not due yet (today's sales, this week's or this month's file) is not delivered yet. A fixed
`start` gives a fixed calendar instead (reproducible fixtures); deliveries that would arrive after
the reference moment are never written either way.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shelfguard.demo_data.periods import deadline, periods
from shelfguard.demo_data.spec import RetailerSpec

AS_OF_ENV = "SHELFGUARD_DEMO_AS_OF"
"""The reference moment ("now") of the demo data: ISO date or date-time; default the real now."""
START_ENV = "SHELFGUARD_DEMO_START"
"""A fixed first business date instead of a calendar ending on the reference date."""
LONGEST_PERIOD = timedelta(days=93)
"""How far back the latest due period may start: a monthly file due early in the month after next."""


def parse_moment(text: str) -> datetime:
    """An ISO date (its midnight, UTC) or date-time (naive means UTC) as an aware UTC datetime;
    ValueError names the text."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date or date-time (YYYY-MM-DD[THH:MM[:SS]][Z])") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def reference_moment(as_of: datetime | None = None) -> datetime:
    """`as_of`, else `SHELFGUARD_DEMO_AS_OF`, else now (UTC)."""
    if as_of is not None:
        return as_of.astimezone(UTC)
    text = os.environ.get(AS_OF_ENV)
    return parse_moment(text) if text else datetime.now(UTC)


def fixed_start(start: date | None = None) -> date | None:
    """`start`, else `SHELFGUARD_DEMO_START` (a fixed calendar), else None (the calendar ends today)."""
    if start is not None:
        return start
    text = os.environ.get(START_ENV)
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{START_ENV}={text!r} is not a date (YYYY-MM-DD)") from None


def retailer_days(spec: RetailerSpec, days: int, as_of: datetime, start: date | None) -> list[date]:
    """The business days generated for one retailer.

    With a fixed `start`: `days` days from it. Otherwise the `days` days ending on the reference
    date, reaching back, where needed, to the last day of the retailer's latest period that is due
    by `as_of` (a monthly retailer's previous month), so that every retailer has delivered what its
    SLA expects by then.
    """
    if start is not None:
        return [start + timedelta(days=i) for i in range(days)]
    last = as_of.date()
    first = last - timedelta(days=days - 1)
    due = latest_due_period_end(spec, last, as_of)
    if due is not None:
        first = min(first, due)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def latest_due_period_end(spec: RetailerSpec, last: date, as_of: datetime) -> date | None:
    """The last day of the retailer's latest period whose deadline passed by `as_of`."""
    zone = ZoneInfo(spec.timezone)
    ended = [p for p in periods(spec.cadence, last - LONGEST_PERIOD, last)
             if deadline(spec.sla, p, zone) <= as_of]
    return ended[-1].end if ended else None
