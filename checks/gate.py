"""Run a contract's gate on a batch: measure every rule, apply thresholds and actions, split the rows.

Engines only measure. Units, thresholds, `onViolation` actions, the verdict and which rows are
published or quarantined are decided here, once, so every engine leads to the same verdict for the
same numbers (see gate-semantics.md). A batch may be a DataFrame or, for inputs too large to load,
a LazyFrame, which stays lazy on every path: pandera measures it with Polars' streaming engine, Soda
and `type: sql` rules get it streamed into a DuckDB table that spills to disk, Great Expectations
validates it chunk by chunk, and `published`/`quarantined` stay lazy for the caller to sink. A rule
that cannot be evaluated fails closed (see `_not_evaluable`), so a contract the engines cannot judge
never lets a batch through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from checks.contract import Contract, format_hints, properties_of
from checks.engines import CUSTOM_RULE_ENGINES, DEFAULT_ENGINE, ENGINES, UnknownEngineError, get_engine
from checks.engines.base import ROW_NUMBER, BatchContext, Engine, Measurement
from checks.errors import one_line
from checks.readers import logical_names
from checks.result import ContractRef, GateResult, Outcome, RuleResult, Verdict
from checks.rules import LIBRARY_METRICS, Rule, RuleKind, compile_rules

QUARANTINE_REASONS = "quarantine_reasons"
"""Column added to quarantined rows: the ids of the rules the row itself violates; `blocked` first
when the row is held back with its blocked batch (then nothing more when it violates no rule)."""
BLOCKED = "blocked"
BLOCKED_BY = "blocked_by"
"""Column added to quarantined rows: the rules that blocked the row's batch (empty when not blocked)."""

Batch = Any
"""A pl.DataFrame or pl.LazyFrame, or a PySpark DataFrame (measured by the spark engine, which keeps
it distributed: `published` and `quarantined` are then Spark DataFrames)."""
_TABLE_RULES = {RuleKind.COLUMNS_PRESENT, RuleKind.EXTRA_COLUMNS}


class GateError(Exception):
    """The batch could not be judged (an engine failed); nothing may be promoted."""


@dataclass
class GateRun:
    """A gate's result and the batch split by it.

    `published` has the original columns and the rows that may be promoted; `quarantined` has the
    original rows untouched plus ROW_NUMBER (0-based position in the delivery) and
    `quarantine_reasons` (the rule ids the row violates; `blocked` first when the whole batch was
    blocked) and `blocked_by` (the rules that blocked the batch, else empty). Both
    are DataFrames for a DataFrame batch and LazyFrames for a LazyFrame batch. `violations` has, per
    row-level rule that found any, the ROW_NUMBER values of its violating rows whatever its
    `onViolation` (warn rules too, which never put a row in quarantine).
    """

    result: GateResult
    published: Batch
    quarantined: Batch
    violations: dict[str, Any] = field(default_factory=dict)
    """pl.Series of row numbers; for a Spark batch `SparkViolations` (distributed, `len()` counts)."""
    numbered: Batch = None
    """The batch as judged, with ROW_NUMBER (for samples of a Spark batch without renumbering it)."""

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict


