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

The rules are data (`checks.diff.catalogue`); one walker per contract area (`contract_level`,
`access`, `sla`, `servers`, `schema`, `quality`) only says which catalogue row it saw.
Dagster-free and independent of `shelfguard`, so CI and other tools can use it on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from checks.contract import Contract
from checks.diff.catalogue import CATALOGUE, SEVERITY_ORDER, ChangeRule, Severity, Side
from checks.diff.contract_level import walk_contract
from checks.diff.recorder import Change, Recorder
from checks.diff.values import accepted_values, compare_thresholds

__all__ = [
    "CATALOGUE",
    "SEVERITY_ORDER",
    "Change",
    "ChangeRule",
    "Severity",
    "Side",
    "accepted_values",
    "affects_data",
    "compare_thresholds",
    "count_by_severity",
    "diff_contracts",
]

PROCESS_CHANGES = frozenset({"version_not_bumped", "major_version_not_bumped"})
"""Changes about how the contract is versioned, not about the data it describes."""


def diff_contracts(
    base: Contract | None, head: Contract | None, *, path: str, canonical: Contract | None = None
) -> list[Change]:
    """Every difference between two revisions of one contract, classified; [] when nothing changed.

    `canonical` (the head canonical contract) lets a widened retailer type be judged against the
    canonical columns it feeds.
    """
    if base is None and head is None:
        return []
    rec = Recorder((head or base).id, path, canonical)
    if base is None:
        rec.saw("contract_added", after=head.version)
    elif head is None:
        rec.saw("contract_removed", before=base.version)
    else:
        walk_contract(rec, base, head)
    return rec.changes


def affects_data(change: Change) -> bool:
    """Whether a change can alter what happens to data: breaking or risky, and not about the versioning."""
    return change.severity != Severity.SAFE and change.change not in PROCESS_CHANGES


def count_by_severity(changes: Iterable[Change]) -> dict[Severity, int]:
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for change in changes:
        counts[change.severity] += 1
    return counts
