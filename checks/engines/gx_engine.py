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

import logging
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from checks.engines.base import ROW_NUMBER, BatchContext, Measurement
from checks.engines.pandera_engine import RuleNotMeasurable, duplicate_rows, violation_expression
from checks.engines.polars_common import native_kind, schema_difference
from checks.engines.semantics import NativeKind, UnsupportedDefinition, text_values
from checks.rules import DEFAULT_MISSING_VALUES, Rule, RuleKind

DATA_SOURCE = "shelfguard"
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
CHUNK_ROWS_ENV = "SHELFGUARD_GX_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 1_000_000
_COLUMN_DOMAIN_KEYS = ("column", "column_A", "column_B", "column_list")
RESULT_KEY = "shelfguard_position"
"""Expectation `meta` key holding its position: GX returns results in its own order."""


class GxRuleError(ValueError):
    """A rule GX cannot run, e.g. a custom rule naming an unknown expectation."""


@dataclass
class _Planned:
    """A rule as one or more expectations; its rows are the union of their unexpected rows."""

    rule: Rule
    expectations: list[Any] = field(default_factory=list)
    table_level: bool = False
    schema: bool = False
    """Validated on an empty frame with the batch's columns: only the column names matter."""


class GxEngine:
    """Measures rules with Great Expectations on pandas, one chunk of rows at a time."""

    name = "gx"

    def __init__(self) -> None:
        self._batch_definition: Any = None

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
        results: dict[str, list[list[Any]]] = defaultdict(list)
        if schema_items:
            empty = pl.DataFrame(schema=schema).drop(ROW_NUMBER).to_pandas()
            _extend(results, self._validate(empty, schema_items))
        for item in custom_items:  # a custom expectation may aggregate: it sees the whole batch
            _extend(results, self._validate(_pandas(frame.select(_custom_columns(item, schema))
                                                    .collect(engine="streaming")), [item]))
        if chunked_items:
            for chunk in _chunks(frame.select(_read_columns(chunked_items, schema)).with_columns(**derived)):
                _extend(results, self._validate(_pandas(chunk), chunked_items))
        for item in planned:
            measurements[item.rule.id] = self._measurement(item, results[item.rule.id], schema)
        return [measurements[rule.id] for rule in rules]

    def _plan(self, rule: Rule, frame: pl.LazyFrame, schema: pl.Schema, context: BatchContext,
              derived: dict[str, pl.Expr]) -> _Planned:
        import great_expectations.expectations as gxe

        if rule.kind in (RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS):
            expectation = gxe.ExpectTableColumnsToMatchSet(column_set=rule.properties, exact_match=True)
            return _Planned(rule, [expectation], schema=True)
        missing = [c for c in rule.read_columns() if c not in schema]
        if missing:
            raise KeyError(f"column {missing[0]!r} is not in the batch")
        if rule.kind == RuleKind.CUSTOM:
            return _plan_custom(rule)
        if rule.kind == RuleKind.LIBRARY and rule.metric == "rowCount":
            return _Planned(rule, [gxe.ExpectTableRowCountToBeBetween(min_value=0)], table_level=True)
        if rule.metric == "duplicateValues":
            # A chunk cannot see a group spread over chunks: the rows that are duplicates (nulls
            # equal, all but the kept row) are found over the whole batch first; GX counts them.
            violating = duplicate_rows(frame, rule, streaming=True)
            return _Planned(rule, [_expect_false(derived, pl.col(ROW_NUMBER).is_in(violating.implode()))])
        column = rule.property
        if column is None:
            raise ValueError(f"rule {rule.id}: {rule.metric} needs a property")
        if rule.kind == RuleKind.TYPE:
            return _Planned(rule, [_expect_false(derived, violation_expression(rule, schema, context))])
        if rule.metric == "nullValues":
            return _Planned(rule, [gxe.ExpectColumnValuesToNotBeNull(column=column)])
        text = _text_column(column, schema[column], derived)
        if rule.metric == "missingValues":
            texts, _ = text_values(list(rule.arguments.get("missingValues", DEFAULT_MISSING_VALUES)))
            expectations: list[Any] = [gxe.ExpectColumnValuesToNotBeNull(column=column)]
            if texts:
                expectations.append(gxe.ExpectColumnValuesToNotBeInSet(column=text, value_set=texts))
            return _Planned(rule, expectations)
        if rule.kind == RuleKind.RELATIONSHIP:
            table, _, referenced = (rule.references or "").rpartition(".")
            reference = context.references.get(table)
            if reference is None or referenced not in reference.columns:
                raise KeyError(f"referenced table {rule.references!r} is not available")
            known = reference.get_column(referenced).cast(pl.String).drop_nulls().unique().to_list()
            return _Planned(rule, [gxe.ExpectColumnValuesToBeInSet(column=text, value_set=known)])
        if rule.metric == "invalidValues":
            return _plan_invalid(rule, text, schema, context, derived)
        raise ValueError(f"rule kind {rule.kind.value} / metric {rule.metric}: not measured by the gx engine")

    def _validate(self, frame: Any, planned: Sequence[_Planned]) -> dict[str, list[Any]]:
        """One validation of all the rules' expectations: each rule's results, in its order."""
        import great_expectations as gx

        expectations = [e for item in planned for e in item.expectations]
        for position, expectation in enumerate(expectations):
            expectation.meta = {**(expectation.meta or {}), RESULT_KEY: position}
        batch = self._definition().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="shelfguard", expectations=expectations)
        results = batch.validate(suite, result_format=RESULT_FORMAT).results
        by_position = {result.expectation_config.meta[RESULT_KEY]: result for result in results}
        position = {id(e): index for index, e in enumerate(expectations)}
        return {item.rule.id: [by_position[position[id(e)]] for e in item.expectations] for item in planned}

    def _definition(self) -> Any:
        """One ephemeral context and pandas batch definition per engine: creating them is slow."""
        if self._batch_definition is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )
            from great_expectations.execution_engine import pandas_execution_engine

            _quiet_gx_logging()
            # GX fingerprints every pandas batch by hashing all its values (twice per validation):
            # metadata we never read, costing more than the validation itself on large batches.
            pandas_execution_engine.HASH_THRESHOLD = 0
            config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                       progress_bars=ProgressBarsConfig(globally=False),
                                       analytics_enabled=False)
            context = gx.get_context(mode="ephemeral", project_config=config)
            asset = context.data_sources.add_pandas(DATA_SOURCE).add_dataframe_asset("batch")
            self._batch_definition = asset.add_batch_definition_whole_dataframe("whole batch")
        return self._batch_definition

    def _measurement(self, item: _Planned, validations: list[list[Any]], schema: pl.Schema) -> Measurement:
        """One rule's measurement from its expectations' results in every validation (chunk)."""
        rule = item.rule
        failed = [r for results in validations for r in results if _raised(r)]
        if failed:
            message = f"expectation raised: {_raised(failed[0])}"
            return Measurement(rule.id, None, message=message, engine=self.name)
        first = validations[0][0]
        if rule.kind == RuleKind.CUSTOM:
            return Measurement(rule.id, _custom_count(first), message=_describe(first),
                               engine=self.name, passed=bool(first.success))
        if item.schema:
            observed = set(first.result["observed_value"])  # sorted by GX: keep the delivered order
            count, message = schema_difference(rule, [c for c in schema if c in observed])
            return Measurement(rule.id, count, message=message, engine=self.name)
        if item.table_level:
            rows = sum(int(results[0].result["observed_value"]) for results in validations)
            return Measurement(rule.id, rows, engine=self.name)
        indices = {index for results in validations for result in results
                   for index in result.result.get("unexpected_index_list") or []}
        violating = pl.Series(ROW_NUMBER, sorted(indices), dtype=pl.Int64)
        return Measurement(rule.id, violating.len(), violating_rows=violating, engine=self.name)


