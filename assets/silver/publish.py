"""Silver, write–audit–publish: build a retailer's canonical batch, gate it, then publish it.

Built only from `promotable_scan` (what the bronze gate accepted, restatements superseding), so a
blocked delivery or a quarantined row never reaches silver. Dimensions are recomputed from every
promotable observation (SCD2 history must see all of them; they are aggregated streaming from the
scan, so a retailer's history is never in memory); facts take the
deliveries silver has not promoted yet, tracked in the silver ledger, and retire the rows of
deliveries that a restatement superseded; the weekly roll-up recomputes the weeks whose daily rows
changed. Nothing is written when the gate blocks; violating rows
go to `quarantine/silver/<table>` with their reasons; a re-run with the same bronze writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from deltalake import DeltaTable
from pydantic import BaseModel, ConfigDict, Field

from assets.bronze.ingest import bronze_columns, promotable_rows, promotable_scan
from assets.bronze.ledger import current_deliveries, read_ledger
from assets.plan import (
    CANONICAL_DIMS,
    CANONICAL_FACTS,
    column_mappings,
    fed_objects,
    retailer_code,
    silver_table,
)
from assets.silver import mapping, spark_transform
from assets.silver.mapping import (
    ORDER_COLUMNS,
    STAMP_COLUMNS,
    RetailerProfile,
    canonical_schema,
    distinct_observations,
    feeding_objects,
    map_to_canonical,
    observation_columns,
    parse_failures,
)
from assets.silver.transform import (
    FACT_DATES,
    WEEK_KEY,
    build_dimension,
    chain_versions,
    changes,
    date_partitions,
    enrichments,
    latest_per_key,
    natural_key,
    point_in_time_keys,
    week_end,
    weekly_rollup,
)
from assets.storage import tables
from assets.storage.durability import guarded, kill_point, retry_commit
from checks import spark_session
from checks.contract import Contract, custom_properties, format_hints
from checks.engines import DEFAULT_ENGINE
from checks.gate import BLOCKED_BY, GateRun, run_gate
from checks.readers import DataReadError, read_batch
from checks.result import GateResult, Verdict
from checks.samples import violating_sample
from shelfguard.settings import DataHome

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

SILVER_LEDGER = "_silver_ledger"
LEDGER_SCHEMA = {
    "retailer_code": pl.String,
    "canonical_object": pl.String,
    "delivery_id": pl.String,
    "state": pl.String,
    "verdict": pl.String,
    "rows": pl.Int64,
    "recorded_at": pl.Datetime("us", "UTC"),
}
PROMOTED, BLOCKED, RETIRED = "promoted", "blocked", "retired"
ROLLED_UP_VERSION = "shelfguard.daily_version"
"""Commit metadata of the weekly roll-up: the daily table version it was computed from."""


class SilverOutcome(BaseModel):
    """What one silver run did to one retailer's canonical table."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retailer_code: str
    canonical_object: str
    table_path: str = Field(description="The silver Delta table.")
    action: str = Field(
        description="published, unchanged (nothing differs), nothing_new (no input) or blocked."
    )
    gate: GateResult | None = Field(
        None, description="The silver gate's result on the batch; None when not run."
    )
    deliveries: list[str] = Field(default_factory=list, description="Bronze deliveries this batch took in.")
    retired_deliveries: list[str] = Field(
        default_factory=list, description="Deliveries superseded by a restatement, rows removed."
    )
    rows_in: int = Field(0, description="Rows of the batch before the gate (mapped, deduplicated).")
    rows_superseded: int = Field(0, description="Older versions of a key dropped by deduplication.")
    rows_written: int = Field(0, description="Rows inserted or updated in the table.")
    rows_deleted: int = Field(0, description="Rows removed (retired deliveries, vanished versions).")
    rows_quarantined: int = Field(0, description="Rows the gate moved to quarantine (all rows when blocked).")
    table_version: int | None = Field(None, description="Delta version after the run.")
    quarantine_path: str = ""
    unmatched: list[dict] = Field(default_factory=list, description="Dimension keys without a master row.")
    master_problems: list[str] = Field(default_factory=list, description="Master files not used, and why.")
    parse_failures: dict[str, int] = Field(
        default_factory=dict, description="Delivered values that did not parse, per mapping."
    )
    violating_sample: pl.DataFrame | None = Field(None, exclude=True, description="checks.samples sample.")

    @property
    def blocked(self) -> bool:
        return self.action == "blocked"


