"""Silver transformations: dimensions with history (SCD2), facts with point-in-time keys, roll-ups.

Pure functions over Polars frames (no I/O, no Dagster), so every rule of the canonical model is
tested on small frames: deduplication (latest `updated_at` wins, then the later delivery), SCD2
versions (ADR 0010), surrogate keys (ADR 0007), enrichment from corporate master data and the
weekly roll-up of daily facts. `assets.silver.publish` runs them against the Delta tables with
the silver gate (write–audit–publish).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import polars as pl

from assets.keys import PRODUCT_KEY, SITE_KEY, canonical_string_expr, with_surrogate_key
from assets.silver.mapping import LINEAGE_COLUMNS, ORDER_COLUMNS, next_local_midnight_utc
from checks.contract import Contract, properties_of

VERSION_COLUMNS = ("valid_from", "valid_to", "is_current")
FACT_DATES = {"daily_store_fact": "sale_date", "weekly_store_fact": "week_end_date"}
DATE_PARTITIONED = ("weekly_store_fact",)
"""Facts whose silver and gold tables are also partitioned by their date (ADR 0011): the roll-up
rewrites a week's rows on every day of that week, which must not rewrite the files of other weeks."""
WEEK_ENDS_ON = 7
"""ISO weekday a week ends on: 7 = Sunday, so a week is Monday..Sunday (ADR 0010)."""
UNMATCHED_SAMPLE = 10


@dataclass(frozen=True)
class DimSpec:
    """How a canonical dimension is keyed."""

    name: str
    natural_key: str
    surrogate_key: str
    key_columns: tuple[str, ...]


DIMS = {
    "prod_dim": DimSpec("prod_dim", "product_id", "product_sk", PRODUCT_KEY),
    "site_dim": DimSpec("site_dim", "site_id", "site_sk", SITE_KEY),
}


def natural_key(canonical: Contract, canonical_object: str) -> list[str]:
    """The row identity of a silver/gold table: a fact's primary key, a dimension version's key."""
    if canonical_object in DIMS:
        return ["retailer_code", DIMS[canonical_object].natural_key, "updated_at"]
    props = [p for p in properties_of(canonical.object(canonical_object)) if p.get("primaryKey")]
    return [p["name"] for p in sorted(props, key=lambda p: p.get("primaryKeyPosition", 0))]


@dataclass(frozen=True)
class Enrichment:
    """One master table joined to one dimension: `key` in both, `columns` copied into the dimension."""

    master_object: str
    key: str
    columns: tuple[str, ...]


def enrichments(master: Contract, canonical: Contract, dim: str) -> list[Enrichment]:
    """Master objects whose primary key is a column of the dimension, from the contracts alone."""
    dim_columns = {p["name"] for p in properties_of(canonical.object(dim))}
    found = []
    for obj in master.objects:
        props = properties_of(obj)
        keys = [p["name"] for p in props if p.get("primaryKey")]
        if len(keys) == 1 and keys[0] in dim_columns:
            columns = tuple(p["name"] for p in props if p["name"] in dim_columns and p["name"] != keys[0])
            found.append(Enrichment(obj["name"], keys[0], columns))
    return found


def tracked_attributes(schema: pl.Schema, dim: str, enriched: Sequence[str]) -> list[str]:
    """Columns whose change makes a new version: the retailer's descriptive attributes."""
    spec = DIMS[dim]
    fixed = {
        spec.surrogate_key,
        spec.natural_key,
        "retailer_code",
        "updated_at",
        *VERSION_COLUMNS,
        *LINEAGE_COLUMNS,
        *enriched,
    }
    return [c for c in schema.names() if c not in fixed]


def _collapse_repeats(frame: pl.DataFrame, group: list[str], attributes: list[str]) -> pl.DataFrame:
    """Keep the first row of every run of consecutive rows (in frame order) with the same attributes."""
    signature = canonical_string_expr(frame.schema, attributes)
    return frame.filter(signature.ne_missing(signature.shift(1).over(group)))


def scd2_versions(observations: pl.DataFrame, dim: str, attributes: list[str]) -> pl.DataFrame:
    """SCD2 versions of a dimension from every observation of it (ADR 0010).

    - Same `updated_at` delivered more than once: the latest delivery wins; a repeat of the same
      attributes keeps the delivery that first brought them (so re-deliveries change nothing).
    - Consecutive observations with unchanged attributes are one version (the earliest); a change
      that reverts (A→B→A) is three versions.
    - `valid_from` = the version's `updated_at`; `valid_to` = the next version's `valid_from`
      (null for the current one).
    """
    spec = DIMS[dim]
    ordered = observations.sort(spec.natural_key, "updated_at", *ORDER_COLUMNS)
    first_seen = _collapse_repeats(ordered, [spec.natural_key, "updated_at"], attributes)
    latest = first_seen.unique([spec.natural_key, "updated_at"], keep="last", maintain_order=True)
    versions = _collapse_repeats(latest, [spec.natural_key], attributes)
    return chain_versions(versions, dim)


