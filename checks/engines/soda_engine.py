"""The Soda Core 4 engine: every rule as a Soda contract check over the batch in an in-process DuckDB.

The batch is a DuckDB table (Soda reads tables through `information_schema`, so a registered Arrow
view is not found), streamed in and spilled to disk when large (`checks.engines.duckdb_batch`), and
one Soda contract holding a check per rule is verified against it. Where Soda's own check means
exactly our metric, the native check is used: `schema` (missing and extra columns), `missing` (with
`missing_values`), `invalid` (`valid_values`, `valid_format`, `valid_reference_data`) and
`row_count`. Where it does not, a `failed_rows` check
runs our SQL (`checks.engines.duckdb_sql`): castability, and duplicates (Soda's duplicate count
ignores nulls, and has no notion of the row kept). Soda only counts; the rows behind a count are
selected with the same predicate in one more query, and a count that disagrees with its rows is an
error, never a silent difference.

Soda Core 4 is under the Elastic License 2.0 (see ADR 0006). Telemetry is switched off before Soda
is imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
import yaml

from checks.engines import duckdb_sql as sql
from checks.engines import semantics
from checks.engines.base import ROW_NUMBER, BatchContext, Measurement
from checks.engines.duckdb_batch import batch_database
from checks.engines.pandera_engine import typed_batch
from checks.engines.polars_common import schema_difference
from checks.rules import DEFAULT_MISSING_VALUES, Rule, RuleKind, implementation_of

os.environ["SODA_CORE_TELEMETRY_ENABLED"] = "false"

DATA_SOURCE = "shelfguard"
SCHEMA = "main"
BATCH_TABLE = "__sg_batch"
"""Table name used when the object's name holds a double quote, which Soda cannot quote."""
SCHEMA_CHECK = "__sg_schema"
COLUMN_CHECK_TYPES = ("missing", "invalid", "duplicate", "aggregate")
_SCHEMA_KINDS = (RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS)


class SodaRuleError(ValueError):
    """A custom Soda rule whose implementation is not a usable Soda v4 check."""


@dataclass
class _Planned:
    """A rule translated into one Soda check, and how to find the rows behind its count."""

    rule: Rule
    column: str | None
    check: dict[str, Any]
    row_predicate: str | None = None
    rows_query: str | None = None

    @property
    def qualifier(self) -> str:
        """Soda's result of the check is found by its qualifier."""
        (body,) = self.check.values()
        return body["qualifier"]


class SodaEngine:
    """Measures rules with Soda Core 4 checks on DuckDB."""

    name = "soda"

    def measure(self, batch: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule],
                context: BatchContext) -> list[Measurement]:
        measurements: dict[str, Measurement] = {}
        planned: list[_Planned] = []
        schema = batch.collect_schema()
        custom = any(rule.kind == RuleKind.CUSTOM for rule in rules)
        table = _table_name(context, custom=custom)
        for rule in rules:
            try:
                planned.append(_plan(rule, table, schema, context))
            except (SodaRuleError, KeyError, ValueError) as exc:  # incl. semantics.UnsupportedDefinition
                measurements[rule.id] = Measurement(rule.id, None, message=str(exc), engine=self.name)
        if not planned:
            return [measurements[rule.id] for rule in rules]
        # Custom checks run the contract's SQL over the object's name, typed by the contract (as
        # `type: sql` rules); our checks read the batch as delivered. No file system or network.
        typed = {context.object_name: typed_batch(batch, context)} if custom else {}
        with batch_database({table: batch, **typed, **_reference_tables(rules, context)},
                            lock_configuration=False) as connection:
            if table != context.object_name and not custom:
                connection.execute(f"CREATE VIEW {sql.quote(context.object_name)} AS "
                                   f"SELECT * FROM {sql.quote(table)}")
            _materialise_row_queries(connection, planned)
            results, errors = _verify(connection, table, planned)
            values = {item.rule.id: _value(item.rule, results.get(item.qualifier)) for item in planned}
            passed = {item.rule.id: _passed(results.get(item.qualifier)) for item in planned
                      if item.rule.kind == RuleKind.CUSTOM}
            rows = _violating_rows(connection, table, planned, values)
        for item in planned:
            rule = item.rule
            value, message = values[rule.id]
            if value is None:
                measurements[rule.id] = Measurement(rule.id, None, message=message or errors or
                                                    "Soda did not evaluate the check", engine=self.name)
                continue
            violating = rows.get(rule.id)
            if violating is not None and violating.len() != value:
                raise RuntimeError(f"soda engine: rule {rule.id!r} counted {value} rows but its predicate "
                                   f"selects {violating.len()}; the translation is inconsistent")
            measurements[rule.id] = Measurement(rule.id, value, violating_rows=violating, message=message,
                                                engine=self.name, passed=passed.get(rule.id))
        return [measurements[rule.id] for rule in rules]


