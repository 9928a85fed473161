"""Try both revisions of a contract on its latest real data, and compare what each gate decides.

A tightened threshold or a narrowed pattern is only risky in the abstract; on the latest data it
either blocks some or it does not. Each batch is read the way its layer takes it in (one
`Reader` per revision: a side may read the same bytes differently), then that revision's gate
decides. Where the data is found per kind of contract is `shelfguard.review.trials`. Nothing is
written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from assets.bronze.ledger import HELD_BACK_VERDICTS, UNREADABLE
from checks.contract import Contract
from checks.diff import Change, Severity, affects_data

if TYPE_CHECKING:
    import polars as pl

    from checks.gate import GateRun

DEFAULT_LAST = 10
HELD_BACK = (*HELD_BACK_VERDICTS, "error")
"""Outcomes after which nothing of a batch is promoted (`error`: an engine failed on it)."""
WHOLE_TABLE = "silver table"
"""The unit of a dimension's dry run: silver gates a dimension as a whole, so it is tried whole."""


class SideOutcome(BaseModel):
    """What one revision of the contract does to one batch."""

    verdict: str = Field(
        description="pass, warn, quarantine, block, unreadable, error (an engine failed), or absent "
        "(the object is not in this revision)."
    )
    rows: int = Field(0, description="Rows read.")
    rows_quarantined: int = Field(0, description="Rows quarantined (all rows when blocked).")
    blocking_rules: list[str] = Field(default_factory=list, description="Rules that blocked the batch.")
    error: str | None = Field(None, description="Why the batch could not be read, when it could not.")


class DeliveryTrial(BaseModel):
    file: str = Field(
        description="The batch tried: a landing file (relative to its landing folder), a bronze or "
        "silver delivery id, or a silver table."
    )
    base: SideOutcome
    head: SideOutcome


class DryRun(BaseModel):
    """Both gates of one object on its latest batches (for the canonical contract: per retailer)."""

    contract: str = Field(description="Id of the changed contract.")
    retailer: str = Field(description="Retailer code; `corporate` for the master data.")
    object: str = Field(description="The contract object the batches belong to.")
    source: str = Field(
        "landing",
        description="What was tried: `landing` files, `bronze` deliveries (pulled retailers), "
        "`silver` tables (canonical contract) or `master` files (corporate master).",
    )
    unit: str = Field("deliveries", description="What one trial is, for people: deliveries, silver table.")
    folder: str = Field(description="Where the batches were read from (a folder or a Delta table).")
    deliveries: int = Field(0, description="Batches tried (the latest N found).")
    blocked_before: int = Field(0, description="Batches the base contract blocks or cannot read.")
    blocked_after: int = Field(0, description="Batches the head contract blocks or cannot read.")
    newly_blocked: int = Field(
        0, description="Accepted by the base contract, held back by the head contract."
    )
    newly_accepted: int = Field(
        0, description="Held back by the base contract, accepted by the head contract."
    )
    unreadable_before: int = Field(0, description="Batches the base contract cannot read.")
    unreadable_after: int = Field(0, description="Batches the head contract cannot read.")
    quarantined_rows_before: int = Field(
        0, description="Rows the base contract quarantines, over all batches."
    )
    quarantined_rows_after: int = Field(
        0, description="Rows the head contract quarantines, over all batches."
    )
    newly_blocking_rules: dict[str, int] = Field(
        default_factory=dict,
        description="Rule id (or `unreadable` / `error`) → batches it newly holds back.",
    )
    summary: str = Field(description="One sentence for people.")
    trials: list[DeliveryTrial] = Field(default_factory=list, description="Per batch, oldest first.")


Reader = Callable[[Contract], "pl.DataFrame"]
"""Reads one batch as one revision takes it in; raises `assets.bronze.ingest.UnreadableDelivery`."""
Gate = Callable[[Contract, "pl.DataFrame"], "GateRun"]
"""One revision's gate on a batch that revision read."""


@dataclass(frozen=True)
class Sample:
    """One batch to try: its label in the report and how each revision reads it."""

    label: str
    read: Reader


def dry_run_objects(changes: list[Change], base: Contract | None, head: Contract | None) -> list[str]:
    """Objects worth trying: those with breaking or risky changes, all of them for a contract-level one."""
    relevant = [c for c in changes if affects_data(c)]
    names = [
        *(head.object_names if head else []),
        *(n for n in (base.object_names if base else []) if not head or n not in head.object_names),
    ]
    if any(c.object is None for c in relevant):
        return names
    touched = {c.object for c in relevant}
    return [n for n in names if n in touched]


def is_landing(contract: Contract | None) -> bool:
    return contract is not None and any(s.get("type") == "local" for s in contract.servers)