def date_partitions(canonical_object: str) -> list[str]:
    """The date partition column of a fact's tables, if it has one."""
    return [FACT_DATES[canonical_object]] if canonical_object in DATE_PARTITIONED else []


def chain_versions(versions: pl.DataFrame, dim: str) -> pl.DataFrame:
    """Recompute `valid_from`, `valid_to`, `is_current` from the versions' `updated_at`."""
    spec = DIMS[dim]
    return (
        versions.sort(spec.natural_key, "updated_at")
        .with_columns(
            pl.col("updated_at").alias("valid_from"),
            pl.col("updated_at").shift(-1).over(spec.natural_key).alias("valid_to"),
        )
        .with_columns(pl.col("valid_to").is_null().alias("is_current"))
    )


def with_dimension_key(versions: pl.DataFrame, dim: str) -> pl.DataFrame:
    spec = DIMS[dim]
    return with_surrogate_key(versions, spec.surrogate_key, spec.key_columns)


def _gtin14(column: pl.Expr) -> pl.Expr:
    """GTIN-8/12/13/14 compare equal as GTIN-14 (left-padded with zeros)."""
    return column.str.strip_chars().str.pad_start(14, "0")


@dataclass
class UnmatchedKeys:
    """Dimension keys with no master row: reported, never dropped."""

    master_object: str
    key: str
    count: int
    missing_key: int
    sample: list[str]

    def as_metadata(self) -> dict[str, object]:
        return {
            "master": self.master_object,
            "key": self.key,
            "unmatched": self.count,
            "without_key": self.missing_key,
            "sample": self.sample,
        }


def _normaliser(key: str):
    return _gtin14 if key == "gtin" else (lambda c: c.str.strip_chars())


def master_lookup(enrichment: Enrichment, master_rows: pl.DataFrame | None) -> pl.DataFrame:
    """The master's rows by normalised key (`_match`), the first row of each key (both engines)."""
    columns = list(enrichment.columns)
    if master_rows is None or master_rows.is_empty():
        return pl.DataFrame(schema={"_match": pl.String, **{c: pl.String for c in columns}})
    return master_rows.select(
        _normaliser(enrichment.key)(pl.col(enrichment.key).cast(pl.String)).alias("_match"),
        *(pl.col(c).cast(pl.String) for c in columns),
    ).unique("_match", keep="first", maintain_order=True)


def enrich(
    versions: pl.DataFrame, enrichment: Enrichment, master_rows: pl.DataFrame | None
) -> tuple[pl.DataFrame, UnmatchedKeys]:
    """Copy the master's columns onto every version by key; report distinct keys without a match."""
    key = enrichment.key
    normalise = _normaliser(key)
    columns = list(enrichment.columns)
    lookup = master_lookup(enrichment, master_rows)
    base = versions.drop([c for c in columns if c in versions.columns])
    joined = base.with_columns(normalise(pl.col(key)).alias("_match")).join(
        lookup.with_columns(pl.lit(True).alias("_matched")), on="_match", how="left", maintain_order="left"
    )
    keyed = joined.filter(pl.col(key).is_not_null())
    unmatched_keys = keyed.filter(pl.col("_matched").is_null())[key].unique().sort()
    report = UnmatchedKeys(
        enrichment.master_object,
        key,
        unmatched_keys.len(),
        int(joined[key].is_null().sum()),
        unmatched_keys.head(UNMATCHED_SAMPLE).to_list(),
    )
    return joined.drop("_match", "_matched").select(versions.columns), report


def build_dimension(
    observations: pl.DataFrame,
    dim: str,
    schema: pl.Schema,
    master_enrichments: Sequence[Enrichment],
    master_rows: dict[str, pl.DataFrame],
    *,
    frames: ModuleType | None = None,
) -> tuple[pl.DataFrame, list[UnmatchedKeys]]:
    """Observations (mapped bronze rows) → SCD2 versions with surrogate keys and master data.

    `frames` is the module whose frame transforms do the work (this one; `spark_transform` for
    Spark frames): the steps are the same on both engines."""
    ops = frames or sys.modules[__name__]
    enriched_columns = [c for e in master_enrichments for c in e.columns]
    attributes = tracked_attributes(schema, dim, enriched_columns)
    versions = ops.with_dimension_key(ops.scd2_versions(observations, dim, attributes), dim)
    reports = []
    for enrichment in master_enrichments:
        versions, report = ops.enrich(versions, enrichment, master_rows.get(enrichment.master_object))
        reports.append(report)
    return versions.select(schema.names()), reports