def run_gate(
    contract: Contract,
    object_name: str,
    batch: Batch,
    *,
    engine: str = DEFAULT_ENGINE,
    references: dict[str, pl.DataFrame] | None = None,
    decimal_separator: str | None = None,
    dataset: Callable[[], object] | None = None,
) -> GateRun:
    """Judge one batch of one schema object of a contract.

    `engine` measures the library and schema rules (pandera, soda or gx); SQL rules run in DuckDB
    and custom rules in their own engine whatever it is. `references` are the tables that
    relationship rules point at, by object name; a relationship to the object itself is checked
    against the batch. `dataset` opens the batch's rows in place as a pyarrow dataset
    (`checks.readers.arrow_dataset`: its Parquet files or Delta table), which `type: sql` rules then
    query instead of a copy of the batch. Columns delivered under a property's
    `physicalName` are judged (and published) under its `name`. `decimal_separator` defaults to the contract's
    server hint (`.` without one). Raises `ContractError` for an unknown object, `UnknownEngineError`
    for an unknown engine and `GateError` when an engine fails. A LazyFrame that turns out to be
    unreadable raises the polars error (`checks.readers.explain_scan_error` names file and line).
    """
    if engine not in ENGINES:
        raise UnknownEngineError(f"unknown engine {engine!r}; known engines: {', '.join(ENGINES)}")
    frames = _frames(batch, engine)
    batch = frames.prepare(batch)
    if ROW_NUMBER in frames.columns(batch):
        raise ValueError(f"the batch already has a {ROW_NUMBER} column (a quarantine file?); drop it first")
    rules = compile_rules(contract, object_name)
    properties = properties_of(contract.object(object_name))
    delivered_names = logical_names(frames.columns(batch), properties)
    batch = frames.renamed(batch, delivered_names)
    numbered, rows = frames.numbered(batch)
    context = BatchContext(object_name=object_name,
                           decimal_separator=decimal_separator or format_hints(contract)["decimal_separator"],
                           references={**frames.self_reference(batch, object_name, rules),
                                       **(references or {})},
                           column_types={r.property: (r.logical_type or "", r.type_format) for r in rules
                                         if r.kind == RuleKind.TYPE and r.property},
                           dataset=dataset, delivered_names=delivered_names)
    measured = _Measurer(numbered, context, frames)

    results: dict[str, RuleResult] = {}
    present = set(frames.columns(numbered))
    missing = [p["name"] for p in properties_of(contract.object(object_name)) if p["name"] not in present]
    default_rules: list[Rule] = []
    sql_rules: list[Rule] = []
    custom_rules: dict[str, list[Rule]] = defaultdict(list)
    unjudged = False  # a rule left unmeasured without failing makes the verdict at least warn
    for rule in rules:
        reason, fails = _not_evaluable(rule, missing, context)
        if reason:
            results[rule.id] = _not_evaluated(rule, reason, fails=fails)
            unjudged = unjudged or (not fails and rule.kind not in (RuleKind.TEXT, RuleKind.NOT_CHECKED))
        elif rule.kind == RuleKind.SQL:
            sql_rules.append(rule)
        elif rule.kind == RuleKind.CUSTOM:
            custom_rules[CUSTOM_RULE_ENGINES[rule.engine or ""]].append(rule)
        else:
            default_rules.append(rule)

    measurements = measured.by_engine(engine, default_rules, required=True)
    for custom_engine, engine_rules in custom_rules.items():
        measurements.update(measured.by_engine(custom_engine, engine_rules, required=False))
    measurements.update(measured.by_sql(sql_rules))

    quarantine_rows: dict[str, pl.Series] = {}
    for rule in rules:
        if rule.id in results:
            continue
        result, rows_to_quarantine = _judge(rule, measurements[rule.id], rows)
        results[rule.id] = result
        if rows_to_quarantine is not None and len(rows_to_quarantine):
            quarantine_rows[rule.id] = rows_to_quarantine
    ordered = [results[r.id] for r in rules]
    violations = {rule_id: m.violating_rows for rule_id, m in measurements.items()
                  if m.violating_rows is not None and len(m.violating_rows)}
    gate = _split(contract, object_name, engine, numbered, rows, ordered, quarantine_rows, unjudged=unjudged,
                  frames=frames, violations=violations)
    gate.numbered = numbered
    gate.violations = violations
    return gate


def engines_for(contract: Contract, object_name: str, engine: str = DEFAULT_ENGINE) -> set[str]:
    """The engines a gate of this object runs: `engine` and the engines of its custom rules."""
    custom = {CUSTOM_RULE_ENGINES.get(rule.engine or "") for rule in compile_rules(contract, object_name)
              if rule.kind == RuleKind.CUSTOM}
    return {engine} | (custom - {None})


def _self_referenced_columns(columns: list[str], object_name: str, rules: list[Rule]) -> list[str]:
    """A relationship to the object itself (`parent_id` → `<object>.id`) is checked against the
    batch: these referenced columns of the batch are the reference table (unless the caller passes one)."""
    return sorted({column for rule in rules
                   if rule.kind == RuleKind.RELATIONSHIP and rule.reference_table == object_name
                   for column in rule.reference_columns if column in columns})


class _PolarsFrames:
    """What the gate does to a Polars batch itself (numbering, renaming, splitting)."""

    spark = False

    @staticmethod
    def prepare(batch: Batch) -> Batch:
        return batch

    @staticmethod
    def columns(batch: Batch) -> list[str]:
        return batch.collect_schema().names()

    @staticmethod
    def renamed(batch: Batch, renames: dict[str, str]) -> Batch:
        return batch.rename(renames) if renames else batch

    @staticmethod
    def numbered(batch: Batch) -> tuple[Batch, int]:
        numbered = batch.with_row_index(ROW_NUMBER)
        rows = numbered.height if isinstance(numbered, pl.DataFrame) else \
            int(numbered.select(pl.len()).collect(engine="streaming").item())
        return numbered, rows

    @staticmethod
    def self_reference(batch: Batch, object_name: str, rules: list[Rule]) -> dict[str, pl.DataFrame]:
        columns = _self_referenced_columns(batch.collect_schema().names(), object_name, rules)
        if not columns:
            return {}
        referenced = batch.select(columns)
        frame = referenced.collect(engine="streaming") if isinstance(referenced, pl.LazyFrame) else referenced
        return {object_name: frame}


