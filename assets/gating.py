"""Contract rules as Dagster asset checks, and gate results as their evaluations.

Shared by every layer's generated assets: one check per rule, blocking for rules whose failure
blocks a batch, WARN severity for warn rules, and the numbers of `checks.result` as metadata.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl

from checks.contract import HOLDS_DATA_BACK, Contract, properties_of
from checks.result import GateResult, Outcome
from checks.rules import Rule
from checks.samples import SAMPLE_ROWS, rows_violating

Metadata = dict[str, object]
"""Dagster metadata values by name (Dagster's own `RawMetadataValue` is private)."""


def check_name(rule_id: str) -> str:
    """Dagster names allow only [A-Za-z0-9_]; contract ids may carry umlauts or dashes."""
    return re.sub(r"[^A-Za-z0-9_]", "_", rule_id)


def check_specs(rules: Sequence[Rule], asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            check_name(rule.id),
            asset=asset_key,
            description=rule.description or f"{rule.metric} {rule.threshold}",
            blocking=rule.on_violation in HOLDS_DATA_BACK,
            metadata={
                "rule_id": rule.id,
                "metric": rule.metric,
                "on_violation": rule.on_violation,
                "threshold": str(rule.threshold),
                "property": rule.property or "",
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
    result: GateResult
    violating_sample: pl.DataFrame
    quarantine_path: str = ""

    def sample_of(self, rule_id: str) -> pl.DataFrame:
        """The sampled rows that violate `rule_id`."""
        return rows_violating(self.violating_sample, rule_id)


def check_results(
    rules: Sequence[Rule], batches: Sequence[CheckedBatch], contract: Contract, engine: str
) -> list[dg.AssetCheckResult]:
    """One evaluation per rule over all batches of the run: failed if it failed on any batch."""
    evaluations = []
    for rule in rules:
        per_batch = [(b, next((r for r in b.result.rules if r.id == rule.id), None)) for b in batches]
        evaluated = [(b, r) for b, r in per_batch if r is not None and r.outcome != Outcome.NOT_EVALUATED]
        failed = [(b, r) for b, r in per_batch if r is not None and r.passed is False]
        violating = sum(r.violating_rows for _, r in evaluated)
        samples = [b.sample_of(rule.id) for b, r in evaluated if r.violating_rows]
        samples = [s for s in samples if not s.is_empty()]
        sample = pl.concat(samples, how="diagonal_relaxed") if samples else pl.DataFrame()
        messages = [f"{b.label}: {r.message}" for b, r in per_batch if r is not None and r.message]
        metadata: Metadata = {
            "rule_id": rule.id,
            "metric": rule.metric,
            "value": evaluated[-1][1].value if evaluated and evaluated[-1][1].value is not None else None,
            "values_by_batch": {b.label: r.value for b, r in per_batch if r is not None},
            "violating_rows": violating,
            "threshold": str(rule.threshold),
            "unit": rule.unit,
            "on_violation": rule.on_violation,
            "engine": next((r.engine for _, r in evaluated if r.engine), engine),
            "batches": len(batches),
            "batches_failed": len(failed),
            "not_evaluated": len(per_batch) - len(evaluated),
            "quarantine_path": ", ".join(sorted({b.quarantine_path for b in batches if b.quarantine_path})),
            **contract_metadata(contract),
        }
        if samples:
            metadata["violating_sample"] = dg.MetadataValue.md(_markdown_table(sample.head(SAMPLE_ROWS)))
        if messages:
            metadata["messages"] = dg.MetadataValue.text("\n".join(messages[:50]))
        evaluations.append(
            dg.AssetCheckResult(
                check_name=check_name(rule.id),
                passed=not failed,
                severity=dg.AssetCheckSeverity.WARN
                if rule.on_violation == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata={k: v for k, v in metadata.items() if v is not None},
                description=rule.description or None,
            )
        )
    return evaluations


def _markdown_table(frame: pl.DataFrame) -> str:
    columns = frame.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)
