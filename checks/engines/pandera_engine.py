"""The default engine: pandera's Polars backend, over violation expressions evaluated in one pass.

Every row-local rule becomes one Polars expression that is true on a violating row. All of them are
evaluated together in a single (streaming-capable) `select`, keeping only the rows that violate at
least one rule; duplicate rules, which depend on other rows, add a pass before it that groups key
hashes (`_Duplicates`). pandera then validates that frame with one `pa.Check` per rule, and its failure
cases are the violating rows; a batch without one never waits for pandera (and pandas) to import.
Column presence and extra columns compare names, as in every engine.

Why not one pandera check per rule over the whole batch: pandera evaluates and collects each check
separately (one pass and one failure-case table per check); on 2,000,000 rows and 11 rules that
measured about 15x slower than the single pass. Validation depth is set to SCHEMA_AND_DATA
explicitly for every validation, because pandera silently skips data checks on LazyFrames otherwise
(whatever `PANDERA_VALIDATION_DEPTH` says in the environment).
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import polars as pl

from checks.engines.base import ROW_NUMBER, BatchContext, Measurement
from checks.engines.polars_common import checked_pattern, native_kind, schema_difference
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
    full_match,
    not_carried,
    rule_type_option,
    text_values,
)
from checks.rules import DEFAULT_MISSING_VALUES, OrderColumn, Rule, RuleKind

_SCHEMA_KINDS = (RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS)
_PANDERA_MODULES = ("pandera.polars", "pandera.config", "pandera.errors")
_preloading: threading.Thread | None = None


def preload() -> None:
    """Start importing pandera (and with it pandas, about a second) in a background thread.

    The first Polars pass over the batch releases the GIL, so the import overlaps it instead of
    adding to every `shelfguard check`; `_pandera()` waits for it when pandera is first needed.
    """
    global _preloading
    if _preloading is None:
        _preloading = threading.Thread(target=_import_pandera, name="pandera-import", daemon=True)
        _preloading.start()


def _import_pandera() -> None:
    """Import pandera's Polars API. pandera's typing module imports `pyspark.pandas` whenever
    pyspark is installed (it is: the spark engine's Spark Connect client), which costs 0.15 s of CPU
    and prints a FutureWarning about pandas 3 on every `shelfguard check`; this engine validates
    Polars frames only, so pandera is imported as if pyspark.pandas were absent. The marker is
    removed afterwards, so a later `import pyspark.pandas` elsewhere is not affected."""
    blocked = "pyspark.pandas" not in sys.modules
    if blocked:
        sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        for module in _PANDERA_MODULES:
            importlib.import_module(module)
    finally:
        if blocked and sys.modules.get("pyspark.pandas", False) is None:
            del sys.modules["pyspark.pandas"]


def _pandera() -> SimpleNamespace:
    """pandera's Polars API, its config and errors, imported once (in the background if preloaded)."""
    if _preloading is not None:
        _preloading.join()
    _import_pandera()
    polars_api, config, errors = (importlib.import_module(m) for m in _PANDERA_MODULES)
    return SimpleNamespace(
        pa=polars_api,
        config_context=config.config_context,
        depth=config.ValidationDepth.SCHEMA_AND_DATA,
        SchemaErrors=errors.SchemaErrors,
    )


class RuleNotMeasurable(ValueError):
    """The rule cannot be measured on this batch (bad pattern, missing reference table, …)."""


class PanderaEngine:
    """Measures library and schema rules on a Polars DataFrame or LazyFrame."""

    name = "pandera"

    def measure(
        self, batch: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule], context: BatchContext
    ) -> list[Measurement]:
        frame = batch.lazy()
        schema = frame.collect_schema()
        preload()
        found: dict[str, Measurement] = {}
        masks: dict[str, pl.Expr] = {}
        duplicates: dict[str, _Duplicates] = {}
        for rule in rules:
            if rule.kind in _SCHEMA_KINDS or rule.metric == "rowCount":
                continue
            try:
                if rule.metric == "duplicateValues":
                    duplicates[rule.id] = _Duplicates.of(rule, schema)
                else:
                    masks[rule.id] = violation_expression(rule, schema, context)
            except (RuleNotMeasurable, UnsupportedDefinition) as exc:
                found[rule.id] = Measurement(rule.id, None, message=str(exc), engine=self.name)
        streaming = isinstance(batch, pl.LazyFrame)
        rows, violations = _violating_rows(frame, masks, duplicates, streaming=streaming)
        presence_rules = [r for r in rules if r.kind in _SCHEMA_KINDS]
        if presence_rules:
            found.update(self._measure_columns(schema, presence_rules))
        for rule_id, rows_of_rule in self._validate(violations, [*masks, *duplicates]).items():
            found[rule_id] = Measurement(rule_id, len(rows_of_rule), rows_of_rule, engine=self.name)
        for rule in rules:
            if rule.metric == "rowCount" and rule.kind not in _SCHEMA_KINDS:
                found[rule.id] = Measurement(rule.id, rows, engine=self.name)
        return [
            found.get(r.id)
            or Measurement(
                r.id, None, message=f"{self.name} does not measure {r.kind.value} rules", engine=self.name
            )
            for r in rules
        ]

    def _measure_columns(self, schema: pl.Schema, rules: list[Rule]) -> dict[str, Measurement]:
        """Missing (columnsPresent) and unlisted (extraColumns) columns, by comparing the batch's
        column names with the rule's, as every engine does (`polars_common.schema_difference`):
        a pandera schema validation of an empty frame said the same and made every check wait for
        pandera's import, even of a batch without a violating row."""
        found = {}
        for rule in rules:
            count, message = schema_difference(rule, list(schema))
            found[rule.id] = Measurement(rule.id, count, message=message, engine=self.name)
        return found

    def _validate(self, violations: pl.DataFrame, rule_ids: list[str]) -> dict[str, pl.Series]:
        """Run one pandera check per rule over the rows that violate something; return their rows."""
        none = pl.Series(ROW_NUMBER, [], dtype=violations.schema[ROW_NUMBER])
        found = dict.fromkeys(rule_ids, none)
        if not rule_ids or violations.is_empty():
            return found
        pandera = _pandera()
        checks = [pandera.pa.Check(_reads(_mask_name(i)), name=rule_id) for i, rule_id in enumerate(rule_ids)]
        schema = pandera.pa.DataFrameSchema({ROW_NUMBER: pandera.pa.Column(checks=checks)})
        with pandera.config_context(validation_depth=pandera.depth):
            try:
                schema.validate(violations, lazy=True)
            except pandera.SchemaErrors as exc:
                failures = exc.failure_cases.select("check_number", "index").drop_nulls()
                row_numbers = violations.get_column(ROW_NUMBER)
                for (number,), group in failures.group_by("check_number"):
                    found[rule_ids[int(number)]] = row_numbers.gather(group.get_column("index").sort())
        return found