class _SparkFrames:
    """The same on a Spark DataFrame, kept distributed (`checks.engines.spark_engine`); a Polars
    batch given to the spark engine is handed to Spark first."""

    spark = True

    @staticmethod
    def prepare(batch: Batch) -> Batch:
        from checks.engines.spark_engine import is_spark_frame, to_spark

        return batch if is_spark_frame(batch) else to_spark(batch)

    @staticmethod
    def columns(batch: Batch) -> list[str]:
        return list(batch.columns)

    @staticmethod
    def renamed(batch: Batch, renames: dict[str, str]) -> Batch:
        return batch.withColumnsRenamed(renames) if renames else batch

    @staticmethod
    def numbered(batch: Batch) -> tuple[Batch, int]:
        from checks.engines.spark_engine import numbered

        return numbered(batch)

    @staticmethod
    def self_reference(batch: Batch, object_name: str, rules: list[Rule]) -> dict[str, Any]:
        from checks.engines.spark_engine import col

        columns = _self_referenced_columns(list(batch.columns), object_name, rules)
        return {object_name: batch.select(*[col(c) for c in columns])} if columns else {}


def _frames(batch: Batch, engine: str) -> type[_PolarsFrames] | type[_SparkFrames]:
    spark_batch = type(batch).__module__.startswith("pyspark.")
    if spark_batch and engine != "spark":
        raise ValueError(f"a Spark DataFrame is measured by the spark engine, not {engine!r}")
    return _SparkFrames if engine == "spark" else _PolarsFrames


class _Measurer:
    """Runs the engines on the batch as it is: a LazyFrame stays lazy and every engine streams it."""

    def __init__(self, numbered: Batch, context: BatchContext,
                 frames: type[_PolarsFrames] | type[_SparkFrames]):
        self.numbered = numbered
        self.context = context
        self.frames = frames

    def by_engine(self, name: str, rules: list[Rule], *, required: bool) -> dict[str, Measurement]:
        """The default engine must work (else GateError); a custom-rule engine that cannot run
        leaves its rules not evaluated (they then fail closed). Errors reading a scanned batch
        propagate as they are."""
        if self.frames.spark and name != "spark":
            from checks.engines.spark_engine import custom_rules_not_run

            return custom_rules_not_run(name, rules)
        try:
            instance: Engine = get_engine(name)
            found = {m.rule_id: m for m in instance.measure(self.numbered, rules, self.context)}
        except Exception as exc:
            if isinstance(exc, pl.exceptions.PolarsError) and isinstance(self.numbered, pl.LazyFrame):
                raise
            if required:
                raise GateError(f"engine {name!r} failed: {one_line(exc)}") from exc
            found = {r.id: Measurement(r.id, None, message=f"engine {name!r} could not run: {one_line(exc)}",
                                       engine=name) for r in rules}
        return {r.id: found.get(r.id) or Measurement(r.id, None, message=f"engine {name!r} returned nothing "
                                                     "for this rule", engine=name) for r in rules}

    def by_sql(self, rules: list[Rule]) -> dict[str, Measurement]:
        """`type: sql` rules over the batch typed by the contract."""
        if not rules:
            return {}
        if self.frames.spark:
            from checks.engines.spark_engine import run_sql_rules
        else:
            from checks.sql_rules import run_sql_rules

        return {m.rule_id: m for m in run_sql_rules(self.numbered, rules, self.context)}


def _not_evaluable(rule: Rule, missing: list[str], context: BatchContext) -> tuple[str, bool]:
    """Why a rule is listed without being measured ('' when it can be measured), and whether it
    fails closed for it. Text rules are documentation; a rule on a missing column is already
    covered by `columns_present`, which blocks; a relationship whose table was not supplied is a
    gap of the caller, not of the data (at least warn). Every other rule that cannot be evaluated
    fails, so that a contract the gate cannot judge never lets a batch through."""
    if rule.kind == RuleKind.TEXT:
        return "text rules are documentation only", False
    if rule.kind == RuleKind.NOT_CHECKED:
        return rule.description, False
    if rule.kind not in _TABLE_RULES:
        gone = [c for c in rule.read_columns() if c in missing]
        if gone:
            return f"not evaluated: column {', '.join(gone)} missing from the batch", False
    if rule.kind == RuleKind.RELATIONSHIP:
        table = rule.reference_table or ""
        if table not in context.references:
            return (f"reference table {table!r} was not supplied, so {rule.references} cannot be checked "
                    f"(`shelfguard check --reference {table}=PATH`)"), False
    if rule.kind == RuleKind.CUSTOM and rule.engine not in CUSTOM_RULE_ENGINES:
        return f"unknown custom rule engine {rule.engine!r} (known: {', '.join(CUSTOM_RULE_ENGINES)})", True
    if rule.kind == RuleKind.LIBRARY and rule.metric not in LIBRARY_METRICS:
        return f"unknown library metric {rule.metric!r} (known: {', '.join(LIBRARY_METRICS)})", True
    if not rule.threshold and rule.kind in (RuleKind.LIBRARY, RuleKind.SQL):
        return "the rule has no operator (mustBe, mustBeLessThan, …)", True
    return "", False


