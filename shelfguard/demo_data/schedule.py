"""Which deliveries a retailer makes: periods from its cadence, files from its shape, due times
from its SLA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shelfguard.demo_data.naming import file_name
from shelfguard.demo_data.periods import (
    ARRIVAL_BEFORE_DEADLINE,
    EXTRACTED_BEFORE_ARRIVAL,
    Period,
    deadline,
    periods,
)
from shelfguard.demo_data.spec import ObjectSpec, RetailerSpec
from shelfguard.demo_data.truth import RetailerTruth, Store


@dataclass(frozen=True)
class Variant:
    """One form of a fault, with the rule for where it can go."""

    fault: str
    name: str | None
    eligible: Callable[[RetailerSpec, ObjectSpec], bool]
    latest: bool = False
    """Targets the retailer's latest period (all its deliveries) instead of one delivery."""

    @property
    def label(self) -> str:
        return f"{self.fault}:{self.name}" if self.name else self.fault


@dataclass
class Planned:
    """One delivery to write, and the faults assigned to it."""

    spec: RetailerSpec
    obj: ObjectSpec
    period: Period
    key: str | None
    stores: list[Store]
    due: datetime
    """Aware, in the retailer's zone."""
    arrival: datetime
    location: str
    variants: list[Variant] = field(default_factory=list)

    @property
    def extracted_at(self) -> datetime:
        """The retailer's export time, as a naive local timestamp (what files show as updated_at)."""
        return (self.arrival - EXTRACTED_BEFORE_ARRIVAL).replace(tzinfo=None)

    @property
    def arrival_utc(self) -> datetime:
        return self.arrival.astimezone(UTC)

    def has(self, fault: str) -> Variant | None:
        return next((variant for variant in self.variants if variant.fault == fault), None)


def plan_retailer(
    spec: RetailerSpec, truth: RetailerTruth, days: list[date], as_of: datetime
) -> list[Planned]:
    """Every delivery of the retailer over the days that is due by `as_of` (a period whose deadline is
    still ahead is not delivered yet, so the latest period is the one due last). Dimensions of a
    database or API that refresh incrementally are delivered once (with the first period); landing
    dimensions come with every period."""
    zone = ZoneInfo(spec.timezone)
    planned = []
    for number, period in enumerate(periods(spec.cadence, days[0], days[-1])):
        due = deadline(spec.sla, period, zone)
        if due > as_of:
            continue
        for obj in spec.objects:
            if number > 0 and not obj.is_fact and spec.channel != "landing" and obj.refresh != "full":
                continue
            arrival = due - ARRIVAL_BEFORE_DEADLINE + timedelta(minutes=2 * obj.index)
            for key, stores in _splits(spec, obj, truth):
                planned.append(
                    Planned(spec, obj, period, key, stores, due, arrival, _location(spec, obj, period, key))
                )
    return planned


def _splits(
    spec: RetailerSpec, obj: ObjectSpec, truth: RetailerTruth
) -> list[tuple[str | None, list[Store]]]:
    """A fact delivery per region (split_by_region) or per store (per_store), else one for all stores."""
    if obj.is_fact and spec.shape == "split_by_region":
        regions = sorted({store.region for store in truth.stores})
        return [(region, [s for s in truth.stores if s.region == region]) for region in regions]
    if obj.is_fact and spec.shape == "per_store":
        return [(store.site_id, [store]) for store in truth.stores]
    return [(None, truth.stores)]


def _location(spec: RetailerSpec, obj: ObjectSpec, period: Period, key: str | None) -> str:
    if spec.channel == "database":
        return f"sources/{spec.code}.sqlite#{obj.physical_name}"
    if spec.channel == "api":
        return f"sources/{spec.code}_api/{obj.name}/{period.label}.json"
    try:
        return f"landing/{spec.code}/{file_name(obj, period, key)}"
    except ValueError as exc:
        raise spec.contract.error(str(exc), "schema", obj.index, "customProperties") from None
