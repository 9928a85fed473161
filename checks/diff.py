"""Classify what changed between two revisions of a contract as breaking, risky or safe.

A contract is an interface between a producer (a retailer; for the canonical model, our silver
pipeline) and its consumers (our pipeline, the gold readers). Every difference is judged from both
sides (ADR 0012):
- **breaking**: certain to hurt someone — a delivery made the current way is rejected or misread
  (producer), or a guarantee consumers code against (a column, its type, nullability, uniqueness,
  keys, meaning, mapping, access) goes away or changes;
- **risky**: hurts only if the data or the timing is unlucky — quality rules, thresholds, valid
  values, patterns, `onViolation`, SLAs; the review's dry run on real deliveries shows whether it does;
- **safe**: changes nothing anyone relies on (documentation, owners, rules that only report).

Dagster-free and independent of `shelfguard`, so CI and other tools can use it on its own.
"""

from __future__ import annotations

import codecs
import copy
import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from checks.contract import Contract, custom_properties, properties_of
from checks.rules import Rule, RuleKind, compile_rules
from checks.sla import SLA_PROPERTIES
from checks.sla import UNITS as SLA_UNITS


class Severity(StrEnum):
    BREAKING = "breaking"
    RISKY = "risky"
    SAFE = "safe"


SEVERITY_ORDER = (Severity.BREAKING, Severity.RISKY, Severity.SAFE)


class Side(StrEnum):
    PRODUCER = "producer"
    CONSUMER = "consumer"


PRODUCER = (Side.PRODUCER,)
CONSUMER = (Side.CONSUMER,)
BOTH = (Side.PRODUCER, Side.CONSUMER)
NOBODY: tuple[Side, ...] = ()


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


# Fields that only document: a change to them is safe wherever they appear.
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
NOT_COVERED = "not covered by the review rules; check it by hand"

# Contract-level customProperties: (change kind, severity, who it hurts, why).
CONTRACT_PROPERTIES: dict[str, tuple[str, Severity, tuple[Side, ...], str]] = {
    "retailerCode": (
        "identity_changed",
        Severity.BREAKING,
        BOTH,
        "asset keys, table names, the landing folder and the retailer prefix of every product "
        "and site id change",
    ),
    "secureGroupKey": (
        "access_changed",
        Severity.BREAKING,
        CONSUMER,
        "access: the row-level security key stamped on every row changes, so who can read the "
        "retailer's rows changes",
    ),
    "maskingHorizonDays": (
        "access_changed",
        Severity.BREAKING,
        CONSUMER,
        "access: competition data younger than the horizon is masked in the gold views",
    ),
    "dataProviderCode": (
        "identity_changed",
        Severity.BREAKING,
        CONSUMER,
        "stamped on every row; readers selecting by it lose the new rows",
    ),
    "currency": (
        "meaning_changed",
        Severity.BREAKING,
        CONSUMER,
        "net_sales of this retailer change meaning (another currency)",
    ),
    "shape": (
        "meaning_changed",
        Severity.BREAKING,
        BOTH,
        "the pipeline reads the deliveries in another shape (which files, which grain)",
    ),
    "country": (
        "meaning_changed",
        Severity.RISKY,
        CONSUMER,
        "site country defaults and country reporting change",
    ),
    "timezone": ("sla_changed", Severity.RISKY, BOTH, "delivery deadlines and period boundaries move"),
    "cadence": ("sla_changed", Severity.RISKY, BOTH, "how often a delivery is due changes"),
    "layer": ("meaning_changed", Severity.RISKY, CONSUMER, "the contract's role in the pipeline changes"),
}
OBJECT_PROPERTIES: dict[str, tuple[str, Severity, tuple[Side, ...], str]] = {
    "filePattern": (
        "delivery_changed",
        Severity.BREAKING,
        PRODUCER,
        "files named the current way may no longer be picked up from the landing folder",
    ),
    "periodPattern": (
        "delivery_changed",
        Severity.RISKY,
        BOTH,
        "the period read from file names decides what is a restatement of an earlier delivery",
    ),
    "refresh": (
        "meaning_changed",
        Severity.BREAKING,
        CONSUMER,
        "a full refresh replaces the retailer's state with each delivery, incremental appends: rows "
        "disappear or pile up",
    ),
    "watermark": (
        "delivery_changed",
        Severity.RISKY,
        BOTH,
        "incremental pulls are cut on another column: rows can be pulled twice or missed",
    ),
    "endpoint": (
        "delivery_changed",
        Severity.BREAKING,
        PRODUCER,
        "the API path the data is pulled from changes",
    ),
}
# Server format hints and their defaults (docs/onboarding.md): a change misreads current files.
FORMAT_HINTS = {"delimiter": ",", "encoding": "utf-8", "decimalSeparator": ".", "header": True, "sheet": None}
SERVER_CHANNEL_FIELDS = ("type", "format", "path", "location")
SERVER_ENV_PROPERTIES = ("urlEnv", "tokenEnv", "locationEnv")
SAFE_SERVER_PROPERTIES = ("pageSize",)

# logicalType pairs (narrower, wider): every value of the first is castable to the second.
WIDENINGS = frozenset({("integer", "number"), ("date", "timestamp")})
UNCHECKED_TYPES = (None, "string", "object", "array")
"""Types the gate does not check (compile_rules makes no type rule for them): any value passes."""
STRICTNESS = {"warn": 0, "quarantine": 1, "block": 2}
VALUE_SETS = {
    "validValues": ("valid_values", True),
    "missingValues": ("missing_values", False),
    "properties": ("duplicate_key", True),
}
"""Rule arguments that are sets: (change name prefix, whether dropping a value makes the rule stricter)."""
THRESHOLD_CHANGES = {
    "same": ("documentation_changed", "written differently, accepts the same values"),
    "tightened": ("threshold_tightened", "fewer metric values pass: deliveries that passed may now fail"),
    "loosened": ("threshold_loosened", "more metric values pass: data the rule stopped may now go through"),
    "changed": ("threshold_changed", "some values that passed now fail and some that failed now pass"),
}
PROCESS_CHANGES = frozenset({"version_not_bumped", "major_version_not_bumped"})
"""Changes about how the contract is versioned, not about the data it describes."""
QUALITY_KINDS = frozenset(
    {RuleKind.LIBRARY, RuleKind.SQL, RuleKind.CUSTOM, RuleKind.TEXT, RuleKind.RELATIONSHIP}
)
"""Rule kinds written as rules in the contract; the others follow from property fields and are
reported as property changes."""


def diff_contracts(
    base: Contract | None, head: Contract | None, *, path: str, canonical: Contract | None = None
) -> list[Change]:
    """Every difference between two revisions of one contract, classified; [] when nothing changed.

    `canonical` (the head canonical contract) lets a widened retailer type be judged against the
    canonical columns it feeds.
    """
    if base is None and head is None:
        return []
    differ = _Differ((head or base).id, path, canonical)
    if base is None:
        differ.add(
            "contract_added",
            Severity.SAFE,
            NOBODY,
            "a new contract: nothing depends on it yet",
            after=head.version,
        )
    elif head is None:
        differ.add(
            "contract_removed",
            Severity.BREAKING,
            CONSUMER,
            "its deliveries are no longer taken in and its tables are no longer fed",
            before=base.version,
        )
    else:
        differ.contracts(base, head)
    return differ.changes