def compare(
    base: Contract,
    head: Contract,
    object_name: str,
    samples: list[Sample],
    gate: Gate,
    *,
    retailer: str,
    folder: str,
    source: str = "landing",
    unit: str = "deliveries",
) -> DryRun:
    """Both revisions' verdicts on every sample, and what changes between them."""
    trials = [
        DeliveryTrial(
            file=sample.label,
            base=judge(base, object_name, sample.read, gate),
            head=judge(head, object_name, sample.read, gate),
        )
        for sample in samples
    ]
    run = DryRun(
        contract=head.id,
        retailer=retailer,
        object=object_name,
        source=source,
        unit=unit,
        folder=folder,
        deliveries=len(trials),
        summary="",
        trials=trials,
    )
    newly: Counter[str] = Counter()
    for trial in trials:
        before, after = trial.base, trial.head
        run.blocked_before += before.verdict in HELD_BACK
        run.blocked_after += after.verdict in HELD_BACK
        run.unreadable_before += before.verdict == UNREADABLE
        run.unreadable_after += after.verdict == UNREADABLE
        run.quarantined_rows_before += before.rows_quarantined
        run.quarantined_rows_after += after.rows_quarantined
        if after.verdict in HELD_BACK and before.verdict not in HELD_BACK:
            run.newly_blocked += 1
            newly.update(after.blocking_rules or [after.verdict])
        elif before.verdict in HELD_BACK and after.verdict not in HELD_BACK:
            run.newly_accepted += 1
    run.newly_blocking_rules = dict(newly.most_common())
    run.summary = _summary(run)
    return run


def judge(contract: Contract | None, object_name: str, read: Reader, gate: Gate) -> SideOutcome:
    """One revision's verdict on one batch, read and gated the way its layer does."""
    from assets.bronze.ingest import UnreadableDelivery
    from checks.gate import GateError

    if contract is None or object_name not in contract.object_names:
        return SideOutcome(verdict="absent")
    try:
        frame = read(contract)
    except UnreadableDelivery as exc:
        return SideOutcome(
            verdict=UNREADABLE, rows=0 if exc.frame is None else exc.frame.height, error=exc.reason
        )
    try:
        result = gate(contract, frame).result
    except GateError as exc:
        return SideOutcome(verdict="error", rows=frame.height, error=str(exc))
    return SideOutcome(
        verdict=str(result.verdict),
        rows=result.rows,
        rows_quarantined=result.rows_quarantined,
        blocking_rules=result.blocking_rule_ids,
    )


def escalate(changes: list[Change], runs: list[DryRun]) -> list[Change]:
    """A risky change whose rule newly held back real data is breaking: the evidence decides.

    A canonical change is tried per retailer, so its evidence may come from several runs."""
    escalated = []
    for change in changes:
        evidence = [
            run
            for run in runs
            if run.contract == change.contract
            and run.object == change.object
            and set(change.rules) & set(run.newly_blocking_rules)
        ]
        if change.severity == Severity.RISKY and evidence:
            found = "; ".join(
                f"{max(run.newly_blocking_rules.get(r, 0) for r in change.rules)} of {_tried(run)} "
                f"from `{run.retailer}`"
                for run in evidence
            )
            change = change.model_copy(
                update={
                    "severity": Severity.BREAKING,
                    "reason": f"{change.reason}; the dry run shows it would have blocked {found}",
                }
            )
        escalated.append(change)
    return escalated


def _tried(run: DryRun) -> str:
    """`the last 10 deliveries`, or `1 silver table` (a table is not one of a series)."""
    count = f"{run.deliveries} {run.unit}"
    return count if run.unit == WHOLE_TABLE else f"the last {count}"


def _summary(run: DryRun) -> str:
    where = f"`{run.retailer}` `{run.object}`"
    if not run.deliveries:
        return f"no {run.unit} of {where} found in {run.folder}"
    quarantined = f"quarantined rows {run.quarantined_rows_before:,} → {run.quarantined_rows_after:,}"
    parts = []
    if run.newly_blocked:
        rules = ", ".join(f"`{r}`" for r in run.newly_blocking_rules)
        label = "rule" if len(run.newly_blocking_rules) == 1 else "rules"
        parts.append(
            f"this change would have blocked {run.newly_blocked} of {_tried(run)} from {where} "
            f"({label} {rules})"
        )
    if run.newly_accepted:
        parts.append(
            f"it would have accepted {run.newly_accepted} of {_tried(run)} from {where} that the "
            "current contract holds back"
        )
    if not parts:
        parts.append(
            f"none of {_tried(run)} from {where} would be blocked or accepted differently "
            f"({run.blocked_after} held back either way)"
        )
    return "; ".join([*parts, quarantined])
