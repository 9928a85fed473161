"""Gold: one Delta table per canonical object, partitioned by retailer, MERGEd from silver (ADR 0011).

Each retailer's partition is upserted on the natural key with what changed in its silver table
since gold last took from it (silver's change data feed; the silver version taken is recorded in
the gold commit's metadata, atomically with the data). Write–audit–publish per retailer: the
canonical gate and, for facts, the reconciliation with silver (per retailer and date, gold's units
and sales equal silver's) run before the MERGE; a failure blocks that retailer's batch only.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from deltalake import DeltaTable
from pydantic import BaseModel, ConfigDict, Field

from assets.plan import CANONICAL_FACTS
from assets.silver.mapping import canonical_schema
from assets.silver.publish import held_back, references_for, silver_dims, silver_path
from assets.silver.spark_transform import from_polars, to_polars
from assets.silver.transform import FACT_DATES, date_partitions, natural_key
from assets.storage import tables
from assets.storage.durability import guarded, kill_point
from checks import spark_session
from checks.contract import Contract
from checks.engines import DEFAULT_ENGINE
from checks.gate import BLOCKED, BLOCKED_BY, QUARANTINE_REASONS, run_gate
from checks.result import GateResult, Verdict
from checks.samples import violating_sample
from shelfguard.settings import DataHome

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PARTITION = "retailer_code"
STATE_RETAILER = "shelfguard.retailer_code"
STATE_VERSION = "shelfguard.silver_version"
MEASURES = ("units_sold", "net_sales")
CHUNK_ROWS = 250_000
"""Largest batch audited and merged at once; a first load is split by date so memory stays bounded."""


class GoldOutcome(BaseModel):
    """What one gold run did to one retailer's partition of a gold table."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    canonical_object: str
    retailer_code: str
    table_path: str
    action: str = Field(description="published, unchanged (silver did not change) or blocked.")
    silver_version: int | None = Field(None, description="The silver version this batch brings gold up to.")
    since_version: int | None = Field(
        None, description="The silver version gold had taken before (None: none)."
    )
    rows_upserted: int = 0
    rows_deleted: int = 0
    rows_quarantined: int = 0
    gate: GateResult | None = None
    reconciliation: list[dict] = Field(
        default_factory=list, description="Dates whose gold totals would differ from silver's."
    )
    blocked_by: list[str] = Field(
        default_factory=list, description="Blocking rule ids, and `reconciliation`."
    )
    part: str = Field("1/1", description="Which part of the retailer's batch (large batches go by date).")
    note: str = Field(
        "", description="Why some of the retailer's data is not in gold: the silver batch that blocked it."
    )
    table_version: int | None = None
    quarantine_path: str = ""
    violating_sample: pl.DataFrame | None = Field(None, exclude=True)


@dataclass
class GoldBatch:
    """One retailer's changes for one gold table, not yet published."""

    canonical_object: str
    retailer_code: str
    upserts: pl.DataFrame
    deletes: pl.DataFrame
    silver_version: int
    since_version: int | None
    final: bool = True
    """Only the last part of a split batch records the silver version taken (so a crash retries all)."""
    part: str = "1/1"


def gold_path(home: DataHome, canonical_object: str) -> Path:
    return home.table("gold", canonical_object)


def partition_columns(canonical_object: str) -> list[str]:
    """A gold table's partition columns: the retailer, and the week for weekly facts (ADR 0011)."""
    return [PARTITION, *date_partitions(canonical_object)]


def gold_quarantine_path(home: DataHome, canonical_object: str) -> Path:
    return home.quarantine / "gold" / canonical_object


def taken_versions(path: Path) -> dict[str, int]:
    """Per retailer, the silver version gold last published from (from the commits' metadata)."""
    taken: dict[str, int] = {}
    if not tables.exists(path):
        return taken
    for commit in DeltaTable(str(path)).history():
        code = commit.get(STATE_RETAILER)
        if code is not None and code not in taken:
            taken[str(code)] = int(commit[STATE_VERSION])
    return taken


