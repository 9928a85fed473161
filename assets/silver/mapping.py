"""Bronze text → canonical names and types, driven only by the contracts (no per-retailer code).

Bronze keeps every value as delivered text. Here each retailer column that a contract maps to a
canonical column (`canonical` customProperty) is parsed with the contract's own description of it:
the property's `logicalTypeOptions.format` (JDK pattern) for dates and timestamps, the server's
`decimalSeparator` for numbers, the named `transform` (cents, negation), and the retailer's
`timezone` for timestamps without an offset (converted to UTC). Sale dates are calendar dates in
the retailer's own calendar and are never shifted. Everything a contract does not map goes into
`extra_attributes` as a JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from assets.plan import ColumnMapping, column_mappings
from checks.contract import Contract, format_hints, properties_of
from checks.formats import jdk_to_strptime, parse_jdk

STAMP_COLUMNS = {
    "_delivery_id": "delivery_id",
    "_ingested_at": "ingested_at",
    "_secure_group_key": "secure_group_key",
    "_data_provider_code": "data_provider_code",
}
"""Bronze stamp columns carried into every silver row, under their canonical names."""
ORDER_COLUMNS = ("_ingested_at", "_delivery_id", "_row_number")
"""Delivery order of bronze rows: which of two rows was delivered later (used to break ties)."""
ID_COLUMNS = ("product_id", "site_id")
"""Retailer ids that are prefixed with the retailer code in silver (`alp_de:4711`)."""
LINEAGE_COLUMNS = ("secure_group_key", "data_provider_code", "ingested_at", "delivery_id", "extra_attributes")
TRANSFORMS = ("cents_to_units", "negate")

_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_DECIMAL = re.compile(r"DECIMAL\((\d+)\s*,\s*(\d+)\)", re.IGNORECASE)


PROFILE_PROPERTIES = ("retailerCode", "currency", "country", "timezone")


@dataclass(frozen=True)
class RetailerProfile:
    """What silver needs to know about a retailer, from its contract's customProperties and server."""

    code: str
    currency: str
    country: str
    timezone: str
    decimal_separator: str

    @classmethod
    def from_contract(cls, contract: Contract) -> RetailerProfile:
        custom = contract.custom
        missing = [name for name in PROFILE_PROPERTIES if not custom.get(name)]
        if missing:
            raise contract.error(
                f"missing contract customProperties: {', '.join(missing)}", "customProperties"
            )
        code, currency, country, timezone = (str(custom[name]) for name in PROFILE_PROPERTIES)
        return cls(code, currency, country, timezone, format_hints(contract)["decimal_separator"])


def polars_type(prop: dict[str, Any]) -> pl.DataType:
    """The Polars type of a canonical property (logicalType, refined by a DECIMAL physicalType)."""
    logical = prop.get("logicalType", "string")
    if logical == "number":
        match = _DECIMAL.fullmatch(str(prop.get("physicalType", "")))
        return pl.Decimal(int(match.group(1)), int(match.group(2))) if match else pl.Float64()
    return {
        "string": pl.String(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us", "UTC"),
        "boolean": pl.Boolean(),
        "integer": pl.Int64(),
    }.get(logical, pl.String())


def canonical_schema(canonical: Contract, canonical_object: str) -> pl.Schema:
    """Column names and types of a silver/gold table, in contract order."""
    return pl.Schema({p["name"]: polars_type(p) for p in properties_of(canonical.object(canonical_object))})


def retailer_columns(contract: Contract, retailer_object: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in properties_of(contract.object(retailer_object))}


def mappings_for(contract: Contract, retailer_object: str, canonical_object: str) -> list[ColumnMapping]:
    return [
        m
        for m in column_mappings(contract)
        if m.retailer_object == retailer_object and m.canonical_object == canonical_object
    ]


def feeding_objects(contract: Contract, canonical_object: str) -> list[str]:
    """Retailer objects whose columns feed a canonical object, in contract order."""
    fed = {m.retailer_object for m in column_mappings(contract) if m.canonical_object == canonical_object}
    return [name for name in contract.object_names if name in fed]


def _parse_decimal_text(column: pl.Expr, separator: str) -> pl.Expr:
    text = column.str.strip_chars()
    if separator != ".":
        text = text.str.replace_all(".", "", literal=True).str.replace_all(" ", "", literal=True)
        text = text.str.replace_all(separator, ".", literal=True)
    return text


def _parse_timestamp(column: pl.Expr, fmt: str | None, timezone: str) -> pl.Expr:
    """Local timestamps are in the retailer's zone (DST gaps → null, folds → the earlier instant)."""
    text = column.str.strip_chars()
    if fmt and parse_jdk(fmt).has_offset:  # the value says its offset: the retailer's zone is not needed
        aware = text.str.to_datetime(jdk_to_strptime(fmt), strict=False, time_unit="us")
        return aware.dt.convert_time_zone("UTC")
    naive_formats = [jdk_to_strptime(fmt)] if fmt else list(_ISO_NAIVE)
    naive = pl.coalesce([text.str.to_datetime(f, strict=False, time_unit="us") for f in naive_formats])
    if fmt is None:
        naive = pl.coalesce([naive, text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))])
    local = naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
    if fmt is not None:
        return local
    aware = pl.coalesce(
        [
            text.str.to_datetime(f, strict=False, time_unit="us").dt.convert_time_zone("UTC")
            for f in _ISO_AWARE
        ]
    )
    return pl.coalesce([aware, local])


