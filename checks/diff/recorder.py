"""What a walker reports: `Change`, and the `Recorder` that turns "I saw row X" into one.

Walkers know where they are in a contract (object, property, field) and what they measured; the
catalogue knows what that means. The recorder joins the two and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from checks.contract import Contract, properties_of
from checks.diff.catalogue import CATALOGUE, REPORTS_ONLY, Area, Severity, Side

DOC_FIELDS = frozenset(
    {
        "description",
        "businessName",
        "tags",
        "authoritativeDefinitions",
        "examples",
        "dataGranularityDescription",
        "name",
        "domain",
        "dataProduct",
        "tenant",
        "support",
        "price",
        "contractCreatedTs",
        "criticalDataElement",
        "semanticType",
        "transformDescription",
        "transformLogic",
        "transformSourceObjects",
    }
)
"""Fields that only document: a change to them is safe wherever they appear."""


class Change(BaseModel):
    """One classified difference between the base and the head revision of a contract."""

    contract: str = Field(description="Id of the contract, e.g. urn:shelfguard:retailer:alp_de.")
    path: str = Field(description="Path of the contract file in the repository (the base path when removed).")
    object: str | None = Field(
        None, description="Schema object (table) changed; null for contract-level changes."
    )
    property: str | None = Field(
        None, description="Property (column) changed; null above the property level."
    )
    field: str | None = Field(
        None,
        description="The contract field that changed, e.g. `required`, "
        "`customProperties.filePattern`, `quality[ean_format].mustBe`.",
    )
    change: str = Field(
        description="Kind of change, e.g. property_removed, threshold_tightened "
        "(all kinds: docs/contract-review.md)."
    )
    before: Any = Field(None, description="The value in the base revision; null when added.")
    after: Any = Field(None, description="The value in the head revision; null when removed.")
    severity: Severity = Field(description="breaking, risky or safe.")
    breaks_for: list[Side] = Field(
        default_factory=list, description="Who the change can hurt: producer, consumer, both or nobody."
    )
    reason: str = Field(description="Why the change is classified so.")
    rules: list[str] = Field(
        default_factory=list,
        description="Ids of the gate rules the change affects, to match it with the dry run.",
    )


class Recorder:
    """Collects the changes of one contract, classified by the catalogue."""

    def __init__(self, contract_id: str, path: str, canonical: Contract | None):
        self.contract_id = contract_id
        self.path = path
        self.changes: list[Change] = []
        self.canonical_types: dict[str, str | None] = {
            f"{obj['name']}.{prop['name']}": prop.get("logicalType")
            for obj in (canonical.objects if canonical else [])
            for prop in properties_of(obj)
        }

    def saw(
        self,
        key: str,
        /,
        *,
        obj: str | None = None,
        prop: str | None = None,
        field: str | None = None,
        before: Any = None,
        after: Any = None,
        rules: Iterable[str] = (),
        reports_only: bool = False,
        **details: Any,
    ) -> None:
        """Record catalogue row `key`; `details` fill its reason. `reports_only`: a rule change whose
        rule never holds data back, safe whatever the row says."""
        row = CATALOGUE[key]
        reason = row.reason.format(**details) if details else row.reason
        severity, hurts = row.severity, row.hurts
        if reports_only and row.area == Area.RULES and severity != Severity.SAFE:
            severity, hurts, reason = Severity.SAFE, (), reason + REPORTS_ONLY
        self.changes.append(
            Change(
                contract=self.contract_id,
                path=self.path,
                object=obj,
                property=prop,
                field=field,
                change=row.change,
                before=before,
                after=after,
                severity=severity,
                breaks_for=list(hurts) if severity != Severity.SAFE else [],
                reason=reason,
                rules=list(rules),
            )
        )

    def compare(
        self,
        key: str,
        before: dict[str, Any],
        after: dict[str, Any],
        name: str,
        /,
        *,
        field: str | None = None,
        **where: Any,
    ) -> None:
        """Record row `key` when field `name` differs between the two mappings."""
        if before.get(name) != after.get(name):
            self.saw(key, field=field or name, before=before.get(name), after=after.get(name), **where)

    def rest(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        handled: Iterable[str],
        *,
        obj: str | None = None,
        prop: str | None = None,
        prefix: str = "",
    ) -> None:
        """Fields no walker covers: documentation is safe, anything else is for a human to judge."""
        for key in differing(before, after, handled):
            row = "documentation_changed" if key in DOC_FIELDS else "field_changed"
            self.compare(row, before, after, key, obj=obj, prop=prop, field=prefix + key)

    def custom(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        known: dict[str, str],
        *,
        handled: Iterable[str] = (),
        obj: str | None = None,
        prop: str | None = None,
        prefix: str = "",
    ) -> None:
        """customProperties: `known` maps a property to its catalogue row; any other is not covered."""
        for key in differing(before, after, handled):
            row = known.get(key, "field_changed")
            self.compare(row, before, after, key, obj=obj, prop=prop, field=f"{prefix}customProperties.{key}")


def keys(*mappings: dict[Any, Any]) -> list[Any]:
    """Keys of all mappings in first-seen order."""
    return list(dict.fromkeys(key for mapping in mappings for key in mapping))


def differing(before: dict[str, Any], after: dict[str, Any], handled: Iterable[str] = ()) -> list[str]:
    """Keys whose values differ, in first-seen order, leaving out those `handled` elsewhere."""
    skip = set(handled)
    return [key for key in keys(before, after) if key not in skip and before.get(key) != after.get(key)]


def listed(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:8]))
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")
