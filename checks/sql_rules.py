"""ODCS `type: sql` rules: the contract's query, run in an in-process DuckDB over the batch.

The batch is a table named after the object (`checks.engines.duckdb_batch`: streamed in, spilled to
disk when large), so `{object}` in a query is a real table name; a Parquet or Delta batch whose
files the caller hands over (`context.dataset`) is instead a view over those files, read in place.
It is typed by the contract first: a text column (CSV) whose property has a logicalType with a
castability rule holds that type (`checks.engines.pandera_engine.typed_column`, or its SQL
`duckdb_sql.typed_value` in the view), so `WHERE units > 5` compares numbers on CSV as on Parquet;
values that are not castable are NULL there (the `<property>_type` rule counts them). `{object}` and
`{property}` are replaced by quoted identifiers, never by data. The connection has no file system or
network access and its configuration is locked, so a query in a contract cannot read anything but
the batch. A query that fails, or that does not return one number, leaves its rule `not_evaluated`
with the reason; the rest of the gate runs, and the gate fails the rule closed (checks.gate).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from checks.engines.base import ROW_NUMBER, BatchContext, Measurement, quote_identifier
from checks.errors import one_line

if TYPE_CHECKING:  # lint reads the placeholders without importing Polars
    import polars as pl

    from checks.rules import Rule

ENGINE_NAME = "duckdb"


PLACEHOLDER_NAMES = {"object": "object", "table": "object", "property": "property", "column": "property"}
"""Placeholder name -> what it stands for: ODCS's `{object}`/`{property}` and the `{table}`/`{column}`
of the standard's examples (also written `${...}`)."""
PLACEHOLDERS = {
    target: tuple(f"{dollar}{{{name}}}" for name, to in PLACEHOLDER_NAMES.items() if to == target
                  for dollar in ("", "$"))
    for target in ("object", "property")
}


def render_query(query: str, object_name: str, property_name: str | None, *,
                 quote: Callable[[str], str] = quote_identifier) -> str:
    """The query with `{object}` and `{property}` replaced by quoted identifiers (also `{table}` and
    `{column}`, and each written `${...}`, as ODCS examples write them); `quote` quotes for the SQL
    dialect (double quotes by default, Spark's backticks)."""
    rendered = query
    for placeholder in sorted(PLACEHOLDERS["object"], key=len, reverse=True):
        rendered = rendered.replace(placeholder, quote(object_name))
    if property_name is not None:
        for placeholder in sorted(PLACEHOLDERS["property"], key=len, reverse=True):
            rendered = rendered.replace(placeholder, quote(property_name))
    return rendered


def run_sql_rules(batch: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule],
                  context: BatchContext) -> list[Measurement]:
    """One measurement per rule: the number its query returns over the batch typed by the
    contract (`context.column_types`), or why there is none."""
    if not rules:
        return []
    from checks.engines.duckdb_batch import batch_database
    from checks.engines.pandera_engine import typed_batch

    object_name = context.object_name
    if context.dataset is not None:
        from checks.engines.duckdb_batch import dataset_database

        dataset = context.dataset()
        columns = _typed_columns(batch.collect_schema(), dataset.schema.names, context)
        with dataset_database(dataset, object_name, columns, lock_configuration=True) as connection:
            return [_measure(connection, rule, object_name) for rule in rules]
    table = typed_batch(batch.drop(ROW_NUMBER, strict=False), context)
    with batch_database({object_name: table}, lock_configuration=True) as connection:
        return [_measure(connection, rule, object_name) for rule in rules]


def _typed_columns(schema: pl.Schema, delivered_columns: Sequence[str], context: BatchContext) -> str:
    """The select list of the view over the batch's files: each delivered column under its
    property's name, typed by the contract as `typed_batch` types the copied table."""
    from checks.engines.duckdb_sql import typed_value

    columns = []
    for delivered in delivered_columns:
        name = context.delivered_names.get(delivered, delivered)
        value = None
        if name in context.column_types and name in schema:
            value = typed_value(quote_identifier(delivered), schema[name], *context.column_types[name],
                                context.decimal_separator)
        columns.append(f"{value or quote_identifier(delivered)} AS {quote_identifier(name)}")
    return ", ".join(columns)


def _measure(connection: object, rule: Rule, object_name: str) -> Measurement:
    import duckdb

    sql = rendered_query(rule, object_name)
    if isinstance(sql, Measurement):
        return sql
    try:
        rows = connection.execute(sql).fetchmany(2)
    except duckdb.Error as exc:
        return Measurement(rule.id, None, message=f"query failed: {one_line(exc)}", engine=ENGINE_NAME)
    return query_measurement(rule, rows, ENGINE_NAME)


def rendered_query(rule: Rule, object_name: str, *, quote: Callable[[str], str] = quote_identifier,
                   engine: str = ENGINE_NAME) -> str | Measurement:
    """The rule's query ready to run, or the measurement saying why there is none."""
    if not rule.query:
        return Measurement(rule.id, None, message="sql rule without a query", engine=engine)
    if rule.property is None and any(p in rule.query for p in PLACEHOLDERS["property"]):
        return Measurement(rule.id, None, message="{property} used in an object-level rule", engine=engine)
    return render_query(rule.query, object_name, rule.property, quote=quote)


def query_measurement(rule: Rule, rows: Sequence[Sequence[object]], engine: str) -> Measurement:
    """The rule's measurement from (up to two of) the rows its query returned: one number, or why not."""
    if len(rows) != 1 or len(rows[0]) != 1:
        return Measurement(rule.id, None, message="the query must return exactly one row with one column",
                           engine=engine)
    value = rows[0][0]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return Measurement(rule.id, None, message=f"the query must return a number, not {value!r}",
                           engine=engine)
    return Measurement(rule.id, value, message=f"query returned {value}", engine=engine)
