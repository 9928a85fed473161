"""Delivery SLAs from a contract's `slaProperties`, and whether a delivery is on time.

Pure time arithmetic with no Dagster in it, so the freshness sensor, the `shelfguard freshness`
command and the lineage freshness facet all judge lateness the same way (ADR 0009 states the rule).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from checks.contract import Contract, custom_properties

SLA_PROPERTIES = ("freshness", "latency")
UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
CADENCE_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=31)}
MINIMUM_WINDOW = timedelta(minutes=1)
"""Dagster rejects freshness windows under a minute, so a shorter SLA could not be shown in the UI."""


class DeliveryStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NEVER_DELIVERED = "never_delivered"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Sla(BaseModel):
    """One contract's delivery SLA, normalised."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="The ODCS SLA property: freshness or latency.")
    value: float = Field(description="The SLA value as written in the contract.")
    unit: str = Field(description="d, h or m, as written in the contract.")
    window: timedelta = Field(description="value × unit: how old the newest delivery may be.")
    schedule: str | None = Field(None, description="Cron deadline, in `timezone`; None for a rolling window.")
    timezone: str = Field("UTC", description="IANA zone the schedule is read in.")
    cadence: str | None = Field(None, description="daily, weekly or monthly (the retailer's cadence).")
    element: str | None = Field(None, description="The `<object>.<column>` the SLA names, if any.")
    description: str | None = Field(None, description="The SLA's description from the contract.")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        """One line for people, e.g. `freshness 1d, due 0 6 * * * America/New_York`."""
        amount = f"{self.value:g}{self.unit}"
        if self.schedule:
            return f"{self.kind} {amount}, due {self.schedule} {self.timezone}"
        return f"{self.kind} {amount} (rolling window)"


class SlaEvaluation(BaseModel):
    """Where a delivery stands against its SLA at one moment."""

    status: DeliveryStatus
    evaluated_at: datetime = Field(description="The moment judged (UTC).")
    last_delivery: datetime | None = Field(None, description="When the newest delivery arrived (UTC).")
    expected_by: datetime | None = Field(
        None,
        description="Late: the first deadline that was missed. On time: when the next delivery is due. "
        "None when nothing was ever delivered and the SLA has no schedule.",
    )
    lateness_seconds: float | None = Field(None, description="Seconds past expected_by when late, else None.")

    @property
    def passed(self) -> bool:
        return self.status is DeliveryStatus.ON_TIME


ONE_OFF = "once"
"""An object's `refresh` customProperty for a delivery made once (e.g. a store file at onboarding)."""


def sla_of(contract: Contract) -> Sla | None:
    """The contract's delivery SLA (its first freshness or latency property), or None without one.

    Raises `ContractError` at the offending line for an SLA that cannot be evaluated.
    """
    entries = delivery_sla_entries(contract)
    return parse_sla(contract, *entries[0]) if entries else None


def delivery_sla_entries(contract: Contract) -> list[tuple[int, dict[str, Any]]]:
    """(index, entry) of every freshness or latency property in `slaProperties`, in order."""
    return [(i, e) for i, e in enumerate(contract.sla) if e.get("property") in SLA_PROPERTIES]


def element_objects(contract: Contract, entry: dict[str, Any]) -> set[str]:
    """The schema objects an SLA entry's `element` names (`object` or `object.property`, comma
    separated; read by `qualified_element`)."""
    element = qualified_element(contract, str(entry.get("element") or "")) or ""
    return {e.strip().split(".")[0] for e in element.split(",") if e.strip()}


def sla_for(contract: Contract, object_name: str) -> Sla | None:
    """The SLA that judges one delivered object: the first freshness or latency property whose `element`
    names the object (ODCS has no slaProperties on a schema object, so an object's own SLA is a
    contract-level one that names it), else the contract's (`sla_of`). None for an object delivered
    once (`refresh: once`): a one-off delivery is never late."""
    refresh = custom_properties(contract.object(object_name).get("customProperties")).get("refresh")
    if refresh == ONE_OFF:
        return None
    for index, entry in delivery_sla_entries(contract):
        if object_name in element_objects(contract, entry):
            return parse_sla(contract, index, entry)
    return sla_of(contract)