def _table_name(context: BatchContext, *, custom: bool) -> str:
    """The batch as delivered is the object's table, unless the name holds a double quote (Soda
    cannot quote it) or custom checks need the object's name for the typed batch."""
    return context.object_name if '"' not in context.object_name and not custom else BATCH_TABLE


def _reference_tables(rules: Sequence[Rule], context: BatchContext) -> dict[str, pl.DataFrame]:
    """The referenced values of each relationship as text (semantics.text_form), by Soda-safe name."""
    tables = {}
    for rule in rules:
        table = _reference_table(rule)
        frame = context.references.get(rule.reference_table or "")
        columns = rule.reference_columns
        if table is not None and frame is not None and all(c in frame.columns for c in columns):
            names = sql.reference_value_columns(len(columns))
            tables[table] = frame.select(pl.col(c).cast(pl.String).alias(n) for c, n in zip(columns, names,
                                                                                            strict=True))
    return tables


def _materialise_row_queries(connection: duckdb.DuckDBPyConnection, planned: Sequence[_Planned]) -> None:
    """Rows selected by a query (duplicates: a window over the batch) are selected once, into a
    temporary table: Soda's `failed_rows` check counts that table and the rows are read from it."""
    for index, item in enumerate(planned):
        if item.rows_query is None:
            continue
        name = f"__sg_rows_{index}"
        connection.execute(f"CREATE TEMP TABLE {name} AS {item.rows_query}")
        item.rows_query = f"SELECT * FROM {name}"
        item.check["failed_rows"]["query"] = item.rows_query


def _reference_table(rule: Rule) -> str | None:
    if rule.kind != RuleKind.RELATIONSHIP or not rule.references:
        return None
    return f"__sg_ref_{hashlib.sha1(rule.references.encode()).hexdigest()[:16]}"


def _plan(rule: Rule, table: str, schema: pl.Schema, context: BatchContext) -> _Planned:
    """Translate one rule into a Soda check whose measured value is our count."""
    if rule.kind in _SCHEMA_KINDS:
        check = {"schema": {"qualifier": SCHEMA_CHECK, "allow_extra_columns": False,
                            "allow_other_column_order": True}}
        return _Planned(rule, None, check)
    missing = [c for c in rule.read_columns() if c not in schema]
    if missing:
        raise KeyError(f"column {missing[0]!r} is not in the batch")
    if rule.kind == RuleKind.CUSTOM:
        return _plan_custom(rule)
    planned = _plan_library(rule, table, schema, context)
    if planned.row_predicate is not None and _has_variable_syntax(planned.check):
        # Soda would substitute `${…}` in a listed value; in our SQL the literal is split.
        check = {"failed_rows": {**_label(rule), "expression": planned.row_predicate}}
        return _Planned(rule, None, check, planned.row_predicate)
    return planned


