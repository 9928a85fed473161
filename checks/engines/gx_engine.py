"""The Great Expectations 1.x engine: every rule as an expectation validated on pandas, chunk by chunk.

GX runs on pandas only: its DuckDB/SQL path is broken in 1.24. One ephemeral context (no files,
analytics and progress bars off) serves every batch. The batch (a DataFrame or a scanned file) is
streamed by Polars in chunks of `SHELFGUARD_GX_CHUNK_ROWS` rows (default 1,000,000) holding only the
columns the rules read; each chunk is one validation, and a rule's rows are the union of its
`unexpected_index_list`s (the pandas index is our ROW_NUMBER), its row count the sum. Custom
expectations may aggregate (a mean, a distinct count), so each sees the whole batch in one
validation, reading only the columns of its domain (all of them for a table expectation).

Native expectations where they mean our metric: `expect_column_values_to_not_be_null`,
`_to_be_in_set` / `_to_not_be_in_set` on the values' text form (semantics.text_form; GX skips nulls,
as our invalidValues does), `expect_table_row_count_to_be_between`, `expect_table_columns_to_match_set`.
Where an expectation does not mean our metric, the difference is closed before GX counts:
- patterns: GX's `expect_column_values_to_match_regex` runs Python `re` per row (a catastrophic
  pattern hangs the worker; `re.search` is not a full match either). The violation flag is computed
  by Polars (Rust regex, linear time; the pandera engine's expression) and GX expects it in `[False]`;
- castability has no GX expectation with our meaning (`match_strftime_format` uses Python
  `strptime`, which accepts values our definition rejects); its flag comes from Polars the same way;
- duplicates: GX's `expect_column_values_to_be_unique` ignores nulls, flags every member of a
  duplicated group (ours: all but the kept row, semantics.KEPT_ROW) and cannot see a group spread
  over two chunks. The violating rows are found over the whole batch by the pandera engine's streamed
  group-by (`duplicate_rows`), and GX counts that flag per chunk.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl

from checks.engines import gx_worker
from checks.engines.base import ROW_NUMBER, BatchContext, Measurement
from checks.engines.gx_worker import ExpectationOutcome, ExpectationSpec, GxRuleError
from checks.engines.pandera_engine import RuleNotMeasurable, duplicate_rows, typed_batch, violation_expression
from checks.engines.polars_common import native_kind, schema_difference
from checks.engines.semantics import NativeKind, UnsupportedDefinition, text_values
from checks.rules import DEFAULT_MISSING_VALUES, Rule, RuleKind, implementation_of

CHUNK_ROWS_ENV = "SHELFGUARD_GX_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 1_000_000


@dataclass
class _Planned:
    """A rule as one or more expectations; its rows are the union of their unexpected rows."""

    rule: Rule
    expectations: list[ExpectationSpec] = field(default_factory=list)
    table_level: bool = False
    schema: bool = False
    """Validated on an empty frame with the batch's columns: only the column names matter."""
    columns: list[str] | None = None
    """For a custom expectation: the columns of its domain (None: it may read every column)."""


