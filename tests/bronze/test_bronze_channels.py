"""Every channel and shape of the demo retailers through the generated bronze assets."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl
import pytest

from assets.bronze.ingest import ingest
from assets.bronze.ledger import latest_attempts, read_ledger
from assets.definitions import build_definitions
from assets.intake.api import api_delivery
from assets.intake.landing import file_sha256
from assets.plan import server_options
from checks.contract import load_contract
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.retailer_api import set_api_faults
from shelfguard.settings import DataHome
from tests.bronze.conftest import CONTRACTS, materialize_bronze

CRL_SALES = dg.AssetKey(["bronze", "crl_au__sales"])
LATER = "2099-01-01 00:00:00"


@pytest.fixture(scope="module")
def clean_bronze(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("bronze_clean")).ensure()
    report = generate(home, days=8, stores=2, products=4)
    instance = dg.DagsterInstance.ephemeral()
    with demo_sources(home):
        run = run_pipeline(home, layers=("bronze",), instance=instance)
    return home, report, run, instance


def test_every_retailer_delivery_lands_in_bronze_and_passes_its_gate(clean_bronze):
    home, report, run, _ = clean_bronze
    assert run.bronze.success, run.errors()
    ledger = latest_attempts(read_ledger(home.warehouse))
    by_retailer = ledger.group_by("retailer_code").agg(pl.col("rows").sum(), pl.col("verdict").unique())
    verdicts = {r["retailer_code"]: set(r["verdict"]) for r in by_retailer.iter_rows(named=True)}
    assert set(verdicts) == set(report.retailers)
    for code, found in verdicts.items():
        assert found <= {"pass", "warn", "quarantine"}, (
            f"{code}: clean demo data must not be blocked: {found}"
        )
    delivered: dict[str, int] = {}
    contents: set[tuple[str, str, str]] = set()
    for delivery in report.deliveries:
        if delivery.retailer == "corporate":
            continue
        if delivery.channel == "landing":
            content = (delivery.retailer, delivery.object, file_sha256(home.root / delivery.location))
            if content in contents:
                continue  # a daily full snapshot identical to yesterday's is the same delivery again
            contents.add(content)
        delivered[delivery.retailer] = delivered.get(delivery.retailer, 0) + delivery.rows
    in_bronze = {r["retailer_code"]: r["rows"] for r in by_retailer.iter_rows(named=True)}
    assert in_bronze == delivered, "every delivered row is in bronze, each content once"


@pytest.mark.parametrize(
    ("code", "channel"), [("nwg_us", "landing"), ("crl_au", "database"), ("fjd_no", "api")]
)
def test_each_channel_is_recorded_in_the_ledger(clean_bronze, code, channel):
    home, *_ = clean_bronze
    ledger = read_ledger(home.warehouse).filter(pl.col("retailer_code") == code)
    assert set(ledger["channel"]) == {channel}
    assert "password" not in " ".join(ledger["source"].to_list())


def test_pull_channels_are_incremental_by_watermark(clean_bronze):
    home, _, _, instance = clean_bronze
    before = read_ledger(home.warehouse).height
    with demo_sources(home):
        again = run_pipeline(home, layers=("bronze",), instance=instance)
    assert again.bronze.success, again.errors()
    assert read_ledger(home.warehouse).height == before, "nothing new: no delivery is ingested twice"
    key = dg.AssetKey(["bronze", "crl_au__sales"])
    watermark = instance.get_latest_materialization_event(key).asset_materialization.metadata["watermark"]
    assert watermark.value


def test_api_failing_twice_then_succeeding_ingests_once(tmp_path):
    home = DataHome(tmp_path).ensure()
    generate(home, days=3, stores=2, products=3, retailers=["fjd_no"])
    instance = dg.DagsterInstance.ephemeral()
    with demo_sources(home, fail_next=2):
        run = run_pipeline(home, layers=("bronze",), retailers=["fjd_no"], instance=instance)
    assert run.bronze.success, run.errors()
    ledger = read_ledger(home.warehouse)
    assert ledger.filter(pl.col("retailer_code") == "fjd_no").group_by("object").len()["len"].to_list() == [
        1,
        1,
        1,
    ]


def test_api_timing_out_once_still_ingests_the_delivery_once(tmp_path):
    home = DataHome(tmp_path).ensure()
    generate(home, days=3, stores=2, products=3, retailers=["fjd_no"])
    contract = load_contract(CONTRACTS / "retailers" / "fjd_no" / "fjd_no.odcs.yaml")
    options = server_options(contract)
    with demo_sources(home) as exported:
        base_url, token = exported[options["locationEnv"]], exported[options["tokenEnv"]]
        set_api_faults(base_url, token, slow_next=1, slow_seconds=3)
        started = time.monotonic()
        delivery = api_delivery(contract, "salg", None, datetime.now(UTC), timeout=0.5, backoff=0.01)
        elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 3, "the first request timed out and the retry got the answer"
    assert ingest(home, contract, delivery) is not None
    assert ingest(home, contract, delivery) is None, "the same pull is ingested once"
    [entry] = read_ledger(home.warehouse).filter(pl.col("object") == "salg").iter_rows(named=True)
    assert entry["rows"] == delivery.frame.height > 0


def test_demo_sources_for_some_retailers_serve_only_theirs(tmp_path):
    home = DataHome(tmp_path).ensure()
    generate(home, days=2, stores=1, products=2, retailers=["fjd_no"])
    options = server_options(load_contract(CONTRACTS / "retailers" / "fjd_no" / "fjd_no.odcs.yaml"))
    with demo_sources(home, retailers=["nwg_us"]) as exported:
        assert exported == {}
    with demo_sources(home, retailers=["fjd_no"]) as exported:
        assert options["tokenEnv"] in exported


def _latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict:
    return instance.get_latest_materialization_event(key).asset_materialization.metadata


def test_replaying_an_old_pull_keeps_the_latest_watermark(tmp_path, monkeypatch):
    home = DataHome(tmp_path).ensure()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home.root))
    generate(home, days=2, stores=2, products=2, retailers=["crl_au"])
    defs = build_definitions(CONTRACTS)
    instance = dg.DagsterInstance.ephemeral()
    with demo_sources(home):
        assert materialize_bronze(defs, instance, CRL_SALES).success
        first = _latest_metadata(instance, CRL_SALES)
        with sqlite3.connect(home.sources / "crl_au.sqlite") as database:  # the retailer corrects a row
            database.execute(f"UPDATE sales SET qty = qty + 1, updated_at = '{LATER}' WHERE rowid = 1")
        assert materialize_bronze(defs, instance, CRL_SALES).success
        assert _latest_metadata(instance, CRL_SALES)["watermark"].value == LATER

        replayed = materialize_bronze(defs, instance, CRL_SALES, replay=[first["delivery_id"].value])
        assert replayed.success
        metadata = _latest_metadata(instance, CRL_SALES)
        assert metadata["delivery_id"].value == first["delivery_id"].value
        assert metadata["watermark"].value == LATER, "a replay does not move the pull back"

        ledger_size = read_ledger(home.warehouse).height
        assert materialize_bronze(defs, instance, CRL_SALES).success
        assert read_ledger(home.warehouse).height == ledger_size, "the next poll finds nothing new"