def prepare_batches(
    home: DataHome,
    canonical: Contract,
    canonical_object: str,
    code: str,
    since_version: int | None,
    max_rows: int | None = None,
) -> Iterator[GoldBatch]:
    """The retailer's silver changes after `since_version` (everything when None), in parts of whole
    dates of at most about `max_rows` rows each, in date order; nothing when silver is unchanged.

    Reconciliation is per date, so a part holds every change of its dates. A first load reads
    silver one part at a time (at the version it started from), so its memory is that of a part,
    not of the retailer's whole history.
    """
    source = silver_path(home, code, canonical_object)
    current = tables.version(source)
    if current is None or current == since_version:
        return
    key = natural_key(canonical, canonical_object)
    schema = canonical_schema(canonical, canonical_object)
    date_column = FACT_DATES.get(canonical_object)
    target = gold_path(home, canonical_object)
    partition = pl.col(PARTITION) == code

    def batch(upserts: pl.DataFrame, deletes: pl.DataFrame, number: int, parts: int) -> GoldBatch:
        return GoldBatch(
            canonical_object,
            code,
            upserts.select(schema.names()).cast(dict(schema)),
            deletes.select(key).cast({c: schema[c] for c in key}),
            current,
            since_version,
            final=number == parts,
            part=f"{number}/{parts}",
        )

    def vanished(scope: pl.Expr, silver: pl.DataFrame) -> pl.DataFrame:
        """Gold keys of the retailer in scope that silver no longer has."""
        gold = tables.read(target, columns=key, where=partition & scope)
        return (
            silver.select(key).clear() if gold is None else gold.join(silver.select(key), on=key, how="anti")
        )

    if since_version is not None:
        upserts, deletes = tables.net_changes(source, since_version, current, key)
        if date_column is None:
            yield batch(upserts, deletes, 1, 1)
            return
        parts = date_parts(pl.concat([upserts[date_column], deletes[date_column]]), max_rows)
        for number, dates in enumerate(parts, start=1):
            in_part = pl.col(date_column).is_in(dates.implode())
            yield batch(upserts.filter(in_part), deletes.filter(in_part), number, len(parts))
        return
    if date_column is None:
        silver = tables.read(source, version=current)
        assert silver is not None
        yield batch(silver, vanished(pl.lit(True), silver), 1, 1)
        return
    known = [tables.read(source, columns=[date_column], version=current)]
    known.append(tables.read(target, columns=[date_column], where=partition))
    parts = date_parts(pl.concat([k[date_column] for k in known if k is not None]), max_rows)
    for number, dates in enumerate(parts, start=1):
        in_part = pl.col(date_column).is_in(dates.implode())
        silver = tables.read(source, where=in_part, version=current)
        assert silver is not None
        yield batch(silver, vanished(in_part, silver), number, len(parts))