def latest_per_key(rows: pl.DataFrame, key: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """One row per key: the latest `updated_at`, then the later delivery; and how many were superseded."""
    kept = rows.sort(*key, "updated_at", *ORDER_COLUMNS).unique(list(key), keep="last", maintain_order=True)
    return kept, rows.height - kept.height


def point_in_time_keys(
    facts: pl.DataFrame, dims: dict[str, pl.DataFrame], *, as_of: str, timezone: str
) -> pl.DataFrame:
    """Fill `product_sk`/`site_sk` with the dimension version valid at the fact's moment.

    `as_of="updated_at"`: the fact row itself carried the dimension's attributes (one big table and
    the other embedded shapes), so the version is the one in force when the row was written: the
    same key in dimension and fact. Otherwise `as_of` is the fact's date column (separate dimension
    and fact files): the version in force at the end of that local calendar day. A fact older than
    the first known version takes the first version; a fact without any version keeps a null key
    (the gate's relationship rule reports it).
    """
    if as_of == "updated_at":
        facts = facts.with_columns(pl.col("updated_at").alias("_as_of"))
        exact = True
    else:
        facts = facts.with_columns(next_local_midnight_utc(as_of, timezone).alias("_as_of"))
        exact = False
    for dim, versions in dims.items():
        spec = DIMS[dim]
        lookup = versions.select(
            pl.col(spec.natural_key),
            pl.col("valid_from").alias("_as_of_version"),
            pl.col(spec.surrogate_key).alias("_key"),
        ).sort("_as_of_version")
        facts = facts.drop(spec.surrogate_key, strict=False).sort("_as_of")
        in_force = facts.join_asof(
            lookup,
            left_on="_as_of",
            right_on="_as_of_version",
            by=spec.natural_key,
            strategy="backward",
            allow_exact_matches=exact,
            check_sortedness=False,
        )
        first = (
            lookup.sort("_as_of_version")
            .unique(spec.natural_key, keep="first")
            .select(spec.natural_key, pl.col("_key").alias("_first_key"))
        )
        facts = (
            in_force.join(first, on=spec.natural_key, how="left")
            .with_columns(pl.coalesce("_key", "_first_key").alias(spec.surrogate_key))
            .drop("_key", "_first_key", "_as_of_version")
        )
    return facts.drop("_as_of")


def week_end(date_column: str) -> pl.Expr:
    """The Sunday that ends the date's Monday..Sunday week."""
    return pl.col(date_column) + pl.duration(days=(WEEK_ENDS_ON - pl.col(date_column).dt.weekday()) % 7)


WEEK_KEY = ("retailer_code", "week_end_date", "site_id", "product_id")
LAST_OF_WEEK = ("site_sk", "product_sk", "currency", "secure_group_key", "data_provider_code", "delivery_id")
"""Roll-up columns taken from the week's latest row (its last day, latest write)."""


def weekly_rollup(daily: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Daily facts summed to weeks ending on Sunday (ADR 0010).

    Units and sales are summed; stock on hand is the last reported value of the week; keys,
    `updated_at` and the lineage columns come from the week's latest row (its last day, latest write).
    """
    key = list(WEEK_KEY)
    latest_first = [pl.col("sale_date"), pl.col("updated_at"), pl.col("ingested_at")]
    last_of_week = [
        pl.col(c).sort_by(latest_first).last()
        for c in LAST_OF_WEEK
    ]
    weekly = (
        daily.with_columns(week_end("sale_date").alias("week_end_date"))
        .group_by(key)
        .agg(
            pl.col("units_sold").sum(),
            pl.col("net_sales").sum(),
            pl.col("on_hand_units").sort_by("sale_date").drop_nulls().last(),
            pl.col("updated_at").max(),
            pl.col("ingested_at").max(),
            *last_of_week,
        )
    )
    return (
        weekly.with_columns(pl.lit(None, dtype=pl.String).alias("extra_attributes"))
        .select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
        .sort(key)
    )


def changes(
    new: pl.DataFrame, old: pl.DataFrame | None, key: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What must be written so that `old` becomes `new`: rows new or changed, and keys to delete."""
    if old is None or old.is_empty():
        return new, new.select(key).clear()
    old = old.select(new.columns).cast(dict(new.schema))
    upserts = new.join(old, on=new.columns, how="anti", nulls_equal=True)
    deletes = old.select(key).join(new.select(key), on=list(key), how="anti", nulls_equal=True)
    return upserts, deletes
