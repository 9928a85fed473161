"""Contract rules as Dagster asset checks, and gate results as their evaluations.

Shared by every layer's generated assets: one check per rule, blocking for rules whose failure
blocks a batch, WARN severity for warn rules, and the numbers of `checks.result` as metadata.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from checks.contract import HOLDS_DATA_BACK, Contract, properties_of
from checks.result import GateResult, Outcome, RuleResult
from checks.rules import Rule
from checks.samples import SAMPLE_ROWS, rows_violating

Metadata = dict[str, object]
"""Dagster metadata values by name (Dagster's own `RawMetadataValue` is private)."""


TRANSLITERATION = str.maketrans({
    "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Æ": "Ae", "æ": "ae",
    "Ø": "Oe", "ø": "oe", "Å": "Aa", "å": "aa", "Œ": "Oe", "œ": "oe", "Þ": "Th", "þ": "th", "Ð": "D",
    "ð": "d", "Ł": "L", "ł": "l",
})
"""Letters that keep their sound in ASCII as two letters (German, Nordic, Old English, Polish); the
rest lose only their accents (`é` → `e`)."""


def check_name(rule_id: str) -> str:
    """Dagster names allow only [A-Za-z0-9_]: a stable ASCII transliteration of the rule id
    (`Änderungsdatum_nullValues` → `Aenderungsdatum_nullValues`), anything else left as `_`."""
    decomposed = unicodedata.normalize("NFKD", rule_id.translate(TRANSLITERATION))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9_]", "_", ascii_only)


def check_names(rules: Sequence[Rule]) -> dict[str, str]:
    """Each rule id's check name, unique within the asset (a clash gets `_2`, `_3`, … in rule order)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for rule in rules:
        name, number = check_name(rule.id), 1
        while name in taken:
            number += 1
            name = f"{check_name(rule.id)}_{number}"
        names[rule.id] = name
        taken.add(name)
    return names


RULE_ACTIONS = {
    "block": "a failure blocks the whole batch",
    "quarantine": "violating rows are quarantined, and the batch is blocked if too many",
    "warn": "a failure only warns",
}


def check_description(rule: Rule) -> str:
    """What the check judges, in words: the column(s), the rule and its limit, and what a failure does."""
    if rule.property:
        subject = f"Column {rule.property} of {rule.object}"
    elif rule.properties:
        subject = f"Columns {', '.join(rule.properties)} of {rule.object}"
    else:
        subject = f"Table {rule.object}"
    said = rule.description.strip().rstrip(".")
    limit = "; ".join(f"{_words(operator)} {value}" for operator, value in rule.threshold.items())
    measured = f"{rule.metric} {limit} {rule.unit}".strip() if limit else rule.metric
    action = RULE_ACTIONS.get(rule.on_violation, rule.on_violation)
    return f"{subject}: {said + '. ' if said else ''}Rule {rule.id}: {measured}; {action}."


def _words(camel: str) -> str:
    """`mustBeLessOrEqualTo` → `must be less or equal to`."""
    return re.sub(r"(?<!^)([A-Z])", r" \1", camel).lower()


def check_specs(rules: Sequence[Rule], asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One check per rule, Dagster-blocking where the rule holds a batch back."""
    names = check_names(rules)
    return [
        dg.AssetCheckSpec(
            names[rule.id],
            asset=asset_key,
            description=check_description(rule),
            blocking=rule.on_violation in HOLDS_DATA_BACK,
            metadata={
                "rule_id": rule.id,
                "metric": rule.metric,
                "on_violation": rule.on_violation,
                "threshold": str(rule.threshold),
                "property": rule.property or ", ".join(rule.properties),
            },
        )
        for rule in rules
    ]