def _nothing_yet(path: Path, code: str, canonical_object: str) -> SilverOutcome:
    """The outcome of a silver run before it has found anything to do."""
    return SilverOutcome(
        retailer_code=code,
        canonical_object=canonical_object,
        table_path=str(path),
        action="nothing_new",
        table_version=tables.version(path),
    )


def silver_path(home: DataHome, code: str, canonical_object: str) -> Path:
    return home.table("silver", silver_table(code, canonical_object))


def silver_quarantine_path(home: DataHome, code: str, canonical_object: str) -> Path:
    return home.quarantine / "silver" / silver_table(code, canonical_object)


# --- master data -------------------------------------------------------------------------------


@dataclass
class MasterData:
    """Corporate master rows by master object, as the master contract's gate published them."""

    rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    """The file each master object was read from (for lineage)."""
    problems: list[str] = field(default_factory=list)
    """Master files that could not be read or were blocked (enrichment then reports every key unmatched)."""


def read_master(home: DataHome, master: Contract, *, engine: str = DEFAULT_ENGINE) -> MasterData:
    """The latest file of every master object (by name), through the master contract's gate."""
    folder = home.landing / "corporate"
    found = MasterData()
    for obj in master.objects:
        pattern = custom_properties(obj.get("customProperties")).get("filePattern")
        files = sorted(folder.glob(str(pattern))) if pattern and folder.is_dir() else []
        if not files:
            found.problems.append(f"{obj['name']}: no file matching {pattern} in {folder}")
            continue
        try:
            frame = read_batch(files[-1], **format_hints(master))
        except DataReadError as exc:
            found.problems.append(str(exc))
            continue
        gate = run_gate(master, obj["name"], frame, engine=engine)
        if gate.result.verdict == Verdict.BLOCK:
            found.problems.append(f"{files[-1]}: blocked by {', '.join(gate.result.blocking_rule_ids)}")
            continue
        found.rows[obj["name"]] = gate.published
        found.files[obj["name"]] = files[-1]
    return found


# --- the silver ledger: which bronze deliveries each silver fact has promoted -------------------


def _ledger_path(home: DataHome) -> Path:
    return home.table("silver", SILVER_LEDGER)


def silver_ledger(home: DataHome, where: pl.Expr | None = None) -> pl.DataFrame:
    """The latest entry of every delivery each silver table has seen: its state, verdict and rows."""
    ledger = tables.read(_ledger_path(home), where=where)
    if ledger is None:
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return (
        ledger.sort("recorded_at")
        .group_by("retailer_code", "canonical_object", "delivery_id", maintain_order=True)
        .last()
    )


def ledger_states(home: DataHome, code: str, canonical_object: str) -> dict[str, str]:
    """The latest state of every delivery a silver table has seen."""
    latest = silver_ledger(
        home, (pl.col("retailer_code") == code) & (pl.col("canonical_object") == canonical_object)
    )
    return dict(zip(latest["delivery_id"], latest["state"], strict=True))


def held_back(home: DataHome, code: str, canonical_object: str) -> tuple[list[str], list[str]]:
    """The deliveries a blocked silver batch holds back now, and the rules that blocked it (from the
    quarantined rows' `blocked_by`), so gold can say why a retailer's data is missing."""
    states = ledger_states(home, code, canonical_object)
    blocked = sorted(d for d, state in states.items() if state == BLOCKED)
    if not blocked:
        return [], []
    rows = tables.read(silver_quarantine_path(home, code, canonical_object),
                       where=pl.col("delivery_id").is_in(blocked))
    if rows is None or BLOCKED_BY not in rows.columns:
        return blocked, []
    return blocked, sorted(set(rows[BLOCKED_BY].explode().drop_nulls()))