class GxEngine:
    """Measures rules with Great Expectations on pandas, one chunk of rows at a time."""

    name = "gx"

    @staticmethod
    def warm_up() -> None:
        """Start the worker process, so GX is imported by the time a gate needs it."""
        gx_worker.start()

    def measure(self, batch: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule],
                context: BatchContext) -> list[Measurement]:
        frame = batch.lazy()
        schema = frame.collect_schema()
        measurements: dict[str, Measurement] = {}
        derived: dict[str, pl.Expr] = {}
        planned: list[_Planned] = []
        for rule in rules:
            try:
                planned.append(self._plan(rule, frame, schema, context, derived))
            except (GxRuleError, KeyError, ValueError, RuleNotMeasurable, UnsupportedDefinition) as exc:
                measurements[rule.id] = Measurement(rule.id, None, message=str(exc), engine=self.name)
        schema_items = [item for item in planned if item.schema]
        custom_items = [item for item in planned if item.rule.kind == RuleKind.CUSTOM]
        chunked_items = [item for item in planned if not item.schema and item.rule.kind != RuleKind.CUSTOM]
        results: dict[str, list[list[ExpectationOutcome]]] = defaultdict(list)
        if schema_items:
            _extend(results, _validate(pl.DataFrame(schema=schema).drop(ROW_NUMBER), schema_items))
        for item in custom_items:  # a custom expectation may aggregate: it sees the whole batch
            columns = frame.select(_custom_columns(item, schema))
            whole = typed_batch(columns, context).collect(engine="streaming")
            _extend(results, _validate(whole, [item]))
        if chunked_items:
            for chunk in _chunks(frame.select(_read_columns(chunked_items, schema)).with_columns(**derived)):
                _extend(results, _validate(chunk, chunked_items))
        for item in planned:
            measurements[item.rule.id] = self._measurement(item, results[item.rule.id], schema)
        return [measurements[rule.id] for rule in rules]

    def _plan(self, rule: Rule, frame: pl.LazyFrame, schema: pl.Schema, context: BatchContext,
              derived: dict[str, pl.Expr]) -> _Planned:
        if rule.kind in (RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS):
            expectation = ExpectationSpec("expect_table_columns_to_match_set",
                                          {"column_set": rule.properties, "exact_match": True})
            return _Planned(rule, [expectation], schema=True)
        missing = [c for c in rule.read_columns() if c not in schema]
        if missing:
            raise KeyError(f"column {missing[0]!r} is not in the batch")
        if rule.kind == RuleKind.CUSTOM:
            return _plan_custom(rule)
        if rule.kind == RuleKind.LIBRARY and rule.metric == "rowCount":
            return _Planned(rule, [ExpectationSpec("expect_table_row_count_to_be_between", {"min_value": 0})],
                            table_level=True)
        if rule.metric == "duplicateValues":
            # A chunk cannot see a group spread over chunks: the rows that are duplicates (nulls
            # equal, all but the kept row) are found over the whole batch first; GX counts them.
            violating = duplicate_rows(frame, rule, streaming=True)
            return _Planned(rule, [_expect_false(derived, pl.col(ROW_NUMBER).is_in(violating.implode()))])
        if rule.kind == RuleKind.RELATIONSHIP:
            return _plan_relationship(rule, schema, context, derived)
        column = rule.property
        if column is None:
            raise ValueError(f"rule {rule.id}: {rule.metric} needs a property")
        if rule.kind in (RuleKind.TYPE, RuleKind.TYPE_OPTION):
            return _Planned(rule, [_expect_false(derived, violation_expression(rule, schema, context))])
        if rule.metric == "nullValues":
            return _Planned(rule, [_not_null(column)])
        text = _text_column(column, schema[column], derived)
        if rule.metric == "missingValues":
            texts, _ = text_values(list(rule.arguments.get("missingValues", DEFAULT_MISSING_VALUES)))
            expectations = [_not_null(column)]
            if texts:
                expectations.append(ExpectationSpec("expect_column_values_to_not_be_in_set",
                                                    {"column": text, "value_set": texts}))
            return _Planned(rule, expectations)
        if rule.metric == "invalidValues":
            return _plan_invalid(rule, text, schema, context, derived)
        raise ValueError(f"rule kind {rule.kind.value} / metric {rule.metric}: not measured by the gx engine")

    def _measurement(self, item: _Planned, validations: list[list[ExpectationOutcome]],
                     schema: pl.Schema) -> Measurement:
        """One rule's measurement from its expectations' results in every validation (chunk)."""
        rule = item.rule
        failed = [r for results in validations for r in results if r.raised]
        if failed:
            message = f"expectation raised: {failed[0].raised}"
            return Measurement(rule.id, None, message=message, engine=self.name)
        first = validations[0][0]
        if rule.kind == RuleKind.CUSTOM:
            return Measurement(rule.id, _custom_count(first), message=_describe(first),
                               engine=self.name, passed=first.success)
        if item.schema:
            observed = set(first.observed_value)  # sorted by GX: keep the delivered order
            count, message = schema_difference(rule, [c for c in schema if c in observed])
            return Measurement(rule.id, count, message=message, engine=self.name)
        if item.table_level:
            rows = sum(int(results[0].observed_value) for results in validations)
            return Measurement(rule.id, rows, engine=self.name)
        unexpected = [r.unexpected_index for results in validations for r in results
                      if r.unexpected_index is not None]
        violating = (pl.concat(unexpected).unique().sort() if unexpected
                     else pl.Series(ROW_NUMBER, [], dtype=pl.Int64))
        return Measurement(rule.id, violating.len(), violating_rows=violating, engine=self.name)


def _plan_relationship(rule: Rule, schema: pl.Schema, context: BatchContext,
                       derived: dict[str, pl.Expr]) -> _Planned:
    """One column: GX's value-set expectation over the referenced values. A composite key: our
    predicate (pandera_engine.violation_expression) as a derived flag GX counts."""
    reference = context.references.get(rule.reference_table or "")
    if reference is None or not all(c in reference.columns for c in rule.reference_columns):
        raise KeyError(f"referenced table {rule.references!r} is not available")
    if rule.property is None:
        return _Planned(rule, [_expect_false(derived, violation_expression(rule, schema, context))])
    (referenced,) = rule.reference_columns
    known = reference.get_column(referenced).cast(pl.String).drop_nulls().unique().to_list()
    text = _text_column(rule.property, schema[rule.property], derived)
    return _Planned(rule, [_in_set(text, known)])


def _validate(frame: pl.DataFrame, planned: Sequence[_Planned]) -> dict[str, list[ExpectationOutcome]]:
    """One validation (in the worker) of all the rules' expectations: each rule's results, in its order."""
    outcomes = iter(gx_worker.validate(frame, [e for item in planned for e in item.expectations]))
    return {item.rule.id: [next(outcomes) for _ in item.expectations] for item in planned}


def _not_null(column: str) -> ExpectationSpec:
    return ExpectationSpec("expect_column_values_to_not_be_null", {"column": column})


def _in_set(column: str, values: list) -> ExpectationSpec:
    return ExpectationSpec("expect_column_values_to_be_in_set", {"column": column, "value_set": values})