def column_schema(contract: Contract, object_name: str) -> dg.TableSchema:
    """`dagster/column_schema` from the contract object's properties."""
    columns = []
    for prop in properties_of(contract.object(object_name)):
        columns.append(
            dg.TableColumn(
                name=prop["name"],
                type=prop.get("physicalType") or prop.get("logicalType") or "string",
                description=prop.get("description"),
                constraints=dg.TableColumnConstraints(
                    nullable=not (prop.get("required") or prop.get("primaryKey")),
                    unique=bool(prop.get("unique")),
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def contract_metadata(contract: Contract) -> Metadata:
    return {
        "contract_id": contract.id,
        "contract_version": contract.version,
        "contract": dg.MetadataValue.path(str(contract.path)),
    }


@dataclass
class CheckedBatch:
    """One gated batch of a run (a run may take in several deliveries of one asset).

    `violating_sample` is the batch's `checks.samples.violating_sample`; each check shows only its
    own rule's rows.
    """

    label: str
    """The delivery id (bronze), the retailer and its deliveries (silver) or part (gold)."""
    result: GateResult
    violating_sample: pl.DataFrame
    quarantine_path: str = ""
    source: str = ""
    """The delivered file or pull the batch came from (bronze)."""
    deliveries: Sequence[str] = ()
    """The bronze deliveries a silver batch took in."""

    def sample_of(self, rule_id: str) -> pl.DataFrame:
        """The sampled rows that violate `rule_id`."""
        return rows_violating(self.violating_sample, rule_id)


def check_results(
    rules: Sequence[Rule], batches: Sequence[CheckedBatch], contract: Contract, engine: str
) -> list[dg.AssetCheckResult]:
    """One evaluation per rule over the run's batches: failed if it failed on any batch.

    The numbers shown are the first failing batch's (else the last evaluated one's), named by its
    delivery id, source file and quarantine path; `by_delivery` lists every batch's own result.
    """
    names = check_names(rules)
    evaluations = []
    for rule in rules:
        per_batch = [(b, r) for b in batches if (r := _rule_result(b, rule.id)) is not None]
        evaluated = [(b, r) for b, r in per_batch if r.outcome != Outcome.NOT_EVALUATED]
        failed = [(b, r) for b, r in per_batch if r.passed is False]
        shown = failed[0] if failed else (evaluated[-1] if evaluated else None)
        samples = [b.sample_of(rule.id) for b, r in evaluated if r.violating_rows]
        samples = [s for s in samples if not s.is_empty()]
        sample = pl.concat(samples, how="diagonal_relaxed") if samples else pl.DataFrame()
        metadata: Metadata = {
            "rule_id": rule.id,
            "metric": rule.metric,
            "threshold": str(rule.threshold),
            "unit": rule.unit,
            "on_violation": rule.on_violation,
            "engine": next((r.engine for _, r in evaluated if r.engine), engine),
            "batches": len(per_batch),
            "batches_failed": len(failed),
            "not_evaluated": len(per_batch) - len(evaluated),
            "violating_rows_all_batches": sum(r.violating_rows for _, r in evaluated),
            **contract_metadata(contract),
        }
        if shown is not None:
            batch, result = shown
            metadata.update({
                "value": result.value,
                "violating_rows": result.violating_rows,
                "rows_checked": batch.result.rows,
                "delivery_id" if batch.source else "batch": batch.label,
                "deliveries": dg.MetadataValue.json(list(batch.deliveries)) if batch.deliveries else None,
                "source_file": batch.source or None,
                "quarantine_path": batch.quarantine_path or None,
            })
        if len(per_batch) > 1:
            metadata["by_delivery"] = dg.MetadataValue.md(_by_delivery(per_batch))
        if samples:
            metadata["violating_sample"] = dg.MetadataValue.md(_markdown_table(sample.head(SAMPLE_ROWS)))
        evaluations.append(
            dg.AssetCheckResult(
                check_name=names[rule.id],
                passed=not failed,
                severity=dg.AssetCheckSeverity.WARN
                if rule.on_violation == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata={k: v for k, v in metadata.items() if v is not None},
                description=_result_line(shown, len(failed)) if shown else None,
            )
        )
    return evaluations


def _rule_result(batch: CheckedBatch, rule_id: str) -> RuleResult | None:
    return next((r for r in batch.result.rules if r.id == rule_id), None)


def _result_line(shown: tuple[CheckedBatch, RuleResult], failed: int) -> str:
    batch, result = shown
    where = f"{batch.label} ({Path(batch.source).name})" if batch.source else batch.label
    verdict = "failed" if result.passed is False else "passed"
    others = f"; {failed - 1} more failing batch(es) in by_delivery" if failed > 1 else ""
    message = f": {result.message}" if result.message else ""
    numbers = f"value {result.value}, {result.violating_rows} violating row(s)"
    return f"{where} {verdict}: {numbers}{message}{others}"


def _by_delivery(per_batch: Sequence[tuple[CheckedBatch, RuleResult]]) -> str:
    frame = pl.DataFrame(
        {
            "delivery": [b.label for b, _ in per_batch],
            "source_file": [Path(b.source).name if b.source else "" for b, _ in per_batch],
            "outcome": [str(r.outcome) for _, r in per_batch],
            "value": [None if r.value is None else str(r.value) for _, r in per_batch],
            "violating_rows": [r.violating_rows for _, r in per_batch],
            "quarantine_path": [b.quarantine_path for b, _ in per_batch],
        }
    )
    return _markdown_table(frame)


def _markdown_table(frame: pl.DataFrame) -> str:
    columns = frame.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)
