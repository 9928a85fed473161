"""The Dagster UI on a finished demo, looked at in headless Chromium as a user reads it: node names
carry their retailer, a failed bronze check shows the failing delivery's own numbers, a batch silver
blocked is visibly blocked, and gold's lineage names every retailer. Screenshots of every page are
saved in the test's output folder (its `tmp_path`/screenshots), to be looked at."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from assets.plan import build_plan, gold_key
from assets.silver.publish import BLOCKED, silver_ledger, silver_quarantine_path
from checks.gate import BLOCKED_BY, QUARANTINE_REASONS
from shelfguard.settings import CONTRACTS_DIR
from tests.ui.browser import ui_browser
from tests.ui.conftest import DemoUi


def _blocked_bronze_delivery(demo_ui: DemoUi) -> dict:
    """The alp_de sales delivery the `nulls` fault blocked, with its null count read from quarantine."""
    ledger = pl.read_delta(str(demo_ui.home.warehouse / "bronze" / "_delivery_ledger"))
    (entry,) = ledger.filter(
        (pl.col("retailer_code") == "alp_de") & (pl.col("verdict") == "block")
    ).to_dicts()
    assert entry["blocking_rules"] == "Menge_nullValues"
    rows = pl.read_delta(entry["quarantine_path"]).filter(pl.col("_delivery_id") == entry["delivery_id"])
    return {**entry, "nulls": rows["Menge"].null_count(), "rows": rows.height}


def _blocked_silver_batch(demo_ui: DemoUi) -> dict:
    """The silver batch the demo's faults blocked (crl_au's facts lose their products) and its rule."""
    (entry,) = silver_ledger(demo_ui.home, pl.col("state") == BLOCKED).to_dicts()
    code, obj = entry["retailer_code"], entry["canonical_object"]
    quarantined = pl.read_delta(str(silver_quarantine_path(demo_ui.home, code, obj)))
    (rule,) = quarantined[BLOCKED_BY].explode().unique().to_list()
    return {"code": code, "object": obj, "rule": rule, "rows": entry["rows"],
            "delivery": entry["delivery_id"],
            "violating": quarantined.filter(pl.col(QUARANTINE_REASONS).list.contains(rule)).height}


@pytest.mark.slow
def test_the_ui_shows_retailers_failed_numbers_blocked_batches_and_gold_lineage(demo_ui: DemoUi,
                                                                                 tmp_path: Path):
    bronze = _blocked_bronze_delivery(demo_ui)
    silver = _blocked_silver_batch(demo_ui)
    plan = build_plan(CONTRACTS_DIR)
    gold = plan.node(gold_key("daily_store_fact"))
    feeding = sorted(plan.node(key).retailer for key in gold.deps)
    assert silver["code"] in feeding and len(feeding) >= 5

    shots = tmp_path / "screenshots"
    with ui_browser(demo_ui.ui.url, shots, tmp_path / "chromium-profile") as browser:
        graph = browser.open("1-asset-graph-alp_de", "/locations/shelfguard/asset-groups/alp_de/lineage",
                             "alp_de__sales", "alp_de__daily_store_fact")
        lines = set(graph.splitlines())
        for node in ("alp_de__sales", "alp_de__products", "alp_de__stores", "alp_de__prod_dim",
                     "alp_de__site_dim", "alp_de__daily_store_fact", "alp_de__weekly_store_fact"):
            assert node in lines, f"asset graph node {node} not shown"
        assert not lines & {"sales", "products", "stores"}, "a node without its retailer"

        failed = (f"{bronze['delivery_id']} ({Path(bronze['source']).name}) failed: "
                  f"value {float(bronze['nulls'])}, {bronze['nulls']} violating row(s): "
                  f"{bronze['nulls']} of {bronze['rows']} rows; blocks the batch")
        checks = browser.open("2-bronze-check-failed",
                              "/assets/bronze/alp_de__sales?view=checks&checkDetail=Menge_nullValues",
                              failed, "Failed", "quarantine_path")
        assert "This is a blocking asset check." in checks
        assert "Column Menge of sales" in checks and bronze["quarantine_path"] in checks

        table = f"{silver['code']}__{silver['object']}"
        silver_checks = browser.open(
            "3-silver-blocked-check", f"/assets/silver/{table}?view=checks&checkDetail={silver['rule']}",
            f"{silver['code']} batch of delivery {silver['delivery']} failed: "
            f"value {float(silver['violating'])}, {silver['violating']} violating row(s)", "Failed")
        assert "blocks the batch" in silver_checks
        events = browser.open("4-silver-blocked-materialization", f"/assets/silver/{table}?view=events",
                              "action", "rows_quarantined")
        assert "\nblocked\n" in events and f"\n{silver['rows']}\n" in events

        gold_events = browser.open("5-gold-held-back-retailer", "/assets/gold/daily_store_fact?view=events",
                                   "retailers_held_back_in_silver")
        assert f"not published: silver batch blocked by {silver['rule']}" in gold_events

        lineage = browser.open("6-gold-lineage",
                               "/assets/gold/daily_store_fact?view=lineage&lineageScope=upstream",
                               *[f"{code}__" for code in feeding])
        nodes = [line for line in lineage.splitlines() if "__" in line]
        assert sorted(line.split("__")[0] for line in nodes) == feeding, nodes
    for name in ("1-asset-graph-alp_de", "2-bronze-check-failed", "3-silver-blocked-check",
                 "4-silver-blocked-materialization", "5-gold-held-back-retailer", "6-gold-lineage"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
    print(f"screenshots: {shots}")
