"""The spark engine: every library and schema rule as Spark Column expressions, through the Spark
Connect API only, so the same code runs on local Sail, any Spark Connect server and Databricks
Connect (`checks.spark_session`).

Each row-local rule becomes one boolean column that is true on a violating row (the definitions of
`checks.engines.semantics`, written in Spark functions); a duplicate rule is a `row_number()` window
over its key ordered by the kept-row preference; a relationship is a left join against the
referenced keys (an anti-join kept as a marker column, so it adds to the same pass). All flags sit
on one distributed frame (`SparkViolations.frame`) and one aggregation over it counts every rule;
the quarantine split and the violating samples are filters of that frame, never a `collect()` of
the batch.

Spark's own choices closed where they differ from ours: patterns are anchored `\\A(?:…)\\z` (Java's
`$` would also match before a final newline; Sail's Rust regex reads both the same); a text value's
calendar check builds the timestamp with `try_make_timestamp_ntz` from the fields the format's
regex extracted (Sail's `try_cast` to TIMESTAMP raises on 30 February instead of returning NULL);
integer bounds are compared exactly on the digits (Spark's DECIMAL stops at 38 digits, the
semantics at 128 bits).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from checks.engines.base import ROW_NUMBER, BatchContext, Measurement
from checks.engines.polars_common import checked_pattern, schema_difference
from checks.engines.semantics import (
    MULTIPLE_TOLERANCE,
    Castability,
    NativeKind,
    NativeRule,
    OptionCheck,
    TemporalFormat,
    TypeOption,
    UnsupportedDefinition,
    ValueDomain,
    castability,
    not_carried,
    rule_type_option,
    text_values,
)
from checks.errors import one_line
from checks.rules import DEFAULT_MISSING_VALUES, OrderColumn, Rule, RuleKind

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

ENGINE_NAME = "spark"
_SCHEMA_KINDS = (RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS)
_PARTITION, _POSITION = "__sg_partition", "__sg_position"


def _functions():
    from pyspark.sql import functions

    return functions


def is_spark_frame(batch: object) -> bool:
    """A PySpark DataFrame (classic or Spark Connect), told without importing pyspark."""
    return type(batch).__module__.startswith("pyspark.")


class RuleNotMeasurable(ValueError):
    """The rule cannot be measured on this batch (missing reference table, …)."""


@dataclass
class SparkViolations:
    """The violating rows of one row-level rule, kept distributed: the rows of `frame` (ROW_NUMBER
    plus every rule's flag) where `column` is true. `len()` is their number (already counted)."""

    frame: DataFrame
    column: str
    count: int

    def __len__(self) -> int:
        return self.count

    def row_numbers(self) -> DataFrame:
        """ROW_NUMBER of the violating rows, as a Spark DataFrame."""
        return self.frame.filter(_functions().col(self.column)).select(ROW_NUMBER)


# -- batches ------------------------------------------------------------------------------------


def to_spark(batch: pl.DataFrame | pl.LazyFrame) -> DataFrame:
    """A Polars frame as a Spark DataFrame of the process's session (through Arrow). For tests and
    small references: a large batch is read by Spark itself (`read_batch`)."""
    from checks.spark_session import spark_session

    frame = batch.collect() if isinstance(batch, pl.LazyFrame) else batch
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Null)
    table = frame.to_arrow()
    if not frame.height:  # Spark cannot take the schema from an empty table
        from pyspark.sql.pandas.types import from_arrow_schema

        return spark_session().createDataFrame([], schema=from_arrow_schema(table.schema))
    return spark_session().createDataFrame(table)


def numbered(frame: DataFrame) -> tuple[DataFrame, int]:
    """The frame with ROW_NUMBER (0-based position in delivery order, consecutive) and its row
    count. One small pass counts the rows of each partition; a row's number is the rows of the
    partitions before its own plus its position within it (`monotonically_increasing_id` counts up
    within a partition), so numbering needs no window over the whole batch. The gate evaluates the
    frame more than once (count, measure, split), so it must give the same rows in the same
    partitions each time: a file scan or a local relation does; a frame built by joins or shuffles
    should be written or cached first (its row order is not fixed between evaluations)."""
    F = _functions()
    located = frame.select("*", F.spark_partition_id().alias(_PARTITION),
                           F.monotonically_increasing_id().alias(_POSITION))
    counts = sorted(located.groupBy(_PARTITION).agg(F.count(F.lit(1)).alias("n"),
                                                    F.min(_POSITION).alias("first")).collect())
    offsets: list[Any] = []
    before = 0
    for partition, rows, first in counts:
        offsets += [F.lit(partition), F.lit(before - first)]
        before += rows
    if not offsets:
        return frame.withColumn(ROW_NUMBER, F.lit(0).cast("long")), 0
    shift = F.element_at(F.create_map(*offsets), F.col(_PARTITION))
    row_number = (F.col(_POSITION) + shift).cast("long").alias(ROW_NUMBER)
    return located.select(*[F.col(_quoted(c)) for c in frame.columns], row_number), before


