"""`shelfguard run` on landed demo files: every delivery through its retailer's ingest job to gold, a
line per delivery, the demo's report; a second call (with a re-delivered copy landed) adds nothing."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from assets.bronze.ledger import read_ledger
from assets.gold.publish import gold_path
from assets.plan import CANONICAL_OBJECTS
from assets.storage import tables
from shelfguard.cli import main
from shelfguard.demo_data import generate
from shelfguard.settings import DataHome


def _gold_versions(home: DataHome) -> dict[str, int | None]:
    return {name: tables.version(gold_path(home, name)) for name in CANONICAL_OBJECTS}


@pytest.mark.slow
def test_run_takes_landed_files_to_gold_and_a_second_call_adds_nothing(shelfguard_home, capsys):
    home = DataHome(shelfguard_home)
    generate(home, days=3, stores=2, products=4, retailers=["nwg_us", "alp_de"])
    landed = sorted((home.landing_for("nwg_us")).iterdir())
    assert main(["run", "--retailer", "nwg_us", "alp_de", "--until-idle"]) == 0
    out = capsys.readouterr().out
    assert f"nwg_us   {len(landed)} file(s) waiting" in out
    idle = out.split("looking again (--until-idle)")[1]
    assert "nwg_us   nothing waiting" in idle and "silver and gold: up to date" in idle
    for path in landed:
        assert path.name in out, "a line per delivery"
    assert "per retailer (rows)" in out and "gold tables (rows)" in out
    ledger = read_ledger(home.warehouse)
    assert set(ledger["verdict"]) == {"pass"} and set(ledger["retailer_code"]) == {"nwg_us", "alp_de"}
    gold = tables.read(gold_path(home, "daily_store_fact"))
    for code in ("nwg_us", "alp_de"):
        delivered = int(ledger.filter(pl.col("retailer_code") == code, pl.col("object").is_in(
            ["pos_daily", "sales"]))["rows"].sum())
        assert gold.filter(pl.col("retailer_code") == code).height == delivered > 0
    versions = _gold_versions(home)

    shutil.copy(landed[0], landed[0].with_name("copy_of_" + landed[0].name))  # re-delivered
    assert main(["run", "--retailer", "nwg_us", "alp_de"]) == 0
    again = capsys.readouterr().out
    assert "nwg_us   nothing waiting" in again and "alp_de   nothing waiting" in again
    assert "silver and gold: up to date" in again
    assert read_ledger(home.warehouse).height == ledger.height
    assert _gold_versions(home) == versions


def test_run_refuses_an_unknown_retailer_in_one_line(shelfguard_home, capsys):
    assert main(["run", "--retailer", "zzz_zz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("shelfguard run: unknown retailer zzz_zz; active retailers: ")