def _parse_date(column: pl.Expr, fmt: str | None) -> pl.Expr:
    text = column.str.strip_chars()
    if fmt:
        return text.str.to_date(jdk_to_strptime(fmt), strict=False)
    return pl.coalesce(
        [
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        ]
    )


def parse_expr(
    column: str, source: dict[str, Any], target: pl.DataType, transform: str | None, profile: RetailerProfile
) -> pl.Expr:
    """A bronze text column as the canonical type, per the source property's description."""
    if transform and transform not in TRANSFORMS:
        raise ValueError(
            f"unknown transform {transform!r} on column {column!r}; known: {', '.join(TRANSFORMS)}"
        )
    fmt = (source.get("logicalTypeOptions") or {}).get("format")
    value = pl.col(column).cast(pl.String)
    if isinstance(target, pl.Datetime):
        return _parse_timestamp(value, fmt, profile.timezone)
    if target == pl.Date:
        return _parse_date(value, fmt)
    if target == pl.Boolean:
        lowered = value.str.strip_chars().str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "1", "yes", "y", "t"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no", "n", "f"]))
            .then(False)
        )
    if target.is_numeric():
        text = _parse_decimal_text(value, profile.decimal_separator)
        if isinstance(target, pl.Decimal):
            scale = (target.scale or 0) + (2 if transform == "cents_to_units" else 0)
            number = text.cast(pl.Decimal(38, scale), strict=False)
        else:
            number = text.cast(pl.Float64, strict=False)
        if transform == "cents_to_units":
            number = number / 100
        if transform == "negate":
            number = -number
        return number.cast(target, strict=False)
    return value


def _extra_attributes(columns: list[str]) -> pl.Expr:
    """Non-canonical columns as one JSON object with sorted keys; null when there are none."""
    if not columns:
        return pl.lit(None, dtype=pl.String)
    return pl.struct([pl.col(c).cast(pl.String) for c in sorted(columns)]).struct.json_encode()


@dataclass(frozen=True)
class MappingPlan:
    """What each canonical column of one retailer object's rows is made of: the engine-neutral part
    of the mapping, built by both the Polars (`map_to_canonical`) and the Spark path."""

    profile: RetailerProfile
    schema: pl.Schema
    parsed: dict[str, list[tuple[str | None, dict[str, Any], str | None]]]
    """Per canonical column, its delivered sources in coalesce order: (retailer column or None when
    the delivery lacks it, the column's contract property, the transform)."""
    prefixed: tuple[str, ...]
    """Id columns prefixed with the retailer code."""
    defaults: dict[str, Any]
    """Columns not delivered that take a value from the contract."""
    implied_updated_at: bool
    """`updated_at` not delivered: derived from the delivery (`implied_updated_at`)."""
    extras: tuple[str, ...]
    """Delivered columns that map to nothing, for `extra_attributes` (sorted)."""