def _quoted(name: str) -> str:
    """A column name for `F.col`: backticks, so dots and spaces are part of the name."""
    return "`" + name.replace("`", "``") + "`"


def col(name: str) -> Column:
    return _functions().col(_quoted(name))


# -- the engine ---------------------------------------------------------------------------------


class SparkEngine:
    """Measures library and schema rules on a Spark DataFrame that carries ROW_NUMBER."""

    name = ENGINE_NAME

    @staticmethod
    def warm_up() -> None:
        """Start the process's Spark session off the caller's thread (local Sail takes seconds); a
        failure to start is left for the gate's own call to raise."""
        import threading

        threading.Thread(target=_start_session, name="spark-session-start", daemon=True).start()

    def measure(self, batch: DataFrame, rules: Sequence[Rule], context: BatchContext) -> list[Measurement]:
        F = _functions()
        if not is_spark_frame(batch):
            raise TypeError("the spark engine measures a Spark DataFrame (run_gate hands Polars over)")
        schema = {field.name: field.dataType for field in batch.schema.fields}
        found: dict[str, Measurement] = {}
        flags: dict[str, Column] = {}
        frame = batch
        for rule in rules:
            if rule.kind in _SCHEMA_KINDS:
                count, message = schema_difference(rule, list(schema))
                found[rule.id] = Measurement(rule.id, count, message=message, engine=self.name)
                continue
            if rule.metric == "rowCount":
                continue
            try:
                if rule.metric == "duplicateValues":
                    frame, flags[rule.id] = _duplicates(frame, rule, schema, len(flags))
                elif rule.kind == RuleKind.RELATIONSHIP:
                    frame, flags[rule.id] = _not_referenced(frame, rule, schema, context, len(flags))
                else:
                    flags[rule.id] = violation_column(rule, schema, context)
            except (RuleNotMeasurable, UnsupportedDefinition) as exc:
                found[rule.id] = Measurement(rule.id, None, message=str(exc), engine=self.name)
        names = {rule_id: f"__sg_violation_{i}" for i, rule_id in enumerate(flags)}
        flagged = frame.select(F.col(ROW_NUMBER),
                               *[F.coalesce(flag, F.lit(False)).alias(names[r]) for r, flag in flags.items()])
        totals = flagged.agg(F.count(F.lit(1)).alias("__sg_rows"),
                             *[F.sum(F.col(n).cast("long")).alias(n) for n in names.values()]).first()
        rows = int(totals["__sg_rows"])
        for rule_id, column in names.items():
            count = int(totals[column] or 0)
            violations = SparkViolations(flagged, column, count)
            found[rule_id] = Measurement(rule_id, count, violations, engine=self.name)
        for rule in rules:
            if rule.metric == "rowCount" and rule.kind not in _SCHEMA_KINDS:
                found[rule.id] = Measurement(rule.id, rows, engine=self.name)
        return [found.get(r.id) or Measurement(r.id, None, message=f"{self.name} does not measure "
                                               f"{r.kind.value} rules", engine=self.name) for r in rules]


def _start_session() -> None:
    from checks.spark_session import spark_session

    with contextlib.suppress(Exception):
        spark_session()


# -- rules as Spark columns (true = the row violates the rule) -----------------------------------


