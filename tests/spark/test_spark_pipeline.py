"""A retailer whose contract says `executionEngine: spark` gets silver built on Spark, and the same
deliveries give the same silver and gold rows, keys, quarantine and ledger as on Polars: the
all-faults demo of a one-big-table retailer (nwg_us) and a dimension-and-fact retailer (alp_de)."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from assets.bronze.ingest import ingest
from assets.gold.publish import (
    gold_path,
    gold_quarantine_path,
    prepare_batches,
    publish_gold,
    reconcile,
    spark_reconcile,
    taken_versions,
)
from assets.intake.landing import landing_delivery, landing_files
from assets.plan import CANONICAL_OBJECTS, fed_objects
from assets.silver import spark_transform
from assets.silver.publish import (
    publish_silver,
    read_master,
    silver_ledger,
    silver_path,
    silver_quarantine_path,
)
from assets.storage import tables
from checks.contract import Contract, load_contract
from shelfguard.demo_data import generate
from shelfguard.demo_data.faults import FAULTS
from shelfguard.settings import DataHome

pytestmark = pytest.mark.spark

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
RETAILERS = ("nwg_us", "alp_de")


def on_engine(contract: Contract, engine: str) -> Contract:
    chosen = copy.deepcopy(contract)
    chosen.document.setdefault("customProperties", []).append(
        {"property": "executionEngine", "value": engine}
    )
    return chosen


def run_silver_and_gold(home: DataHome, contracts: dict[str, Contract]) -> dict[str, list]:
    canonical = load_contract(CONTRACTS / "canonical" / "pos_canonical.odcs.yaml")
    master = load_contract(CONTRACTS / "canonical" / "corporate_master.odcs.yaml")
    master_data = read_master(home, master)
    outcomes: dict[str, list] = {}
    for code, contract in contracts.items():
        for canonical_object in fed_objects(contract):
            outcome = publish_silver(
                home, contract, canonical, master, canonical_object, master_data=master_data
            )
            outcomes.setdefault(code, []).append(outcome)
    on_spark = [code for code, contract in contracts.items() if contract.execution_engine == "spark"]
    for canonical_object in CANONICAL_OBJECTS:
        outcomes.setdefault("gold", []).extend(
            publish_gold(home, canonical, canonical_object, list(contracts), on_spark=on_spark)
        )
    return outcomes


def table(path: Path, drop: tuple[str, ...] = ()) -> pl.DataFrame:
    rows = pl.read_delta(str(path)) if tables.exists(path) else pl.DataFrame()
    rows = rows.drop([c for c in rows.columns if c in drop or c == "_quarantined_at"])
    return rows.sort(rows.columns, nulls_last=True) if rows.columns else rows


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> DataHome:
    home = DataHome(tmp_path_factory.mktemp("spark_pipeline") / "landing").ensure()
    generate(home, days=14, stores=3, products=5, seed=11, faults=FAULTS, retailers=RETAILERS)
    return home


def ingest_half(home: DataHome, half: int) -> None:
    """Take in the first (0) or the second (1) week of every retailer's deliveries, at a fixed moment,
    so that both engines' homes hold the same bronze before each silver and gold run."""
    for code in RETAILERS:
        contract = load_contract(CONTRACTS / "retailers" / code / f"{code}.odcs.yaml")
        for obj in contract.object_names:
            files = landing_files(home, contract, obj)
            middle = len(files) // 2
            now = datetime(2026, 1, 10 + half, 6, tzinfo=UTC)
            for path in files[:middle] if half == 0 else files[middle:]:
                ingest(home, contract, landing_delivery(contract, obj, path), now=now)


