"""The silver transformations on Spark: the same plan as `assets.silver.mapping` and
`assets.silver.transform`, as PySpark (Spark Connect API only: Sail here, Databricks in production).

What to compute stays in one place: which retailer column feeds which canonical column and how it
parses (`mapping.mappings_for`, `RetailerProfile`, `canonical_schema`), the key columns (`DIMS`,
`natural_key`, `assets.keys`), the tracked attributes, the fact dates and the delivery order
(`ORDER_COLUMNS`). This module only says how each frame transform is done on a Spark DataFrame, one
function per Polars function of the same name, and `tests/spark/test_spark_silver.py` proves the
results equal on the all-faults demo deliveries. Nothing is collected to the driver but small
reports (unmatched master keys).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from assets.bronze.ledger import current_deliveries, read_ledger
from assets.keys import spark_key, spark_key_text
from assets.plan import bronze_table
from assets.silver import transform
from assets.silver.mapping import (
    ORDER_COLUMNS,
    STAMP_COLUMNS,
    TRANSFORMS,
    RetailerProfile,
    business_date_column,
    mapping_plan,
    mappings_for,
    retailer_columns,
)
from assets.silver.transform import (
    DIMS,
    LAST_OF_WEEK,
    UNMATCHED_SAMPLE,
    WEEK_KEY,
    Enrichment,
    UnmatchedKeys,
    master_lookup,
)
from checks.contract import Contract
from checks.formats import parse_jdk
from shelfguard.settings import DataHome

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

_ISO_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"


def spark_type(dtype: pl.DataType) -> str:
    """The Spark SQL type of a canonical Polars type (`mapping.polars_type`)."""
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    return {
        pl.String: "string",
        pl.Date: "date",
        pl.Boolean: "boolean",
        pl.Int64: "bigint",
        pl.Float64: "double",
    }[dtype.base_type()]


def from_polars(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """A small Polars frame (master rows, the ledger's deliveries, test input) as a Spark frame with
    the same types (an empty one too: Spark cannot infer a schema from no rows)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    unsigned = [n for n, t in frame.schema.items() if t.is_unsigned_integer()]
    table = frame.cast(dict.fromkeys(unsigned, pl.Int64)).to_arrow()
    if frame.is_empty():
        return spark.createDataFrame([], schema=from_arrow_schema(table.schema))
    return spark.createDataFrame(table)


def to_polars(frame: DataFrame) -> pl.DataFrame:
    """A Spark frame's rows as Polars (for tests and small reports only)."""
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


# --- mapping (assets.silver.mapping) -------------------------------------------------------------


def _local_to_utc(naive: Column, timezone: str) -> Column:
    """A local wall-clock time in `timezone` as a UTC instant; a time that does not exist there (a
    DST gap) is null, a time that exists twice is the earlier instant, as in the Polars path."""
    from pyspark.sql import functions as F

    instant = F.to_utc_timestamp(naive, timezone)
    back = F.from_utc_timestamp(instant, timezone).cast("timestamp_ntz")
    return F.when(back == naive.cast("timestamp_ntz"), instant)


def _parse_timestamp(text: Column, fmt: str | None, timezone: str) -> Column:
    from pyspark.sql import functions as F

    text = F.trim(text)
    if fmt and parse_jdk(fmt).has_offset:
        return F.try_to_timestamp(text, F.lit(fmt))
    if fmt:
        return _local_to_utc(F.try_to_timestamp(text, F.lit(fmt)).cast("timestamp_ntz"), timezone)
    aware = F.when(text.rlike(_ISO_OFFSET), F.try_to_timestamp(text))
    return F.coalesce(aware, _local_to_utc(text.try_cast("timestamp_ntz"), timezone))


def _parse_date(text: Column, fmt: str | None) -> Column:
    from pyspark.sql import functions as F

    text = F.trim(text)
    if fmt:
        return F.try_to_timestamp(text, F.lit(fmt)).cast("date")
    iso = r"^\d{4}-\d{2}-\d{2}"
    return F.when(F.substring(text, 1, 10).rlike(iso + "$"), F.substring(text, 1, 10).try_cast("date"))


def parse_column(
    column: str, source: dict[str, Any], target: pl.DataType, transform: str | None, profile: RetailerProfile
) -> Column:
    """`mapping.parse_expr` on Spark: a bronze text column as the canonical type."""
    from pyspark.sql import functions as F

    if transform and transform not in TRANSFORMS:
        raise ValueError(
            f"unknown transform {transform!r} on column {column!r}; known: {', '.join(TRANSFORMS)}"
        )
    fmt = (source.get("logicalTypeOptions") or {}).get("format")
    value = F.col(column).cast("string")
    if isinstance(target, pl.Datetime):
        return _parse_timestamp(value, fmt, profile.timezone)
    if target == pl.Date:
        return _parse_date(value, fmt)
    if target == pl.Boolean:
        lowered = F.lower(F.trim(value))
        return F.when(lowered.isin("true", "1", "yes", "y", "t"), F.lit(True)).when(
            lowered.isin("false", "0", "no", "n", "f"), F.lit(False)
        )
    if target.is_numeric():
        text = F.trim(value)
        if profile.decimal_separator != ".":
            text = F.replace(F.replace(text, F.lit("."), F.lit("")), F.lit(" "), F.lit(""))
            text = F.replace(text, F.lit(profile.decimal_separator), F.lit("."))
        if isinstance(target, pl.Decimal):
            scale = (target.scale or 0) + (2 if transform == "cents_to_units" else 0)
            number = text.try_cast(f"decimal(38,{scale})")
        else:
            number = text.try_cast("double")
        if transform == "cents_to_units":
            number = number / 100
        if transform == "negate":
            number = -number
        return number.try_cast(spark_type(target))
    return value


def _json_string(column: Column) -> Column:
    """A text value as a JSON string literal (quotes and escapes as Polars writes them)."""
    from pyspark.sql import functions as F

    array = F.to_json(F.array(column))
    return F.substring(array, F.lit(2), F.length(array) - 2)


def _extra_attributes(columns: list[str]) -> Column:
    """`mapping._extra_attributes`: unmapped columns as one JSON object, sorted keys, nulls kept."""
    from pyspark.sql import functions as F

    if not columns:
        return F.lit(None).cast("string")
    parts: list[Column] = []
    for index, name in enumerate(sorted(columns)):
        value = F.col(name).cast("string")
        parts += [
            F.lit(("{" if index == 0 else ",") + _json_name(name) + ":"),
            F.coalesce(_json_string(value), F.lit("null")),
        ]
    return F.concat(*parts, F.lit("}"))


def _json_name(name: str) -> str:
    import json

    return json.dumps(name, ensure_ascii=False)


def next_local_midnight_utc(day: Column, timezone: str) -> Column:
    """`mapping.next_local_midnight_utc`: the start of the local day after a date, in UTC (01:00
    where midnight does not exist)."""
    from pyspark.sql import functions as F

    midnight = F.date_add(day, 1).cast("timestamp_ntz")
    return F.coalesce(
        _local_to_utc(midnight, timezone),
        _local_to_utc(midnight + F.expr("INTERVAL 1 HOUR"), timezone),
    )


def _implied_updated_at(
    bronze: DataFrame, contract: Contract, retailer_object: str, profile: RetailerProfile
) -> Column:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    date = business_date_column(contract, retailer_object)
    if date is None or date.retailer_column not in bronze.columns:
        return F.col("_ingested_at")
    source = retailer_columns(contract, retailer_object).get(date.retailer_column, {})
    latest = F.max(parse_column(date.retailer_column, source, pl.Date(), None, profile)).over(
        Window.partitionBy("_delivery_id")
    )
    return F.coalesce(next_local_midnight_utc(latest, profile.timezone), F.col("_ingested_at"))


def map_to_canonical(
    bronze: DataFrame,
    contract: Contract,
    retailer_object: str,
    canonical: Contract,
    canonical_object: str,
    *,
    extra_columns: bool = True,
) -> DataFrame:
    """`mapping.map_to_canonical` on Spark, from the same `mapping_plan`: the same columns, types
    and values."""
    from pyspark.sql import functions as F

    plan = mapping_plan(
        bronze.columns, contract, retailer_object, canonical, canonical_object, extra_columns=extra_columns
    )
    schema = plan.schema
    expressions: dict[str, Column] = {}
    for name, delivered in plan.parsed.items():
        parsed = [
            F.lit(None).cast(spark_type(schema[name]))
            if column is None
            else parse_column(column, source, schema[name], transform, plan.profile)
            for column, source, transform in delivered
        ]
        expressions[name] = parsed[0] if len(parsed) == 1 else F.coalesce(*parsed)
    for column in plan.prefixed:
        expressions[column] = F.concat(F.lit(f"{plan.profile.code}:"), F.trim(expressions[column]))
    for column, value in plan.defaults.items():
        expressions[column] = F.lit(value)
    if plan.implied_updated_at:
        expressions["updated_at"] = _implied_updated_at(bronze, contract, retailer_object, plan.profile)
    for stamp, name in STAMP_COLUMNS.items():
        expressions[name] = F.col(stamp)
    expressions["extra_attributes"] = _extra_attributes(list(plan.extras))
    columns = [
        expressions.get(name, F.lit(None)).try_cast(spark_type(dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    return bronze.select(*columns, *ORDER_COLUMNS)


# --- transforms (assets.silver.transform) ---------------------------------------------------------


def _collapse_repeats(
    frame: DataFrame, group: list[str], attributes: list[str], order: list[str]
) -> DataFrame:
    """Keep the first row of every run of consecutive rows (by `order`) with the same attributes."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*group).orderBy(*order)
    marked = frame.withColumn("_signature", spark_key_text(frame, attributes))
    marked = marked.withColumn("_previous", F.lag("_signature").over(window))
    kept = marked.where(F.col("_previous").isNull() | (F.col("_previous") != F.col("_signature")))
    return kept.drop("_signature", "_previous")


def _delivery_order(natural: str) -> list[str]:
    return [natural, "updated_at", *ORDER_COLUMNS]


def scd2_versions(observations: DataFrame, dim: str, attributes: list[str]) -> DataFrame:
    """`transform.scd2_versions` (ADR 0010) on Spark."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spec = DIMS[dim]
    order = _delivery_order(spec.natural_key)
    first_seen = _collapse_repeats(observations, [spec.natural_key, "updated_at"], attributes, order)
    last = Window.partitionBy(spec.natural_key, "updated_at").orderBy(*(F.col(c).desc() for c in order))
    latest = first_seen.withColumn("_n", F.row_number().over(last)).where("_n = 1").drop("_n")
    versions = _collapse_repeats(latest, [spec.natural_key], attributes, order)
    return chain_versions(versions, dim)


def chain_versions(versions: DataFrame, dim: str) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spec = DIMS[dim]
    following = F.lead("updated_at").over(Window.partitionBy(spec.natural_key).orderBy("updated_at"))
    return (
        versions.withColumn("valid_from", F.col("updated_at"))
        .withColumn("valid_to", following)
        .withColumn("is_current", F.col("valid_to").isNull())
    )


def with_dimension_key(versions: DataFrame, dim: str) -> DataFrame:
    spec = DIMS[dim]
    return versions.withColumn(spec.surrogate_key, spark_key(versions, spec.key_columns))


def _normalised(key: str, column: Column) -> Column:
    """GTINs compared as GTIN-14 (left-padded with zeros, longer values as they are)."""
    from pyspark.sql import functions as F

    text = F.trim(column)
    return F.when(F.length(text) < 14, F.lpad(text, 14, "0")).otherwise(text) if key == "gtin" else text


def enrich(
    versions: DataFrame, enrichment: Enrichment, master_rows: pl.DataFrame | None
) -> tuple[DataFrame, UnmatchedKeys]:
    """`transform.enrich` on Spark: the master's columns by key, distinct unmatched keys reported."""
    from pyspark.sql import functions as F

    key, columns = enrichment.key, list(enrichment.columns)
    lookup = master_lookup(enrichment, master_rows)
    spark = versions.sparkSession
    lookup_frame = from_polars(spark, lookup.with_columns(pl.lit(True).alias("_matched")))
    base = versions.drop(*(c for c in columns if c in versions.columns))
    joined = base.withColumn("_match", _normalised(key, F.col(key))).join(lookup_frame, "_match", "left")
    unmatched = (
        joined.where(F.col(key).isNotNull() & F.col("_matched").isNull()).select(key).distinct().orderBy(key)
    )
    counts = joined.agg(F.sum(F.col(key).isNull().cast("int")).alias("without")).collect()[0]
    sample = [row[0] for row in unmatched.limit(UNMATCHED_SAMPLE).collect()]
    report = UnmatchedKeys(
        enrichment.master_object, key, unmatched.count(), int(counts["without"] or 0), sample
    )
    return joined.select(*versions.columns), report


def build_dimension(
    observations: DataFrame,
    dim: str,
    schema: pl.Schema,
    master_enrichments: Sequence[Enrichment],
    master_rows: dict[str, pl.DataFrame],
) -> tuple[DataFrame, list[UnmatchedKeys]]:
    """`transform.build_dimension` with this module's frame transforms."""
    return transform.build_dimension(
        observations, dim, schema, master_enrichments, master_rows, frames=sys.modules[__name__]
    )


def latest_per_key(rows: DataFrame, key: Sequence[str]) -> tuple[DataFrame, int]:
    """`transform.latest_per_key`: the latest `updated_at`, then the later delivery, per key."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = [F.col(c).desc() for c in ("updated_at", *ORDER_COLUMNS)]
    kept = rows.withColumn("_n", F.row_number().over(Window.partitionBy(*key).orderBy(*order)))
    kept = kept.where("_n = 1").drop("_n")
    return kept, rows.count() - kept.count()


def point_in_time_keys(
    facts: DataFrame, dims: dict[str, DataFrame], *, as_of: str, timezone: str
) -> DataFrame:
    """`transform.point_in_time_keys` on Spark: the dimension version in force at the fact's moment
    (at its `updated_at` inclusive, or strictly before the end of its local day), else the first."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    exact = as_of == "updated_at"
    moment = F.col("updated_at") if exact else next_local_midnight_utc(F.col(as_of), timezone)
    facts = facts.withColumn("_as_of", moment)
    for dim, versions in dims.items():
        spec = DIMS[dim]
        lookup = versions.select(
            F.col(spec.natural_key).alias("_nk"),
            F.col("valid_from").alias("_from"),
            F.col(spec.surrogate_key).alias("_key"),
        )
        earlier = (F.col("_from") <= F.col("_as_of")) if exact else (F.col("_from") < F.col("_as_of"))
        # keyed by (natural key, moment), never by a generated row id: Spark may compute one plan
        # twice, and `monotonically_increasing_id` is not the same id both times
        moments = facts.select(F.col(spec.natural_key).alias("_nk"), "_as_of").distinct()
        in_force = (
            moments.join(lookup, "_nk")
            .where(earlier)
            .groupBy("_nk", "_as_of")
            .agg(F.max_by("_key", "_from").alias("_in_force"))
        )
        first = (
            lookup.withColumn("_n", F.row_number().over(Window.partitionBy("_nk").orderBy("_from")))
            .where("_n = 1")
            .select(F.col("_nk").alias("_first_nk"), F.col("_key").alias("_first"))
        )
        matched = (F.col(spec.natural_key) == F.col("_nk")) & (F.col("_as_of") == F.col("_in_as_of"))
        facts = (
            facts.drop(spec.surrogate_key)
            .join(in_force.withColumnRenamed("_as_of", "_in_as_of"), matched, "left")
            .join(first, F.col(spec.natural_key) == F.col("_first_nk"), "left")
            .withColumn(spec.surrogate_key, F.coalesce("_in_force", "_first"))
            .drop("_in_force", "_first", "_nk", "_in_as_of", "_first_nk")
        )
    return facts.drop("_as_of")


def week_end(date_column: str) -> Column:
    """The Sunday that ends the date's Monday..Sunday week (`transform.week_end`)."""
    from pyspark.sql import functions as F

    day = F.col(date_column)
    return F.date_add(day, (F.lit(8) - F.dayofweek(day)) % 7)  # dayofweek: Sunday 1 .. Saturday 7


def weekly_rollup(daily: DataFrame, schema: pl.Schema) -> DataFrame:
    """`transform.weekly_rollup` (ADR 0010) on Spark."""
    from pyspark.sql import functions as F

    latest = F.struct("sale_date", "updated_at", "ingested_at")
    last_of_week = [F.max_by(c, latest).alias(c) for c in LAST_OF_WEEK]
    on_hand = F.max(F.when(F.col("on_hand_units").isNotNull(), F.struct("sale_date", "on_hand_units")))
    weekly = (
        daily.withColumn("week_end_date", week_end("sale_date"))
        .groupBy(*WEEK_KEY)
        .agg(
            F.sum("units_sold").alias("units_sold"),
            F.sum("net_sales").alias("net_sales"),
            on_hand.getField("on_hand_units").alias("on_hand_units"),
            F.max("updated_at").alias("updated_at"),
            F.max("ingested_at").alias("ingested_at"),
            *last_of_week,
        )
        .withColumn("extra_attributes", F.lit(None).cast("string"))
    )
    return weekly.select(*(F.col(n).cast(spark_type(t)).alias(n) for n, t in schema.items()))


def changes(new: DataFrame, old: DataFrame | None, key: Sequence[str]) -> tuple[DataFrame, DataFrame]:
    """`transform.changes`: rows new or changed (null-safe), and the keys of `old` to delete."""
    from pyspark.sql import functions as F

    if old is None:
        return new, new.select(*key).limit(0)
    old = old.select(*(F.col(c).cast(t).alias(c) for c, t in new.dtypes))
    upserts = new.subtract(old)
    deletes = old.select(*key).subtract(new.select(*key))
    return upserts, deletes


def distinct_observations(bronze: DataFrame, columns: list[str]) -> DataFrame:
    """`mapping.distinct_observations`: identical rows of one delivery as one observation, the last."""
    from pyspark.sql import functions as F

    keys = [*columns, *(c for c in (*STAMP_COLUMNS, *ORDER_COLUMNS) if c != "_row_number")]
    return bronze.groupBy(*dict.fromkeys(keys)).agg(F.max("_row_number").alias("_row_number"))


def promotable_rows(
    spark: SparkSession, home: DataHome, code: str, object_name: str, *, columns: Sequence[str] | None = None
) -> DataFrame:
    """`bronze.promotable_scan` on Spark: the rows of the current accepted deliveries (the ledger,
    read as in the Polars path) minus their quarantined rows, read from bronze by Spark."""
    from pyspark.sql import functions as F

    current = current_deliveries(read_ledger(home.warehouse), code, object_name)
    table = home.table("bronze", bronze_table(code, object_name))
    wanted = list(dict.fromkeys(["_delivery_id", "_row_number", *(columns or [])]))
    rows = spark.read.format("delta").load(str(table))
    rows = rows.where(F.col("_delivery_id").isin(current["delivery_id"].to_list()))
    rows = rows.select(*wanted) if columns is not None else rows
    quarantine = home.quarantine / "bronze" / bronze_table(code, object_name)
    if not (quarantine / "_delta_log").is_dir():
        return rows
    latest = from_polars(
        spark,
        current.select(pl.col("delivery_id").alias("_delivery_id"), pl.col("attempt").alias("_attempt")),
    )
    rejected = (
        spark.read.format("delta")
        .load(str(quarantine))
        .select("_delivery_id", "_row_number", "_attempt")
        .join(latest, ["_delivery_id", "_attempt"])
        .select("_delivery_id", "_row_number")
    )
    return rows.join(rejected, ["_delivery_id", "_row_number"], "left_anti")


def parse_failures(
    bronze: DataFrame, mapped: DataFrame, contract: Contract, retailer_object: str, canonical_object: str
) -> dict[str, int]:
    """`mapping.parse_failures` on Spark, in one aggregation: per mapping, delivered non-empty
    values that did not parse (so became null)."""
    from pyspark.sql import functions as F

    pairs = [
        m
        for m in mappings_for(contract, retailer_object, canonical_object)
        if m.retailer_column in bronze.columns
    ]
    if not pairs:
        return {}
    row = ["_delivery_id", "_row_number"]
    delivered = bronze.select(
        *row, *(F.col(m.retailer_column).alias(f"_raw{i}") for i, m in enumerate(pairs))
    )
    parsed = mapped.select(
        *row, *(F.col(m.canonical_column).alias(f"_parsed{i}") for i, m in enumerate(pairs))
    )
    lost = [
        F.sum(F.when((F.trim(F.col(f"_raw{i}").cast("string")) != "") & F.col(f"_parsed{i}").isNull(), 1))
        .cast("bigint")
        .alias(str(i))
        for i in range(len(pairs))
    ]
    counts = delivered.join(parsed, row).agg(*lost).collect()[0]
    return {
        f"{m.retailer_column}->{m.canonical_column}": int(counts[str(i)])
        for i, m in enumerate(pairs)
        if counts[str(i)]
    }