def violation_column(rule: Rule, schema: dict[str, Any], context: BatchContext) -> Column:
    """The column that is true on every row violating a row-local rule."""
    F = _functions()
    if rule.property is None:
        raise RuleNotMeasurable(f"{rule.metric} needs a property")
    column = rule.property
    dtype = schema[column]
    if rule.kind == RuleKind.TYPE:
        return _not_castable(column, dtype, castability(rule.logical_type or "", rule.type_format,
                                                        context.decimal_separator))
    if rule.kind == RuleKind.TYPE_OPTION:
        option = rule_type_option(rule, context.decimal_separator)
        return type_option_violated(column, dtype, option, context.decimal_separator)
    if rule.metric == "nullValues":
        return col(column).isNull()
    if rule.metric == "missingValues":
        listed, _ = text_values(rule.arguments.get("missingValues", DEFAULT_MISSING_VALUES))
        return col(column).isNull() | _isin(_text(column), listed)
    if rule.metric == "invalidValues":
        valid = rule.arguments.get("validValues")
        pattern = rule.arguments.get("pattern")
        if valid is None and pattern is None:
            raise RuleNotMeasurable("invalidValues needs arguments.validValues or arguments.pattern")
        invalid = F.lit(False)
        if valid is not None:
            invalid = invalid | ~_isin(_text(column), text_values(list(valid))[0])
        if pattern is not None:
            invalid = invalid | ~_matches(_text(column), str(pattern))
        return col(column).isNotNull() & invalid
    raise RuleNotMeasurable(f"unknown metric {rule.metric!r}")


def _isin(value: Column, listed: list[str]) -> Column:
    return value.isin(listed) if listed else _functions().lit(False)


def _text(column: str) -> Column:
    """The column's text form (semantics.text_form)."""
    return col(column).cast("string")


def spark_pattern(pattern: str) -> str:
    """The full-match form of a pattern for Spark's `rlike` (which searches): checked first by the
    linear-time engine all engines share, anchored with `\\A`/`\\z`, which Java and Rust regex read
    alike (Java's `$` also matches before a final newline)."""
    checked_pattern(pattern)
    return rf"\A(?:{pattern})\z"


def _matches(text: Column, pattern: str) -> Column:
    return text.rlike(spark_pattern(pattern))


def native_kind(dtype: Any) -> NativeKind:
    """The semantics' kind of a Spark type."""
    from pyspark.sql import types as T

    kinds = [((T.StringType, T.VarcharType, T.CharType, T.NullType), NativeKind.TEXT),
             ((T.BooleanType,), NativeKind.BOOLEAN),
             ((T.ByteType, T.ShortType, T.IntegerType, T.LongType), NativeKind.INTEGER),
             ((T.FloatType, T.DoubleType), NativeKind.FLOAT), ((T.DecimalType,), NativeKind.DECIMAL),
             ((T.DateType,), NativeKind.DATE), ((T.TimestampType, T.TimestampNTZType), NativeKind.DATETIME)]
    return next((kind for types, kind in kinds if isinstance(dtype, types)), NativeKind.OTHER)


def _castable_text(text: Column, cast: Castability) -> Column:
    ok = _matches(text, cast.text_pattern)
    if cast.temporal is not None:
        ok = ok & parsed(text, cast.temporal).isNotNull()
    return ok


_DIRECTIVES = {"Y": r"([0-9]{4})", "m": r"([0-9]{1,2})", "d": r"([0-9]{1,2})", "H": r"([0-9]{1,2})",
               "I": r"([0-9]{1,2})", "M": r"([0-9]{1,2})", "S": r"([0-9]{1,2})", "p": r"(AM|PM)",
               "b": r"([A-Za-z]{3})", "B": r"([A-Za-z]+)"}
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _strptime_fields(strptime: str) -> tuple[str, list[str]]:
    """A capture regex for the parse text of a strptime format and the directive of each group."""
    regex, order, i = [], [], 0
    while i < len(strptime):
        if strptime[i] == "%" and i + 1 < len(strptime):
            directive = strptime[i + 1]
            if directive == "%":
                regex.append("%")
            elif directive in _DIRECTIVES:
                regex.append(_DIRECTIVES[directive])
                order.append(directive)
            else:
                raise UnsupportedDefinition(f"strptime directive %{directive} has no Spark reading")
            i += 2
        else:
            regex.append(re.escape(strptime[i]))
            i += 1
    return r"\A" + "".join(regex) + r"\z", order


