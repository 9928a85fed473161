"""The definitions of `checks.engines.semantics` as DuckDB SQL predicates over a batch table.

Identifiers and values are always quoted here, never pasted, so a column called `unit "net"` or a
valid value `O'Brien` is just data. Patterns are full matches evaluated by RE2 (linear time).
Column types are judged from the batch's Polars schema, which is what the DuckDB table was made of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from checks.engines import semantics
from checks.engines.base import quote_identifier as quote
from checks.engines.polars_common import checked_pattern as rust_checked_pattern
from checks.engines.polars_common import native_kind
from checks.engines.semantics import NativeKind, NativeRule
from checks.rules import OrderColumn


def literal(value: str) -> str:
    """A string literal. `${` is split (`'$' || '{'`) because Soda substitutes `${…}` in every
    string of a contract, SQL included; the value is unchanged."""
    return "'" + value.replace("'", "''").replace("${", "$' || '{") + "'"


def text(expression: str, dtype: pl.DataType) -> str:
    """The value's text form: values are compared with contract literals as text."""
    return expression if native_kind(dtype) == NativeKind.TEXT else f"CAST({expression} AS VARCHAR)"


def in_list(expression: str, texts: Sequence[str]) -> str:
    return f"{expression} IN ({', '.join(literal(t) for t in texts)})" if texts else "FALSE"


def is_null(expression: str) -> str:
    return f"{expression} IS NULL"


def is_missing(expression: str, dtype: pl.DataType, missing_values: list[Any]) -> str:
    """Null, or one of the listed missing values (null is always missing)."""
    texts, _ = semantics.text_values(missing_values)
    if not texts:
        return is_null(expression)
    return f"({expression} IS NULL OR {in_list(text(expression, dtype), texts)})"


def checked_pattern(pattern: str) -> str:
    """The anchored pattern, if both linear-time engines accept it: RE2 (DuckDB) and Rust regex (the
    Polars engines); a pattern only one of them understands would make the engines disagree."""
    import duckdb

    anchored = rust_checked_pattern(pattern)
    try:
        duckdb.sql("SELECT regexp_matches('', $pattern)", params={"pattern": anchored}).fetchall()
    except duckdb.Error as exc:
        raise semantics.UnsupportedDefinition(f"pattern {pattern!r} is not supported by RE2: "
                                              f"{str(exc).splitlines()[0]}") from None
    return anchored


def is_invalid(expression: str, dtype: pl.DataType, valid_values: list[Any] | None,
               pattern: str | None) -> str:
    """Not null and (not one of the valid values, or not a full match of the pattern)."""
    value_text = text(expression, dtype)
    clauses = []
    if valid_values is not None:
        texts, _ = semantics.text_values(valid_values)
        clauses.append(f"NOT {in_list(value_text, texts)}")
    if pattern is not None:
        clauses.append(f"NOT regexp_matches({value_text}, {literal(semantics.full_match(pattern))})")
    return f"({expression} IS NOT NULL AND ({' OR '.join(clauses)}))"


def reference_value_columns(width: int) -> list[str]:
    """Columns of a reference table holding the referenced key's text forms (`value` for one column)."""
    return ["value"] if width == 1 else [f"value_{i}" for i in range(width)]


def not_in_reference(expressions: Sequence[str], dtypes: Sequence[pl.DataType], reference_table: str) -> str:
    """A key without a null that is absent from the referenced keys (text forms in
    `reference_value_columns` of `reference_table`)."""
    names = reference_value_columns(len(expressions))
    not_null = " AND ".join(f"{e} IS NOT NULL" for e in expressions)
    matches = " AND ".join(f"r.{quote(n)} = {text(e, d)}" for n, e, d in zip(names, expressions, dtypes,
                                                                            strict=True))
    return f"({not_null} AND NOT EXISTS (SELECT 1 FROM {quote(reference_table)} AS r WHERE {matches}))"


def not_castable(expression: str, dtype: pl.DataType, castability: semantics.Castability) -> str:
    """Not null and not castable to the logical type (`semantics.Castability`)."""
    rule = castability.native_rule(native_kind(dtype))
    if rule == NativeRule.ALWAYS:
        castable = "TRUE"
    elif rule == NativeRule.NEVER:
        castable = "FALSE"
    elif rule == NativeRule.INTEGRAL:
        number = f"CAST({expression} AS DOUBLE)"
        castable = f"isfinite({number}) AND {number} = trunc({number})"
    elif rule == NativeRule.ZERO_OR_ONE:
        castable = f"{expression} IN (0, 1)"
    else:
        castable = f"regexp_full_match({expression}, {literal(castability.text_pattern)})"
        if castability.temporal is not None:
            castable += f" AND {parsed_temporal(expression, castability.temporal)} IS NOT NULL"
    return f"({expression} IS NOT NULL AND NOT coalesce({castable}, FALSE))"