def _not_evaluated(rule: Rule, reason: str, *, fails: bool, engine: str | None = None) -> RuleResult:
    """A rule without a measurement. Failing closed, it counts as failed (`passed: false`) with its
    action: a block or quarantine rule blocks the batch, a warn rule warns."""
    message = reason
    if fails:
        effect = "warning" if rule.on_violation == "warn" else "blocks the batch"
        message = f"cannot be evaluated: {reason}; {effect}"
    return RuleResult(id=rule.id, property=rule.property, metric=rule.metric,
                      on_violation=rule.on_violation, unit=rule.unit, threshold=rule.threshold,
                      passed=False if fails else None, outcome=Outcome.NOT_EVALUATED, message=message,
                      engine=engine)


def _value(rule: Rule, count: float, rows: int) -> float:
    """The metric in the rule's unit: percent of the batch's rows for row counts (0 without rows)."""
    if rule.unit != "percent" or rule.kind in (RuleKind.SQL, RuleKind.CUSTOM, *_TABLE_RULES):
        return float(count)
    return count * 100 / rows if rows else 0.0


def _judge(rule: Rule, measurement: Measurement, rows: int) -> tuple[RuleResult, Any]:
    """The rule's result, and the rows it sends to quarantine (when it is a passing quarantine rule)."""
    if measurement.count is None:
        return _not_evaluated(rule, measurement.message or "not measured", fails=True,
                              engine=measurement.engine or None), None
    count = float(measurement.count) if isinstance(measurement.count, Decimal) else measurement.count
    value = _value(rule, count, rows)
    if rule.threshold:
        passed = rule.threshold_holds(value)
    else:  # a custom rule without an operator: the engine's own verdict, else "nothing found"
        passed = measurement.passed if measurement.passed is not None else count == 0
    violating = measurement.violating_rows
    violating_count = int(count) if rule.is_row_level() else (len(violating) if violating is not None else 0)
    notes = [measurement.message or _describe(rule, count, rows)]
    quarantine = None
    if rule.on_violation == "quarantine" and not rule.is_row_level():
        notes.append("quarantine applies to row-level rules only; a failure blocks")
    if not passed:
        notes.append({"warn": "warning"}.get(rule.on_violation, "blocks the batch"))
    elif rule.on_violation == "quarantine" and rule.is_row_level() and violating_count:
        if violating is None or len(violating) != violating_count:
            raise GateError(f"engine {measurement.engine!r} counted {violating_count} rows for rule "
                            f"{rule.id!r} but did not name them; the rows cannot be quarantined")
        quarantine = violating
        notes.append(f"{violating_count} rows quarantined")
    result = RuleResult(
        id=rule.id, property=rule.property, metric=rule.metric, on_violation=rule.on_violation,
        unit=rule.unit, value=value, threshold=rule.threshold, violating_rows=violating_count, passed=passed,
        outcome=Outcome.PASS if passed else Outcome.FAIL, message="; ".join(notes),
        engine=measurement.engine or None,
    )
    return result, quarantine


def _describe(rule: Rule, count: float, rows: int) -> str:
    if rule.is_row_level():
        return f"{int(count)} of {rows} rows"
    if rule.metric == "rowCount":
        return f"{rows} rows"
    return f"measured {count}"