def parsed(text: Column, temporal: TemporalFormat) -> Column:
    """Strict parse of the parse text (semantics.TemporalFormat) to TIMESTAMP_NTZ; NULL where it
    does not parse (a day the calendar does not have). Defaults as strptime: 1900-01-01 00:00:00."""
    F = _functions()
    if temporal.parse_slices is not None:
        text = F.concat_ws(" ", *[F.substring(text, start + 1, end - start)
                                  for start, end in temporal.parse_slices])
    if temporal.parse_prefix:
        text = F.concat(F.lit(temporal.parse_prefix), text)
    regex, order = _strptime_fields(temporal.strptime)

    def field(directive: str) -> Column | None:
        if directive not in order:
            return None
        return F.regexp_extract(text, regex, order.index(directive) + 1)

    def number(directive: str, default: int) -> Column:
        found = field(directive)
        return F.lit(default) if found is None else found.cast("int")

    month = number("m", 1)
    for name in ("b", "B"):
        found = field(name)
        if found is not None:
            by_name = reduce(lambda acc, item: acc.when(F.substring(found, 1, 3) == item[1], item[0] + 1),
                             enumerate(_MONTH_ABBREVIATIONS[1:], start=1),
                             F.when(F.substring(found, 1, 3) == _MONTH_ABBREVIATIONS[0], 1))
            month = by_name
    hour = number("H", 0)
    if "I" in order:
        pm = F.when(field("p") == "PM", 12).otherwise(0)
        hour = number("I", 12) % 12 + pm
    matched = text.rlike(regex)
    stamp = F.call_function("try_make_timestamp_ntz", number("Y", 1900), month, number("d", 1), hour,
                            number("M", 0), number("S", 0))
    return F.when(matched, stamp)


def _not_castable(column: str, dtype: Any, cast: Castability) -> Column:
    F = _functions()
    value = col(column)
    rule = cast.native_rule(native_kind(dtype))
    if rule == NativeRule.TEXT:
        ok = _castable_text(_text(column), cast)
    elif rule == NativeRule.ALWAYS:
        ok = F.lit(True)
    elif rule == NativeRule.INTEGRAL:
        number = value.cast("double")
        ok = ~F.isnan(number) & (F.abs(number) != float("inf")) & (number == F.floor(number))
    elif rule == NativeRule.ZERO_OR_ONE:
        ok = value.isin([0, 1])
    else:
        ok = F.lit(False)
    return value.isNotNull() & ~ok


def type_option_violated(column: str, dtype: Any, option: TypeOption, decimal_separator: str = ".") -> Column:
    """True on a non-null value that violates the logicalTypeOption (semantics.TypeOption)."""
    from pyspark.sql import types as T

    F = _functions()
    value = col(column)
    if option.check in (OptionCheck.LENGTH, OptionCheck.PATTERN):
        text = _text(column)
        violated = _outside(F.char_length(text), option)
        if option.check == OptionCheck.PATTERN:
            violated = ~_matches(text, option.pattern or "") | violated
        return value.isNotNull() & violated
    if option.check in (OptionCheck.ITEMS, OptionCheck.UNIQUE_ITEMS):
        if not isinstance(dtype, T.ArrayType):
            raise not_carried(option, repr(column), dtype.simpleString(), "arrays")
        if option.check == OptionCheck.ITEMS:
            return value.isNotNull() & _outside(F.size(value), option)
        repeated = F.size(F.array_distinct(value)) < F.size(value)
        return value.isNotNull() & F.lit(bool(option.value)) & repeated
    if option.check in (OptionCheck.PROPERTIES, OptionCheck.REQUIRED):
        if not isinstance(dtype, T.StructType):
            raise not_carried(option, repr(column), dtype.simpleString(), "objects")
        fields = [field.name for field in dtype.fields]
        if option.check == OptionCheck.PROPERTIES:
            present = reduce(lambda a, b: a + b, [value.getField(f).isNotNull().cast("int") for f in fields],
                             F.lit(0))
            return value.isNotNull() & _outside(present, option)
        if any(f not in fields for f in option.fields):
            return value.isNotNull()
        absent = reduce(lambda a, b: a | b, [value.getField(f).isNull() for f in option.fields], F.lit(False))
        return value.isNotNull() & absent
    assert option.castability is not None and option.domain is not None
    judged = value.isNotNull() & ~_not_castable(column, dtype, option.castability)
    kind = native_kind(dtype)
    if option.domain == ValueDomain.INTEGER:
        return judged & F.coalesce(_integer_violated(column, kind, option), F.lit(True))
    if option.domain == ValueDomain.TEMPORAL:
        if kind == NativeKind.TEXT:
            assert option.castability.temporal is not None
            moment = parsed(_text(column), option.castability.temporal)
        else:
            moment = value.cast("timestamp_ntz")
        return judged & F.coalesce(_outside(moment, option), F.lit(True))
    number = _number(_text(column), decimal_separator) if kind == NativeKind.TEXT else value.cast("double")
    if option.check == OptionCheck.MULTIPLE:
        quotient = number / F.lit(float(option.multiple or 1))
        tolerance = F.greatest(F.lit(1.0), F.abs(quotient)) * MULTIPLE_TOLERANCE
        return judged & F.coalesce(F.abs(quotient - F.round(quotient, 0)) > tolerance, F.lit(True))
    return judged & F.coalesce(_outside(number, option), F.lit(True))


