"""Bronze ingestion without Dagster: what lands, what the ledger says, what is promotable."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from assets.bronze.ingest import ingest, promotable_rows, replay
from assets.bronze.ledger import latest_attempts, read_ledger
from assets.intake.landing import landing_delivery
from shelfguard.settings import DataHome
from tests.bronze.conftest import HEADER, nwg_row, write_nwg


def _home(path: Path) -> DataHome:
    return DataHome(path).ensure()


def test_clean_delivery_is_published_whole(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    path = write_nwg(
        home.landing_for("nwg_us"), "nwg_pos_20261102.csv", [nwg_row(item=str(5000 + i)) for i in range(5)]
    )
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome.entry.verdict == "pass"
    assert (outcome.entry.rows, outcome.entry.rows_published, outcome.entry.rows_quarantined) == (5, 5, 0)
    rows = promotable_rows(home, "nwg_us", "pos_daily")
    assert rows.height == 5
    assert rows["_secure_group_key"].unique().to_list() == ["SG_NWG_US"]
    assert rows["_data_provider_code"].unique().to_list() == ["DP-1001"]
    assert rows["qty_sold"].dtype == pl.String


def test_bad_rows_are_quarantined_with_their_rules_and_never_promoted(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    good = [nwg_row(item=str(5000 + i)) for i in range(40)]
    bad_upc = nwg_row(item="6001", upc="12AB")
    negative = nwg_row(item="6002", qty="-2")
    both = nwg_row(item="6003", upc="99", qty="-1")
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", [*good, bad_upc, negative, both])
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome.entry.verdict == "quarantine"
    assert (outcome.entry.rows, outcome.entry.rows_published, outcome.entry.rows_quarantined) == (43, 40, 3)
    quarantine = pl.read_delta(str(home.quarantine / "bronze" / "nwg_us__pos_daily"))
    reasons = {row["item_nbr"]: sorted(row["quarantine_reasons"]) for row in quarantine.iter_rows(named=True)}
    assert reasons == {
        "6001": ["nwg_upc_format"],
        "6002": ["nwg_qty_not_negative"],
        "6003": ["nwg_qty_not_negative", "nwg_upc_format"],
    }
    promoted = promotable_rows(home, "nwg_us", "pos_daily")
    assert promoted.height == 40
    assert not set(promoted["item_nbr"]) & {"6001", "6002", "6003"}
    bronze = pl.read_delta(str(home.table("bronze", "nwg_us__pos_daily")))
    assert bronze.height == 43, "bronze keeps every delivered row"


def test_blocked_delivery_keeps_rows_in_bronze_and_publishes_nothing(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    rows = [nwg_row(item=str(5000 + i)) for i in range(10)] + [nwg_row(item="")]
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", rows)
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome.entry.verdict == "block"
    assert "item_nbr_nullValues" in outcome.entry.blocking_rules
    assert promotable_rows(home, "nwg_us", "pos_daily").is_empty()
    assert pl.read_delta(str(home.table("bronze", "nwg_us__pos_daily"))).height == 11
    quarantine = pl.read_delta(str(home.quarantine / "bronze" / "nwg_us__pos_daily"))
    assert quarantine.height == 11
    reasons = dict(quarantine.select("item_nbr", "quarantine_reasons").rows())
    assert reasons.pop(None) == ["blocked", "item_nbr_nullValues"], "the row keeps the rule it broke"
    assert set(map(tuple, reasons.values())) == {("blocked",)}, "held back with the batch, no rule broken"
    assert all("item_nbr_nullValues" in rules for rules in quarantine["blocked_by"].to_list())


def test_same_content_twice_is_ingested_once(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    rows = [nwg_row(item=str(5000 + i)) for i in range(3)]
    first = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", rows)
    again = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102_copy.csv", rows)
    assert ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", first)) is not None
    assert ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", again)) is None
    assert read_ledger(home.warehouse).height == 1
    assert promotable_rows(home, "nwg_us", "pos_daily").height == 3


def test_restatement_supersedes_the_earlier_delivery_of_its_period(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    folder = home.landing_for("nwg_us")
    original = write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001", qty="3")])
    corrected = write_nwg(
        folder, "nwg_pos_20261102_v2.csv", [nwg_row(item="5001", qty="4"), nwg_row(item="5002", qty="1")]
    )
    other_day = write_nwg(folder, "nwg_pos_20261103.csv", [nwg_row(day="11/03/2026", item="5001", qty="9")])
    for path in (original, other_day, corrected):
        ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    promoted = promotable_rows(home, "nwg_us", "pos_daily").sort("business_date", "item_nbr")
    assert promoted.select("business_date", "item_nbr", "qty_sold").rows() == [
        ("11/02/2026", "5001", "4"),
        ("11/02/2026", "5002", "1"),
        ("11/03/2026", "5001", "9"),
    ]
    assert pl.read_delta(str(home.table("bronze", "nwg_us__pos_daily"))).height == 4


def test_blocked_restatement_does_not_supersede(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    folder = home.landing_for("nwg_us")
    original = write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001", qty="3")])
    broken = write_nwg(folder, "nwg_pos_20261102_v2.csv", [nwg_row(item="", qty="4")])
    for path in (original, broken):
        ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert promotable_rows(home, "nwg_us", "pos_daily")["qty_sold"].to_list() == ["3"]


def test_unreadable_file_is_kept_in_quarantine_with_its_reason(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    folder = home.landing_for("nwg_us")
    folder.mkdir(parents=True)
    path = folder / "nwg_pos_20261102.csv"
    path.write_bytes(b"\x00\x01\x02PK\x03\x04 not a csv \xff\xfe" * 20)
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome.entry.verdict == "unreadable"
    kept = Path(outcome.entry.quarantine_path)
    assert kept.read_bytes() == path.read_bytes()
    reason = json.loads(kept.with_name(kept.name + ".reason.json").read_text())
    assert "nwg_pos_20261102.csv" in reason["source"] and reason["reason"]
    assert not (home.table("bronze", "nwg_us__pos_daily") / "_delta_log").exists()


def test_missing_required_column_rejects_the_file_naming_the_column(shelfguard_home, nwg_contract):
    home = _home(shelfguard_home)
    header = HEADER.replace("item_nbr", "item_number")
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", [nwg_row()], header=header)
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome.entry.verdict == "unreadable"
    assert "item_nbr" in outcome.entry.reason
    assert Path(outcome.entry.quarantine_path).exists()


def test_replay_after_contract_fix_accepts_the_delivery(shelfguard_home, nwg_contract, tmp_path):
    home = _home(shelfguard_home)
    rows = [nwg_row(item=str(5000 + i), upc="12345678") for i in range(10)]
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", rows)
    blocked = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert blocked.entry.verdict == "block", "every UPC has 8 digits: over the 5 % quarantine threshold"
    fixed_text = nwg_contract.path.read_text().replace(
        'pattern: "[0-9]{12}"', 'pattern: "[0-9]{8}|[0-9]{12}"'
    )
    fixed_path = tmp_path / "nwg_us.odcs.yaml"
    fixed_path.write_text(fixed_text)
    from checks.contract import load_contract

    outcome = replay(home, load_contract(fixed_path), blocked.entry.delivery_id)
    assert (outcome.entry.attempt, outcome.entry.verdict) == (2, "pass")
    ledger = latest_attempts(read_ledger(home.warehouse))
    assert ledger.height == 1 and ledger["verdict"].to_list() == ["pass"]
    assert promotable_rows(home, "nwg_us", "pos_daily").height == 10
    assert pl.read_delta(str(home.table("bronze", "nwg_us__pos_daily"))).height == 10, (
        "replay does not re-append"
    )


def test_column_delivered_under_its_physical_name_lands_under_the_property_name(
        shelfguard_home, nwg_contract, tmp_path):
    """`physicalName: ITEM_NUMBER` on `item_nbr`: the delivered column maps to the property."""
    from checks.contract import load_contract

    text = nwg_contract.path.read_text().replace(
        "      - name: item_nbr\n        logicalType: string\n",
        "      - name: item_nbr\n        physicalName: ITEM_NUMBER\n        logicalType: string\n", 1)
    assert "physicalName: ITEM_NUMBER" in text
    contract_path = tmp_path / "nwg_us.odcs.yaml"
    contract_path.write_text(text)
    contract = load_contract(contract_path)
    home = _home(shelfguard_home)
    header = HEADER.replace("item_nbr", "ITEM_NUMBER")
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv",
                     [nwg_row(item=str(5000 + i)) for i in range(3)], header=header)
    outcome = ingest(home, contract, landing_delivery(contract, "pos_daily", path))
    assert (outcome.entry.verdict, outcome.entry.rows_published) == ("pass", 3), outcome.entry.reason
    rows = promotable_rows(home, "nwg_us", "pos_daily")
    assert "ITEM_NUMBER" not in rows.columns
    assert sorted(rows["item_nbr"]) == ["5000", "5001", "5002"]