def _plan_invalid(rule: Rule, text: str, schema: pl.Schema, context: BatchContext,
                  derived: dict[str, pl.Expr]) -> _Planned:
    """Not null and (not in `validValues` or not a full match of `pattern`); GX ignores nulls."""
    valid_values = rule.arguments.get("validValues")
    pattern = rule.arguments.get("pattern")
    if valid_values is None and pattern is None:
        raise ValueError(f"rule {rule.id}: invalidValues needs arguments.validValues or arguments.pattern")
    expectations: list[ExpectationSpec] = []
    if valid_values is not None:
        texts, _ = text_values(list(valid_values))
        expectations.append(_in_set(text, texts))
    if pattern is not None:
        pattern_only = rule.model_copy(update={"arguments": {"pattern": pattern}})
        expectations.append(_expect_false(derived, violation_expression(pattern_only, schema, context)))
    return _Planned(rule, expectations)


def _expect_false(derived: dict[str, pl.Expr], violation: pl.Expr) -> ExpectationSpec:
    """GX counts the rows where our (Polars, linear-time) violation flag is set."""
    return _in_set(_derive(derived, violation.fill_null(False)), [False])


def _text_column(column: str, dtype: pl.DataType, derived: dict[str, pl.Expr]) -> str:
    """Values are compared with contract literals by their text form (semantics.text_form)."""
    if native_kind(dtype) == NativeKind.TEXT:
        return column
    return _derive(derived, pl.col(column).cast(pl.String))


def _plan_custom(rule: Rule) -> _Planned:
    """A contract's own expectation, checked by the worker, which also names the columns of its
    domain: `{expectation: <name>, kwargs: {...}}`, or the ODCS documentation's form
    `{type: <name>, kwargs: {...}}` with camelCase kwargs (`minValue` is GX's `min_value`). On a
    property, a column expectation without `column` is about that property."""
    try:
        implementation = implementation_of(rule)
    except ValueError as exc:
        raise GxRuleError(str(exc)) from None
    name = implementation.get("expectation") or implementation.get("type") if isinstance(implementation,
                                                                                         dict) else None
    if not name:
        raise GxRuleError(f"rule {rule.id}: implementation must be {{expectation: <name>, kwargs: {{...}}}} "
                          "(or ODCS's {type: <name>, kwargs: {...}})")
    kwargs = {_snake_case(str(k)): v for k, v in dict(implementation.get("kwargs") or {}).items()}
    if rule.property is not None and str(name).startswith("expect_column_") and "column" not in kwargs:
        kwargs["column"] = rule.property
    expectation = ExpectationSpec(str(name), kwargs)
    try:
        columns = gx_worker.inspect_custom(expectation)
    except GxRuleError as exc:
        raise GxRuleError(f"rule {rule.id}: {exc}") from None
    return _Planned(rule, [expectation], columns=columns)


def _snake_case(name: str) -> str:
    """`minValue` -> `min_value` (GX's keyword arguments are snake_case; snake_case stays)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _derive(derived: dict[str, pl.Expr], expression: pl.Expr) -> str:
    name = f"__sg_flag_{len(derived)}"
    derived[name] = expression
    return name


def _read_columns(planned: Sequence[_Planned], schema: pl.Schema) -> list[str]:
    """ROW_NUMBER and the columns the rules read, in the batch's order."""
    read = {ROW_NUMBER}.union(*(item.rule.read_columns() for item in planned))
    return [c for c in schema if c in read]


def _custom_columns(item: _Planned, schema: pl.Schema) -> list[str]:
    """ROW_NUMBER and the columns of a custom expectation's domain (a column, a pair, a list); all
    columns for a table expectation (it may look at every column) or one with a row condition."""
    if item.columns is None:
        return list(schema)
    return [c for c in schema if c in item.columns or c == ROW_NUMBER]


def chunk_rows() -> int:
    """Rows per GX validation: GX copies a chunk into pandas, so the chunk bounds the memory."""
    return int(os.environ.get(CHUNK_ROWS_ENV, DEFAULT_CHUNK_ROWS))


def _chunks(frame: pl.LazyFrame) -> Iterator[pl.DataFrame]:
    """The rows in chunks from Polars' streaming engine; one empty chunk for a batch without rows
    (table expectations such as the row count still need a validation)."""
    rows = False
    for chunk in frame.collect_batches(chunk_size=chunk_rows()):
        if chunk.height:
            rows = True
            yield chunk
    if not rows:
        yield pl.DataFrame(schema=frame.collect_schema())


def _extend(results: dict[str, list[list[ExpectationOutcome]]],
            validation: dict[str, list[ExpectationOutcome]]) -> None:
    for rule_id, expectation_results in validation.items():
        results[rule_id].append(expectation_results)


def _custom_count(outcome: ExpectationOutcome) -> int:
    """Unexpected values of a column expectation; 0 or 1 (failed) for a table expectation."""
    if outcome.unexpected_count is not None:
        return outcome.unexpected_count
    return 0 if outcome.success else 1


def _describe(outcome: ExpectationOutcome) -> str:
    return f"{outcome.type}: {'success' if outcome.success else 'failed'}"