def _number(text: Column, decimal_separator: str) -> Column:
    """A number's text as a double (NULL where it is not one)."""
    F = _functions()
    if decimal_separator != ".":
        text = F.replace(text, F.lit(decimal_separator), F.lit("."))
    return _try_cast(text, "double")


def _try_cast(value: Column, type_name: str) -> Column:
    return value.try_cast(type_name)


def _outside(measured: Column, option: TypeOption) -> Column:
    """The measured value is below `low` or above `high` (each inclusive or not)."""
    F = _functions()
    outside = F.lit(False)
    if option.low is not None:
        low = _literal(option.low)
        outside = outside | (measured < low if option.low_inclusive else measured <= low)
    if option.high is not None:
        high = _literal(option.high)
        outside = outside | (measured > high if option.high_inclusive else measured >= high)
    return outside


def _literal(bound: object) -> Column:
    F = _functions()
    if isinstance(bound, datetime):
        return F.expr(f"TIMESTAMP_NTZ '{bound.isoformat(sep=' ')}'")
    if isinstance(bound, int):
        return F.lit(bound)
    return F.lit(float(bound)).cast("double")


# -- integers compared exactly -------------------------------------------------------------------


def _integer_violated(column: str, kind: NativeKind, option: TypeOption) -> Column:
    """A range or multiple check on integers as exact as the semantics' 128 bits: bounds compared
    on the value's sign and digits (any length), multiples on DECIMAL(38, 0) (a value it cannot
    hold, beyond 38 digits, is never a known multiple)."""
    F = _functions()
    text = _text(column) if kind == NativeKind.TEXT else col(column).cast("decimal(38,0)").cast("string")
    negative = text.startswith("-")
    stripped = F.regexp_replace(F.regexp_replace(text, r"^[+-]", ""), r"^0+", "")
    digits = F.when(stripped == "", F.lit("0")).otherwise(stripped)
    if option.check == OptionCheck.MULTIPLE:
        exact = _try_cast(text, "decimal(38,0)")
        return exact.isNull() | (exact % F.lit(Decimal(int(option.multiple or 1))) != 0)
    is_zero = digits == "0"
    negative = negative & ~is_zero
    violated = F.lit(False)
    if option.low is not None:
        below = _compare(negative, digits, int(option.low))
        violated = violated | (below < 0 if option.low_inclusive else below <= 0)
    if option.high is not None:
        above = _compare(negative, digits, int(option.high))
        violated = violated | (above > 0 if option.high_inclusive else above >= 0)
    return violated


def _compare(negative: Column, digits: Column, bound: int) -> Column:
    """-1, 0 or 1 as the integer (sign, digits without leading zeros) is below, at or above `bound`."""
    F = _functions()
    bound_negative, bound_digits = bound < 0, str(abs(bound))
    length, bound_length = F.length(digits), len(bound_digits)
    magnitude = (F.when(length < bound_length, -1).when(length > bound_length, 1)
                 .when(digits < bound_digits, -1).when(digits > bound_digits, 1).otherwise(0))
    if bound_negative:
        return F.when(~negative, 1).otherwise(-magnitude)
    return F.when(negative, -1).otherwise(magnitude)


# -- duplicates and relationships ----------------------------------------------------------------


def _duplicate_keys(rule: Rule) -> list[str]:
    keys = rule.properties or ([rule.property] if rule.property else [])
    if not keys:
        raise RuleNotMeasurable("duplicateValues needs a property or arguments.properties")
    return keys


