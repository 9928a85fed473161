"""Every fault of the demo generator through the generated bronze assets, and the bronze invariant."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.bronze.ingest import promotable_rows
from assets.bronze.ledger import current_deliveries, latest_attempts, read_ledger
from assets.intake.landing import file_sha256
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome

NOT_ACCEPTED = ("block", "unreadable")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("bronze_faults")).ensure()
    report = generate(home, days=8, stores=2, products=4, faults=["all"])
    with demo_sources(home):
        run = run_pipeline(home, layers=("bronze",), instance=dg.DagsterInstance.ephemeral())
    assert run.errors() == [], "faults block deliveries; they never break the pipeline"
    assert run.blocked_steps(), "blocked deliveries fail their blocking checks"
    ledger = latest_attempts(read_ledger(home.warehouse))
    injections = {(i.fault, i.variant): i for i in report.injections}
    return home, report, ledger, injections


def _entry(home: DataHome, ledger: pl.DataFrame, location: str) -> dict:
    source = str((home.root / location).resolve())
    rows = ledger.filter(pl.col("source") == source)
    assert rows.height == 1, f"{location}: expected one ledger entry, found {rows.height}"
    return rows.row(0, named=True)


@pytest.mark.parametrize(
    ("fault", "variant"),
    [
        ("truncated_file", "binary"),
        ("empty_file", None),
        ("missing_column", None),
        ("wrong_delimiter", None),
        ("wrong_encoding", None),
    ],
)
def test_unreadable_deliveries_are_kept_as_files_in_quarantine(faulty, fault, variant):
    home, _, ledger, injections = faulty
    injection = injections[(fault, variant)]
    entry = _entry(home, ledger, injection.location)
    assert entry["verdict"] == "unreadable" and not entry["in_bronze"]
    kept = Path(entry["quarantine_path"])
    assert kept.read_bytes() == (home.root / injection.location).read_bytes()
    reason = json.loads(kept.with_name(kept.name + ".reason.json").read_text())["reason"]
    assert reason
    if injection.column:
        assert injection.column in reason, "the reason names the missing column"


@pytest.mark.parametrize("fault", ["nulls", "invalid_codes", "negative_units", "duplicate_keys"])
def test_violating_rows_never_become_promotable(faulty, fault):
    home, _, ledger, injections = faulty
    injection = injections[(fault, None)]
    if injection.location.startswith("sources/"):
        entries = ledger.filter(
            (pl.col("retailer_code") == injection.retailer) & (pl.col("object") == injection.object)
        )
        entry = entries.row(0, named=True)
    else:
        entry = _entry(home, ledger, injection.location)
    assert entry["rows_quarantined"] >= (injection.rows_affected or 1)
    assert entry["rows_published"] == entry["rows"] - entry["rows_quarantined"]
    quarantine = pl.read_delta(str(home.quarantine / "bronze" / f"{injection.retailer}__{injection.object}"))
    mine = quarantine.filter(pl.col("_delivery_id") == entry["delivery_id"])
    assert mine.height == entry["rows_quarantined"]
    assert all(reasons for reasons in mine["quarantine_reasons"].to_list())
    promotable = promotable_rows(home, injection.retailer, injection.object)
    assert promotable.join(
        mine.select("_delivery_id", "_row_number"), on=["_delivery_id", "_row_number"]
    ).is_empty()


def test_partial_last_row_of_a_truncated_text_file_is_not_promoted(faulty):
    home, _, ledger, injections = faulty
    injection = injections[("truncated_file", "text")]
    entry = _entry(home, ledger, injection.location)
    assert entry["verdict"] in NOT_ACCEPTED or entry["rows_published"] <= injection.rows_affected


def test_renamed_column_is_not_accepted(faulty):
    home, _, ledger, injections = faulty
    injection = injections[("renamed_column", None)]
    entry = _entry(home, ledger, injection.location)
    assert entry["verdict"] in NOT_ACCEPTED
    assert injection.column in entry["reason"] + entry["blocking_rules"]


def test_redelivered_file_is_ingested_once(faulty):
    home, _, ledger, injections = faulty
    injection = injections[("redelivered_file", None)]
    digest = file_sha256(home.root / injection.location)
    assert file_sha256(home.root / injection.second_location) == digest
    assert ledger.filter(pl.col("content_sha256") == digest).height == 1


def test_restated_file_supersedes_the_first(faulty):
    home, _, ledger, injections = faulty
    injection = injections[("restated_file", None)]
    first = _entry(home, ledger, injection.location)
    second = _entry(home, ledger, injection.second_location)
    assert first["period"] == second["period"]
    current = current_deliveries(read_ledger(home.warehouse), injection.retailer, injection.object)
    assert second["delivery_id"] in current["delivery_id"].to_list()
    assert first["delivery_id"] not in current["delivery_id"].to_list()
    promotable = promotable_rows(home, injection.retailer, injection.object)
    assert first["delivery_id"] not in promotable["_delivery_id"].to_list()


def test_bronze_invariant_every_row_accounted_for_once(faulty):
    """Every delivered row is in bronze or its file in quarantine; every bronze row of a delivery is
    promotable, quarantined with a reason, or part of a blocked delivery; nothing counted twice."""
    home, report, ledger, _ = faulty
    seen_contents = set(read_ledger(home.warehouse)["content_sha256"])
    for delivery in report.deliveries:
        if delivery.channel == "landing" and delivery.retailer != "corporate":
            assert file_sha256(home.root / delivery.location) in seen_contents, delivery.location
    for entry in ledger.iter_rows(named=True):
        table = f"{entry['retailer_code']}__{entry['object']}"
        if not entry["in_bronze"]:
            assert Path(entry["quarantine_path"]).exists()
            continue
        bronze = pl.scan_delta(str(home.table("bronze", table))).filter(
            pl.col("_delivery_id") == entry["delivery_id"]
        )
        assert bronze.select(pl.len()).collect().item() == entry["rows"], "bronze holds the delivery once"
        quarantined = 0
        if entry["quarantine_path"]:
            quarantine = pl.read_delta(entry["quarantine_path"]).filter(
                (pl.col("_delivery_id") == entry["delivery_id"]) & (pl.col("_attempt") == entry["attempt"])
            )
            assert quarantine["_row_number"].n_unique() == quarantine.height, "a row is quarantined once"
            assert all(quarantine["quarantine_reasons"].list.len() > 0)
            quarantined = quarantine.height
        assert quarantined == entry["rows_quarantined"]
        if entry["verdict"] == "block":
            assert quarantined == entry["rows"] and entry["rows_published"] == 0
        else:
            assert entry["rows_published"] + quarantined == entry["rows"]
    for (code, obj), _ in ledger.group_by("retailer_code", "object"):
        current = current_deliveries(read_ledger(home.warehouse), code, obj)
        promotable = promotable_rows(home, code, obj)
        assert promotable.height == current["rows_published"].sum()