def _plan_library(rule: Rule, table: str, schema: pl.Schema, context: BatchContext) -> _Planned:
    label = _label(rule)
    if rule.metric == "rowCount":
        return _Planned(rule, None, {"row_count": label})
    if rule.metric == "duplicateValues":
        order = rule.keep_latest_by
        order_dtype = schema.get(order.name) if order else None
        query = sql.duplicate_rows_query(table, rule.read_columns(), order, order_dtype, ROW_NUMBER)
        return _Planned(rule, None, {"failed_rows": {**label, "query": query}}, rows_query=query)
    if rule.kind == RuleKind.RELATIONSHIP:
        frame = context.references.get(rule.reference_table or "")
        if frame is None or not all(c in frame.columns for c in rule.reference_columns):
            raise KeyError(f"referenced table {rule.references!r} is not available")
        return _plan_relationship(rule, schema)
    column = rule.property
    if column is None:
        raise ValueError(f"rule {rule.id}: {rule.metric} needs a property")
    expression = sql.quote(column)
    dtype = schema[column]
    if rule.kind == RuleKind.TYPE:
        castability = semantics.castability(rule.logical_type or "", rule.type_format,
                                            context.decimal_separator)
        predicate = sql.not_castable(expression, dtype, castability)
        return _Planned(rule, None, {"failed_rows": {**label, "expression": predicate}}, predicate)
    if rule.kind == RuleKind.TYPE_OPTION:
        option = semantics.rule_type_option(rule, context.decimal_separator)
        predicate = sql.type_option_violated(expression, dtype, option, context.decimal_separator)
        return _Planned(rule, None, {"failed_rows": {**label, "expression": predicate}}, predicate)
    # Values are compared as text, and Soda quotes a column name without escaping its quotes: in
    # both cases Soda gets our expression for the column instead of its name.
    value_text = sql.text(expression, dtype)
    use_expression = value_text != expression or '"' in column
    native = {**label, "column_expression": value_text} if use_expression else label
    if rule.metric == "nullValues":
        return _Planned(rule, column, {"missing": native}, sql.is_null(expression))
    if rule.metric == "missingValues":
        listed = list(rule.arguments.get("missingValues", DEFAULT_MISSING_VALUES))
        texts, _ = semantics.text_values(listed)
        check = {**native, "missing_values": texts} if texts else native
        return _Planned(rule, column, {"missing": check}, sql.is_missing(expression, dtype, listed))
    if rule.metric == "invalidValues":
        valid_values = rule.arguments.get("validValues")
        pattern = rule.arguments.get("pattern")
        if valid_values is None and pattern is None:
            raise ValueError(f"rule {rule.id}: invalidValues needs arguments.validValues or .pattern")
        check = dict(native)
        if valid_values is not None:
            check["valid_values"] = semantics.text_values(list(valid_values))[0]
        if pattern is not None:
            check["valid_format"] = {"name": f"{rule.id} pattern", "regex": sql.checked_pattern(str(pattern))}
        predicate = sql.is_invalid(expression, dtype, valid_values, None if pattern is None else str(pattern))
        return _Planned(rule, column, {"invalid": check}, predicate)
    raise ValueError(f"rule kind {rule.kind.value} / metric {rule.metric} is not measured by the soda engine")


def _plan_relationship(rule: Rule, schema: pl.Schema) -> _Planned:
    """Soda's own reference check for a text column of a plain name; a `failed_rows` check with our
    predicate otherwise (Soda's reference join rewrites a column expression by the column's name,
    and compares one column only)."""
    reference = _reference_table(rule)
    assert reference is not None
    columns = rule.read_columns()
    predicate = sql.not_in_reference([sql.quote(c) for c in columns], [schema[c] for c in columns], reference)
    column = columns[0]
    if len(columns) > 1 or sql.text(sql.quote(column), schema[column]) != sql.quote(column) or '"' in column:
        return _Planned(rule, None, {"failed_rows": {**_label(rule), "expression": predicate}}, predicate)
    check = {**_label(rule), "valid_reference_data": {"dataset": _dataset(reference), "column": "value"}}
    return _Planned(rule, column, {"invalid": check}, predicate)


def _label(rule: Rule) -> dict[str, Any]:
    """Name and qualifier of a rule's check; the qualifier maps Soda's result back to the rule."""
    return {"name": rule.id, "qualifier": rule.id}