def record_states(
    home: DataHome,
    code: str,
    canonical_object: str,
    states: dict[str, str],
    verdict: str,
    rows_by_delivery: dict[str, int],
) -> None:
    """Append the deliveries' new states; a state already current (same state, verdict and rows,
    e.g. a delivery blocked again by a re-run) is not recorded twice."""
    current = silver_ledger(
        home, (pl.col("retailer_code") == code) & (pl.col("canonical_object") == canonical_object)
    )
    recorded = {
        delivery: (state, was, rows)
        for delivery, state, was, rows in current.select("delivery_id", "state", "verdict", "rows").rows()
    }
    states = {
        delivery: state
        for delivery, state in states.items()
        if recorded.get(delivery) != (state, verdict, rows_by_delivery.get(delivery, 0))
    }
    if not states:
        return
    now = datetime.now(UTC)
    frame = pl.DataFrame(
        [
            {
                "retailer_code": code,
                "canonical_object": canonical_object,
                "delivery_id": delivery,
                "state": state,
                "verdict": verdict,
                "rows": rows_by_delivery.get(delivery, 0),
                "recorded_at": now,
            }
            for delivery, state in sorted(states.items())
        ],
        schema=LEDGER_SCHEMA,
    )
    path = _ledger_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with guarded(home, f"silver_{SILVER_LEDGER}", [path]):
        retry_commit(lambda: frame.write_delta(str(path), mode="append"))


# --- shared steps ------------------------------------------------------------------------------


