"""Walker of service levels: delivery windows and cron deadlines (compared in UTC over one period)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from checks.contract import Contract
from checks.diff.recorder import Recorder, keys
from checks.sla import SLA_PROPERTIES
from checks.sla import UNITS as SLA_UNITS


def walk_slas(rec: Recorder, base: Contract, head: Contract) -> None:
    before = {e.get("property"): e for e in base.sla}
    after = {e.get("property"): e for e in head.sla}
    zones = (str(base.custom.get("timezone") or "UTC"), str(head.custom.get("timezone") or "UTC"))
    for name in keys(before, after):
        old, new = before.get(name), after.get(name)
        if old == new and zones[0] == zones[1]:
            continue
        field = f"slaProperties[{name}]"
        if name not in SLA_PROPERTIES:
            if old != new:
                rec.saw("sla_changed:other", field=field, before=old, after=new, name=name)
        elif old is None:
            rec.saw("sla_added", field=field, after=_sla_view(new))
        elif new is None:
            rec.saw("sla_removed", field=field, before=_sla_view(old))
        else:
            _delivery_sla(rec, field, old, new, zones)


def _delivery_sla(
    rec: Recorder, field: str, old: dict[str, Any], new: dict[str, Any], zones: tuple[str, str]
) -> None:
    window_before, window_after = _sla_window(old), _sla_window(new)
    views = {"field": field, "before": _sla_view(old), "after": _sla_view(new)}
    if window_before is None or window_after is None:
        if (old.get("value"), old.get("unit")) != (new.get("value"), new.get("unit")):
            rec.saw("sla_changed:window", **views)
    elif window_after != window_before:
        rec.saw(
            "sla_tightened:window" if window_after < window_before else "sla_loosened:window",
            **views,
            window_before=_duration(window_before),
            window_after=_duration(window_after),
        )
    schedules = (old.get("schedule"), new.get("schedule"))
    if schedules[0] != schedules[1] or (schedules[0] and zones[0] != zones[1]):
        _deadline(rec, field, schedules, zones)
    rec.rest(old, new, ("property", "value", "unit", "schedule"), prefix=f"{field}.")


def _deadline(rec: Recorder, field: str, schedules: tuple[Any, Any], zones: tuple[str, str]) -> None:
    views = {
        "field": f"{field}.schedule",
        "before": f"{schedules[0]} ({zones[0]})" if schedules[0] else None,
        "after": f"{schedules[1]} ({zones[1]})" if schedules[1] else None,
    }
    if not schedules[0] or not schedules[1]:
        rec.saw(
            "sla_tightened:deadline_added" if not schedules[0] else "sla_loosened:deadline_dropped", **views
        )
        return
    shift = _deadline_shift(str(schedules[0]), zones[0], str(schedules[1]), zones[1])
    if shift is None:
        rec.saw("sla_changed:calendar", **views)
    elif shift < timedelta(0):
        rec.saw("sla_tightened:deadline_earlier", **views, shift=_duration(-shift))
    elif shift > timedelta(0):
        rec.saw("sla_loosened:deadline_later", **views, shift=_duration(shift))


def _sla_window(entry: dict[str, Any]) -> timedelta | None:
    unit, value = SLA_UNITS.get(str(entry.get("unit"))), entry.get("value")
    if unit is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return unit * value


def _deadline_shift(before: str, zone_before: str, after: str, zone_after: str) -> timedelta | None:
    """How much later (positive) or earlier (negative) the deadlines of `after` fall than those of
    `before`; None when the two do not repeat with one and the same period."""
    from croniter import croniter

    start = datetime(2024, 1, 1, tzinfo=UTC)

    def ticks(schedule: str, zone: str) -> list[datetime]:
        cron = croniter(schedule, start.astimezone(ZoneInfo(zone)))
        return [cron.get_next(datetime).astimezone(UTC) for _ in range(6)]

    first, second = ticks(before, zone_before), ticks(after, zone_after)
    periods = {b - a for a, b in itertools.pairwise(first)} | {b - a for a, b in itertools.pairwise(second)}
    if len(periods) != 1:
        return None
    period = periods.pop()
    shift = (second[0] - first[0]) % period
    return shift if shift <= period / 2 else shift - period


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or "0m"


def _sla_view(entry: dict[str, Any] | None) -> str | None:
    if entry is None:
        return None
    text = f"{entry.get('value')}{entry.get('unit', '')}"
    return f"{text}, due {entry['schedule']}" if entry.get("schedule") else text