def mapping_plan(
    delivered: Sequence[str],
    contract: Contract,
    retailer_object: str,
    canonical: Contract,
    canonical_object: str,
    *,
    extra_columns: bool = True,
) -> MappingPlan:
    """The plan of `map_to_canonical` for bronze rows with the `delivered` columns."""
    profile = RetailerProfile.from_contract(contract)
    schema = canonical_schema(canonical, canonical_object)
    sources = retailer_columns(contract, retailer_object)
    mapped_anywhere = {
        m.retailer_column for m in column_mappings(contract) if m.retailer_object == retailer_object
    }
    missing_stamps = [c for c in (*STAMP_COLUMNS, *ORDER_COLUMNS) if c not in delivered]
    if missing_stamps:
        raise ValueError(
            f"bronze rows of {profile.code}/{retailer_object} lack stamp columns: {', '.join(missing_stamps)}"
        )
    parsed: dict[str, list[tuple[str | None, dict[str, Any], str | None]]] = {}
    for mapping in mappings_for(contract, retailer_object, canonical_object):
        if mapping.canonical_column not in schema:
            raise contract.error(
                f"{mapping.retailer_column} maps to unknown canonical column "
                f"{canonical_object}.{mapping.canonical_column}"
            )
        present = mapping.retailer_column if mapping.retailer_column in delivered else None
        parsed.setdefault(mapping.canonical_column, []).append(
            (present, sources.get(mapping.retailer_column, {}), mapping.transform)
        )
    contract_values = {
        "retailer_code": profile.code,
        "currency": profile.currency,
        "country": profile.country,
    }
    return MappingPlan(
        profile,
        schema,
        parsed,
        tuple(c for c in ID_COLUMNS if c in parsed),
        {c: v for c, v in contract_values.items() if c in schema and c not in parsed},
        "updated_at" in schema and "updated_at" not in parsed,
        tuple(
            sorted(c for c in delivered if c not in mapped_anywhere and not c.startswith("_"))
            if extra_columns
            else ()
        ),
    )


def map_to_canonical(
    bronze: pl.DataFrame,
    contract: Contract,
    retailer_object: str,
    canonical: Contract,
    canonical_object: str,
    *,
    extra_columns: bool = True,
) -> pl.DataFrame:
    """One retailer object's promotable bronze rows as rows of a canonical object.

    The result has every column of the canonical object that the retailer can provide (missing
    ones are null), the lineage columns, and `_ingested_at`, `_delivery_id`, `_row_number` for
    ordering. `extra_columns=False` leaves `extra_attributes` null (the unmapped columns of a
    one-big-table file belong to the fact, not to the dimensions cut from it).
    """
    plan = mapping_plan(
        bronze.columns, contract, retailer_object, canonical, canonical_object, extra_columns=extra_columns
    )
    schema = plan.schema
    expressions: dict[str, pl.Expr] = {}
    for name, delivered in plan.parsed.items():
        parsed = [
            pl.lit(None, dtype=schema[name])
            if column is None
            else parse_expr(column, source, schema[name], transform, plan.profile)
            for column, source, transform in delivered
        ]
        expressions[name] = parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)
    for column in plan.prefixed:
        expressions[column] = pl.concat_str(
            [pl.lit(f"{plan.profile.code}:"), expressions[column].str.strip_chars()]
        )
    for column, value in plan.defaults.items():
        expressions[column] = pl.lit(value, dtype=schema[column])
    if plan.implied_updated_at:
        expressions["updated_at"] = implied_updated_at(bronze, contract, retailer_object, plan.profile)
    for stamp, name in STAMP_COLUMNS.items():
        expressions[name] = pl.col(stamp)
    expressions["extra_attributes"] = _extra_attributes(list(plan.extras))
    columns = [
        expressions.get(name, pl.lit(None)).cast(dtype, strict=False).alias(name)
        for name, dtype in schema.items()
    ]
    return bronze.select(*columns, *(pl.col(c) for c in ORDER_COLUMNS))


FACT_DATE_COLUMNS = ("sale_date", "week_end_date")