def _canonical_only(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def _gate(
    canonical: Contract,
    canonical_object: str,
    batch: pl.DataFrame,
    engine: str,
    references: dict[str, pl.DataFrame] | None = None,
) -> GateRun:
    return run_gate(canonical, canonical_object, batch, engine=engine, references=references or {})


def _quarantine(path: Path, batch: pl.DataFrame, gate: GateRun) -> tuple[int, pl.DataFrame]:
    tables.quarantine(path, gate.quarantined)
    return gate.quarantined.height, violating_sample(batch, gate)


def silver_dims(home: DataHome, code: str) -> dict[str, pl.DataFrame]:
    """The retailer's published dimensions (every version), for fact keys and relationship rules."""
    found = {}
    for dim in CANONICAL_DIMS:
        rows = tables.read(silver_path(home, code, dim))
        if rows is not None:
            found[dim] = rows
    return found


def references_for(dims: dict[str, pl.DataFrame], canonical: Contract) -> dict[str, pl.DataFrame]:
    """The dimensions that facts' relationship rules point at (empty stand-ins for missing ones)."""
    return {
        dim: dims.get(dim, pl.DataFrame(schema=canonical_schema(canonical, dim))) for dim in CANONICAL_DIMS
    }


# --- dimensions --------------------------------------------------------------------------------


def publish_dimension(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    master: Contract,
    dim: str,
    *,
    engine: str = DEFAULT_ENGINE,
    master_data: MasterData | None = None,
    spark: SparkSession | None = None,
) -> SilverOutcome:
    """Recompute a retailer's SCD2 dimension from all its promotable observations; gate; publish the diff.

    With `spark`, the observations are read, mapped, versioned, keyed and enriched on Spark."""
    profile = RetailerProfile.from_contract(contract)
    path = silver_path(home, profile.code, dim)
    outcome = _nothing_yet(path, profile.code, dim)
    schema = canonical_schema(canonical, dim)
    observed = _observations(home, contract, canonical, dim, outcome, spark)
    if observed is None:
        return outcome
    if master_data is None:
        master_data = read_master(home, master, engine=engine)
    outcome.master_problems = master_data.problems
    versions, reports = build_dimension(
        observed,
        dim,
        schema,
        enrichments(master, canonical, dim),
        master_data.rows,
        frames=None if spark is None else spark_transform,
    )
    if spark is not None:  # the gate and the commit take Arrow batches (docs/spark-pipeline.md)
        versions = spark_transform.to_polars(versions)
    outcome.unmatched = [r.as_metadata() for r in reports]
    gate = _gate(canonical, dim, versions, engine)
    outcome.gate, outcome.rows_in = gate.result, versions.height
    quarantine_path = silver_quarantine_path(home, profile.code, dim)
    outcome.rows_quarantined, outcome.violating_sample = _quarantine(quarantine_path, versions, gate)
    outcome.quarantine_path = str(quarantine_path) if outcome.rows_quarantined else ""
    if gate.result.verdict == Verdict.BLOCK:
        outcome.action = "blocked"
        return outcome
    published = chain_versions(_canonical_only(gate.published, schema), dim).select(schema.names())
    key = natural_key(canonical, dim)
    upserts, deletes = changes(published, tables.read(path), key)
    new_version = tables.publish_changes(
        path, upserts, deletes, key, metadata={"shelfguard.layer": "silver", "shelfguard.object": dim}
    )
    kill_point("silver.dimension")
    outcome.rows_written, outcome.rows_deleted = upserts.height, deletes.height
    outcome.action = "unchanged" if new_version is None else "published"
    outcome.table_version = tables.version(path)
    return outcome


def _observations(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    dim: str,
    outcome: SilverOutcome,
    spark: SparkSession | None,
) -> pl.DataFrame | SparkFrame | None:
    """Every promotable observation of a dimension, mapped to canonical (None: there is none)."""
    code = outcome.retailer_code
    fact_fed = {m.retailer_object for m in column_mappings(contract) if m.canonical_object in CANONICAL_FACTS}
    observed: list = []
    for obj in feeding_objects(contract, dim):
        extra_columns = obj not in fact_fed
        columns = observation_columns(
            bronze_columns(home, code, obj), contract, obj, dim, extra_columns=extra_columns
        )
        wanted = [*columns, *STAMP_COLUMNS, *ORDER_COLUMNS]
        frames = spark_transform if spark is not None else None
        if frames is None:
            bronze = distinct_observations(promotable_scan(home, code, obj, columns=wanted), columns)
            if bronze.is_empty():
                continue
        else:
            bronze = frames.distinct_observations(
                frames.promotable_rows(spark, home, code, obj, columns=wanted), columns
            )
            if bronze.isEmpty():
                continue
        module = frames or mapping
        mapped = module.map_to_canonical(bronze, contract, obj, canonical, dim, extra_columns=extra_columns)
        outcome.parse_failures.update(module.parse_failures(bronze, mapped, contract, obj, dim))
        observed.append(mapped)
    if not observed:
        return None
    if spark is None:
        return pl.concat(observed, how="vertical_relaxed")
    return reduce(lambda a, b: a.unionByName(b), observed)


# --- facts from bronze -------------------------------------------------------------------------


def pending_deliveries(
    home: DataHome, code: str, canonical_object: str, sources: Sequence[str]
) -> tuple[list[str], list[str], datetime | None]:
    """(new, retired, since): current accepted deliveries not promoted yet, promoted ones no longer
    current, and a moment just before the first ingestion of the new ones (for `promotable_rows`)."""
    ledger = read_ledger(home.warehouse)
    current = pl.concat(
        [current_deliveries(ledger, code, obj).select("delivery_id", "first_ingested_at") for obj in sources]
    )
    promoted = {d for d, state in ledger_states(home, code, canonical_object).items() if state == PROMOTED}
    fresh = current.filter(~pl.col("delivery_id").is_in(list(promoted)))
    since = fresh["first_ingested_at"].min()
    return (
        sorted(fresh["delivery_id"]),
        sorted(promoted - set(current["delivery_id"])),
        None if since is None else since - timedelta(microseconds=1),
    )


def key_moment(contract: Contract, fact: str) -> str:
    """Which moment of a fact row its dimension keys are looked up at: `updated_at` when the fact's
    own rows carried the dimensions (one big table and the other embedded shapes), else its date."""
    dim_fed = set(feeding_objects(contract, "prod_dim")) | set(feeding_objects(contract, "site_dim"))
    return "updated_at" if dim_fed.intersection(feeding_objects(contract, fact)) else FACT_DATES[fact]


def _fact_batch(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    fact: str,
    new: list[str],
    retired: list[str],
    since: datetime | None,
    outcome: SilverOutcome,
) -> tuple[pl.DataFrame, dict[str, int], dict[str, pl.DataFrame]]:
    """The new deliveries' rows of a fact: mapped, one per key (older than a published row dropped),
    keyed point in time; their rows per delivery; the retailer's dimensions."""
    profile = RetailerProfile.from_contract(contract)
    path = silver_path(home, profile.code, fact)
    sources = feeding_objects(contract, fact)
    schema = canonical_schema(canonical, fact)
    key = natural_key(canonical, fact)
    date_column = FACT_DATES[fact]
    mapped = []
    for obj in sources if new else []:
        columns = [
            *observation_columns(bronze_columns(home, profile.code, obj), contract, obj, fact),
            *STAMP_COLUMNS,
            *ORDER_COLUMNS,
        ]
        bronze = promotable_rows(home, profile.code, obj, since=since, columns=columns)
        bronze = bronze.filter(pl.col("_delivery_id").is_in(new)) if not bronze.is_empty() else bronze
        if bronze.is_empty():
            continue
        rows = map_to_canonical(bronze, contract, obj, canonical, fact)
        outcome.parse_failures.update(parse_failures(bronze, rows, contract, obj, fact))
        mapped.append(rows)
    batch = (
        pl.concat(mapped, how="vertical_relaxed")
        if mapped
        else pl.DataFrame(
            schema={
                **schema,
                "_ingested_at": pl.Datetime("us", "UTC"),
                "_delivery_id": pl.String,
                "_row_number": pl.Int64,
            }
        )
    )
    rows_by_delivery = dict(batch.group_by("_delivery_id").len().iter_rows())
    batch, outcome.rows_superseded = latest_per_key(batch, key)
    existing = None
    if not batch.is_empty():
        existing = tables.read(
            path,
            columns=[*key, "updated_at", "delivery_id"],
            where=pl.col(date_column).is_in(batch[date_column].unique().implode()),
        )
    if existing is not None and not existing.is_empty():
        newer = existing.filter(~pl.col("delivery_id").is_in(retired)).select(
            *key, pl.col("updated_at").alias("_published_updated_at")
        )
        batch = batch.join(newer, on=key, how="left")
        stale = pl.col("_published_updated_at").is_not_null() & (
            pl.col("_published_updated_at") > pl.col("updated_at")
        )
        outcome.rows_superseded += int(batch.select(stale.sum()).item())
        batch = batch.filter(~stale.fill_null(False)).drop("_published_updated_at")
    dims = silver_dims(home, profile.code)
    batch = point_in_time_keys(batch, dims, as_of=key_moment(contract, fact), timezone=profile.timezone)
    batch = _canonical_only(batch.sort(key), schema)
    return batch, rows_by_delivery, dims


def _spark_fact_batch(
    spark: SparkSession,
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    fact: str,
    new: list[str],
    retired: list[str],
    outcome: SilverOutcome,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """`_fact_batch` on Spark: bronze and silver read, mapped, deduplicated and keyed by Spark."""
    from pyspark.sql import functions as F

    frames = spark_transform
    profile = RetailerProfile.from_contract(contract)
    path = silver_path(home, profile.code, fact)
    sources = feeding_objects(contract, fact)
    schema = canonical_schema(canonical, fact)
    key = natural_key(canonical, fact)
    mapped = []
    for obj in sources if new else []:
        columns = [
            *observation_columns(bronze_columns(home, profile.code, obj), contract, obj, fact),
            *STAMP_COLUMNS,
            *ORDER_COLUMNS,
        ]
        bronze = frames.promotable_rows(spark, home, profile.code, obj, columns=columns)
        bronze = bronze.where(F.col("_delivery_id").isin(new))
        if bronze.isEmpty():
            continue
        rows = frames.map_to_canonical(bronze, contract, obj, canonical, fact)
        outcome.parse_failures.update(frames.parse_failures(bronze, rows, contract, obj, fact))
        mapped.append(rows)
    if not mapped:
        return pl.DataFrame(schema=schema), {}
    batch = reduce(lambda a, b: a.unionByName(b), mapped)
    rows_by_delivery = {r[0]: int(r[1]) for r in batch.groupBy("_delivery_id").count().collect()}
    batch, outcome.rows_superseded = frames.latest_per_key(batch, key)
    if tables.exists(path):
        published = spark.read.format("delta").load(str(path))
        if retired:
            published = published.where(~F.col("delivery_id").isin(retired))
        published = published.select(*key, F.col("updated_at").alias("_published_updated_at"))
        batch = batch.join(published, key, "left")
        stale = F.col("_published_updated_at").isNotNull() & (
            F.col("_published_updated_at") > F.col("updated_at")
        )
        batch = batch.withColumn("_stale", stale)
        outcome.rows_superseded += batch.where("_stale").count()
        batch = batch.where(~F.col("_stale")).drop("_published_updated_at", "_stale")
    dims = {
        dim: spark.read.format("delta").load(str(silver_path(home, profile.code, dim)))
        for dim in CANONICAL_DIMS
        if tables.exists(silver_path(home, profile.code, dim))
    }
    batch = frames.point_in_time_keys(
        batch, dims, as_of=key_moment(contract, fact), timezone=profile.timezone
    )
    keyed = frames.to_polars(batch.select(*schema.names()))
    return _canonical_only(keyed.sort(key), schema), rows_by_delivery


def publish_fact(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    fact: str,
    *,
    engine: str = DEFAULT_ENGINE,
    spark: SparkSession | None = None,
) -> SilverOutcome:
    """Take in the retailer's new deliveries of a fact: map, deduplicate, key, gate, publish (with
    `spark`, the batch is built on Spark)."""
    profile = RetailerProfile.from_contract(contract)
    path = silver_path(home, profile.code, fact)
    outcome = _nothing_yet(path, profile.code, fact)
    sources = feeding_objects(contract, fact)
    new, retired, since = pending_deliveries(home, profile.code, fact, sources)
    if not new and not retired:
        return outcome
    schema = canonical_schema(canonical, fact)
    key = natural_key(canonical, fact)
    date_column = FACT_DATES[fact]
    if spark is not None:
        batch, rows_by_delivery = _spark_fact_batch(
            spark, home, contract, canonical, fact, new, retired, outcome
        )
        dims = silver_dims(home, profile.code)
    else:
        batch, rows_by_delivery, dims = _fact_batch(
            home, contract, canonical, fact, new, retired, since, outcome
        )
    outcome.deliveries, outcome.retired_deliveries, outcome.rows_in = new, retired, batch.height
    quarantine_path = silver_quarantine_path(home, profile.code, fact)
    upserts = batch
    if not batch.is_empty():
        gate = _gate(canonical, fact, batch, engine, references_for(dims, canonical))
        outcome.gate = gate.result
        outcome.rows_quarantined, outcome.violating_sample = _quarantine(quarantine_path, batch, gate)
        outcome.quarantine_path = str(quarantine_path) if outcome.rows_quarantined else ""
        if gate.result.verdict == Verdict.BLOCK:
            outcome.action = "blocked"
            record_states(
                home,
                profile.code,
                fact,
                dict.fromkeys(new, BLOCKED),
                str(gate.result.verdict),
                rows_by_delivery,
            )
            return outcome
        upserts = _canonical_only(gate.published, schema)
    deletes = upserts.select(key).clear()
    if retired:
        old = tables.read(path, columns=[*key, "delivery_id"], where=pl.col("delivery_id").is_in(retired))
        if old is not None:
            deletes = old.select(key).join(upserts.select(key), on=key, how="anti")
    scope_dates = pl.concat([upserts[date_column], deletes[date_column]])
    version = tables.publish_changes(
        path,
        upserts,
        deletes,
        key,
        scope=tables.date_range_predicate(date_column, scope_dates) if scope_dates.len() else None,
        partition_by=date_partitions(fact),
        metadata={
            "shelfguard.layer": "silver",
            "shelfguard.object": fact,
            "shelfguard.deliveries": ",".join(new),
        },
    )
    kill_point("silver.fact")
    verdict = str(outcome.gate.verdict) if outcome.gate else "pass"
    record_states(
        home,
        profile.code,
        fact,
        {**dict.fromkeys(new, PROMOTED), **dict.fromkeys(retired, RETIRED)},
        verdict,
        rows_by_delivery,
    )
    kill_point("silver.ledger")
    outcome.rows_written, outcome.rows_deleted = upserts.height, deletes.height
    outcome.action = "unchanged" if version is None else "published"
    outcome.table_version = tables.version(path)
    return outcome


# --- weekly roll-up of daily facts -------------------------------------------------------------


def rolled_up_version(path: Path) -> int | None:
    """The daily version the roll-up last published from (from its commits' metadata), if any."""
    if not tables.exists(path):
        return None
    for commit in DeltaTable(str(path)).history():
        if ROLLED_UP_VERSION in commit:
            return int(commit[ROLLED_UP_VERSION])
    return None


def touched_weeks(
    daily_path: Path, since_version: int, until_version: int, daily_key: Sequence[str]
) -> pl.DataFrame:
    """The weekly keys whose daily rows changed after `since_version` up to `until_version` (change
    data feed): inserted, updated (a restatement, a late row for an old week) or deleted (a retired
    delivery)."""
    upserted, deleted = tables.net_changes(daily_path, since_version, until_version, daily_key)
    return (
        pl.concat([upserted.select(daily_key), deleted.select(daily_key)])
        .select("retailer_code", week_end("sale_date").alias("week_end_date"), "site_id", "product_id")
        .unique()
    )


def _in_weeks(frame: pl.DataFrame, weeks: pl.DataFrame, week: pl.Expr) -> pl.DataFrame:
    """The rows of `frame` whose weekly key (its week given by `week`) is one of `weeks`."""
    on = ["retailer_code", "_week_end", "site_id", "product_id"]
    return (
        frame.with_columns(week.alias("_week_end"))
        .join(weeks.rename({"week_end_date": "_week_end"}), on=on, how="semi")
        .drop("_week_end")
    )


def _spark_rollup_changes(
    spark: SparkSession,
    daily_path: Path,
    path: Path,
    daily_version: int,
    weeks: pl.DataFrame | None,
    schema: pl.Schema,
    key: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The roll-up's change set computed on Spark: the daily table at `daily_version` (only the
    `weeks` touched, when given) rolled up and compared with the published weeks."""
    frames = spark_transform
    daily = spark.read.format("delta").option("versionAsOf", daily_version).load(str(daily_path))
    existing = spark.read.format("delta").load(str(path)) if tables.exists(path) else None
    if weeks is not None:
        touched = frames.from_polars(spark, weeks.select(WEEK_KEY))
        daily = (
            daily.withColumn("week_end_date", frames.week_end("sale_date"))
            .join(touched, list(WEEK_KEY), "left_semi")
            .drop("week_end_date")
        )
        existing = None if existing is None else existing.join(touched, list(WEEK_KEY), "left_semi")
    upserts, deletes = frames.changes(frames.weekly_rollup(daily, schema), existing, key)
    return (
        _canonical_only(frames.to_polars(upserts), schema),
        frames.to_polars(deletes).cast({c: schema[c] for c in key}),
    )


def publish_rollup(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    *,
    engine: str = DEFAULT_ENGINE,
    spark: SparkSession | None = None,
) -> SilverOutcome:
    """Roll the published daily facts up to weeks; gate and publish what changed.

    Only the weeks whose daily rows changed since the daily version the roll-up last published from
    are recomputed (all of them on the first run, or when that version is unknown); a week is
    always recomputed from all its daily rows, so the result equals a full recomputation.
    """
    profile = RetailerProfile.from_contract(contract)
    fact = "weekly_store_fact"
    path = silver_path(home, profile.code, fact)
    daily_path = silver_path(home, profile.code, "daily_store_fact")
    outcome = _nothing_yet(path, profile.code, fact)
    daily_version = tables.version(daily_path)
    if daily_version is None:
        return outcome
    since = rolled_up_version(path)
    incremental = since is not None and since <= daily_version  # greater: the daily table was rebuilt
    weeks = None
    if incremental and since != daily_version:
        weeks = touched_weeks(daily_path, since, daily_version, natural_key(canonical, "daily_store_fact"))
    if incremental and (weeks is None or weeks.is_empty()):
        outcome.action = "unchanged"
        return outcome
    schema = canonical_schema(canonical, fact)
    key = natural_key(canonical, fact)
    if spark is not None:
        upserts, deletes = _spark_rollup_changes(spark, daily_path, path, daily_version, weeks, schema, key)
    elif weeks is None:
        daily, existing = tables.read(daily_path, version=daily_version), tables.read(path)
        assert daily is not None
        upserts, deletes = changes(weekly_rollup(daily, schema), existing, key)
    else:
        first, last = weeks["week_end_date"].min(), weeks["week_end_date"].max()
        daily = tables.read(
            daily_path,
            where=pl.col("sale_date").is_between(first - timedelta(days=6), last),
            version=daily_version,
        )
        existing = tables.read(path, where=pl.col("week_end_date").is_between(first, last))
        assert daily is not None
        daily = _in_weeks(daily, weeks, week_end("sale_date"))
        existing = None if existing is None else _in_weeks(existing, weeks, pl.col("week_end_date"))
        upserts, deletes = changes(weekly_rollup(daily, schema), existing, key)
    outcome.rows_in = upserts.height
    if not upserts.is_empty():
        gate = _gate(
            canonical, fact, upserts, engine, references_for(silver_dims(home, profile.code), canonical)
        )
        outcome.gate = gate.result
        quarantine_path = silver_quarantine_path(home, profile.code, fact)
        outcome.rows_quarantined, outcome.violating_sample = _quarantine(quarantine_path, upserts, gate)
        outcome.quarantine_path = str(quarantine_path) if outcome.rows_quarantined else ""
        if gate.result.verdict == Verdict.BLOCK:
            outcome.action = "blocked"
            return outcome
        upserts = _canonical_only(gate.published, schema)
    scope_dates = pl.concat([upserts["week_end_date"], deletes["week_end_date"]])
    version = tables.publish_changes(
        path,
        upserts,
        deletes,
        key,
        scope=tables.date_range_predicate("week_end_date", scope_dates) if scope_dates.len() else None,
        partition_by=date_partitions(fact),
        metadata={
            "shelfguard.layer": "silver",
            "shelfguard.object": fact,
            ROLLED_UP_VERSION: str(daily_version),
        },
    )
    outcome.rows_written, outcome.rows_deleted = upserts.height, deletes.height
    outcome.action = "unchanged" if version is None else "published"
    outcome.table_version = tables.version(path)
    return outcome


def is_rollup(contract: Contract, canonical_object: str) -> bool:
    """A daily retailer's weekly facts are the roll-up of its daily facts."""
    return canonical_object == "weekly_store_fact" and not feeding_objects(contract, canonical_object)


def publish_silver(
    home: DataHome,
    contract: Contract,
    canonical: Contract,
    master: Contract,
    canonical_object: str,
    *,
    engine: str = DEFAULT_ENGINE,
    master_data: MasterData | None = None,
    spark: SparkSession | None = None,
) -> SilverOutcome:
    """One silver asset's run: the entry point for the Dagster asset, the demo and the benchmark.

    A retailer whose contract chooses `executionEngine: spark` is built on `spark` (the Dagster
    `spark` resource's session; without one, the process's `checks.spark_session`)."""
    if canonical_object not in fed_objects(contract):
        raise ValueError(f"{contract.name} does not feed {canonical_object}")
    code = retailer_code(contract)
    path, quarantine_path = silver_path(home, code, canonical_object), silver_quarantine_path(
        home, code, canonical_object
    )
    # One publisher per silver table at a time; a dead one's orphan files removed first (ADR 0018).
    if contract.execution_engine != "spark":
        spark = None
    elif spark is None:
        spark = spark_session.spark_session()
    with guarded(home, f"silver__{path.name}", [path, quarantine_path]):
        if canonical_object in CANONICAL_DIMS:
            return publish_dimension(
                home,
                contract,
                canonical,
                master,
                canonical_object,
                engine=engine,
                master_data=master_data,
                spark=spark,
            )
        if is_rollup(contract, canonical_object):
            return publish_rollup(home, contract, canonical, engine=engine, spark=spark)
        return publish_fact(home, contract, canonical, canonical_object, engine=engine, spark=spark)
