"""The silver transformations on Spark give the Polars rows and keys, on the all-faults demo
deliveries of a one-big-table retailer (nwg_us) and a dimension-and-fact retailer (alp_de)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from assets.bronze.ingest import bronze_columns, ingest, promotable_rows
from assets.bronze.ingest import promotable_scan as polars_scan
from assets.intake.landing import landing_delivery, landing_files
from assets.plan import CANONICAL_DIMS, CANONICAL_FACTS, column_mappings
from assets.silver import mapping, transform
from assets.silver import spark_transform as spark_path
from assets.silver.mapping import ORDER_COLUMNS, STAMP_COLUMNS, RetailerProfile, canonical_schema
from assets.silver.publish import key_moment, read_master
from assets.silver.transform import DIMS, natural_key
from checks.contract import load_contract
from shelfguard.demo_data import generate
from shelfguard.demo_data.faults import FAULTS
from shelfguard.settings import DataHome

pytestmark = pytest.mark.spark

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
RETAILERS = ("nwg_us", "alp_de")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The all-faults demo deliveries of both retailers, taken into bronze (the Polars bronze step)."""
    home = DataHome(tmp_path_factory.mktemp("spark_silver") / "home").ensure()
    generate(home, days=14, stores=3, products=5, seed=11, faults=FAULTS, retailers=RETAILERS)
    contracts = {c: load_contract(CONTRACTS / "retailers" / c / f"{c}.odcs.yaml") for c in RETAILERS}
    for contract in contracts.values():
        for obj in contract.object_names:
            for path in landing_files(home, contract, obj):
                ingest(home, contract, landing_delivery(contract, obj, path))
    canonical = load_contract(CONTRACTS / "canonical" / "pos_canonical.odcs.yaml")
    master_contract = load_contract(CONTRACTS / "canonical" / "corporate_master.odcs.yaml")
    return home, contracts, canonical, master_contract, read_master(home, master_contract)


def _same(spark_rows, polars_rows: pl.DataFrame) -> None:
    """The same rows, values and types (row order aside)."""
    got = spark_path.to_polars(spark_rows).select(polars_rows.columns)
    assert got.schema == polars_rows.schema
    assert polars_rows.height > 0
    by_all = list(polars_rows.columns)
    assert got.sort(by_all, nulls_last=True).equals(polars_rows.sort(by_all, nulls_last=True))


def _dimension(engine, home, contract, canonical, master, master_data, dim, spark=None):
    code = RetailerProfile.from_contract(contract).code
    fact_fed = {m.retailer_object for m in column_mappings(contract) if m.canonical_object in CANONICAL_FACTS}
    observed = []
    for obj in mapping.feeding_objects(contract, dim):
        extra = obj not in fact_fed
        columns = mapping.observation_columns(
            bronze_columns(home, code, obj), contract, obj, dim, extra_columns=extra
        )
        wanted = [*columns, *STAMP_COLUMNS, *ORDER_COLUMNS]
        if engine == "spark":
            rows = spark_path.distinct_observations(
                spark_path.promotable_rows(spark, home, code, obj, columns=wanted), columns
            )
            observed.append(
                spark_path.map_to_canonical(rows, contract, obj, canonical, dim, extra_columns=extra)
            )
        else:
            rows = mapping.distinct_observations(polars_scan(home, code, obj, columns=wanted), columns)
            observed.append(
                mapping.map_to_canonical(rows, contract, obj, canonical, dim, extra_columns=extra)
            )
    enrichments = transform.enrichments(master, canonical, dim)
    schema = canonical_schema(canonical, dim)
    if engine == "spark":
        frames = observed[0]
        for more in observed[1:]:
            frames = frames.unionByName(more)
        return spark_path.build_dimension(frames, dim, schema, enrichments, master_data.rows)
    return transform.build_dimension(
        pl.concat(observed, how="vertical_relaxed"), dim, schema, enrichments, master_data.rows
    )


def _facts(engine, home, contract, canonical, dims, spark=None):
    code = RetailerProfile.from_contract(contract).code
    profile = RetailerProfile.from_contract(contract)
    fact = "daily_store_fact"
    sources = mapping.feeding_objects(contract, fact)
    key = natural_key(canonical, fact)
    as_of = key_moment(contract, fact)
    mapped = []
    for obj in sources:
        columns = [
            *mapping.observation_columns(bronze_columns(home, code, obj), contract, obj, fact),
            *STAMP_COLUMNS,
            *ORDER_COLUMNS,
        ]
        if engine == "spark":
            rows = spark_path.promotable_rows(spark, home, code, obj, columns=columns)
            mapped.append(spark_path.map_to_canonical(rows, contract, obj, canonical, fact))
        else:
            rows = promotable_rows(home, code, obj, columns=columns)
            mapped.append(mapping.map_to_canonical(rows, contract, obj, canonical, fact))
    module = spark_path if engine == "spark" else transform
    batch = mapped[0] if engine == "spark" else pl.concat(mapped, how="vertical_relaxed")
    for more in mapped[1:] if engine == "spark" else []:
        batch = batch.unionByName(more)
    batch, superseded = module.latest_per_key(batch, key)
    batch = module.point_in_time_keys(batch, dims, as_of=as_of, timezone=profile.timezone)
    schema = canonical_schema(canonical, fact)
    if engine == "spark":
        return batch.select(*schema.names()), superseded
    return batch.select(schema.names()), superseded


@pytest.mark.parametrize("code", RETAILERS)
def test_silver_on_spark_equals_silver_on_polars(spark, demo, code: str) -> None:
    home, contracts, canonical, master, master_data = demo
    contract = contracts[code]
    dims_polars, dims_spark = {}, {}
    for dim in CANONICAL_DIMS:
        want, want_reports = _dimension("polars", home, contract, canonical, master, master_data, dim)
        got, got_reports = _dimension("spark", home, contract, canonical, master, master_data, dim, spark)
        _same(got, want)
        assert [r.as_metadata() for r in got_reports] == [r.as_metadata() for r in want_reports]
        assert want[DIMS[dim].surrogate_key].null_count() == 0
        dims_polars[dim], dims_spark[dim] = want, spark_path.from_polars(spark, want)
    want, want_superseded = _facts("polars", home, contract, canonical, dims_polars)
    got, got_superseded = _facts("spark", home, contract, canonical, dims_spark, spark)
    _same(got, want)
    assert got_superseded == want_superseded
    weekly = canonical_schema(canonical, "weekly_store_fact")
    _same(
        spark_path.weekly_rollup(spark_path.from_polars(spark, want), weekly),
        transform.weekly_rollup(want, weekly),
    )
