"""What an engine must do: measure rules on a batch. Nothing more.

Engines never compare thresholds or decide verdicts (`checks.gate` does, once for all engines), so
the same numbers always lead to the same verdict. A later Spark engine (pandera's pyspark backend,
soda-sparkdf) implements the same protocol over the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # `contracts lint` imports the registry and the semantics, never Polars
    import polars as pl

    from checks.rules import Rule

ROW_NUMBER = "__sg_row_nr"
"""Column the gate adds to every batch: the row's 0-based position in delivery order."""


@dataclass
class BatchContext:
    """What an engine needs to know about a batch besides its rows."""

    object_name: str
    decimal_separator: str = "."
    references: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Referenced tables for relationship rules, by object name (e.g. `prod_dim`)."""
    column_types: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """logicalType and date format of each property with a castability rule: rules written against
    typed values (`type: sql`, custom Soda and GX rules) see text columns as these types
    (`checks.engines.pandera_engine.typed_batch`)."""
    dataset: Callable[[], Any] | None = None
    """Opens the batch's rows in place, as a pyarrow dataset of its Parquet files or Delta table
    (columns under their delivered names), when the caller has one: `type: sql` rules query it
    instead of a copy of the batch (`checks.sql_rules`); called only when there are such rules."""
    delivered_names: dict[str, str] = field(default_factory=dict)
    """Delivered column name -> the property name the batch has it under (`physicalName`s)."""


@dataclass
class Measurement:
    """The number behind one rule, and for row-level rules which rows are behind it."""

    rule_id: str
    count: int | float | None
    """Rows behind the metric (rowCount: the rows; columnsPresent/extraColumns: columns; sql/custom:
    the query's number). None when the rule could not be evaluated."""
    violating_rows: pl.Series | None = None
    """For row-level rules: the ROW_NUMBER values of the violating rows (for duplicates: every row
    but the one kept). None for table-level rules."""
    message: str = ""
    engine: str = ""
    passed: bool | None = None
    """For custom rules: the engine's own pass/fail (e.g. a GX expectation with `mostly`). The gate
    uses it when the rule has no ODCS operator; without either, a custom rule passes at count 0."""


class Engine(Protocol):
    """A batch too large for memory arrives as a LazyFrame (a scanned file): an engine streams it
    or works through it in bounded chunks, never collects it whole. An engine whose library is slow
    to load may also define a static `warm_up()` that starts loading it off the caller's core
    (`checks.engines.warm_up`)."""

    name: str

    def measure(self, batch: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule],
                context: BatchContext) -> list[Measurement]:
        """Measure every rule that this engine runs; `batch` carries the ROW_NUMBER column."""
        ...


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes, with embedded double quotes doubled (`a"b` becomes `"a""b"`)."""
    return '"' + name.replace('"', '""') + '"'
