"""Every channel and shape of the demo retailers through the generated bronze assets."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from assets.bronze import file_sha256
from assets.ledger import latest_attempts, read_ledger
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome


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
    key = dg.AssetKey(["bronze", "crl_au", "sales"])
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