def _reads(mask: str):
    """A pandera check function: the row passes when its violation column is false."""

    def check(data) -> pl.LazyFrame:  # data: pandera.polars.PolarsData
        return data.lazyframe.select(pl.col(mask).not_())

    return check


def _mask_name(index: int) -> str:
    return f"__sg_violation_{index}"


@dataclass(frozen=True)
class _Duplicates:
    """A duplicate rule, measured without a window over the batch (windows are not streamed): a
    streamed group-by of the keys' hashes finds the candidate rows (a few, with their keys and order
    column), and the groups and kept rows (semantics.KEPT_ROW) are decided exactly among those."""

    keys: list[str]
    order: OrderColumn | None = None
    order_dtype: pl.DataType | None = None

    @classmethod
    def of(cls, rule: Rule, schema: pl.Schema) -> _Duplicates:
        order = rule.keep_latest_by
        if order is None or order.name not in schema:
            return cls(_duplicate_keys(rule))
        return cls(_duplicate_keys(rule), order, schema[order.name])

    @property
    def key_hash(self) -> pl.Expr:
        return _key(self.keys).hash().alias("__sg_hash")

    def repeated_hashes(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The key hashes that occur more than once: grouping 64-bit hashes rather than the keys
        themselves takes a few words per distinct key, however wide the keys are."""
        counted = frame.select(self.key_hash).group_by("__sg_hash").agg(pl.len().alias("__sg_n"))
        return counted.filter(pl.col("__sg_n") > 1).select("__sg_hash")

    def candidates(self, frame: pl.LazyFrame, repeated: pl.Series) -> pl.LazyFrame:
        """ROW_NUMBER, keys and order column of the rows with a repeated key hash: the members of
        duplicated groups, plus the few rows of hash collisions that `not_kept` drops. A filter, not
        a join: a streamed join would hold the whole batch until its other side is complete."""
        columns = list(dict.fromkeys([ROW_NUMBER, *self.keys, *([self.order.name] if self.order else [])]))
        return frame.filter(self.key_hash.is_in(repeated.implode())).select(columns)

    def not_kept(self, candidates: pl.DataFrame) -> pl.Series:
        """Of the `candidates`, the ROW_NUMBER of the members of duplicated groups (nulls equal;
        hash collisions are not) that are not the kept row of their group, sorted."""
        members = candidates.filter(_key(self.keys).is_duplicated())
        preference = [pl.col(ROW_NUMBER)]
        descending = [False]
        if self.order is not None and self.order_dtype is not None:
            preference.insert(0, _order_value(self.order, self.order_dtype, pl.col(self.order.name)))
            descending.insert(0, True)
        ranked = members.sort(preference, descending=descending, nulls_last=True)
        return ranked.filter(~_key(self.keys).is_first_distinct()).get_column(ROW_NUMBER).sort()


def duplicate_rows(frame: pl.LazyFrame, rule: Rule, *, streaming: bool) -> pl.Series:
    """ROW_NUMBER of the rows violating a duplicate rule (every member of a duplicated group but
    the kept one), over the whole batch; also used by the GX engine, whose chunks cannot see
    groups spread over several chunks."""
    duplicates = {rule.id: _Duplicates.of(rule, frame.collect_schema())}
    _, violations = _violating_rows(frame, {}, duplicates, streaming=streaming)
    return violations.get_column(ROW_NUMBER).cast(pl.Int64)


def _violating_rows(
    frame: pl.LazyFrame, masks: dict[str, pl.Expr], duplicates: dict[str, _Duplicates], *, streaming: bool
) -> tuple[int, pl.DataFrame]:
    """Rows in the batch, and ROW_NUMBER plus one violation column per rule for every row that
    violates at least one rule. Two passes over the batch: the row count and the repeated key
    hashes of the duplicate rules; then the row-local rules and the duplicate candidates, after
    which the duplicates are decided on those few rows. A scanned batch is streamed (bounded
    memory); a batch already in memory runs on Polars' in-memory engine, which is faster there."""
    engine = "streaming" if streaming else "in-memory"
    names = {rule_id: _mask_name(i) for i, rule_id in enumerate([*masks, *duplicates])}
    first_pass = [frame.select(pl.len()), *(d.repeated_hashes(frame) for d in duplicates.values())]
    counted, *repeated = pl.collect_all(first_pass, engine=engine)
    flags = [e.fill_null(False).alias(names[r]) for r, e in masks.items()]
    selected = frame.select(pl.col(ROW_NUMBER), *flags)
    violating = selected.filter(pl.any_horizontal([names[r] for r in masks])) if masks else selected.head(0)
    candidates = [d.candidates(frame, hashes.to_series())
                  for d, hashes in zip(duplicates.values(), repeated, strict=True)]
    violations, *members = pl.collect_all([violating, *candidates], engine=engine)
    for (rule_id, rule_duplicates), rule_members in zip(duplicates.items(), members, strict=True):
        flagged = pl.DataFrame({ROW_NUMBER: rule_duplicates.not_kept(rule_members),
                                names[rule_id]: True}).cast({ROW_NUMBER: violations.schema[ROW_NUMBER]})
        violations = violations.join(flagged, on=ROW_NUMBER, how="full", coalesce=True)
    if duplicates:
        violations = violations.with_columns(pl.col(list(names.values())).fill_null(False)).sort(ROW_NUMBER)
    return int(counted.item()), violations


# -- rules as Polars expressions (true = the row violates the rule) ---------------------------------


def violation_expression(rule: Rule, schema: pl.Schema, context: BatchContext) -> pl.Expr:
    """The Polars expression that is true on every row violating a row-local rule (duplicates
    depend on other rows: `duplicate_rows`)."""
    if rule.metric == "duplicateValues":
        raise RuleNotMeasurable("duplicates are not a row-local expression; see duplicate_rows")
    if rule.kind == RuleKind.RELATIONSHIP:
        return _not_referenced(rule, schema, context)
    if rule.property is None:
        raise RuleNotMeasurable(f"{rule.metric} needs a property")
    column = rule.property
    if rule.kind == RuleKind.TYPE:
        return _not_castable(
            column,
            schema[column],
            castability(rule.logical_type or "", rule.type_format, context.decimal_separator),
        )
    if rule.kind == RuleKind.TYPE_OPTION:
        option = rule_type_option(rule, context.decimal_separator)
        return type_option_violated(column, schema[column], option, context.decimal_separator)
    if rule.metric == "nullValues":
        return pl.col(column).is_null()
    if rule.metric == "missingValues":
        listed, _ = text_values(rule.arguments.get("missingValues", DEFAULT_MISSING_VALUES))
        return pl.col(column).is_null() | _text(column, schema[column]).is_in(listed)
    if rule.metric == "invalidValues":
        return _invalid(column, schema[column], rule)
    raise RuleNotMeasurable(f"unknown metric {rule.metric!r}")


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    """The column's text form (semantics.text_form)."""
    return _as_text(pl.col(column), dtype)


def _as_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return value if dtype == pl.String else value.cast(pl.String)


def _invalid(column: str, dtype: pl.DataType, rule: Rule) -> pl.Expr:
    valid = rule.arguments.get("validValues")
    pattern = rule.arguments.get("pattern")
    if valid is None and pattern is None:
        raise RuleNotMeasurable("invalidValues needs arguments.validValues or arguments.pattern")
    text = _text(column, dtype)
    invalid = pl.lit(False)
    if valid is not None:
        invalid = invalid | ~text.is_in(text_values(list(valid))[0])
    if pattern is not None:
        invalid = invalid | ~text.str.contains(checked_pattern(str(pattern)))
    return pl.col(column).is_not_null() & invalid


def _castable_text(text: pl.Expr, cast: Castability) -> pl.Expr:
    ok = text.str.contains(full_match(cast.text_pattern))
    if cast.temporal is not None:
        ok = ok & _parsed(text, cast.temporal).is_not_null()
    return ok


def _parsed(text: pl.Expr, temporal: TemporalFormat) -> pl.Expr:
    """Strict parse of the parse text (semantics.TemporalFormat); null where it does not parse."""
    if temporal.parse_slices is not None:
        text = pl.concat_str(
            [text.str.slice(start, end - start) for start, end in temporal.parse_slices], separator=" "
        )
    if temporal.parse_prefix:
        text = pl.concat_str([pl.lit(temporal.parse_prefix), text])
    return text.str.strptime(pl.Datetime("us"), temporal.strptime, strict=False, exact=True)


def _not_castable(column: str, dtype: pl.DataType, cast: Castability) -> pl.Expr:
    value = pl.col(column)
    rule = cast.native_rule(native_kind(dtype))
    if rule == NativeRule.TEXT:
        ok = _castable_text(_text(column, dtype), cast)
    elif rule == NativeRule.ALWAYS:
        ok = pl.lit(True)
    elif rule == NativeRule.INTEGRAL:
        number = value.cast(pl.Float64)
        ok = number.is_finite() & (number == number.floor())
    elif rule == NativeRule.ZERO_OR_ONE:
        ok = value.is_in([0, 1])
    else:
        ok = pl.lit(False)
    return value.is_not_null() & ~ok


def type_option_violated(column: str, dtype: pl.DataType, option: TypeOption,
                         decimal_separator: str = ".") -> pl.Expr:
    """True on a non-null value that violates the logicalTypeOption (semantics.TypeOption)."""
    value = pl.col(column)
    if option.check in (OptionCheck.LENGTH, OptionCheck.PATTERN):
        text = _text(column, dtype)
        violated = _outside(text.str.len_chars(), option)
        if option.check == OptionCheck.PATTERN:
            violated = ~text.str.contains(checked_pattern(option.pattern or "")) | violated
        return value.is_not_null() & violated
    if option.check in (OptionCheck.ITEMS, OptionCheck.UNIQUE_ITEMS):
        items = _items(column, dtype, option)
        if option.check == OptionCheck.ITEMS:
            return value.is_not_null() & _outside(items.list.len(), option)
        return value.is_not_null() & pl.lit(bool(option.value)) & (items.list.n_unique() < items.list.len())
    if option.check in (OptionCheck.PROPERTIES, OptionCheck.REQUIRED):
        fields = _struct_fields(column, dtype, option)
        if option.check == OptionCheck.PROPERTIES:
            flags = [value.struct.field(f).is_not_null() for f in fields]
            present = pl.sum_horizontal(flags) if flags else pl.lit(0)
            return value.is_not_null() & _outside(present, option)
        if any(f not in fields for f in option.fields):
            return value.is_not_null()
        absent = [value.struct.field(f).is_null() for f in option.fields]
        return value.is_not_null() & pl.any_horizontal(absent)
    assert option.castability is not None and option.domain is not None
    judged = value.is_not_null() & ~_not_castable(column, dtype, option.castability)
    number = _domain_value(column, dtype, option.domain, option.castability, decimal_separator)
    if option.domain == ValueDomain.INTEGER:
        # beyond 128 bits: below every lower, above every upper bound, never a known multiple
        beyond = number.is_null()
        negative = _as_text(value, dtype).str.starts_with("-") if native_kind(dtype) == NativeKind.TEXT \
            else value.cast(pl.Float64) < 0
        if option.check == OptionCheck.MULTIPLE:
            violated = beyond | (number % pl.lit(option.multiple, dtype=pl.Int128) != 0)
        else:
            outside_beyond = ((negative & pl.lit(option.low is not None))
                              | (~negative & pl.lit(option.high is not None)))
            violated = pl.when(beyond).then(outside_beyond).otherwise(_outside(number, option))
        return judged & violated.fill_null(True)
    if option.check == OptionCheck.MULTIPLE:
        quotient = number / pl.lit(float(option.multiple or 1))
        tolerance = pl.max_horizontal(pl.lit(1.0), quotient.abs()) * MULTIPLE_TOLERANCE
        return judged & ((quotient - quotient.round(0)).abs() > tolerance).fill_null(True)
    return judged & _outside(number, option).fill_null(True)


def _outside(measured: pl.Expr, option: TypeOption) -> pl.Expr:
    """The measured value is below `low` or above `high` (each inclusive or not)."""
    outside = pl.lit(False)
    if option.low is not None:
        low = _literal(option.low)
        outside = outside | (measured < low if option.low_inclusive else measured <= low)
    if option.high is not None:
        high = _literal(option.high)
        outside = outside | (measured > high if option.high_inclusive else measured >= high)
    return outside


def _literal(bound: object) -> pl.Expr:
    if isinstance(bound, datetime):
        return pl.lit(bound, dtype=pl.Datetime("us"))
    if isinstance(bound, int):
        return pl.lit(bound, dtype=pl.Int128)
    return pl.lit(bound, dtype=pl.Float64)


def _domain_value(column: str, dtype: pl.DataType, domain: ValueDomain, cast: Castability,
                  decimal_separator: str) -> pl.Expr:
    """The value compared by a range or multiple check (semantics.ValueDomain); null where a
    castable integer is beyond 128 bits."""
    value = pl.col(column)
    kind = native_kind(dtype)
    if domain == ValueDomain.TEMPORAL:
        if kind == NativeKind.TEXT:
            assert cast.temporal is not None
            return _parsed(_text(column, dtype), cast.temporal)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return value.cast(pl.Datetime("us"))
    if kind == NativeKind.TEXT:
        text = _text(column, dtype)
        if domain == ValueDomain.INTEGER:
            return text.cast(pl.Int128, strict=False)
        return _number(text, decimal_separator)
    if domain == ValueDomain.INTEGER:
        return value.cast(pl.Int128, strict=False)
    return value.cast(pl.Float64)


def _number(text: pl.Expr, decimal_separator: str) -> pl.Expr:
    """A number's text as a 64-bit float (null where it is not one)."""
    return text.str.replace(decimal_separator, ".", literal=True).cast(pl.Float64, strict=False)


def typed_batch(frame: pl.DataFrame | pl.LazyFrame, context: BatchContext) -> pl.DataFrame | pl.LazyFrame:
    """The frame with its text columns typed by the contract (`context.column_types`)."""
    schema = frame.collect_schema()
    typed = [typed_column(name, schema[name], logical_type, type_format, context.decimal_separator)
             for name, (logical_type, type_format) in context.column_types.items() if name in schema]
    return frame.with_columns([column for column in typed if column is not None])


def typed_column(column: str, dtype: pl.DataType, logical_type: str, type_format: str | None,
                 decimal_separator: str = ".") -> pl.Expr | None:
    """A text column as its logicalType (BIGINT-like Int64, Float64, Boolean, Date, Datetime), the
    values that are not castable null; None when the column is not text or the type has no
    castability rule (it is then left as it is)."""
    if native_kind(dtype) != NativeKind.TEXT:
        return None
    try:
        cast = castability(logical_type, type_format, decimal_separator)
    except UnsupportedDefinition:
        return None
    text = _text(column, dtype)
    if logical_type == "integer":
        value = text.cast(pl.Int64, strict=False)
    elif logical_type == "number":
        value = _number(text, decimal_separator)
    elif logical_type == "boolean":
        value = text.str.to_lowercase().is_in(["true", "1"])
    else:
        assert cast.temporal is not None
        value = _parsed(text, cast.temporal)
        value = value.cast(pl.Date) if logical_type == "date" else value
    return pl.when(_castable_text(text, cast)).then(value).alias(column)


def _items(column: str, dtype: pl.DataType, option: TypeOption) -> pl.Expr:
    if isinstance(dtype, pl.Array):
        return pl.col(column).cast(pl.List(dtype.inner))
    if not isinstance(dtype, pl.List):
        raise not_carried(option, repr(column), dtype, "arrays")
    return pl.col(column)


def _struct_fields(column: str, dtype: pl.DataType, option: TypeOption) -> list[str]:
    if not isinstance(dtype, pl.Struct):
        raise not_carried(option, repr(column), dtype, "objects")
    return [field.name for field in dtype.fields]


def _not_referenced(rule: Rule, schema: pl.Schema, context: BatchContext) -> pl.Expr:
    """A key without a null (semantics.REFERENCED) whose text form is not among the referenced keys."""
    table, referenced = rule.reference_table or "", rule.reference_columns
    other = context.references.get(table)
    if other is None:
        raise RuleNotMeasurable(f"reference table {table!r} was not provided; {rule.references} "
                                "cannot be checked")
    absent = [c for c in referenced if c not in other.columns]
    if absent:
        raise RuleNotMeasurable(f"reference table {table!r} has no column {absent[0]!r}")
    columns = rule.read_columns()
    known = (other.select(_key_text([pl.col(c).cast(pl.String) for c in referenced]).alias("key"))
             .drop_nulls().unique().get_column("key"))
    key = _key_text([_text(c, schema[c]) for c in columns])
    return pl.all_horizontal(pl.col(c).is_not_null() for c in columns) & ~key.is_in(known.implode())


def _key_text(texts: list[pl.Expr]) -> pl.Expr:
    """The text of a key: the value's text for one column; for several, each text prefixed by its
    length (`3:abc|1:x`), so that no two different tuples have the same text. Null if any is null."""
    if len(texts) == 1:
        return texts[0]
    return pl.concat_str([pl.concat_str([t.str.len_chars().cast(pl.String), pl.lit(":"), t]) for t in texts],
                         separator="|")


def _order_value(order: OrderColumn, dtype: pl.DataType, value: pl.Expr) -> pl.Expr:
    """What `latest` compares (semantics.KEPT_ROW): parsed date/timestamp text, else the value."""
    if native_kind(dtype) == NativeKind.TEXT and order.logical_type in ("date", "timestamp"):
        cast = castability(order.logical_type, order.type_format)
        text = _as_text(value, dtype)
        return pl.when(_castable_text(text, cast)).then(_parsed(text, cast.temporal))
    return value


def _duplicate_keys(rule: Rule) -> list[str]:
    keys = rule.properties or ([rule.property] if rule.property else [])
    if not keys:
        raise RuleNotMeasurable("duplicateValues needs a property or arguments.properties")
    return keys


def _key(columns: list[str]) -> pl.Expr:
    """The grouping key of a duplicate rule (nulls compare equal in Polars' distinct and groups).
    A struct even for one column: hashing its row encoding measured twice as fast as a string column."""
    return pl.struct(columns)