def business_date_column(contract: Contract, retailer_object: str) -> ColumnMapping | None:
    """The column of a retailer object that carries its business date (a fact's sale or week-end date)."""
    return next(
        (
            m
            for m in column_mappings(contract)
            if m.retailer_object == retailer_object and m.canonical_column in FACT_DATE_COLUMNS
        ),
        None,
    )


def implied_updated_at(
    bronze: pl.DataFrame, contract: Contract, retailer_object: str, profile: RetailerProfile
) -> pl.Expr:
    """`updated_at` of a retailer that sends none: the end of the latest business day of the row's
    delivery (local midnight after it, in UTC), so that it comes from the data and a rerun or a
    second demo gives the same value; the ingestion time when the object has no business date."""
    date = business_date_column(contract, retailer_object)
    if date is None or date.retailer_column not in bronze.columns:
        return pl.col("_ingested_at")
    source = retailer_columns(contract, retailer_object).get(date.retailer_column, {})
    latest = parse_expr(date.retailer_column, source, pl.Date(), None, profile).max().over("_delivery_id")
    return pl.coalesce([next_local_midnight_utc(latest, profile.timezone), pl.col("_ingested_at")])


def observation_columns(
    delivered: Sequence[str],
    contract: Contract,
    retailer_object: str,
    canonical_object: str,
    *,
    extra_columns: bool = True,
) -> list[str]:
    """The delivered columns a canonical object reads from a retailer object (and its unmapped ones)."""
    mapped = {m.retailer_column for m in mappings_for(contract, retailer_object, canonical_object)}
    if "updated_at" not in {
        m.canonical_column for m in mappings_for(contract, retailer_object, canonical_object)
    }:
        date = business_date_column(contract, retailer_object)
        mapped |= {date.retailer_column} if date else set()
    mapped_anywhere = {
        m.retailer_column for m in column_mappings(contract) if m.retailer_object == retailer_object
    }
    return [
        c
        for c in delivered
        if c in mapped or (extra_columns and not c.startswith("_") and c not in mapped_anywhere)
    ]


def distinct_observations(bronze: pl.LazyFrame, columns: list[str]) -> pl.DataFrame:
    """Identical rows of one delivery as one observation, the last of them (`_row_number`).

    A dimension cut from a one-big-table file sees the same product in every store's row; keeping
    one row per delivery and distinct value keeps every change and its delivery order, at a
    fraction of the rows. Aggregated by the streaming engine straight from the bronze scan, so the
    retailer's whole history is never materialised.
    """
    keys = [*columns, *(c for c in (*STAMP_COLUMNS, *ORDER_COLUMNS) if c != "_row_number")]
    return (
        bronze.group_by(list(dict.fromkeys(keys)))
        .agg(pl.col("_row_number").max())
        .collect(engine="streaming")
    )


def parse_failures(
    bronze: pl.DataFrame,
    mapped: pl.DataFrame,
    contract: Contract,
    retailer_object: str,
    canonical_object: str,
) -> dict[str, int]:
    """Per canonical column: delivered non-empty values that did not parse (so became null)."""
    failures = {}
    for mapping in mappings_for(contract, retailer_object, canonical_object):
        if mapping.retailer_column not in bronze.columns:
            continue
        delivered = bronze[mapping.retailer_column].cast(pl.String).str.strip_chars()
        lost = int(
            ((delivered.is_not_null() & (delivered != "")) & mapped[mapping.canonical_column].is_null()).sum()
        )
        if lost:
            failures[f"{mapping.retailer_column}->{mapping.canonical_column}"] = lost
    return failures


def next_local_midnight_utc(date: str | pl.Expr, timezone: str) -> pl.Expr:
    """The start of the local day after a calendar date, as a UTC instant: a version valid "on" the
    date is one that started strictly before it (where midnight does not exist, 01:00 is used)."""
    day = pl.col(date) if isinstance(date, str) else date
    midnight = (day + pl.duration(days=1)).cast(pl.Datetime("us"))
    return pl.coalesce(
        [
            (midnight + pl.duration(hours=shift)).dt.replace_time_zone(
                timezone, ambiguous="earliest", non_existent="null"
            )
            for shift in (0, 1)
        ]
    ).dt.convert_time_zone("UTC")