def parsed_temporal(expression: str, temporal: semantics.TemporalFormat) -> str:
    """TRY_STRPTIME of the parse text: null for a date that does not exist (the calendar check)."""
    if temporal.parse_slices is None:
        parse_text = expression
    else:
        parse_text = " || ' ' || ".join(f"substr({expression}, {start + 1}, {end - start})"
                                        for start, end in temporal.parse_slices)
    if temporal.parse_prefix:
        parse_text = f"{literal(temporal.parse_prefix)} || {parse_text}"
    return f"TRY_STRPTIME({parse_text}, {literal(temporal.strptime)})"


def order_value(expression: str, dtype: pl.DataType, order: OrderColumn) -> str:
    """What `latest` means for the kept row: native values as they are, date/timestamp text parsed
    (uncastable text is null, i.e. oldest), other text as text."""
    if native_kind(dtype) != NativeKind.TEXT or order.logical_type not in ("date", "timestamp"):
        return expression
    castability = semantics.castability(order.logical_type, order.type_format)
    assert castability.temporal is not None
    return (f"CASE WHEN regexp_full_match({expression}, {literal(castability.text_pattern)}) "
            f"THEN {parsed_temporal(expression, castability.temporal)} END")


def duplicate_rows_query(table: str, columns: Sequence[str], order: OrderColumn | None,
                         order_dtype: pl.DataType | None, row_number: str) -> str:
    """Every row of a group of equal key tuples but the kept one; nulls are equal.

    Kept: the latest by `order` (nulls and uncastable values oldest), ties and no order: the first
    delivered. The window only runs over the rows of duplicated keys (found by a hash GROUP BY,
    joined back with IS NOT DISTINCT FROM so that null keys match)."""
    keys = [quote(c) for c in columns]
    rn = quote(row_number)
    order_by = f"b.{rn} ASC"
    if order is not None and order_dtype is not None:
        order_by = f"{order_value('b.' + quote(order.name), order_dtype, order)} DESC NULLS LAST, {order_by}"
    matches = " AND ".join(f"b.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
    partition = ", ".join(f"b.{k}" for k in keys)
    return (f"WITH d AS (SELECT {', '.join(keys)} FROM {quote(table)} GROUP BY ALL HAVING COUNT(*) > 1) "
            f"SELECT {rn} FROM (SELECT b.{rn}, ROW_NUMBER() OVER (PARTITION BY {partition} "
            f"ORDER BY {order_by}) AS __sg_rank FROM {quote(table)} AS b SEMI JOIN d ON {matches}) "
            f"WHERE __sg_rank > 1")


def type_option_violated(expression: str, dtype: pl.DataType, option: semantics.TypeOption,
                         decimal_separator: str = ".") -> str:
    """Not null and violating the logicalTypeOption (semantics.TypeOption)."""
    check = semantics.OptionCheck
    not_null = f"{expression} IS NOT NULL"
    if option.check in (check.LENGTH, check.PATTERN):
        value_text = text(expression, dtype)
        violated = _outside(f"length({value_text})", option)
        if option.check == check.PATTERN:
            anchored = checked_pattern(option.pattern or "")
            violated = f"(NOT regexp_matches({value_text}, {literal(anchored)}) OR {violated})"
        return f"({not_null} AND {violated})"
    if option.check in (check.ITEMS, check.UNIQUE_ITEMS):
        _require(isinstance(dtype, pl.List | pl.Array), expression, dtype, option, "arrays")
        if option.check == check.ITEMS:
            return f"({not_null} AND {_outside(f'len({expression})', option)})"
        if not option.value:
            return "FALSE"
        has_null = f"(len({expression}) > list_aggregate({expression}, 'count'))"
        distinct = f"(len(list_distinct({expression})) + CASE WHEN {has_null} THEN 1 ELSE 0 END)"
        return f"({not_null} AND {distinct} < len({expression}))"
    if option.check in (check.PROPERTIES, check.REQUIRED):
        _require(isinstance(dtype, pl.Struct), expression, dtype, option, "objects")
        fields = [field.name for field in dtype.fields]
        if option.check == check.PROPERTIES:
            present = " + ".join(f"CASE WHEN struct_extract({expression}, {literal(f)}) IS NOT NULL THEN 1 "
                                 "ELSE 0 END" for f in fields) or "0"
            return f"({not_null} AND {_outside(f'({present})', option)})"
        if any(f not in fields for f in option.fields):
            return f"({not_null})"
        absent = " OR ".join(f"struct_extract({expression}, {literal(f)}) IS NULL" for f in option.fields)
        return f"({not_null} AND ({absent}))"
    assert option.castability is not None and option.domain is not None
    judged = f"({not_null} AND NOT {not_castable(expression, dtype, option.castability)})"
    number = _domain_value(expression, dtype, option.domain, option.castability, decimal_separator)
    if option.domain == semantics.ValueDomain.INTEGER:
        if native_kind(dtype) == NativeKind.TEXT:
            negative = f"starts_with({text(expression, dtype)}, '-')"
        else:
            negative = f"(CAST({expression} AS DOUBLE) < 0)"
        if option.check == check.MULTIPLE:
            violated = f"({number} IS NULL OR {number} % {option.multiple} <> 0)"
        else:
            beyond = (f"(({negative}) AND {str(option.low is not None).upper()}) OR "
                      f"(NOT ({negative}) AND {str(option.high is not None).upper()})")
            violated = f"(CASE WHEN {number} IS NULL THEN {beyond} ELSE {_outside(number, option)} END)"
        return f"({judged} AND coalesce({violated}, TRUE))"
    if option.check == check.MULTIPLE:
        quotient = f"({number} / {float(option.multiple or 1)!r})"
        tolerance = f"(greatest(1.0, abs({quotient})) * {semantics.MULTIPLE_TOLERANCE!r})"
        return f"({judged} AND coalesce(abs({quotient} - round({quotient})) > {tolerance}, TRUE))"
    return f"({judged} AND coalesce({_outside(number, option)}, TRUE))"


def _outside(measured: str, option: semantics.TypeOption) -> str:
    clauses = []
    if option.low is not None:
        clauses.append(f"{measured} {'<' if option.low_inclusive else '<='} {_bound(option.low)}")
    if option.high is not None:
        clauses.append(f"{measured} {'>' if option.high_inclusive else '>='} {_bound(option.high)}")
    return f"({' OR '.join(clauses) or 'FALSE'})"


def _bound(bound: Any) -> str:
    if isinstance(bound, datetime):
        return f"TIMESTAMP {literal(bound.isoformat(sep=' '))}"
    if isinstance(bound, int):
        return f"CAST({literal(str(bound))} AS HUGEINT)"
    return f"CAST({bound!r} AS DOUBLE)"


def _domain_value(expression: str, dtype: pl.DataType, domain: semantics.ValueDomain,
                  castability: semantics.Castability, decimal_separator: str) -> str:
    """The value a range or multiple check compares (semantics.ValueDomain)."""
    kind = native_kind(dtype)
    if domain == semantics.ValueDomain.TEMPORAL:
        if kind == NativeKind.TEXT:
            assert castability.temporal is not None
            return parsed_temporal(text(expression, dtype), castability.temporal)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            return f"CAST(timezone('UTC', {expression}) AS TIMESTAMP)"
        return f"CAST({expression} AS TIMESTAMP)"
    if kind == NativeKind.TEXT:
        if domain == semantics.ValueDomain.INTEGER:
            return f"TRY_CAST({expression} AS HUGEINT)"
        separator = literal(decimal_separator)
        return f"TRY_CAST(replace({expression}, {separator}, '.') AS DOUBLE)"
    if domain == semantics.ValueDomain.INTEGER:
        return f"TRY_CAST({expression} AS HUGEINT)"
    return f"CAST({expression} AS DOUBLE)"



def _require(holds: bool, expression: str, dtype: pl.DataType, option: semantics.TypeOption,
             what: str) -> None:
    if not holds:
        raise semantics.not_carried(option, expression, dtype, what)


def typed_value(expression: str, dtype: pl.DataType, logical_type: str, type_format: str | None,
                decimal_separator: str = ".") -> str | None:
    """A text column as its logicalType, the values that are not castable NULL: the SQL of
    `checks.engines.pandera_engine.typed_column` (BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP), for
    `type: sql` rules that read a Parquet or Delta batch in place. None where that one leaves the
    column as it is (not text, or no castability rule)."""
    if native_kind(dtype) != NativeKind.TEXT:
        return None
    try:
        castability = semantics.castability(logical_type, type_format, decimal_separator)
    except semantics.UnsupportedDefinition:
        return None
    if logical_type == "integer":
        value = f"TRY_CAST({expression} AS BIGINT)"
    elif logical_type == "number":
        value = f"TRY_CAST(replace({expression}, {literal(decimal_separator)}, '.') AS DOUBLE)"
    elif logical_type == "boolean":
        value = f"lower({expression}) IN ('true', '1')"
    else:
        assert castability.temporal is not None
        value = parsed_temporal(expression, castability.temporal)
        value = f"CAST({value} AS DATE)" if logical_type == "date" else value
    return f"CASE WHEN {expression} IS NOT NULL AND NOT {not_castable(expression, dtype, castability)} " \
           f"THEN {value} END"