def _plan_invalid(rule: Rule, text: str, schema: pl.Schema, context: BatchContext,
                  derived: dict[str, pl.Expr]) -> _Planned:
    """Not null and (not in `validValues` or not a full match of `pattern`); GX ignores nulls."""
    import great_expectations.expectations as gxe

    valid_values = rule.arguments.get("validValues")
    pattern = rule.arguments.get("pattern")
    if valid_values is None and pattern is None:
        raise ValueError(f"rule {rule.id}: invalidValues needs arguments.validValues or arguments.pattern")
    expectations: list[Any] = []
    if valid_values is not None:
        texts, _ = text_values(list(valid_values))
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column=text, value_set=texts))
    if pattern is not None:
        pattern_only = rule.model_copy(update={"arguments": {"pattern": pattern}})
        expectations.append(_expect_false(derived, violation_expression(pattern_only, schema, context)))
    return _Planned(rule, expectations)


def _expect_false(derived: dict[str, pl.Expr], violation: pl.Expr) -> Any:
    """GX counts the rows where our (Polars, linear-time) violation flag is set."""
    import great_expectations.expectations as gxe

    flag = _derive(derived, violation.fill_null(False))
    return gxe.ExpectColumnValuesToBeInSet(column=flag, value_set=[False])


def _text_column(column: str, dtype: pl.DataType, derived: dict[str, pl.Expr]) -> str:
    """Values are compared with contract literals by their text form (semantics.text_form)."""
    if native_kind(dtype) == NativeKind.TEXT:
        return column
    return _derive(derived, pl.col(column).cast(pl.String))


