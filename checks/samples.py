"""The violating rows a gate shows: one sample format for every layer.

Up to SAMPLE_ROWS rows per row-level rule that found violations (whatever its `onViolation`), each
row once, with its ROW_NUMBER and the ids of the sampled rules it violates in VIOLATED_RULES. Bronze,
silver and gold keep this sample of each gated batch, and each asset check shows its own rule's rows.
"""

from __future__ import annotations

import polars as pl

from checks.engines.base import ROW_NUMBER
from checks.gate import GateRun

SAMPLE_ROWS = 10
VIOLATED_RULES = "violated_rules"
"""Column of a sample: the ids of the rules the row violates."""


def violating_sample(frame: pl.DataFrame, gate: GateRun) -> pl.DataFrame:
    """The sample of `frame`, the batch `gate` judged (row numbers are positions in it). For a
    Spark batch only the sampled rows leave Spark (`frame` may then be the Spark DataFrame)."""
    spark = type(gate.numbered).__module__.startswith("pyspark.")
    violations = gate.violations
    if spark:
        from checks.engines.spark_engine import first_violations

        violations = {rule_id: first_violations(rows, SAMPLE_ROWS) for rule_id, rows in violations.items()}
    numbered = None if spark else frame.with_row_index(ROW_NUMBER)
    row_type = pl.Int64 if numbered is None else numbered.schema[ROW_NUMBER]
    parts = [
        pl.DataFrame({ROW_NUMBER: rows.sort().head(SAMPLE_ROWS).cast(row_type), VIOLATED_RULES: rule_id})
        for rule_id, rows in violations.items()
    ]
    if not parts:
        return pl.DataFrame()
    by_row = pl.concat(parts).group_by(ROW_NUMBER, maintain_order=True).agg(VIOLATED_RULES)
    if numbered is None:
        from checks.engines.spark_engine import rows_numbered

        numbered = rows_numbered(gate.numbered, by_row.get_column(ROW_NUMBER))
    sample = numbered.join(by_row, on=ROW_NUMBER).sort(ROW_NUMBER)
    return sample.select(ROW_NUMBER, pl.exclude(ROW_NUMBER))  # one column order on every engine


def rows_violating(sample: pl.DataFrame, rule_id: str) -> pl.DataFrame:
    """The sampled rows that violate `rule_id` (none in an empty sample)."""
    if VIOLATED_RULES not in sample.columns:
        return pl.DataFrame()
    return sample.filter(pl.col(VIOLATED_RULES).list.contains(rule_id)).head(SAMPLE_ROWS)