def test_spark_retailers_get_the_polars_silver_and_gold(
    spark, landing: DataHome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapped_on_spark: list[str] = []
    spark_mapping = spark_transform.map_to_canonical

    def counted(bronze, contract, retailer_object, *args, **kwargs):
        mapped_on_spark.append(f"{contract.custom['retailerCode']}/{retailer_object}")
        return spark_mapping(bronze, contract, retailer_object, *args, **kwargs)

    monkeypatch.setattr(spark_transform, "map_to_canonical", counted)
    homes = {}
    results = {}
    for engine in ("polars", "spark"):
        home = DataHome(tmp_path / engine)
        shutil.copytree(landing.root, home.root)
        contracts = {
            code: on_engine(load_contract(CONTRACTS / "retailers" / code / f"{code}.odcs.yaml"), engine)
            for code in RETAILERS
        }
        outcomes = []
        for half in (0, 1):  # a first load, then an incremental run (new days, late weeks, roll-up)
            ingest_half(home, half)
            outcomes.append(run_silver_and_gold(home, contracts))
        homes[engine] = home
        results[engine] = {code: [o for run in outcomes for o in run[code]] for code in outcomes[0]}
        assert bool(mapped_on_spark) == (engine == "spark"), mapped_on_spark
    polars_home, spark_home = homes["polars"], homes["spark"]
    compared = 0
    for code in RETAILERS:
        for canonical_object in CANONICAL_OBJECTS:
            for path_of in (silver_path, silver_quarantine_path):
                want = table(path_of(polars_home, code, canonical_object))
                got = table(path_of(spark_home, code, canonical_object))
                assert got.equals(want), (
                    f"{path_of(spark_home, code, canonical_object)} differs: {got.shape} on Spark, "
                    f"{want.shape} on Polars\n{got.head(5)}\n{want.head(5)}"
                )
                compared += want.height
    for canonical_object in CANONICAL_OBJECTS:
        want, got = (
            table(polars_home.table("gold", canonical_object)),
            table(spark_home.table("gold", canonical_object)),
        )
        assert want.height > 0 and got.equals(want), f"gold {canonical_object} differs"
        assert table(gold_quarantine_path(spark_home, canonical_object)).equals(
            table(gold_quarantine_path(polars_home, canonical_object))
        )
    assert (
        silver_ledger(spark_home)
        .drop("recorded_at")
        .sort("delivery_id", "canonical_object")
        .equals(silver_ledger(polars_home).drop("recorded_at").sort("delivery_id", "canonical_object"))
    )

    def said(outcomes) -> list[tuple]:
        return [
            (
                o.canonical_object,
                o.action,
                o.rows_in,
                o.rows_quarantined,
                o.rows_superseded,
                o.rows_written,
                o.parse_failures,
                o.unmatched,
            )
            for o in outcomes
        ]

    for code in RETAILERS:
        assert said(results["spark"][code]) == said(results["polars"][code])
    assert compared > 0
    assert {m.split("/")[0] for m in mapped_on_spark} == set(RETAILERS)
    assert all(o.gate is not None for c in RETAILERS for o in results["spark"][c] if o.rows_in)


def test_reconciliation_on_spark_finds_what_polars_finds(spark, landing: DataHome, tmp_path: Path) -> None:
    home = DataHome(tmp_path / "home")
    shutil.copytree(landing.root, home.root)
    ingest_half(home, 0)
    contracts = {c: load_contract(CONTRACTS / "retailers" / c / f"{c}.odcs.yaml") for c in RETAILERS}
    run_silver_and_gold(home, contracts)
    ingest_half(home, 1)
    run_silver_and_gold(home, {"alp_de": contracts["alp_de"]})  # nwg_us's second week: silver only
    canonical = load_contract(CONTRACTS / "canonical" / "pos_canonical.odcs.yaml")
    publish_silver(
        home,
        contracts["nwg_us"],
        canonical,
        load_contract(CONTRACTS / "canonical" / "corporate_master.odcs.yaml"),
        "daily_store_fact",
    )
    found = 0
    for since in (None, taken_versions(gold_path(home, "daily_store_fact"))["nwg_us"]):
        for batch in prepare_batches(home, canonical, "daily_store_fact", "nwg_us", since):
            assert reconcile(home, canonical, batch, batch.upserts).is_empty()
            assert spark_reconcile(spark, home, canonical, batch, batch.upserts).is_empty()
            wrong = batch.upserts.with_columns(
                pl.when(pl.int_range(pl.len()) == 0)
                .then(pl.col("units_sold") + 1)
                .otherwise("units_sold")
                .alias("units_sold")
            )
            want = reconcile(home, canonical, batch, wrong)
            got = spark_reconcile(spark, home, canonical, batch, wrong)
            assert want.height == 1 and got.select(want.columns).cast(dict(want.schema)).equals(want)
            found += 1
    assert found == 2