def affects_data(change: Change) -> bool:
    """Whether a change can alter what happens to data: breaking or risky, and not about the versioning."""
    return change.severity != Severity.SAFE and change.change not in PROCESS_CHANGES


def count_by_severity(changes: Iterable[Change]) -> dict[Severity, int]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for change in changes:
        counts[change.severity] += 1
    return counts


class _Differ:
    def __init__(self, contract_id: str, path: str, canonical: Contract | None):
        self.contract_id = contract_id
        self.path = path
        self.changes: list[Change] = []
        self.canonical_types: dict[str, str | None] = {}
        for obj in canonical.objects if canonical else []:
            for prop in properties_of(obj):
                self.canonical_types[f"{obj['name']}.{prop['name']}"] = prop.get("logicalType")

    def add(
        self,
        change: str,
        severity: Severity,
        breaks_for: Sequence[Side],
        reason: str,
        *,
        obj: str | None = None,
        prop: str | None = None,
        field: str | None = None,
        before: Any = None,
        after: Any = None,
        rules: Iterable[str] = (),
    ) -> None:
        self.changes.append(
            Change(
                contract=self.contract_id,
                path=self.path,
                object=obj,
                property=prop,
                field=field,
                change=change,
                before=before,
                after=after,
                severity=severity,
                breaks_for=list(breaks_for) if severity != Severity.SAFE else [],
                reason=reason,
                rules=list(rules),
            )
        )

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
        """Fields no rule above covers: documentation is safe, anything else is for a human to judge."""
        skip = set(handled)
        for key in _keys(before, after):
            if key in skip or before.get(key) == after.get(key):
                continue
            if key in DOC_FIELDS:
                self.add(
                    "documentation_changed",
                    Severity.SAFE,
                    NOBODY,
                    "documentation only",
                    obj=obj,
                    prop=prop,
                    field=prefix + key,
                    before=before.get(key),
                    after=after.get(key),
                )
            else:
                self.add(
                    "field_changed",
                    Severity.RISKY,
                    BOTH,
                    NOT_COVERED,
                    obj=obj,
                    prop=prop,
                    field=prefix + key,
                    before=before.get(key),
                    after=after.get(key),
                )

    def custom(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        known: dict[str, tuple[str, Severity, tuple[Side, ...], str]],
        *,
        handled: Iterable[str] = (),
        obj: str | None = None,
        prop: str | None = None,
    ) -> None:
        skip = set(handled)
        for key in _keys(before, after):
            if key in skip or before.get(key) == after.get(key):
                continue
            kind, severity, sides, reason = known.get(
                key, ("field_changed", Severity.RISKY, BOTH, NOT_COVERED)
            )
            self.add(
                kind,
                severity,
                sides,
                reason,
                obj=obj,
                prop=prop,
                field=f"customProperties.{key}",
                before=before.get(key),
                after=after.get(key),
            )

    # --- contract level ------------------------------------------------------------------------------

    def contracts(self, base: Contract, head: Contract) -> None:
        b, h = base.document, head.document
        if b.get("id") != h.get("id"):
            self.add(
                "identity_changed",
                Severity.BREAKING,
                BOTH,
                "lineage, the delivery ledger and reviews key on the contract id",
                field="id",
                before=b.get("id"),
                after=h.get("id"),
            )
        self.status(base.status, head.status)
        self.custom(base.custom, head.custom, CONTRACT_PROPERTIES)
        self.roles(b.get("roles") or [], h.get("roles") or [])
        self.team(base, head)
        self.slas(base, head)
        self.servers(base.servers, head.servers)
        self.objects(base, head)
        handled = (
            "id",
            "version",
            "status",
            "customProperties",
            "roles",
            "team",
            "slaProperties",
            "servers",
            "schema",
        )
        self.rest(b, h, handled)
        self.version(base.version, head.version)

    def status(self, before: str, after: str) -> None:
        if before == after:
            return
        if before == "active":
            severity, sides, reason = (
                Severity.BREAKING,
                CONSUMER,
                "no longer active: its deliveries stop being taken in and its assets go",
            )
        elif after == "active":
            severity, sides, reason = (
                Severity.SAFE,
                NOBODY,
                "becomes active: its deliveries start to be taken in, new assets appear",
            )
        else:
            severity, sides, reason = Severity.SAFE, NOBODY, "neither status is ingested"
        self.add("status_changed", severity, sides, reason, field="status", before=before, after=after)

    def roles(self, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
        """Access is always flagged: a grant added or lost is for a human to approve."""
        by_name_before = {r.get("role"): r for r in before}
        by_name_after = {r.get("role"): r for r in after}
        for name in _keys(by_name_before, by_name_after):
            old, new = by_name_before.get(name), by_name_after.get(name)
            if old == new:
                continue
            if old is None:
                reason = f"access: group {name} is granted {new.get('access', 'read')} access"
            elif new is None:
                reason = f"access: group {name} loses its {old.get('access', 'read')} access"
            elif _without(old, DOC_FIELDS) == _without(new, DOC_FIELDS):
                self.rest(old, new, ("role",), prefix=f"roles[{name}].")
                continue
            else:
                reason = f"access: the grants of group {name} change"
            self.add(
                "access_changed",
                Severity.BREAKING,
                CONSUMER,
                reason,
                field=f"roles[{name}]",
                before=_access_view(old),
                after=_access_view(new),
            )

    def team(self, base: Contract, head: Contract) -> None:
        if base.owners != head.owners:
            self.add(
                "owners_changed",
                Severity.SAFE,
                NOBODY,
                "who owns the assets and is told about failures changes; the data does not",
                field="team.members",
                before=base.owners,
                after=head.owners,
            )
        elif base.team != head.team:
            self.add(
                "documentation_changed",
                Severity.SAFE,
                NOBODY,
                "team details other than owners",
                field="team",
                before=base.team,
                after=head.team,
            )

    def version(self, before: str, after: str) -> None:
        if not self.changes:
            if before != after:
                self.add(
                    "version_changed",
                    Severity.SAFE,
                    NOBODY,
                    "only the version changes",
                    field="version",
                    before=before,
                    after=after,
                )
            return
        if before == after:
            self.add(
                "version_not_bumped",
                Severity.RISKY,
                CONSUMER,
                "the contract changed but its version did not: lineage and the delivery ledger record "
                "the version, so the two revisions cannot be told apart",
                field="version",
                before=before,
                after=after,
            )
            return
        self.add(
            "version_changed",
            Severity.SAFE,
            NOBODY,
            "the version is bumped",
            field="version",
            before=before,
            after=after,
        )
        breaking = any(c.severity == Severity.BREAKING for c in self.changes)
        major_before, major_after = _major(before), _major(after)
        if breaking and major_before is not None and major_after is not None and major_after <= major_before:
            self.add(
                "major_version_not_bumped",
                Severity.RISKY,
                CONSUMER,
                "breaking changes need a new major version (semantic versioning) so consumers can tell",
                field="version",
                before=before,
                after=after,
            )

    # --- SLA -----------------------------------------------------------------------------------------

    def slas(self, base: Contract, head: Contract) -> None:
        before = {e.get("property"): e for e in base.sla}
        after = {e.get("property"): e for e in head.sla}
        zones = (str(base.custom.get("timezone") or "UTC"), str(head.custom.get("timezone") or "UTC"))
        for name in _keys(before, after):
            old, new = before.get(name), after.get(name)
            if old == new and zones[0] == zones[1]:
                continue
            field = f"slaProperties[{name}]"
            if name not in SLA_PROPERTIES:
                if old != new:
                    self.add(
                        "sla_changed",
                        Severity.RISKY,
                        BOTH,
                        f"service level {name} changes",
                        field=field,
                        before=old,
                        after=new,
                    )
            elif old is None:
                self.add(
                    "sla_added",
                    Severity.RISKY,
                    PRODUCER,
                    "the producer now has a delivery deadline; late deliveries raise alerts",
                    field=field,
                    after=_sla_view(new),
                )
            elif new is None:
                self.add(
                    "sla_removed",
                    Severity.RISKY,
                    CONSUMER,
                    "late deliveries are no longer detected",
                    field=field,
                    before=_sla_view(old),
                )
            else:
                self.delivery_sla(name, old, new, zones)

    def delivery_sla(
        self, name: str, old: dict[str, Any], new: dict[str, Any], zones: tuple[str, str]
    ) -> None:
        field = f"slaProperties[{name}]"
        window_before, window_after = _sla_window(old), _sla_window(new)
        if window_before is None or window_after is None:
            if (old.get("value"), old.get("unit")) != (new.get("value"), new.get("unit")):
                self.add(
                    "sla_changed",
                    Severity.RISKY,
                    BOTH,
                    "the SLA window changes",
                    field=field,
                    before=_sla_view(old),
                    after=_sla_view(new),
                )
        elif window_after < window_before:
            self.add(
                "sla_tightened",
                Severity.RISKY,
                PRODUCER,
                f"deliveries must now be at most {_duration(window_after)} old (was "
                f"{_duration(window_before)}): the producer is late sooner",
                field=field,
                before=_sla_view(old),
                after=_sla_view(new),
            )
        elif window_after > window_before:
            self.add(
                "sla_loosened",
                Severity.RISKY,
                CONSUMER,
                f"data may now be {_duration(window_after)} old (was {_duration(window_before)}) before "
                "anyone is told",
                field=field,
                before=_sla_view(old),
                after=_sla_view(new),
            )
        schedules = (old.get("schedule"), new.get("schedule"))
        if schedules[0] != schedules[1] or (schedules[0] and zones[0] != zones[1]):
            self.deadline(field, schedules, zones)
        self.rest(old, new, ("property", "value", "unit", "schedule"), prefix=f"{field}.")

    def deadline(self, field: str, schedules: tuple[Any, Any], zones: tuple[str, str]) -> None:
        before = f"{schedules[0]} ({zones[0]})" if schedules[0] else None
        after = f"{schedules[1]} ({zones[1]})" if schedules[1] else None
        if not schedules[0] or not schedules[1]:
            added = not schedules[0]
            self.add(
                "sla_tightened" if added else "sla_loosened",
                Severity.RISKY,
                PRODUCER if added else CONSUMER,
                "a fixed deadline (cron schedule) is added"
                if added
                else "the fixed deadline is dropped; only the window counts",
                field=f"{field}.schedule",
                before=before,
                after=after,
            )
            return
        shift = _deadline_shift(str(schedules[0]), zones[0], str(schedules[1]), zones[1])
        if shift is None:
            self.add(
                "sla_changed",
                Severity.RISKY,
                BOTH,
                "the delivery deadlines follow another calendar",
                field=f"{field}.schedule",
                before=before,
                after=after,
            )
        elif shift < timedelta(0):
            self.add(
                "sla_tightened",
                Severity.RISKY,
                PRODUCER,
                f"each deadline falls {_duration(-shift)} earlier: the producer is late sooner",
                field=f"{field}.schedule",
                before=before,
                after=after,
            )
        elif shift > timedelta(0):
            self.add(
                "sla_loosened",
                Severity.RISKY,
                CONSUMER,
                f"each deadline falls {_duration(shift)} later: data arrives later before anyone is told",
                field=f"{field}.schedule",
                before=before,
                after=after,
            )

    # --- servers -------------------------------------------------------------------------------------

    def servers(self, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
        if len(before) == 1 and len(after) == 1:
            self.server(before[0], after[0])
            return
        by_name_before = {s.get("server"): s for s in before}
        by_name_after = {s.get("server"): s for s in after}
        for name in _keys(by_name_before, by_name_after):
            old, new = by_name_before.get(name), by_name_after.get(name)
            if old is None:
                self.add(
                    "server_added",
                    Severity.RISKY,
                    CONSUMER,
                    "a new delivery channel to set up",
                    field=f"servers[{name}]",
                    after=_server_view(new),
                )
            elif new is None:
                self.add(
                    "server_removed",
                    Severity.BREAKING,
                    PRODUCER,
                    "deliveries through this channel are no longer taken in",
                    field=f"servers[{name}]",
                    before=_server_view(old),
                )
            else:
                self.server(old, new)

    def server(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        name = new.get("server")
        prefix = f"servers[{name}]."
        if old.get("server") != name:
            self.add(
                "documentation_changed",
                Severity.SAFE,
                NOBODY,
                "the server's name only labels it",
                field=prefix + "server",
                before=old.get("server"),
                after=name,
            )
        for key in SERVER_CHANNEL_FIELDS:
            if old.get(key) != new.get(key):
                self.add(
                    "delivery_changed",
                    Severity.BREAKING,
                    PRODUCER,
                    f"server {key}: deliveries made the current way are no longer found or read",
                    field=prefix + key,
                    before=old.get(key),
                    after=new.get(key),
                )
        custom_old, custom_new = (
            custom_properties(old.get("customProperties")),
            custom_properties(new.get("customProperties")),
        )
        for key, default in FORMAT_HINTS.items():
            value_old, value_new = custom_old.get(key, default), custom_new.get(key, default)
            if _hint(key, value_old) != _hint(key, value_new):
                self.add(
                    "format_changed",
                    Severity.BREAKING,
                    PRODUCER,
                    f"{key}: files written the current way are read wrongly or not at all",
                    field=f"{prefix}customProperties.{key}",
                    before=value_old,
                    after=value_new,
                )
        for key in SERVER_ENV_PROPERTIES:
            if custom_old.get(key) != custom_new.get(key):
                self.add(
                    "deployment_changed",
                    Severity.RISKY,
                    CONSUMER,
                    f"the deployment must set {custom_new.get(key) or 'nothing'} instead of "
                    f"{custom_old.get(key) or 'nothing'} before this is merged, or pulls fail",
                    field=f"{prefix}customProperties.{key}",
                    before=custom_old.get(key),
                    after=custom_new.get(key),
                )
        safe = dict.fromkeys(
            SAFE_SERVER_PROPERTIES,
            (
                "delivery_changed",
                Severity.SAFE,
                NOBODY,
                "how many rows each request fetches; the data is the same",
            ),
        )
        self.custom(custom_old, custom_new, safe, handled=(*FORMAT_HINTS, *SERVER_ENV_PROPERTIES))
        if old.get("roles") != new.get("roles"):
            self.add(
                "access_changed",
                Severity.BREAKING,
                CONSUMER,
                "access: who may use the server changes",
                field=prefix + "roles",
                before=old.get("roles"),
                after=new.get("roles"),
            )
        self.rest(old, new, (*SERVER_CHANNEL_FIELDS, "customProperties", "roles", "server"), prefix=prefix)

    # --- objects and properties ----------------------------------------------------------------------

    def objects(self, base: Contract, head: Contract) -> None:
        old_objects = {o["name"]: o for o in base.objects}
        new_objects = {o["name"]: o for o in head.objects}
        removed = [n for n in old_objects if n not in new_objects]
        added = [n for n in new_objects if n not in old_objects]
        object_renames = _renames(
            removed,
            added,
            lambda n: _object_signature(old_objects[n]),
            lambda n: _object_signature(new_objects[n]),
        )
        pairs = [(n, n) for n in new_objects if n in old_objects] + list(object_renames.items())
        property_renames = {new: _property_renames(old_objects[old], new_objects[new]) for old, new in pairs}
        renamed_base = _renamed(base, object_renames, property_renames)
        for old, new in object_renames.items():
            self.add(
                "object_renamed",
                Severity.BREAKING,
                CONSUMER,
                "same columns under a new name: the bronze table and its asset key change, the history "
                "stays under the old name",
                obj=new,
                field="schema.name",
                before=old,
                after=new,
            )
        for name in removed:
            if name not in object_renames:
                self.add(
                    "object_removed",
                    Severity.BREAKING,
                    CONSUMER,
                    "its table is no longer fed and what it fed downstream loses its source",
                    obj=name,
                    field="schema",
                    before=name,
                    rules=[r.id for r in compile_rules(base, name)],
                )
        for name in added:
            if name not in object_renames.values():
                self.add(
                    "object_added",
                    Severity.SAFE,
                    NOBODY,
                    "a new table: nothing depends on it yet",
                    obj=name,
                    field="schema",
                    after=name,
                )
        for old, new in pairs:
            self.object(renamed_base, head, new, old_objects[old], new_objects[new], property_renames[new])

    def object(
        self,
        base: Contract,
        head: Contract,
        name: str,
        old: dict[str, Any],
        new: dict[str, Any],
        renames: dict[str, str],
    ) -> None:
        base_rules, head_rules = compile_rules(base, name), compile_rules(head, name)
        self.custom(
            custom_properties(old.get("customProperties")),
            custom_properties(new.get("customProperties")),
            OBJECT_PROPERTIES,
            obj=name,
        )
        if old.get("physicalName") != new.get("physicalName"):
            self.add(
                "delivery_changed",
                Severity.BREAKING,
                PRODUCER,
                "the database table pulled from changes",
                obj=name,
                field="physicalName",
                before=old.get("physicalName"),
                after=new.get("physicalName"),
            )
        old_props = {renames.get(p["name"], p["name"]): p for p in properties_of(old)}
        new_props = {p["name"]: p for p in properties_of(new)}
        present = f"{name}_columns_present"
        for old_name, new_name in renames.items():
            self.add(
                "property_renamed",
                Severity.BREAKING,
                BOTH,
                f"deliveries must now name the column {new_name}: files with {old_name} are blocked "
                "(missing column); readers of the bronze column break",
                obj=name,
                prop=new_name,
                field="name",
                before=old_name,
                after=new_name,
                rules=[present],
            )
        for prop_name in _keys(old_props, new_props):
            old_prop, new_prop = old_props.get(prop_name), new_props.get(prop_name)
            if new_prop is None:
                self.add(
                    "property_removed",
                    Severity.BREAKING,
                    CONSUMER,
                    "the column is no longer part of the contract: what it fed loses its source",
                    obj=name,
                    prop=prop_name,
                    field="properties",
                    before=_property_view(old_prop),
                    rules=_rule_ids(base_rules, prop_name),
                )
            elif old_prop is None:
                self.add(
                    "property_added",
                    Severity.BREAKING,
                    PRODUCER,
                    "every delivery must now contain this column: deliveries without it are blocked",
                    obj=name,
                    prop=prop_name,
                    field="properties",
                    after=_property_view(new_prop),
                    rules=[present, *_rule_ids(head_rules, prop_name)],
                )
            else:
                self.property(name, prop_name, old_prop, new_prop, head_rules)
        self.primary_key(name, list(old_props.values()), list(new_props.values()), head_rules)
        changed_columns = {n for n in _keys(old_props, new_props) if n not in old_props or n not in new_props}
        self.rules(name, base_rules, head_rules, changed_columns)
        self.rest(old, new, ("name", "properties", "quality", "customProperties", "physicalName"), obj=name)

    def property(
        self, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
    ) -> None:
        self.logical_type(obj, name, old, new, rules)
        options_old, options_new = old.get("logicalTypeOptions") or {}, new.get("logicalTypeOptions") or {}
        if options_old.get("format") != options_new.get("format"):
            self.add(
                "type_format_changed",
                Severity.BREAKING,
                PRODUCER,
                "values written in the current format no longer parse",
                obj=obj,
                prop=name,
                field="logicalTypeOptions.format",
                before=options_old.get("format"),
                after=options_new.get("format"),
                rules=_rule_ids(rules, name, RuleKind.TYPE),
            )
        for key in _keys(options_old, options_new):
            if key != "format" and options_old.get(key) != options_new.get(key):
                self.add(
                    "documentation_changed",
                    Severity.SAFE,
                    NOBODY,
                    "documentation only: the gate does not enforce this type option",
                    obj=obj,
                    prop=name,
                    field=f"logicalTypeOptions.{key}",
                    before=options_old.get(key),
                    after=options_new.get(key),
                )
        if old.get("physicalType") != new.get("physicalType"):
            self.add(
                "documentation_changed",
                Severity.SAFE,
                NOBODY,
                "physicalType documents the delivered type; the gate checks logicalType",
                obj=obj,
                prop=name,
                field="physicalType",
                before=old.get("physicalType"),
                after=new.get("physicalType"),
            )
        self.nullability(obj, name, old, new, rules)
        if bool(old.get("unique")) != bool(new.get("unique")):
            if new.get("unique"):
                severity_sides, reason = PRODUCER, "deliveries with repeated values are now rejected"
            else:
                severity_sides, reason = CONSUMER, "repeated values may now appear: joins on it can fan out"
            self.add(
                "unique_changed",
                Severity.BREAKING,
                severity_sides,
                reason,
                obj=obj,
                prop=name,
                field="unique",
                before=bool(old.get("unique")),
                after=bool(new.get("unique")),
                rules=_rule_ids(rules, name, RuleKind.UNIQUE),
            )
        for key in ("partitioned", "partitionKeyPosition"):
            if old.get(key) != new.get(key):
                self.add(
                    "layout_changed",
                    Severity.RISKY,
                    CONSUMER,
                    "the table is partitioned differently: readers' partition filters change",
                    obj=obj,
                    prop=name,
                    field=key,
                    before=old.get(key),
                    after=new.get(key),
                )
        if old.get("classification") != new.get("classification"):
            self.add(
                "classification_changed",
                Severity.RISKY,
                CONSUMER,
                "the data classification decides how the column may be handled",
                obj=obj,
                prop=name,
                field="classification",
                before=old.get("classification"),
                after=new.get("classification"),
            )
        self.property_custom(obj, name, old, new)
        handled = (
            "name",
            "logicalType",
            "logicalTypeOptions",
            "physicalType",
            "required",
            "unique",
            "primaryKey",
            "primaryKeyPosition",
            "partitioned",
            "partitionKeyPosition",
            "classification",
            "customProperties",
            "quality",
            "relationships",
        )
        self.rest(old, new, handled, obj=obj, prop=name)

    def logical_type(
        self, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
    ) -> None:
        before, after = old.get("logicalType"), new.get("logicalType")
        if before == after:
            return
        relation = _type_relation(before, after)
        type_rules = _rule_ids(rules, name, RuleKind.TYPE)
        if relation == "narrowed":
            self.add(
                "type_narrowed",
                Severity.BREAKING,
                PRODUCER,
                f"values that are {before or 'anything'} but not {after} are now invalid rows",
                obj=obj,
                prop=name,
                field="logicalType",
                before=before,
                after=after,
                rules=type_rules,
            )
            return
        if relation == "changed":
            self.add(
                "type_changed",
                Severity.BREAKING,
                BOTH,
                f"{before or 'unchecked'} and {after or 'unchecked'} values do not convert into each other",
                obj=obj,
                prop=name,
                field="logicalType",
                before=before,
                after=after,
                rules=type_rules,
            )
            return
        targets = _targets(new)
        fits = [self.canonical_types.get(t, "?") for t in targets]
        if targets and all(_type_relation(after, t) in ("same", "widened") for t in fits):
            severity, reason = (
                Severity.RISKY,
                (f"values the gate rejected as not {before} now pass; they still fit {', '.join(targets)}"),
            )
        elif targets:
            severity, reason = (
                Severity.BREAKING,
                (f"{after} values do not fit the canonical column(s) {', '.join(targets)}"),
            )
        else:
            severity, reason = Severity.BREAKING, f"consumers reading it as {before} may meet other values"
        self.add(
            "type_widened",
            severity,
            CONSUMER,
            reason,
            obj=obj,
            prop=name,
            field="logicalType",
            before=before,
            after=after,
            rules=type_rules,
        )

    def nullability(
        self, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
    ) -> None:
        """`required` as enforced: a primary key column is never null either."""
        if bool(old.get("required")) == bool(new.get("required")):
            return
        before_not_null = bool(old.get("required") or old.get("primaryKey"))
        after_not_null = bool(new.get("required") or new.get("primaryKey"))
        required_rules = _rule_ids(rules, name, RuleKind.REQUIRED)
        if before_not_null == after_not_null:
            self.add(
                "required_changed",
                Severity.SAFE,
                NOBODY,
                "still never null: it is a primary key column",
                obj=obj,
                prop=name,
                field="required",
                before=bool(old.get("required")),
                after=bool(new.get("required")),
            )
        elif after_not_null:
            self.add(
                "required_added",
                Severity.BREAKING,
                PRODUCER,
                "rows with an empty value are now rejected",
                obj=obj,
                prop=name,
                field="required",
                before=False,
                after=True,
                rules=required_rules,
            )
        else:
            self.add(
                "required_removed",
                Severity.BREAKING,
                CONSUMER,
                "nulls may now reach consumers that rely on a value",
                obj=obj,
                prop=name,
                field="required",
                before=True,
                after=False,
            )

    def property_custom(self, obj: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        custom_old = custom_properties(old.get("customProperties"))
        custom_new = custom_properties(new.get("customProperties"))
        targets_old, targets_new = _targets(old), _targets(new)
        if targets_old != targets_new:
            lost = [t for t in targets_old if t not in targets_new]
            gained = [t for t in targets_new if t not in targets_old]
            if lost:
                severity, reason = (
                    Severity.BREAKING,
                    (
                        f"{', '.join(lost)} no longer fed by this column"
                        + (f"; now feeds {', '.join(gained)}" if gained else "")
                    ),
                )
            else:
                severity, reason = Severity.RISKY, f"starts feeding {', '.join(gained)}"
            self.add(
                "mapping_changed",
                severity,
                CONSUMER,
                reason,
                obj=obj,
                prop=name,
                field="customProperties.canonical",
                before=targets_old,
                after=targets_new,
            )
        if custom_old.get("transform") != custom_new.get("transform"):
            self.add(
                "mapping_changed",
                Severity.BREAKING,
                CONSUMER,
                f"values reaching {', '.join(targets_new) or 'silver'} change scale or sign",
                obj=obj,
                prop=name,
                field="customProperties.transform",
                before=custom_old.get("transform"),
                after=custom_new.get("transform"),
            )
        if custom_old.get("antitrustMasked") != custom_new.get("antitrustMasked"):
            self.add(
                "access_changed",
                Severity.BREAKING,
                CONSUMER,
                "access: whether competitors see this measure masked changes",
                obj=obj,
                prop=name,
                field="customProperties.antitrustMasked",
                before=custom_old.get("antitrustMasked"),
                after=custom_new.get("antitrustMasked"),
            )
        self.custom(
            custom_old,
            custom_new,
            {},
            handled=("canonical", "transform", "antitrustMasked", "onViolation"),
            obj=obj,
            prop=name,
        )

    def primary_key(
        self, obj: str, old: list[dict[str, Any]], new: list[dict[str, Any]], rules: list[Rule]
    ) -> None:
        before, after = _primary_key(old), _primary_key(new)
        if before == after:
            return
        if not before:
            sides, reason = PRODUCER, "deliveries with repeated or empty key values are now rejected"
        elif not after:
            sides, reason = CONSUMER, "rows are no longer unique by a key: deduplication and joins change"
        else:
            sides, reason = (
                BOTH,
                "rows are unique by another key: deduplication, joins and surrogate keys change",
            )
        self.add(
            "primary_key_changed",
            Severity.BREAKING,
            sides,
            reason,
            obj=obj,
            field="primaryKey",
            before=before,
            after=after,
            rules=[r.id for r in rules if r.kind == RuleKind.PRIMARY_KEY],
        )

    # --- rules ---------------------------------------------------------------------------------------

    def rules(
        self, obj: str, base_rules: list[Rule], head_rules: list[Rule], changed_columns: set[str]
    ) -> None:
        old_by_id = {r.id: r for r in base_rules}
        new_by_id = {r.id: r for r in head_rules}
        for rule_id in _keys(old_by_id, new_by_id):
            old, new = old_by_id.get(rule_id), new_by_id.get(rule_id)
            either = new or old
            if old and new:
                self.rule(obj, old, new)
            elif either.kind in QUALITY_KINDS and either.property not in changed_columns:
                self.rule_presence(obj, old, new)

    def rule_presence(self, obj: str, old: Rule | None, new: Rule | None) -> None:
        rule = new or old
        field = f"quality[{rule.id}]"
        if not _enforced(rule):
            self.add(
                "rule_added" if new else "rule_removed",
                Severity.SAFE,
                NOBODY,
                "the rule only reports; it never blocks a delivery or drops rows",
                obj=obj,
                prop=rule.property,
                field=field,
                before=_rule_view(old),
                after=_rule_view(new),
                rules=[rule.id],
            )
        elif new:
            self.add(
                "rule_added",
                Severity.RISKY,
                PRODUCER,
                f"deliveries that fail it are {_consequence(new)}",
                obj=obj,
                prop=rule.property,
                field=field,
                after=_rule_view(new),
                rules=[rule.id],
            )
        else:
            self.add(
                "rule_removed",
                Severity.RISKY,
                CONSUMER,
                "rows it kept out of silver and gold may now reach them",
                obj=obj,
                prop=rule.property,
                field=field,
                before=_rule_view(old),
                rules=[rule.id],
            )

    def rule_change(
        self,
        obj: str,
        old: Rule,
        new: Rule,
        change: str,
        direction: str,
        reason: str,
        field: str,
        before: Any,
        after: Any,
    ) -> None:
        """A change to an existing rule; `direction` is tightened, loosened, changed (both ways) or same."""
        if direction == "same":
            severity, sides = Severity.SAFE, NOBODY
        elif not (_enforced(old) or _enforced(new)):
            severity, sides, reason = Severity.SAFE, NOBODY, f"{reason}; the rule only reports"
        else:
            severity = Severity.RISKY
            sides = {"tightened": PRODUCER, "loosened": CONSUMER}.get(direction, BOTH)
        self.add(
            change,
            severity,
            sides,
            reason,
            obj=obj,
            prop=new.property,
            field=f"quality[{new.id}].{field}",
            before=before,
            after=after,
            rules=[new.id],
        )

    def rule(self, obj: str, old: Rule, new: Rule) -> None:
        self.on_violation(obj, old, new)
        if new.kind not in QUALITY_KINDS:
            return
        if (old.kind, old.metric) != (new.kind, new.metric):
            self.rule_change(
                obj,
                old,
                new,
                "rule_changed",
                "changed",
                "the rule measures something else",
                "metric",
                f"{old.kind}:{old.metric}",
                f"{new.kind}:{new.metric}",
            )
            return
        for attribute, what in (
            ("query", "its query"),
            ("engine", "its engine"),
            ("implementation", "its implementation"),
            ("references", "the referenced column"),
        ):
            if getattr(old, attribute) != getattr(new, attribute):
                self.rule_change(
                    obj,
                    old,
                    new,
                    "rule_changed",
                    "changed",
                    f"{what} changes",
                    attribute,
                    getattr(old, attribute),
                    getattr(new, attribute),
                )
        self.arguments(obj, old, new)
        self.threshold(obj, old, new)
        if old.description != new.description:
            self.add(
                "documentation_changed",
                Severity.SAFE,
                NOBODY,
                "documentation only",
                obj=obj,
                prop=new.property,
                field=f"quality[{new.id}].description",
                before=old.description,
                after=new.description,
            )

    def on_violation(self, obj: str, old: Rule, new: Rule) -> None:
        if old.on_violation == new.on_violation or new.kind == RuleKind.TEXT:
            return
        before, after = STRICTNESS.get(old.on_violation, 2), STRICTNESS.get(new.on_violation, 2)
        if after > before:
            change, sides = "on_violation_stricter", PRODUCER
            reason = {
                (0, 1): "violating rows that were only reported are now dropped to quarantine",
                (0, 2): "a failure that was only reported now blocks the whole delivery",
                (1, 2): "a delivery whose violating rows were dropped is now blocked whole",
            }[(before, after)]
        else:
            change, sides = "on_violation_relaxed", CONSUMER
            reason = (
                "violating rows are still kept out, but the rest of a failing delivery is now published "
                "(partial deliveries)"
                if after == 1
                else "violating rows now reach silver and gold; failures are only reported"
            )
        self.add(
            change,
            Severity.RISKY,
            sides,
            reason,
            obj=obj,
            prop=new.property,
            field=f"quality[{new.id}].onViolation"
            if new.kind in QUALITY_KINDS
            else "customProperties.onViolation",
            before=old.on_violation,
            after=new.on_violation,
            rules=[new.id],
        )

    def arguments(self, obj: str, old: Rule, new: Rule) -> None:
        args_old, args_new = old.arguments, new.arguments
        for key in _keys(args_old, args_new):
            before, after = args_old.get(key), args_new.get(key)
            if before == after:
                continue
            if (
                key in ("validValues", "missingValues", "properties")
                and isinstance(before, list)
                and isinstance(after, list)
            ):
                self.value_set(obj, old, new, key, before, after)
            elif key == "pattern":
                self.pattern(obj, old, new, str(before), str(after))
            else:
                self.rule_change(
                    obj,
                    old,
                    new,
                    "rule_changed",
                    "changed",
                    f"argument {key} changes",
                    f"arguments.{key}",
                    before,
                    after,
                )

    def pattern(self, obj: str, old: Rule, new: Rule, before: str, after: str) -> None:
        """Patterns cannot be compared in general; dropping or adding whole alternatives (`a|b`) can."""
        old_parts, new_parts = _alternatives(before), _alternatives(after)
        if new_parts < old_parts:
            change, direction = "pattern_narrowed", "tightened"
            reason = f"values matching only {_listed(sorted(old_parts - new_parts))} are now invalid"
        elif new_parts > old_parts:
            change, direction = "pattern_widened", "loosened"
            reason = f"values matching {_listed(sorted(new_parts - old_parts))} are now accepted"
        else:
            change, direction = "pattern_changed", "changed"
            reason = "values are matched against another pattern; the dry run shows what it rejects"
        self.rule_change(obj, old, new, change, direction, reason, "arguments.pattern", before, after)

    def value_set(
        self, obj: str, old: Rule, new: Rule, key: str, before: list[Any], after: list[Any]
    ) -> None:
        """validValues and missingValues narrow or widen; fewer duplicate-key columns find more duplicates."""
        prefix, stricter_if_gone = VALUE_SETS[key]
        gone = [v for v in before if v not in after]
        came = [v for v in after if v not in before]
        if not gone and not came:
            self.rule_change(
                obj,
                old,
                new,
                "documentation_changed",
                "same",
                "the same values in another order",
                f"arguments.{key}",
                before,
                after,
            )
            return
        if gone and came:
            direction = "changed"
        else:
            direction = "tightened" if bool(gone) == stricter_if_gone else "loosened"
        if key == "validValues":
            detail = "; ".join(
                [f"{_listed(gone)} now invalid"] * bool(gone) + [f"{_listed(came)} now accepted"] * bool(came)
            )
            direction_word = {"tightened": "narrowed", "loosened": "widened"}.get(direction, direction)
        elif key == "missingValues":
            detail = "; ".join(
                [f"{_listed(came)} now count as missing"] * bool(came)
                + [f"{_listed(gone)} no longer count as missing"] * bool(gone)
            )
            direction_word = direction
        else:
            detail = f"duplicates are counted over {_listed(after)} (was {_listed(before)})"
            direction_word = direction
        self.rule_change(
            obj, old, new, f"{prefix}_{direction_word}", direction, detail, f"arguments.{key}", before, after
        )

    def threshold(self, obj: str, old: Rule, new: Rule) -> None:
        if (old.threshold, old.unit) == (new.threshold, new.unit):
            return
        before = _threshold_view(old) if old.threshold else old.threshold
        after = _threshold_view(new) if new.threshold else new.threshold
        if not old.threshold or not new.threshold:
            direction, change, reason = "changed", "threshold_changed", "the threshold is added or dropped"
        elif old.unit != new.unit:
            direction, change, reason = "changed", "threshold_unit_changed", _unit_change_reason(old, new)
        else:
            counts = new.kind == RuleKind.LIBRARY
            direction = compare_thresholds(
                old.threshold, new.threshold, counts=counts, integers=counts and new.unit == "rows"
            )
            change, reason = THRESHOLD_CHANGES[direction]
        self.rule_change(obj, old, new, change, direction, reason, "threshold", before, after)


# --- thresholds as sets of accepted values ---------------------------------------------------------------

Interval = tuple[float, bool, float, bool]
"""(low, low included, high, high included)."""


def accepted_values(
    threshold: dict[str, Any], *, counts: bool = False, integers: bool = False
) -> list[Interval]:
    """The metric values an ODCS operator accepts, as disjoint intervals.

    Comparing these sets (not the numbers) gives every operator's direction at once: `mustBeLessThan`
    tightens as its value falls, `mustBeGreaterThan` as it rises, `mustBeBetween` as it narrows.
    `counts`: the metric is never negative; `integers`: it is a whole number of rows, so
    `mustBeLessThan: 1` and `mustBe: 0` accept the same.
    """
    ((operator, value),) = threshold.items()
    inf = math.inf
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        low, high = (float(v) for v in value)
        intervals = (
            [(low, True, high, True)]
            if operator == "mustBeBetween"
            else [(-inf, False, low, False), (high, False, inf, False)]
        )
    else:
        v = float(value)
        intervals = {
            "mustBe": [(v, True, v, True)],
            "mustNotBe": [(-inf, False, v, False), (v, False, inf, False)],
            "mustBeGreaterThan": [(v, False, inf, False)],
            "mustBeGreaterOrEqualTo": [(v, True, inf, False)],
            "mustBeLessThan": [(-inf, False, v, False)],
            "mustBeLessOrEqualTo": [(-inf, False, v, True)],
        }[operator]
    if counts:
        intervals = [
            (0.0, True, high, high_in) if low < 0 else (low, low_in, high, high_in)
            for low, low_in, high, high_in in intervals
        ]
    if integers:
        intervals = [_whole(interval) for interval in intervals]
    return [i for i in intervals if not _empty(i)]


def compare_thresholds(
    before: dict[str, Any], after: dict[str, Any], *, counts: bool = False, integers: bool = False
) -> str:
    """same, tightened (`after` accepts a subset), loosened (a superset) or changed (neither)."""
    accepted_before = accepted_values(before, counts=counts, integers=integers)
    accepted_after = accepted_values(after, counts=counts, integers=integers)
    narrower, wider = _subset(accepted_after, accepted_before), _subset(accepted_before, accepted_after)
    if narrower and wider:
        return "same"
    return "tightened" if narrower else "loosened" if wider else "changed"


def _whole(interval: Interval) -> Interval:
    low, low_in, high, high_in = interval
    if math.isfinite(low):
        low, low_in = (math.ceil(low) if low_in else math.floor(low) + 1), True
    if math.isfinite(high):
        high, high_in = (math.floor(high) if high_in else math.ceil(high) - 1), True
    return (low, low_in, high, high_in)


def _empty(interval: Interval) -> bool:
    low, low_in, high, high_in = interval
    return low > high or (low == high and not (low_in and high_in))


def _contains(outer: Interval, inner: Interval) -> bool:
    o_low, o_low_in, o_high, o_high_in = outer
    i_low, i_low_in, i_high, i_high_in = inner
    low_ok = o_low < i_low or (o_low == i_low and (o_low_in or not i_low_in))
    high_ok = i_high < o_high or (i_high == o_high and (o_high_in or not i_high_in))
    return low_ok and high_ok


def _subset(inner: list[Interval], outer: list[Interval]) -> bool:
    """Each interval of `inner` lies in one of `outer` (they are disjoint with gaps, so that suffices)."""
    return all(any(_contains(o, i) for o in outer) for i in inner)


def _unit_change_reason(old: Rule, new: Rule) -> str:
    """rows ↔ percent cannot be ordered in general; for upper bounds, say at which batch size they cross."""
    upper = ("mustBeLessThan", "mustBeLessOrEqualTo")
    ((op_old, value_old),) = old.threshold.items()
    ((op_new, value_new),) = new.threshold.items()
    generic = (
        f"the limit is now in {new.unit} instead of {old.unit}: how strict it is depends on the batch size"
    )
    if op_old not in upper or op_new not in upper or not value_old or not value_new:
        return generic
    rows, percent = (value_old, value_new) if old.unit == "rows" else (value_new, value_old)
    crossing = 100 * float(rows) / float(percent)
    if new.unit == "percent":
        return f"{generic}; stricter than before for batches under {crossing:,.0f} rows, looser above"
    return f"{generic}; stricter than before for batches over {crossing:,.0f} rows, looser below"


# --- helpers ---------------------------------------------------------------------------------------------


def _keys(*mappings: dict[Any, Any]) -> list[Any]:
    """Keys of all mappings in first-seen order."""
    return list(dict.fromkeys(key for mapping in mappings for key in mapping))


def _without(mapping: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    drop = set(fields)
    return {k: v for k, v in mapping.items() if k not in drop}


def _major(version: str) -> int | None:
    head = str(version).lstrip("v").split(".")[0]
    return int(head) if head.isdigit() else None


def _hint(key: str, value: Any) -> Any:
    """Format hints as the reader sees them: encodings by their codec (latin-1 = ISO-8859-1)."""
    if key == "encoding":
        try:
            return codecs.lookup(str(value)).name
        except LookupError:
            return str(value)
    return value


def _targets(prop: dict[str, Any]) -> list[str]:
    targets = custom_properties(prop.get("customProperties")).get("canonical") or []
    return [str(t) for t in ([targets] if isinstance(targets, str) else targets)]


def _type_relation(before: str | None, after: str | None) -> str:
    """same, widened (every old value still passes), narrowed, or changed."""
    if before == after or (before in UNCHECKED_TYPES and after in UNCHECKED_TYPES):
        return "same"
    if after in UNCHECKED_TYPES or (before, after) in WIDENINGS:
        return "widened"
    if before in UNCHECKED_TYPES or (after, before) in WIDENINGS:
        return "narrowed"
    return "changed"


def _primary_key(props: list[dict[str, Any]]) -> list[str]:
    key = [p for p in props if p.get("primaryKey")]
    return [p["name"] for p in sorted(key, key=lambda p: p.get("primaryKeyPosition", -1))]


def _rule_ids(rules: list[Rule], prop: str, kind: RuleKind | None = None) -> list[str]:
    return [r.id for r in rules if r.property == prop and (kind is None or r.kind == kind)]


def _enforced(rule: Rule) -> bool:
    """Whether a failure of the rule can hold data back (block or quarantine), not only report."""
    return rule.kind != RuleKind.TEXT and rule.on_violation in ("block", "quarantine")


def _consequence(rule: Rule) -> str:
    if rule.on_violation == "quarantine":
        return "cut: violating rows go to quarantine, and too many block the delivery"
    return "blocked"


def _renames(
    removed: list[str],
    added: list[str],
    old_signature: Callable[[str], Hashable],
    new_signature: Callable[[str], Hashable],
) -> dict[str, str]:
    """Pair a removed and an added name when exactly one of each shares a signature."""
    by_old: dict[Hashable, list[str]] = {}
    by_new: dict[Hashable, list[str]] = {}
    for name in removed:
        by_old.setdefault(old_signature(name), []).append(name)
    for name in added:
        by_new.setdefault(new_signature(name), []).append(name)
    return {
        olds[0]: by_new[sig][0]
        for sig, olds in by_old.items()
        if sig is not None and len(olds) == 1 and len(by_new.get(sig, [])) == 1
    }


def _object_signature(obj: dict[str, Any]) -> Hashable:
    columns = tuple(sorted((p["name"], p.get("logicalType")) for p in properties_of(obj)))
    return columns or None


def _property_signature(prop: dict[str, Any]) -> Hashable:
    """A renamed column keeps its mapping to canonical and its type (unmapped: its whole description)."""
    targets = tuple(sorted(_targets(prop)))
    if targets:
        return ("mapped", targets, prop.get("logicalType"))
    return ("unmapped", prop.get("logicalType"), prop.get("physicalType"), prop.get("description"))


def _property_renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    old_props = {p["name"]: p for p in properties_of(old)}
    new_props = {p["name"]: p for p in properties_of(new)}
    removed = [n for n in old_props if n not in new_props]
    added = [n for n in new_props if n not in old_props]
    return _renames(
        removed,
        added,
        lambda n: _property_signature(old_props[n]),
        lambda n: _property_signature(new_props[n]),
    )


def _renamed(base: Contract, objects: dict[str, str], properties: dict[str, dict[str, str]]) -> Contract:
    """The base contract with renamed objects and columns under their new names, so that rules (and
    their generated ids) line up with the head's."""
    document = copy.deepcopy(base.document)
    for obj in document.get("schema") or []:
        obj["name"] = objects.get(obj["name"], obj["name"])
        renames = properties.get(obj["name"], {})
        for prop in properties_of(obj):
            prop["name"] = renames.get(prop["name"], prop["name"])
        for quality in [
            *(obj.get("quality") or []),
            *(q for p in properties_of(obj) for q in p.get("quality") or []),
        ]:
            columns = (quality.get("arguments") or {}).get("properties")
            if isinstance(columns, list):
                quality["arguments"]["properties"] = [renames.get(c, c) for c in columns]
    return Contract(path=base.path, document=document, positions=base.positions, model=base.model)


def _alternatives(pattern: str) -> frozenset[str]:
    """The top-level alternatives of a regular expression (`[0-9]{8}|[0-9]{13}` → two), outside
    groups and character classes. A full match of `a|b` is a full match of `a` or of `b`, so fewer
    alternatives accept fewer values."""
    parts, current, depth, in_class, escaped = [], [], 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return frozenset(parts)


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


def _listed(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:8]))
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")


# Compact views of before/after values for the report.


def _access_view(role: dict[str, Any] | None) -> dict[str, Any] | None:
    if role is None:
        return None
    view = {"access": role.get("access")}
    view.update(custom_properties(role.get("customProperties")))
    return view


def _sla_view(entry: dict[str, Any] | None) -> str | None:
    if entry is None:
        return None
    text = f"{entry.get('value')}{entry.get('unit', '')}"
    return f"{text}, due {entry['schedule']}" if entry.get("schedule") else text


def _server_view(server: dict[str, Any] | None) -> dict[str, Any] | None:
    return (
        None
        if server is None
        else {k: server.get(k) for k in ("server", *SERVER_CHANNEL_FIELDS) if k in server}
    )


def _property_view(prop: dict[str, Any]) -> str:
    parts = [str(prop.get("logicalType") or "unchecked")]
    parts += [flag for flag in ("required", "unique", "primaryKey") if prop.get(flag)]
    targets = _targets(prop)
    if targets:
        parts.append("→ " + ", ".join(targets))
    return ", ".join(parts)


def _threshold_view(rule: Rule) -> str:
    ((operator, value),) = rule.threshold.items()
    unit = " %" if rule.unit == "percent" else (" rows" if rule.kind == RuleKind.LIBRARY else "")
    return f"{operator} {value}{unit}"


def _rule_view(rule: Rule | None) -> str | None:
    if rule is None:
        return None
    what = rule.metric if rule.kind == RuleKind.LIBRARY else f"{rule.kind}"
    details = [what]
    for key in ("pattern", "validValues"):
        if key in rule.arguments:
            details.append(f"{key} {rule.arguments[key]}")
    if rule.threshold:
        details.append(_threshold_view(rule))
    details.append(f"({rule.on_violation})")
    return " ".join(details)