def _has_variable_syntax(value: Any) -> bool:
    """Soda substitutes `${namespace.name}` in every string of a contract."""
    if isinstance(value, dict):
        return any(_has_variable_syntax(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_variable_syntax(v) for v in value)
    return isinstance(value, str) and "${" in value


def _plan_custom(rule: Rule) -> _Planned:
    """A contract's own Soda v4 check (one mapping `{check_type: body}`), run on the batch table."""
    try:
        implementation = implementation_of(rule)
    except ValueError as exc:
        raise SodaRuleError(str(exc)) from None
    if isinstance(implementation, dict) and "type" in implementation:
        implementation = _from_soda_contract_v3(implementation)
    if not isinstance(implementation, dict) or len(implementation) != 1:
        raise SodaRuleError(f"rule {rule.id}: implementation must be one Soda check, e.g. "
                            "`failed_rows: {query: ...}`")
    (check_type, body), = implementation.items()
    if body is not None and not isinstance(body, dict):
        raise SodaRuleError(f"rule {rule.id}: the body of `{check_type}` must be a mapping")
    body = {**(body or {}), **_label(rule)}
    on_column = check_type in COLUMN_CHECK_TYPES and not (check_type == "duplicate" and "columns" in body)
    column = rule.property if on_column else None
    if on_column and column is None:
        raise SodaRuleError(f"rule {rule.id}: a `{check_type}` check must be written on a property")
    return _Planned(rule, column, {check_type: body})


def _from_soda_contract_v3(check: dict[str, Any]) -> dict[str, Any]:
    """The ODCS documentation's Soda form (Soda 3 contracts: `type: duplicate_percent`, `columns`,
    `must_be_less_than: 1.0` beside each other) as one Soda 4 check: `{duplicate: {columns: [...],
    threshold: {metric: percent, must_be_less_than: 1.0}}}`."""
    body = {k: v for k, v in check.items() if k != "type"}
    name = str(check["type"])
    threshold = {k: body.pop(k) for k in list(body) if k.startswith("must_")}
    for suffix, metric in (("_percent", "percent"), ("_count", "count")):
        if name.endswith(suffix) and name != "row_count":
            name = name.removesuffix(suffix)
            threshold["metric"] = metric
    if threshold:
        body["threshold"] = {**body.get("threshold", {}), **threshold}
    return {name: body}


def _dataset(table: str) -> str:
    return f"{DATA_SOURCE}/{SCHEMA}/{table}"


def _contract(table: str, planned: Sequence[_Planned]) -> str:
    """The Soda contract YAML: every listed column (the schema check compares them), its checks."""
    columns: dict[str, list[dict[str, Any]]] = {}
    checks: list[dict[str, Any]] = []
    for item in planned:
        if item.rule.kind in _SCHEMA_KINDS:
            columns.update({name: columns.get(name, []) for name in item.rule.properties})
            if item.check not in checks:
                checks.append(item.check)
        elif item.column is None:
            checks.append(item.check)
        else:
            columns.setdefault(item.column, []).append(item.check)
    document: dict[str, Any] = {
        "dataset": _dataset(table),
        "columns": [{"name": name, **({"checks": column_checks} if column_checks else {})}
                    for name, column_checks in columns.items()],
    }
    if checks:
        document["checks"] = checks
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _verify(connection: duckdb.DuckDBPyConnection, table: str,
            planned: Sequence[_Planned]) -> tuple[dict[str, Any], str]:
    """Run the contract with Soda: its check results by qualifier, and Soda's errors."""
    with warnings.catch_warnings():  # Soda's SQL AST warns at import about dialects we do not use
        warnings.simplefilter("ignore", DeprecationWarning)
        from soda_core.common.yaml import ContractYamlSource
        from soda_core.contracts.contract_verification import ContractVerificationSession
        from soda_duckdb.common.data_sources.duckdb_data_source import DuckDBDataSourceImpl

    logging.getLogger("soda").setLevel(logging.ERROR)  # Soda logs every check at INFO; we report them
    data_source = DuckDBDataSourceImpl.from_existing_cursor(connection, DATA_SOURCE)
    source = ContractYamlSource.from_str(_contract(table, planned))
    with _host_logging_kept():
        session = ContractVerificationSession.execute(contract_yaml_sources=[source],
                                                      data_source_impls=[data_source])
    results = {check_result.check.qualifier: check_result
               for verification in session.contract_verification_results
               for check_result in verification.check_results}
    errors = session.get_errors_str().strip()
    return results, errors.splitlines()[0] if errors else ""


@contextmanager
def _host_logging_kept() -> Iterator[None]:
    """Soda attaches a handler to the root logger for good, which drops every record outside a Soda
    run: the process's own warnings (the log channel's alerts) would vanish after the first gate.
    Soda attaches it again whenever it runs."""
    from soda_core.common.logs import preserve_active_logs

    before = list(logging.root.handlers)
    try:
        with preserve_active_logs():
            yield
    finally:
        for handler in [h for h in logging.root.handlers if h not in before]:
            logging.root.removeHandler(handler)


def _value(rule: Rule, check_result: Any) -> tuple[int | float | None, str]:
    """Our count from a Soda check result: the failed/missing/invalid count, the rows, the schema
    differences, or a custom check's measured value."""
    if check_result is None:
        return None, ""
    if rule.kind in _SCHEMA_KINDS:
        # The schema check's own expected/extra lists are relative to the Soda contract's columns,
        # which also name the columns of custom checks; ours are relative to the listed properties.
        actual = [column.column_name for column in check_result.actual_columns or []]
        if not actual:
            return None, "Soda could not read the table's columns"
        return schema_difference(rule, actual)
    diagnostics = check_result.diagnostic_metric_values or {}
    key = f"{check_result.check.type}_count"  # failed_rows_count, missing_count, invalid_count
    if key in diagnostics:
        return _number(diagnostics[key]), ""
    return _number(check_result.threshold_value), ""


def _passed(check_result: Any) -> bool | None:
    """A custom check's own verdict: its Soda threshold held (a warning still holds it)."""
    if check_result is None or check_result.is_not_evaluated or check_result.is_excluded:
        return None
    return not check_result.is_failed


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _violating_rows(connection: duckdb.DuckDBPyConnection, table: str, planned: Sequence[_Planned],
                    values: dict[str, tuple[int | float | None, str]]) -> dict[str, pl.Series]:
    """ROW_NUMBER of the rows behind each row-level count, from the predicates Soda counted; one
    scan of the table for all predicates."""
    rows: dict[str, pl.Series] = {}
    predicates: dict[str, str] = {}
    for item in planned:
        rule_id = item.rule.id
        if not item.rule.is_row_level() or values[rule_id][0] is None:
            continue
        if values[rule_id][0] == 0:
            rows[rule_id] = pl.Series(ROW_NUMBER, [], dtype=pl.Int64)
        elif item.rows_query is not None:
            rows[rule_id] = _row_numbers(connection.sql(item.rows_query).pl().get_column(ROW_NUMBER))
        elif item.row_predicate is not None:
            predicates[rule_id] = item.row_predicate
    if predicates:
        aliases = {rule_id: f"r{index}" for index, rule_id in enumerate(predicates)}
        flags = ", ".join(f"({predicate}) AS {aliases[rule_id]}" for rule_id, predicate in predicates.items())
        where = " OR ".join(f"({predicate})" for predicate in predicates.values())
        query = f"SELECT {sql.quote(ROW_NUMBER)}, {flags} FROM {sql.quote(table)} WHERE {where}"
        frame = connection.sql(query).pl()
        for rule_id, alias in aliases.items():
            rows[rule_id] = _row_numbers(frame.filter(pl.col(alias)).get_column(ROW_NUMBER))
    return rows


def _row_numbers(series: pl.Series) -> pl.Series:
    return series.cast(pl.Int64).sort().rename(ROW_NUMBER)
