"""The demo report counts quarantined rows under the rules they break, and apart from them the rows
held back only because their delivery or batch was blocked."""

from __future__ import annotations

from assets.bronze.ingest import ingest
from assets.intake.landing import landing_delivery
from checks.contract import load_contract
from shelfguard.demo_report import HELD_BACK, pipeline_report
from shelfguard.settings import DataHome
from tests.bronze.conftest import nwg_row, write_nwg
from tests.conftest import CONTRACTS_DIR

CONTRACT = load_contract(CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")


def test_a_blocked_delivery_s_rows_count_under_their_rule_and_as_held_back(shelfguard_home):
    home = DataHome(shelfguard_home).ensure()
    broken = [nwg_row(item=""), nwg_row(item="", store="102", qty="-1")]
    rows = [nwg_row(item=str(5000 + i)) for i in range(10)] + broken
    path = write_nwg(home.landing_for("nwg_us"), "nwg_pos_20261102.csv", rows)
    assert ingest(home, CONTRACT, landing_delivery(CONTRACT, "pos_daily", path)).entry.verdict == "block"
    counts = {rule: count for layer, table, code, rule, count in pipeline_report(home).quarantine
              if (layer, table, code) == ("bronze", "nwg_us__pos_daily", "nwg_us")}
    assert counts == {"item_nbr_nullValues": 2, "nwg_qty_not_negative": 1, HELD_BACK["bronze"]: 10}
    assert "blocked" not in counts