def date_parts(dates: pl.Series, max_rows: int | None = None) -> list[pl.Series]:
    """The distinct dates, in order, grouped so that each group has at most about `max_rows` rows
    (a date is never split); one group, possibly empty, when they all fit."""
    max_rows = max_rows or CHUNK_ROWS
    if dates.len() <= max_rows:
        return [dates.unique().sort()]
    counts = (
        dates.to_frame("date")
        .group_by("date")
        .len()
        .sort("date")
        .with_columns(((pl.col("len").cum_sum() - pl.col("len")) // max_rows).alias("_part"))
    )
    return [part["date"] for _, part in counts.group_by("_part", maintain_order=True)]


def totals(rows: pl.DataFrame, date_column: str) -> pl.DataFrame:
    return rows.group_by(PARTITION, date_column).agg(
        pl.col(m).sum().cast(pl.Decimal(38, 3)) for m in MEASURES
    )


def reconcile(home: DataHome, canonical: Contract, batch: GoldBatch, published: pl.DataFrame) -> pl.DataFrame:
    """Dates of the batch where gold after the MERGE would not total to silver at the version the
    batch was taken from (units and sales)."""
    date_column = FACT_DATES[batch.canonical_object]
    key = natural_key(canonical, batch.canonical_object)
    dates = pl.concat([published[date_column], batch.deletes[date_column]]).unique()
    if dates.is_empty():
        return pl.DataFrame()
    in_scope = (pl.col(PARTITION) == batch.retailer_code) & pl.col(date_column).is_in(dates.implode())
    gold = tables.read(gold_path(home, batch.canonical_object), columns=[*key, *MEASURES], where=in_scope)
    touched = pl.concat([published.select(key), batch.deletes.select(key)])
    after = pl.concat(
        [
            gold.join(touched, on=key, how="anti")
            if gold is not None
            else published.select(*key, *MEASURES).clear(),
            published.select(*key, *MEASURES),
        ]
    )
    silver = tables.read(
        silver_path(home, batch.retailer_code, batch.canonical_object),
        columns=[*key, *MEASURES],
        where=in_scope,
        version=batch.silver_version,
    )
    assert silver is not None
    compared = totals(after, date_column).join(
        totals(silver, date_column), on=[PARTITION, date_column], how="full", coalesce=True, suffix="_silver"
    )
    differs = pl.any_horizontal(
        pl.col(m).fill_null(0).ne(pl.col(f"{m}_silver").fill_null(0)) for m in MEASURES
    )
    return compared.filter(differs).sort(date_column)


def spark_reconcile(
    spark: SparkSession, home: DataHome, canonical: Contract, batch: GoldBatch, published: pl.DataFrame
) -> pl.DataFrame:
    """`reconcile` on Spark: gold's partition and silver at the batch's version read and totalled
    by Spark (the batch's own rows are small and go up from the driver)."""
    from pyspark.sql import functions as F

    date_column = FACT_DATES[batch.canonical_object]
    key = natural_key(canonical, batch.canonical_object)
    dates = pl.concat([published[date_column], batch.deletes[date_column]]).unique()
    if dates.is_empty():
        return pl.DataFrame()
    in_scope = (F.col(PARTITION) == batch.retailer_code) & F.col(date_column).isin(dates.to_list())
    rows = from_polars(spark, published.select(*key, *MEASURES))
    touched = from_polars(spark, pl.concat([published.select(key), batch.deletes.select(key)]))
    after = rows
    gold = gold_path(home, batch.canonical_object)
    if tables.exists(gold):
        kept = spark.read.format("delta").load(str(gold)).where(in_scope).select(*key, *MEASURES)
        after = kept.join(touched, key, "left_anti").unionByName(rows)
    silver = (
        spark.read.format("delta")
        .option("versionAsOf", batch.silver_version)
        .load(str(silver_path(home, batch.retailer_code, batch.canonical_object)))
        .where(in_scope)
    )

    def totalled(frame, suffix: str):
        return frame.groupBy(PARTITION, date_column).agg(
            *(F.sum(m).cast("decimal(38,3)").alias(m + suffix) for m in MEASURES)
        )

    compared = totalled(after, "").join(totalled(silver, "_silver"), [PARTITION, date_column], "full")
    differs = [F.coalesce(F.col(m), F.lit(0)) != F.coalesce(F.col(f"{m}_silver"), F.lit(0)) for m in MEASURES]
    found = compared.where(reduce(lambda a, b: a | b, differs))
    columns = [PARTITION, date_column, *MEASURES, *(f"{m}_silver" for m in MEASURES)]
    return to_polars(found.select(*columns)).sort(date_column)


def _scope(batch: GoldBatch, published: pl.DataFrame) -> str:
    """The retailer's partition, and for facts the batch's date range (files outside it are skipped)."""
    partition = tables.scope_predicate(PARTITION, [batch.retailer_code])
    date_column = FACT_DATES.get(batch.canonical_object)
    if date_column is None:
        return partition
    dates = pl.concat([published[date_column], batch.deletes[date_column]])
    return f"{partition} AND {tables.date_range_predicate(date_column, dates)}" if dates.len() else partition


def publish_batch(
    home: DataHome,
    canonical: Contract,
    batch: GoldBatch,
    *,
    engine: str = DEFAULT_ENGINE,
    spark: SparkSession | None = None,
) -> GoldOutcome:
    """Audit one retailer's batch (gate, reconciliation) and MERGE it into its partition if it passes;
    with `spark` (a retailer on Spark), the reconciliation is computed by Spark."""
    path = gold_path(home, batch.canonical_object)
    outcome = GoldOutcome(
        canonical_object=batch.canonical_object,
        retailer_code=batch.retailer_code,
        table_path=str(path),
        action="blocked",
        silver_version=batch.silver_version,
        since_version=batch.since_version,
        table_version=tables.version(path),
        part=batch.part,
    )
    quarantine_path = gold_quarantine_path(home, batch.canonical_object)
    published = batch.upserts
    if not batch.upserts.is_empty():
        references = references_for(silver_dims(home, batch.retailer_code), canonical)
        gate = run_gate(
            canonical, batch.canonical_object, batch.upserts, engine=engine, references=references
        )
        outcome.gate = gate.result
        outcome.blocked_by = (
            list(gate.result.blocking_rule_ids) if gate.result.verdict == Verdict.BLOCK else []
        )
        tables.quarantine(quarantine_path, gate.quarantined)
        outcome.rows_quarantined = gate.quarantined.height
        outcome.violating_sample = violating_sample(batch.upserts, gate)
        published = (
            batch.upserts
            if gate.result.verdict == Verdict.BLOCK
            else gate.published.select(batch.upserts.columns).cast(dict(batch.upserts.schema))
        )
    if batch.canonical_object in CANONICAL_FACTS and not outcome.blocked_by:
        mismatches = (
            reconcile(home, canonical, batch, published)
            if spark is None
            else spark_reconcile(spark, home, canonical, batch, published)
        )
        if not mismatches.is_empty():
            outcome.reconciliation = json.loads(mismatches.write_json())
            outcome.blocked_by = ["reconciliation"]
            tables.quarantine(
                quarantine_path,
                published.with_columns(
                    pl.lit([BLOCKED], dtype=pl.List(pl.String)).alias(QUARANTINE_REASONS),
                    pl.lit(outcome.blocked_by, dtype=pl.List(pl.String)).alias(BLOCKED_BY),
                ),
            )
            outcome.rows_quarantined = published.height
    if outcome.blocked_by:
        outcome.quarantine_path = str(quarantine_path)
        return outcome
    version = tables.publish_changes(
        path,
        published,
        batch.deletes,
        natural_key(canonical, batch.canonical_object),
        scope=_scope(batch, published),
        partition_by=partition_columns(batch.canonical_object),
        metadata={"shelfguard.layer": "gold", "shelfguard.part": batch.part}
        | (
            {STATE_RETAILER: batch.retailer_code, STATE_VERSION: str(batch.silver_version)}
            if batch.final
            else {}
        ),
    )
    kill_point("gold.publish")
    outcome.action = "published" if version is not None else "unchanged"
    outcome.rows_upserted, outcome.rows_deleted = published.height, batch.deletes.height
    outcome.table_version = tables.version(path)
    outcome.quarantine_path = str(quarantine_path) if outcome.rows_quarantined else ""
    return outcome


def publish_gold(
    home: DataHome,
    canonical: Contract,
    canonical_object: str,
    retailer_codes: list[str],
    *,
    engine: str = DEFAULT_ENGINE,
    spark: SparkSession | None = None,
    on_spark: Collection[str] = (),
) -> list[GoldOutcome]:
    """One gold asset's run: every retailer whose silver changed, each in its own audited MERGE(s).

    One outcome per retailer and part; a blocked part stops that retailer's later parts. The
    retailers `on_spark` (their contract chooses Spark) are reconciled on `spark` (default: the
    process's `checks.spark_session`).
    """
    if on_spark and spark is None:
        spark = spark_session.spark_session()
    path = gold_path(home, canonical_object)
    # One publisher per gold table at a time; a dead one's orphan files removed first (ADR 0018).
    with guarded(home, f"gold__{canonical_object}", [path, gold_quarantine_path(home, canonical_object)]):
        return _publish_retailers(
            home, canonical, canonical_object, retailer_codes, engine=engine, spark=spark, on_spark=on_spark
        )


def _publish_retailers(
    home: DataHome,
    canonical: Contract,
    canonical_object: str,
    retailer_codes: list[str],
    *,
    engine: str,
    spark: SparkSession | None,
    on_spark: Collection[str],
) -> list[GoldOutcome]:
    path = gold_path(home, canonical_object)
    taken = taken_versions(path)
    table_version = tables.version(path)
    outcomes = []
    for code in sorted(retailer_codes):
        taken_parts = 0
        for part in prepare_batches(home, canonical, canonical_object, code, taken.get(code)):
            taken_parts += 1
            session = spark if code in on_spark else None
            outcomes.append(publish_batch(home, canonical, part, engine=engine, spark=session))
            table_version = outcomes[-1].table_version
            if outcomes[-1].blocked_by:
                break
        if not taken_parts:
            outcomes.append(
                GoldOutcome(
                    canonical_object=canonical_object,
                    retailer_code=code,
                    table_path=str(path),
                    action="unchanged",
                    silver_version=taken.get(code),
                    since_version=taken.get(code),
                    table_version=table_version,
                )
            )
        deliveries, rules = held_back(home, code, canonical_object)
        if deliveries:
            outcomes[-1].note = _held_back_note(outcomes[-1].action, deliveries, rules)
    return outcomes


def _held_back_note(action: str, deliveries: list[str], rules: list[str]) -> str:
    blocked = f"silver batch blocked by {', '.join(rules)}" if rules else "silver batch blocked"
    count = f"{len(deliveries)} deliver{'y' if len(deliveries) == 1 else 'ies'}"
    held = f"{count} held back: {', '.join(deliveries)}"
    return f"not published: {blocked}; {held}" if action == "unchanged" else f"{blocked}; {held}"