def _split(contract: Contract, object_name: str, engine: str, numbered: Batch, rows: int,
           results: list[RuleResult], quarantine_rows: dict[str, Any], *, unjudged: bool,
           frames: type[_PolarsFrames] | type[_SparkFrames], violations: dict[str, Any]) -> GateRun:
    """The verdict, and the batch split into published and quarantined rows. `unjudged`: some rule
    could not be evaluated without failing (the verdict is then at least warn). A blocked batch's
    rows keep the rules each violates (`violations`, warn rules aside), so a count by rule is the
    rows that broke it, not every row held back with them."""
    failed = [r for r in results if r.passed is False]
    blocking = [r.id for r in failed if r.on_violation != "warn"]
    reference = ContractRef(id=contract.id, version=contract.version, path=str(contract.path))

    def result(verdict: Verdict, quarantined: int) -> GateResult:
        return GateResult(contract=reference, object=object_name, engine=engine, rows=rows,
                          rows_published=rows - quarantined, rows_quarantined=quarantined,
                          verdict=verdict, rules=results)

    original = [c for c in frames.columns(numbered) if c != ROW_NUMBER]
    quarantine_columns = [*original, ROW_NUMBER, QUARANTINE_REASONS, BLOCKED_BY]
    not_warn = {r.id for r in results if r.on_violation != "warn"}
    own_violations = {k: v for k, v in violations.items() if k in not_warn}
    if frames.spark:
        from checks.engines.spark_engine import split

        published, quarantined = split(numbered, original, blocking, quarantine_rows, blocked_reason=BLOCKED,
                                       reasons_column=QUARANTINE_REASONS, own_violations=own_violations,
                                       blocked_by_column=BLOCKED_BY)
        count = rows if blocking else _quarantined_count(quarantine_rows)
        verdict = Verdict.BLOCK if blocking else Verdict.QUARANTINE if count else \
            Verdict.WARN if failed or unjudged else Verdict.PASS
        return GateRun(result(verdict, count), published, quarantined)
    row_type = numbered.collect_schema()[ROW_NUMBER]
    lazy = isinstance(numbered, pl.LazyFrame)
    if blocking:
        own = _reasons(own_violations, row_type)
        quarantined_all = numbered.join(own.lazy() if lazy else own, on=ROW_NUMBER, how="left",
                                        maintain_order="left").with_columns(
            pl.concat_list(pl.lit([BLOCKED], dtype=pl.List(pl.String)),
                           pl.col(QUARANTINE_REASONS).fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .alias(QUARANTINE_REASONS),
            pl.lit(blocking, dtype=pl.List(pl.String)).alias(BLOCKED_BY),
        ).select(quarantine_columns)
        return GateRun(result(Verdict.BLOCK, rows), numbered.select(original).clear(), quarantined_all)
    reasons_by_row = _reasons(quarantine_rows, row_type)
    by_row = reasons_by_row.lazy() if lazy else reasons_by_row
    not_blocked = pl.lit([], dtype=pl.List(pl.String)).alias(BLOCKED_BY)
    if reasons_by_row.height:
        is_quarantined = pl.col(ROW_NUMBER).is_in(reasons_by_row.get_column(ROW_NUMBER).implode())
        quarantined = numbered.filter(is_quarantined).join(by_row, on=ROW_NUMBER, how="left",
                                                           maintain_order="left").with_columns(not_blocked)
        published = numbered.filter(~is_quarantined).select(original)
    else:  # no row-level rule failed: the batch as it is (selecting columns copies no rows)
        quarantined = numbered.head(0).join(by_row, on=ROW_NUMBER, how="left").with_columns(not_blocked)
        published = numbered.select(original)
    verdict = Verdict.PASS
    if reasons_by_row.height:
        verdict = Verdict.QUARANTINE
    elif failed or unjudged:
        verdict = Verdict.WARN
    return GateRun(result(verdict, reasons_by_row.height), published, quarantined.select(quarantine_columns))


def _quarantined_count(quarantine_rows: dict[str, Any]) -> int:
    """Rows quarantined by the Spark split (a row violating several rules counts once)."""
    if not quarantine_rows:
        return 0
    from pyspark.sql import functions as F

    flags = next(iter(quarantine_rows.values()))
    any_flag = F.lit(False)
    for violations in quarantine_rows.values():
        any_flag = any_flag | F.col(violations.column)
    return int(flags.frame.filter(any_flag).count())


def _reasons(quarantine_rows: dict[str, pl.Series], row_type: pl.DataType) -> pl.DataFrame:
    """One row per quarantined row number with all its rule ids, in rule order."""
    parts = [pl.DataFrame({ROW_NUMBER: rows.cast(row_type), QUARANTINE_REASONS: rule_id})
             for rule_id, rows in quarantine_rows.items()]
    if not parts:
        return pl.DataFrame(schema={ROW_NUMBER: row_type, QUARANTINE_REASONS: pl.List(pl.String)})
    return (pl.concat(parts).group_by(ROW_NUMBER, maintain_order=True).agg(pl.col(QUARANTINE_REASONS))
            .sort(ROW_NUMBER))
