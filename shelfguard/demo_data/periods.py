"""Delivery periods (day, ISO week ending Sunday, calendar month) and when each delivery is due.

A period is clipped to the generated date range, so every retailer's facts cover exactly the same
days whatever its cadence; a monthly dump of a range that starts mid-month holds the month to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from checks.sla import Sla

PERIOD_KINDS = {"daily": "day", "weekly": "week", "monthly": "month"}
ARRIVAL_BEFORE_DEADLINE = timedelta(hours=1)
EXTRACTED_BEFORE_ARRIVAL = timedelta(minutes=30)


@dataclass(frozen=True)
class Period:
    kind: str
    """day, week or month."""
    start: date
    end: date
    dates: tuple[date, ...]
    """The days of the period inside the generated range."""

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        return self.start.isoformat()

    @property
    def anchor(self) -> date:
        """The date a file name shows: the day, the week-end date, the first of the month."""
        return self.end if self.kind == "week" else self.start


def periods(cadence: str, first: date, last: date) -> list[Period]:
    """The periods of a cadence that overlap [first, last], in order."""
    kind = PERIOD_KINDS[cadence]
    found: list[Period] = []
    day = first
    while day <= last:
        if kind == "day":
            start = end = day
        elif kind == "week":
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=6)
        else:
            start = day.replace(day=1)
            end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        inside = tuple(
            start + timedelta(days=i)
            for i in range((end - start).days + 1)
            if first <= start + timedelta(days=i) <= last
        )
        found.append(Period(kind, start, end, inside))
        day = end + timedelta(days=1)
    return found


def deadline(sla: Sla | None, period: Period, zone: ZoneInfo) -> datetime:
    """When the period's delivery is due (aware, in the retailer's zone): the first SLA cron tick
    after the period ends, else the end of the period plus the SLA window (one day without an SLA)."""
    period_over = datetime.combine(period.end + timedelta(days=1), time(), zone)
    if sla is not None and sla.schedule:
        from croniter import croniter

        return croniter(sla.schedule, period_over - timedelta(seconds=1)).get_next(datetime)
    return period_over + (sla.window if sla is not None else timedelta(days=1))
