"""`shelfguard replay`: a blocked delivery is gated again through Dagster and recorded as a new attempt."""

from __future__ import annotations

import polars as pl

from assets.bronze.ingest import ingest
from assets.bronze.ledger import read_ledger
from assets.intake.landing import landing_delivery
from shelfguard.cli import main
from shelfguard.settings import DataHome
from tests.bronze.conftest import nwg_row, write_nwg


def test_replay_records_a_new_attempt_and_exits_1_while_still_blocked(shelfguard_home, nwg_contract, capsys):
    home = DataHome(shelfguard_home).ensure()
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", [nwg_row(item="")])
    blocked = ingest(home, nwg_contract, landing_delivery(nwg_contract, "pos_daily", path))
    assert main(["replay", blocked.entry.delivery_id]) == 1
    out = capsys.readouterr().out
    assert f"{blocked.entry.delivery_id}: attempt 2 verdict block" in out and "item_nbr_nullValues" in out
    attempts = read_ledger(home.warehouse).filter(pl.col("delivery_id") == blocked.entry.delivery_id)
    assert sorted(attempts["attempt"].to_list()) == [1, 2]


def test_unknown_delivery_is_a_one_line_error(shelfguard_home, capsys):
    assert main(["replay", "nwg_us:pos_daily:0000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown delivery 'nwg_us:pos_daily:0000'" in err[0]