def _order_value(order: OrderColumn, dtype: Any) -> Column:
    """What `latest` compares (semantics.KEPT_ROW): parsed date/timestamp text, else the value."""
    F = _functions()
    if native_kind(dtype) == NativeKind.TEXT and order.logical_type in ("date", "timestamp"):
        cast = castability(order.logical_type, order.type_format)
        assert cast.temporal is not None
        return F.when(_castable_text(_text(order.name), cast), parsed(_text(order.name), cast.temporal))
    return col(order.name)


def _duplicates(frame: DataFrame, rule: Rule, schema: dict[str, Any], index: int) -> tuple[DataFrame, Column]:
    """Every member of a group of equal keys (nulls equal: window partitions group them) but the
    kept one (semantics.KEPT_ROW): a `row_number()` over the group ordered by preference."""
    from pyspark.sql import Window

    F = _functions()
    keys = _duplicate_keys(rule)
    preference = [F.col(ROW_NUMBER).asc()]
    order = rule.keep_latest_by
    if order is not None and order.name in schema:
        preference.insert(0, _order_value(order, schema[order.name]).desc_nulls_last())
    window = Window.partitionBy(*[col(k) for k in keys]).orderBy(*preference)
    name = f"__sg_duplicate_{index}"
    return frame.withColumn(name, F.row_number().over(window) > 1), F.col(name)


def _not_referenced(frame: DataFrame, rule: Rule, schema: dict[str, Any], context: BatchContext,
                    index: int) -> tuple[DataFrame, Column]:
    """A key without a null whose text form is not among the referenced keys: a left join against
    the distinct referenced keys, which leaves the marker NULL where there is no match."""
    F = _functions()
    table, referenced = rule.reference_table or "", rule.reference_columns
    other = context.references.get(table)
    if other is None:
        raise RuleNotMeasurable(f"reference table {table!r} was not provided; {rule.references} "
                                "cannot be checked")
    other_frame = other if is_spark_frame(other) else to_spark(other)
    absent = [c for c in referenced if c not in other_frame.columns]
    if absent:
        raise RuleNotMeasurable(f"reference table {table!r} has no column {absent[0]!r}")
    columns = rule.read_columns()
    names = [f"__sg_ref_{index}_{i}" for i in range(len(columns))]
    marker = f"__sg_ref_{index}_found"
    texts = [col(c).cast("string").alias(n) for c, n in zip(referenced, names, strict=True)]
    keys = other_frame.select(*texts).dropna().distinct().withColumn(marker, F.lit(True))
    condition = reduce(lambda a, b: a & b, [col(c).cast("string") == F.col(n)
                                            for c, n in zip(columns, names, strict=True)])
    joined = frame.join(keys, condition, "left").drop(*names)
    present = reduce(lambda a, b: a & b, [col(c).isNotNull() for c in columns])
    return joined, present & F.col(marker).isNull()


# -- the gate's Spark side: typed batch, sql rules, split, samples -------------------------------


def typed_batch(frame: DataFrame, context: BatchContext) -> DataFrame:
    """The frame with its text columns typed by the contract (`context.column_types`), as
    `checks.engines.pandera_engine.typed_batch` does for Polars: values that are not castable NULL."""
    schema = {field.name: field.dataType for field in frame.schema.fields}
    typed = {}
    for name, (logical_type, type_format) in context.column_types.items():
        if name in schema and native_kind(schema[name]) == NativeKind.TEXT:
            value = _typed_text(name, logical_type, type_format, context.decimal_separator)
            if value is not None:
                typed[name] = value
    return frame.withColumns({name: value for name, value in typed.items()}) if typed else frame


def _typed_text(column: str, logical_type: str, type_format: str | None,
                decimal_separator: str) -> Column | None:
    F = _functions()
    try:
        cast = castability(logical_type, type_format, decimal_separator)
    except UnsupportedDefinition:
        return None
    text = _text(column)
    if logical_type == "integer":
        value = _try_cast(text, "bigint")
    elif logical_type == "number":
        value = _number(text, decimal_separator)
    elif logical_type == "boolean":
        value = F.lower(text).isin(["true", "1"])
    else:
        assert cast.temporal is not None
        value = parsed(text, cast.temporal)
        value = value.cast("date") if logical_type == "date" else value
    return F.when(_castable_text(text, cast), value)


