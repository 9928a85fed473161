"""Try both revisions of a retailer contract on its latest real deliveries.

A tightened threshold or a narrowed pattern is only risky in the abstract; on the latest deliveries
it either blocks some or it does not. Each delivery is read and gated the way bronze takes it in
(`assets.bronze`): read with the contract side's format hints, a delivery without its required
columns counts as unreadable, then the gate decides. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from checks.contract import Contract
from checks.diff import Change, Severity, affects_data
from shelfguard.settings import DataHome

DEFAULT_LAST = 10
HELD_BACK = ("block", "unreadable", "error")
"""Outcomes after which nothing of a delivery is promoted (`error`: an engine failed on it)."""


class SideOutcome(BaseModel):
    """What one revision of the contract does to one delivery."""

    verdict: str = Field(
        description="pass, warn, quarantine, block, unreadable, error (an engine failed), or absent "
        "(the object is not in this revision)."
    )
    rows: int = Field(0, description="Rows read.")
    rows_quarantined: int = Field(0, description="Rows quarantined (all rows when blocked).")
    blocking_rules: list[str] = Field(default_factory=list, description="Rules that blocked the delivery.")
    error: str | None = Field(None, description="Why the delivery could not be read, when it could not.")


class DeliveryTrial(BaseModel):
    file: str = Field(description="The delivery file, relative to the retailer's landing folder.")
    base: SideOutcome
    head: SideOutcome


class DryRun(BaseModel):
    """Both gates of one retailer object on its latest deliveries."""

    contract: str = Field(description="Id of the retailer contract.")
    retailer: str = Field(description="Retailer code.")
    object: str = Field(description="The contract object the deliveries belong to.")
    folder: str = Field(description="Landing folder the deliveries were read from.")
    deliveries: int = Field(0, description="Deliveries tried (the latest N found).")
    blocked_before: int = Field(0, description="Deliveries the base contract blocks or cannot read.")
    blocked_after: int = Field(0, description="Deliveries the head contract blocks or cannot read.")
    newly_blocked: int = Field(
        0, description="Accepted by the base contract, held back by the head contract."
    )
    newly_accepted: int = Field(
        0, description="Held back by the base contract, accepted by the head contract."
    )
    unreadable_before: int = Field(0, description="Deliveries the base contract cannot read.")
    unreadable_after: int = Field(0, description="Deliveries the head contract cannot read.")
    quarantined_rows_before: int = Field(
        0, description="Rows the base contract quarantines, over all deliveries."
    )
    quarantined_rows_after: int = Field(
        0, description="Rows the head contract quarantines, over all deliveries."
    )
    newly_blocking_rules: dict[str, int] = Field(
        default_factory=dict,
        description="Rule id (or `unreadable` / `error`) → deliveries it newly holds back.",
    )
    summary: str = Field(description="One sentence for people.")
    trials: list[DeliveryTrial] = Field(default_factory=list, description="Per delivery, oldest first.")


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


def dry_run(
    base: Contract | None,
    head: Contract | None,
    object_name: str,
    home: DataHome,
    last: int,
    engine: str = "pandera",
) -> DryRun:
    """Gate the latest `last` deliveries of `object_name` with both revisions of the contract."""
    from assets.bronze import landing_files

    contract = head or base
    code = str(contract.custom["retailerCode"])
    folder = home.landing_for(code)
    files: set[Path] = set()
    for side in (base, head):
        if side is not None and object_name in side.object_names:
            files.update(landing_files(home, side, object_name))
    latest = sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))[-last:] if last > 0 else []
    trials = [
        DeliveryTrial(
            file=path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name,
            base=judge(base, object_name, path, engine),
            head=judge(head, object_name, path, engine),
        )
        for path in latest
    ]
    run = DryRun(
        contract=contract.id,
        retailer=code,
        object=object_name,
        folder=str(folder),
        deliveries=len(trials),
        summary="",
        trials=trials,
    )
    newly: Counter[str] = Counter()
    for trial in trials:
        before, after = trial.base, trial.head
        run.blocked_before += before.verdict in HELD_BACK
        run.blocked_after += after.verdict in HELD_BACK
        run.unreadable_before += before.verdict == "unreadable"
        run.unreadable_after += after.verdict == "unreadable"
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


def judge(contract: Contract | None, object_name: str, path: Path, engine: str) -> SideOutcome:
    """One revision's verdict on one delivery file, decided by bronze's own read and gate."""
    from assets.bronze import UnreadableDelivery, gate_delivery, read_delivery
    from checks.gate import GateError

    if contract is None or object_name not in contract.object_names:
        return SideOutcome(verdict="absent")
    try:
        frame = read_delivery(contract, object_name, path)
    except UnreadableDelivery as exc:
        return SideOutcome(
            verdict="unreadable", rows=0 if exc.frame is None else exc.frame.height, error=exc.reason
        )
    try:
        result = gate_delivery(contract, object_name, frame, engine=engine).result
    except GateError as exc:
        return SideOutcome(verdict="error", rows=frame.height, error=str(exc))
    return SideOutcome(
        verdict=str(result.verdict),
        rows=result.rows,
        rows_quarantined=result.rows_quarantined,
        blocking_rules=result.blocking_rule_ids,
    )


def escalate(changes: list[Change], runs: list[DryRun]) -> list[Change]:
    """A risky change whose rule newly held back real deliveries is breaking: the evidence decides."""
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
            run = evidence[0]
            count = max(run.newly_blocking_rules[r] for r in change.rules if r in run.newly_blocking_rules)
            change = change.model_copy(
                update={
                    "severity": Severity.BREAKING,
                    "reason": f"{change.reason}; the dry run shows it would have blocked {count} of the last "
                    f"{run.deliveries} deliveries",
                }
            )
        escalated.append(change)
    return escalated


def _summary(run: DryRun) -> str:
    where = f"`{run.retailer}` `{run.object}`"
    if not run.deliveries:
        return f"no deliveries of {where} found in {run.folder}"
    quarantined = f"quarantined rows {run.quarantined_rows_before:,} → {run.quarantined_rows_after:,}"
    parts = []
    if run.newly_blocked:
        rules = ", ".join(f"`{r}`" for r in run.newly_blocking_rules)
        label = "rule" if len(run.newly_blocking_rules) == 1 else "rules"
        parts.append(
            f"this change would have blocked {run.newly_blocked} of the last {run.deliveries} deliveries "
            f"from {where} ({label} {rules})"
        )
    if run.newly_accepted:
        parts.append(
            f"it would have accepted {run.newly_accepted} of the last {run.deliveries} deliveries from "
            f"{where} that the current contract holds back"
        )
    if not parts:
        parts.append(
            f"no delivery of the last {run.deliveries} from {where} would be blocked or accepted "
            f"differently ({run.blocked_after} held back either way)"
        )
    return "; ".join([*parts, quarantined])