def parse_sla(contract: Contract, index: int, entry: dict[str, Any]) -> Sla:
    """`slaProperties[index]` as an `Sla`, or `ContractError` at the offending line."""
    def error(message: str, field: str) -> Exception:
        return contract.error(f"slaProperties[{index}]: {message}", "slaProperties", index, field)

    unit = str(entry.get("unit") or "")
    if unit not in UNITS:
        raise error(f"unit {unit!r} is not one of {', '.join(UNITS)}", "unit")
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise error(f"value {value!r} is not a positive number", "value")
    window = UNITS[unit] * value
    if window < MINIMUM_WINDOW:
        raise error(f"{value:g}{unit} is under the one-minute minimum window", "value")
    timezone = str(contract.custom.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise contract.error(f"timezone {timezone!r} is not an IANA time zone", "customProperties") from None
    cadence = contract.custom.get("cadence")
    schedule = entry.get("schedule") if entry.get("scheduler", "cron") == "cron" else None
    if schedule is not None:
        from croniter import croniter

        if not croniter.is_valid(str(schedule)):
            raise error(f"schedule {schedule!r} is not a valid cron expression", "schedule")
    elif cadence in CADENCE_PERIODS and window < CADENCE_PERIODS[cadence]:
        raise error(
            f"a {value:g}{unit} window without a schedule is shorter than the {cadence} cadence: "
            "the retailer would be late between deliveries; add a cron schedule or widen the window",
            "value",
        )
    return Sla(
        kind=entry["property"], value=value, unit=unit, window=window,
        schedule=str(schedule) if schedule is not None else None, timezone=timezone,
        cadence=str(cadence) if cadence else None,
        element=qualified_element(contract, entry.get("element") or contract.document.get("slaDefaultElement")
                                  or None),
        description=entry.get("description"),
    )


def qualified_element(contract: Contract, element: str | None) -> str | None:
    """An SLA `element` as `<object>.<column>` parts: the id-based form (`schema/<object>/properties/
    <column>`) by name, and a bare column of a one-object contract with that object's name."""
    if not element:
        return None
    from checks.rules import reference_parts

    names = contract.object_names
    parts = []
    for part in (p.strip() for p in element.split(",") if p.strip()):
        if "." not in part and "/" not in part:  # an object, or a column of the only object
            parts.append(f"{names[0]}.{part}" if len(names) == 1 and part not in names else part)
        else:
            parts.append(".".join(reference_parts(part, contract)))
    return ",".join(parts)


def evaluate(sla: Sla, last_delivery: datetime | None, now: datetime) -> SlaEvaluation:
    """Judge the newest delivery (None: nothing ever arrived) at `now` (both timezone-aware).

    With a schedule, the latest deadline at or before `now` is due; a delivery counts for it when it
    arrived at or after `deadline − min(window, gap since the previous deadline)`, the same window
    Dagster's cron freshness policy uses. Without one, the newest delivery must be younger than the window.
    """
    now = now.astimezone(UTC)
    last = last_delivery.astimezone(UTC) if last_delivery else None
    if sla.schedule is None:
        expected_by = last + sla.window if last else None
        if last is None:
            status = DeliveryStatus.NEVER_DELIVERED
        else:
            status = DeliveryStatus.LATE if now > expected_by else DeliveryStatus.ON_TIME
    else:
        due = _deadline_at_or_before(sla, now)
        if last is None:
            status, expected_by = DeliveryStatus.NEVER_DELIVERED, due
        elif last >= _window_start(sla, due):
            status, expected_by = DeliveryStatus.ON_TIME, _next_unmet_deadline(sla, last, now)
        else:
            # Late since the first deadline the newest delivery did not meet, however many passed since.
            status, expected_by = DeliveryStatus.LATE, _next_unmet_deadline(sla, last, last)
    lateness = (now - expected_by).total_seconds() if status is DeliveryStatus.LATE else None
    return SlaEvaluation(status=status, evaluated_at=now, last_delivery=last, expected_by=expected_by,
                         lateness_seconds=lateness)


def _deadline_at_or_before(sla: Sla, moment: datetime) -> datetime:
    from croniter import croniter

    local = moment.astimezone(sla.zone) + timedelta(microseconds=1)
    return croniter(sla.schedule, local).get_prev(datetime).astimezone(UTC)


def _window_start(sla: Sla, deadline: datetime) -> datetime:
    """Earliest arrival that counts for `deadline`: never before the previous deadline."""
    from croniter import croniter

    previous = croniter(sla.schedule, deadline.astimezone(sla.zone)).get_prev(datetime).astimezone(UTC)
    return deadline - min(sla.window, deadline - previous)


def _next_unmet_deadline(sla: Sla, last: datetime, now: datetime) -> datetime:
    """The first deadline after `now` that the delivery at `last` does not already satisfy (with
    `now` = `last`: the first deadline it missed)."""
    from croniter import croniter

    ticks = croniter(sla.schedule, now.astimezone(sla.zone))
    while True:
        deadline = ticks.get_next(datetime).astimezone(UTC)
        if last < _window_start(sla, deadline):
            return deadline


def timestamp_to_datetime(timestamp: float | None) -> datetime | None:
    """A unix timestamp (as stored in `delivered_at` metadata) as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def shortest_deadline_gap(schedule: str) -> timedelta:
    """The shortest time between two ticks of `schedule`, sampled in UTC over up to 1000 ticks or
    20 years from a year ago, the way Dagster bounds a cron freshness policy's lower_bound_delta."""
    from croniter import croniter

    start = datetime.now(UTC) - timedelta(days=365)
    horizon = start + timedelta(days=365 * 20)
    ticks = croniter(schedule, start)
    previous = ticks.get_next(datetime)
    shortest = timedelta.max
    for _ in range(999):
        tick = ticks.get_next(datetime)
        if tick > horizon:
            break
        shortest = min(shortest, tick - previous)
        previous = tick
    return shortest