def _plan_custom(rule: Rule) -> _Planned:
    """A contract's own expectation: `{expectation: <snake_case name>, kwargs: {...}}`."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    implementation = rule.implementation
    if not isinstance(implementation, dict) or "expectation" not in implementation:
        raise GxRuleError(f"rule {rule.id}: implementation must be {{expectation: <name>, kwargs: {{...}}}}")
    name = str(implementation["expectation"])
    try:
        expectation_class = get_expectation_impl(name)
    except ExpectationNotFoundError as exc:
        raise GxRuleError(f"rule {rule.id}: unknown expectation {name!r}") from exc
    try:
        expectation = expectation_class(**dict(implementation.get("kwargs") or {}))
    except Exception as exc:  # pydantic validation of the kwargs: any of its errors means bad kwargs
        raise GxRuleError(f"rule {rule.id}: invalid kwargs for {name}: {_first_line(exc)}") from exc
    return _Planned(rule, [expectation])


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
    expectation = item.expectations[0]
    domain = [key for key in type(expectation).domain_keys if key in _COLUMN_DOMAIN_KEYS]
    if not domain or getattr(expectation, "row_condition", None):
        return list(schema)
    named: set[str] = set()
    for key in domain:
        value = getattr(expectation, key)
        named.update(value if isinstance(value, list) else [value])
    return [c for c in schema if c in named or c == ROW_NUMBER]


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


def _pandas(frame: pl.DataFrame) -> Any:
    """Indexed by ROW_NUMBER (GX reports unexpected rows by index)."""
    # Arrow-backed columns: no copy, and NaN stays a value (numpy-backed pandas would make it null).
    indexed = frame.to_pandas(use_pyarrow_extension_array=True).set_index(ROW_NUMBER)
    indexed.index.name = None  # GX gives plain index values only for an unnamed index
    return indexed


def _extend(results: dict[str, list[list[Any]]], validation: dict[str, list[Any]]) -> None:
    for rule_id, expectation_results in validation.items():
        results[rule_id].append(expectation_results)


def _custom_count(result: Any) -> int:
    """Unexpected values of a column expectation; 0 or 1 (failed) for a table expectation."""
    unexpected = result.result.get("unexpected_count")
    if unexpected is not None:
        return int(unexpected)
    return 0 if result.success else 1


def _raised(result: Any) -> str | None:
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return _first_line(info.get("exception_message") or "exception")
    return None


def _describe(result: Any) -> str:
    return f"{result.expectation_config.type}: {'success' if result.success else 'failed'}"


def _first_line(error: Any) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _quiet_gx_logging() -> None:
    """GX logs at INFO/WARNING for every context and batch; results are ours to report."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
