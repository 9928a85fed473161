"""The durability tools in-process, fast: roll-back of bronze rows whose ledger entry never landed,
orphan files removed after a crash, commit conflicts retried, watermarks read from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake.exceptions import CommitFailedError

from assets.bronze.ingest import ingest
from assets.bronze.ledger import LEDGER_SCHEMA, last_watermark, read_ledger
from assets.intake.landing import landing_delivery
from assets.silver.publish import BLOCKED, PROMOTED, SILVER_LEDGER, record_states
from assets.storage import durability
from assets.storage.durability import guarded, orphan_files, retry_commit
from checks.contract import Contract, load_contract
from shelfguard.settings import DataHome
from tests.bronze.conftest import CONTRACTS, nwg_row, write_nwg


@pytest.fixture(scope="module")
def nwg_contract() -> Contract:
    return load_contract(CONTRACTS / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")


class Crash(Exception):
    """Stands in for the process dying at a commit point."""


def test_rows_whose_ledger_entry_never_landed_are_rolled_back_before_the_delivery_is_taken_again(
    shelfguard_home, nwg_contract, monkeypatch
):
    home = DataHome(shelfguard_home).ensure()
    rows = [nwg_row(item=str(5000 + i)) for i in range(40)] + [nwg_row(item="6001", qty="-2")]
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", rows)
    delivery = landing_delivery(nwg_contract, "pos_daily", path)

    def die(name: str) -> None:
        if name == "bronze.data":
            raise Crash(name)

    monkeypatch.setattr("assets.bronze.ingest.kill_point", die)
    with pytest.raises(Crash):
        ingest(home, nwg_contract, delivery)
    bronze = home.table("bronze", "nwg_us__pos_daily")
    quarantine = home.quarantine / "bronze" / "nwg_us__pos_daily"
    assert pl.read_delta(str(bronze)).height == 41 and read_ledger(home.warehouse).is_empty()

    monkeypatch.undo()
    outcome = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert outcome is not None and outcome.entry.verdict == "quarantine"
    assert pl.read_delta(str(bronze)).height == 41, "taken in once, not twice"
    assert pl.read_delta(str(quarantine)).height == 1
    assert read_ledger(home.warehouse).height == 1
    assert ingest(home, nwg_contract, delivery) is None, "and not a third time"


def test_a_writer_after_a_crash_removes_data_files_no_commit_references(shelfguard_home):
    home = DataHome(shelfguard_home).ensure()
    table = home.table("silver", "t")
    pl.DataFrame({"k": [1, 2]}).write_delta(str(table))
    pl.DataFrame({"k": [3]}).write_delta(str(table), mode="append")
    referenced = sorted(table.glob("*.parquet"))
    with pytest.raises(Crash), guarded(home, "silver__t", [table]):
        (table / "part-killed-mid-write.parquet").write_bytes(b"PAR1")
        raise Crash("killed before its commit")
    assert orphan_files(table) == [table / "part-killed-mid-write.parquet"]
    with guarded(home, "silver__t", [table]) as guard:
        assert guard.removed_files == [table / "part-killed-mid-write.parquet"]
    assert sorted(table.glob("*.parquet")) == referenced
    assert pl.read_delta(str(table))["k"].sort().to_list() == [1, 2, 3]
    with guarded(home, "silver__t", [table]) as guard:
        assert guard.recovered is None and guard.removed_files == []


def test_a_commit_that_lost_a_race_is_tried_again(monkeypatch):
    monkeypatch.setattr(durability, "FIRST_BACKOFF_SECONDS", 0.001)
    calls = []

    def commit() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise CommitFailedError("a concurrent transaction added new data")
        return 7

    assert retry_commit(commit) == 7 and len(calls) == 3
    with pytest.raises(CommitFailedError):
        retry_commit(lambda: (_ for _ in ()).throw(CommitFailedError("always")), attempts=2)


def test_the_next_pull_starts_at_the_watermark_of_the_latest_first_attempt():
    assert last_watermark(pl.DataFrame(schema=LEDGER_SCHEMA), "crl_au", "sales") is None
    ledger = pl.DataFrame(
        {
            "retailer_code": ["crl_au", "crl_au", "crl_au", "fjd_no"],
            "object": ["sales", "sales", "sales", "sales"],
            "attempt": [1, 1, 2, 1],
            "watermark": ["2026-11-01", "2026-11-03", "2026-11-01", "2026-12-31"],
            "ingested_at": [datetime(2026, 11, 2, h, tzinfo=UTC) for h in (1, 2, 3, 4)],
        }
    )
    # the replay (attempt 2) of the first pull does not move the watermark back
    assert last_watermark(ledger, "crl_au", "sales") == "2026-11-03"


def test_a_delivery_blocked_again_by_a_rerun_is_recorded_once(shelfguard_home):
    home = DataHome(shelfguard_home).ensure()
    delivery = "nwg_us:pos_daily:1"
    for _ in range(2):
        record_states(home, "nwg_us", "daily_store_fact", {delivery: BLOCKED}, "block", {})
    record_states(home, "nwg_us", "daily_store_fact", {delivery: PROMOTED}, "pass", {delivery: 3})
    rows = pl.read_delta(str(home.table("silver", SILVER_LEDGER))).sort("recorded_at")
    assert rows["state"].to_list() == [BLOCKED, PROMOTED]
