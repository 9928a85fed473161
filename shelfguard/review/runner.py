"""The contract review of two git revisions: classified changes, impact and dry run, as one
`ContractReview` (the command that prints it is `shelfguard.commands.contract_review`)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from assets.plan import CANONICAL_CONTRACT, fed_objects, retailer_code
from checks.contract import Contract, ContractError, load_contract
from checks.diff import Change, Severity, count_by_severity, diff_contracts
from checks.engines import DEFAULT_ENGINE
from shelfguard.review.dry_run import DEFAULT_LAST, DryRun, dry_run_objects, escalate, is_landing
from shelfguard.review.git import Repository, ReviewError, Revision
from shelfguard.review.impact import Plans, contract_impact
from shelfguard.review.report import ContractReview
from shelfguard.review.trials import try_bronze, try_landing, try_master, try_silver
from shelfguard.settings import DataHome


def review(
    folder: Path,
    base: str,
    head: str | None,
    *,
    home: DataHome,
    last: int = DEFAULT_LAST,
    engine: str = DEFAULT_ENGINE,
) -> ContractReview:
    """Classify, place and try every contract change between `base` and `head` (None: the working tree)."""
    repository = Repository(folder)
    base_commit = repository.commit(base)
    head_commit = repository.commit(head) if head else None
    paths = repository.changed_contracts(base_commit, head_commit)
    with TemporaryDirectory(prefix="shelfguard-review-") as scratch:
        base_side = repository.export(base_commit, base, Path(scratch, "base"))
        head_side = (
            repository.export(head_commit, head, Path(scratch, "head"))
            if head_commit
            else repository.working_tree()
        )
        result = ContractReview(base=base_side.short, head=head_side.short, contracts=paths)
        head_contracts = _load(head_side, paths, lint=True)
        base_contracts = _load(base_side, paths, lint=False)
        canonical = _canonical(head_side)
        plans = Plans(base_side, head_side)
        runs: list[DryRun] = []
        for path, old, new in _pairs(paths, base_contracts, head_contracts):
            changes = _diff(old, new, path, canonical, base_side if new is None else head_side)
            result.changes += changes
            if not changes:
                continue
            result.impact.append(contract_impact(changes, old, new, plans))
            runs += _dry_runs(changes, old, new, plans, home, last, engine, result.notes)
        result.changes = escalate(result.changes, runs)
        result.dry_run = runs
    counts = count_by_severity(result.changes)
    result.breaking, result.risky, result.safe = (
        counts[s] for s in (Severity.BREAKING, Severity.RISKY, Severity.SAFE)
    )
    return result


def _load(revision: Revision, paths: list[str], *, lint: bool) -> dict[str, Contract]:
    """The revision's versions of the changed contracts. The head must pass lint; the base must only
    load: it is already merged, and judging it by lint rules added since would block their fixes."""
    present = [p for p in paths if (revision.root / p).is_file()]
    if lint and present:
        from checks.lint import lint_paths

        problems = lint_paths([revision.root / p for p in present])
        if problems:
            raise ReviewError(*(revision.locate(p) for p in problems), located=True)
    contracts, problems = {}, []
    for path in present:
        try:
            contracts[path] = load_contract(revision.root / path)
        except ContractError as exc:
            problems.append(revision.locate(exc))
    if problems:
        raise ReviewError(*problems, located=True)
    return contracts


def _canonical(revision: Revision) -> Contract | None:
    """The canonical model of the head, to judge widened types against the columns they feed."""
    try:
        return load_contract(revision.contracts_dir / CANONICAL_CONTRACT)
    except ContractError:
        return None


def _pairs(
    paths: list[str], base: dict[str, Contract], head: dict[str, Contract]
) -> list[tuple[str, Contract | None, Contract | None]]:
    """(path, base, head) per contract; a contract moved to another file is paired by its id."""
    moved_from = {}
    only_base = {base[p].id: p for p in paths if p in base and p not in head}
    for path in paths:
        if path in head and path not in base and head[path].id in only_base:
            moved_from[path] = only_base.pop(head[path].id)
    gone = set(moved_from.values())
    return [
        (path, base.get(moved_from.get(path, path)), head.get(path)) for path in paths if path not in gone
    ]


def _diff(
    old: Contract | None, new: Contract | None, path: str, canonical: Contract | None, revision: Revision
) -> list[Change]:
    try:
        return diff_contracts(old, new, path=path, canonical=canonical)
    except ContractError as exc:
        raise ReviewError(revision.locate(exc), located=True) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ReviewError(
            f"{revision.display(path)}:1:1: cannot compare the contract: {exc}", located=True
        ) from None


def _dry_runs(
    changes: list[Change],
    old: Contract | None,
    new: Contract | None,
    plans: Plans,
    home: DataHome,
    last: int,
    engine: str,
    notes: list[str],
) -> list[DryRun]:
    """Both revisions on the latest data of every object worth trying; a note for what has none."""
    objects = dry_run_objects(changes, old, new)
    if not objects:
        return []
    if old is None or new is None:
        state = "new" if old is None else "removed"
        notes.append(
            f"Dry run: `{(new or old).name}` is {state}: there is no other revision to compare with."
        )
        return []
    if new.custom.get("retailerCode"):
        trial = try_landing if is_landing(old) or is_landing(new) else try_bronze
        return [trial(old, new, name, home, last, engine) for name in objects]
    if new.custom.get("layer") == "canonical":
        return _canonical_runs(old, new, objects, plans, home, last, engine, notes)
    return [try_master(old, new, name, home, last, engine) for name in objects]


def _canonical_runs(
    old: Contract,
    new: Contract,
    objects: list[str],
    plans: Plans,
    home: DataHome,
    last: int,
    engine: str,
    notes: list[str],
) -> list[DryRun]:
    """The canonical gates on the silver data of every retailer feeding a changed object."""
    runs: list[DryRun] = []
    for name in objects:
        feeding = [retailer_code(r) for r in plans.head.retailers if name in fed_objects(r)]
        tried = [run for code in feeding if (run := try_silver(old, new, code, name, home, last, engine))]
        runs += tried
        missing = [code for code in feeding if code not in {run.retailer for run in tried}]
        if not feeding:
            notes.append(f"Dry run: no active retailer feeds `{name}`; there is no silver data to try.")
        elif missing:
            listed = ", ".join(f"`{code}`" for code in missing)
            notes.append(
                f"Dry run: no silver data of `{name}` for {listed} in `{home.warehouse / 'silver'}`; "
                "the change was not tried on their data."
            )
    return runs