_FILE_SOURCES = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\s*\.\s*`|\bread_files\s*\(|\bLOAD\s+DATA\b|\bINSERT\b|"
                           r"\bCREATE\b|\bDROP\b|\bALTER\b|\bMERGE\b|\bDELETE\b|\bUPDATE\b", re.IGNORECASE)


def run_sql_rules(frame: DataFrame, rules: Sequence[Rule], context: BatchContext) -> list[Measurement]:
    """`type: sql` rules as Spark SQL over a temporary view named after the object (the batch typed
    by the contract). Spark SQL can read files by path (`parquet.`/x``) and other tables, which
    Spark Connect cannot switch off: a query that names a path or writes is refused (not
    evaluated, so it fails closed)."""
    from checks.spark_session import spark_session

    if not rules:
        return []
    session = spark_session()
    view = context.object_name
    typed_batch(frame.drop(ROW_NUMBER), context).createOrReplaceTempView(view)
    try:
        return [_measure_sql(session, rule, view) for rule in rules]
    finally:
        session.catalog.dropTempView(view)


def _measure_sql(session: Any, rule: Rule, view: str) -> Measurement:
    from checks.sql_rules import query_measurement, rendered_query

    sql = rendered_query(rule, view, quote=_quoted, engine=ENGINE_NAME)
    if isinstance(sql, Measurement):
        return sql
    if _FILE_SOURCES.search(sql):
        return Measurement(rule.id, None, message="the query reads a path or changes a table, which a "
                           "gate's query may not do on Spark", engine=ENGINE_NAME)
    try:
        rows = session.sql(sql).limit(2).collect()
    except Exception as exc:  # pyspark raises its own errors for every kind of bad query
        return Measurement(rule.id, None, message=f"query failed: {one_line(exc)}", engine=ENGINE_NAME)
    return query_measurement(rule, [tuple(row) for row in rows], ENGINE_NAME)


def split(numbered_frame: DataFrame, original: list[str], blocking: list[str],
          quarantine_rows: dict[str, SparkViolations], *, blocked_reason: str,
          reasons_column: str, own_violations: dict[str, SparkViolations],
          blocked_by_column: str) -> tuple[DataFrame, DataFrame]:
    """(published, quarantined) as Spark DataFrames: quarantined rows keep every original column
    plus ROW_NUMBER, the reasons (rule ids in rule order; when blocking, `blocked` and then the rules
    the row breaks itself, `own_violations`) and the rules that blocked the batch."""
    F = _functions()
    columns = [col(c) for c in original]
    empty = F.array().cast("array<string>")
    if blocking:
        with_own = _with_reasons(numbered_frame, own_violations, reasons_column)
        reasons = F.concat(F.array(F.lit(blocked_reason)), F.coalesce(F.col(reasons_column), empty))
        blocked_by = F.array(*[F.lit(r) for r in blocking])
        quarantined = with_own.select(*columns, F.col(ROW_NUMBER), reasons.alias(reasons_column),
                                      blocked_by.alias(blocked_by_column))
        return numbered_frame.select(*columns).limit(0), quarantined
    if not quarantine_rows:
        return (numbered_frame.select(*columns),
                numbered_frame.select(*columns, F.col(ROW_NUMBER), empty.alias(reasons_column),
                                      empty.alias(blocked_by_column)).limit(0))
    with_reasons = _with_reasons(numbered_frame, quarantine_rows, reasons_column)
    is_quarantined = F.coalesce(F.size(F.col(reasons_column)) > 0, F.lit(False))
    published = with_reasons.filter(~is_quarantined).select(*columns)
    quarantined = with_reasons.filter(is_quarantined).select(*columns, F.col(ROW_NUMBER),
                                                             F.col(reasons_column),
                                                             empty.alias(blocked_by_column))
    return published, quarantined


def _with_reasons(numbered_frame: DataFrame, violations: dict[str, SparkViolations],
                  reasons_column: str) -> DataFrame:
    """The batch with, per row, the ids of the `violations` rules it breaks (null where none is
    flagged: a row outside the flags frame). The flags of one measurement share one frame."""
    F = _functions()
    if not violations:
        return numbered_frame.withColumn(reasons_column, F.lit(None).cast("array<string>"))
    flags = next(iter(violations.values())).frame
    wanted = [F.when(F.col(v.column), F.lit(rule_id))
              for rule_id, v in violations.items() if v.frame is flags]
    reasons = flags.select(F.col(ROW_NUMBER).alias("__sg_flagged"),
                           F.filter(F.array(*wanted), lambda x: x.isNotNull()).alias(reasons_column))
    return (numbered_frame.join(reasons, F.col(ROW_NUMBER) == F.col("__sg_flagged"), "left")
            .drop("__sg_flagged"))


def first_violations(violations: SparkViolations, rows: int) -> pl.Series:
    """The lowest `rows` row numbers of a rule's violating rows (a sample: only they leave Spark)."""
    first = violations.row_numbers().orderBy(ROW_NUMBER).limit(rows).toArrow()
    return pl.Series(ROW_NUMBER, first.column(ROW_NUMBER).to_pylist(), dtype=pl.Int64)


def rows_numbered(numbered_frame: DataFrame, row_numbers: pl.Series) -> pl.DataFrame:
    """The batch rows with these row numbers (a sample), with ROW_NUMBER, as a Polars DataFrame."""
    F = _functions()
    picked = numbered_frame.filter(F.col(ROW_NUMBER).isin([int(n) for n in row_numbers.unique()]))
    frame = pl.from_arrow(picked.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


CUSTOM_ENGINES_ON_SPARK = {
    "soda": "Soda's Spark data source (soda-sparkdf 4.28) needs the full pyspark 4.3 with a JVM, which "
            "cannot be installed beside pyspark-client (Spark Connect) in this project's lock",
    "gx": "Great Expectations runs in its own worker process (ADR 0013), which holds no Spark session, "
          "and the batch is not collected out of Spark to hand it over",
}
"""Why custom rules of each engine do not run on a Spark batch: they then fail closed."""


def custom_rules_not_run(engine: str, rules: Sequence[Rule]) -> dict[str, Measurement]:
    """Custom rules of another engine on a Spark batch: not evaluated, saying why (they fail closed;
    never a silent pass)."""
    reason = CUSTOM_ENGINES_ON_SPARK.get(engine, f"engine {engine!r} does not run on Spark")
    message = f"engine {engine!r} cannot run this rule on a Spark batch: {reason}"
    return {r.id: Measurement(r.id, None, message=message, engine=engine) for r in rules}


# -- reading a batch with Spark ------------------------------------------------------------------


def read_batch(path: Path | str, *, format: str, delimiter: str = ",", encoding: str = "utf-8",
               header: bool = True, column_names: Sequence[str] | None = None,
               version: int | None = None) -> DataFrame:
    """A batch (a file, a Delta folder, a glob or folder of files) read by Spark itself, lazily:
    CSV and delimited text as text columns (an empty field is NULL), JSON lines (or one JSON
    document), Parquet, Delta. The files of a glob are read one by one and unioned in their order,
    so ROW_NUMBER follows the delivery (Spark would order the files of one read by size); a Delta
    table at `version` when given (the one the other readers saw). Excel and
    JSON documents (one object or an array, which Sail's JSON reader does not take) are read by
    Polars, in memory as for every engine, and handed over."""
    from checks.readers import DataReadError, batch_files, check_decodes, is_json_document
    from checks.readers import read_batch as read_polars
    from checks.spark_session import spark_session

    files = batch_files(path)
    if format == "xlsx" or (format == "jsonl" and any(is_json_document(f) for f in files)):
        return to_spark(read_polars(path, format=format, header=header, column_names=column_names))
    reader = spark_session().read
    frames = []
    for file in files:
        if format in ("csv", "text", "jsonl"):
            check_decodes(file, encoding)
        if format in ("csv", "text"):
            frame = (reader.option("header", header).option("sep", delimiter).option("encoding", encoding)
                     .option("inferSchema", False).option("mode", "FAILFAST").csv(str(file)))
            if not header and column_names:
                frame = frame.toDF(*column_names[:len(frame.columns)])
        elif format == "jsonl":
            frame = reader.option("mode", "FAILFAST").json(str(file))
        elif format == "parquet":
            frame = reader.parquet(str(file))
        elif format == "delta":
            delta = reader.format("delta")
            frame = (delta if version is None else delta.option("versionAsOf", version)).load(str(file))
        else:
            raise DataReadError(Path(file), f"the spark engine cannot read {format!r} files")
        frames.append(frame)
    return reduce(lambda a, b: a.unionByName(b), frames)

