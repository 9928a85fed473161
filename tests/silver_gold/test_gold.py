"""Gold: MERGE per retailer partition, idempotent, audited (gate and reconciliation) before publish."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from deltalake import DeltaTable

from assets.gold.publish import (
    gold_path,
    gold_quarantine_path,
    prepare_batches,
    publish_batch,
    publish_gold,
    taken_versions,
)
from assets.silver.publish import MasterData, publish_silver
from assets.storage import tables
from tests.silver_gold.conftest import deliver_alp, deliver_nwg, nwg_line, retailer
from tests.silver_gold.test_silver_publish import OBJECTS, _without_bronze_gtin_rule, run_all

CODES = ["alp_de", "nwg_us"]


def silver_all(home, canonical, master) -> None:
    for code in CODES:
        for obj in OBJECTS:
            publish_silver(home, retailer(code), canonical, master, obj, master_data=MasterData())


def gold_all(home, canonical) -> dict:
    return {obj: publish_gold(home, canonical, obj, CODES) for obj in OBJECTS}


def two_retailers(home) -> None:
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2", qty="4")], day=6)
    deliver_alp(home, "products", "20260105", ["4006381333931;Tee;M;W;05.01.2026 08:00:00"], day=5)
    deliver_alp(
        home, "stores", "20260105", ["7;4012345000009;Markt 7;Ulm;BW;City;01.01.2026 08:00:00"], day=5
    )
    deliver_alp(home, "sales", "20260105", ["05.01.2026;7;4006381333931;2;3,98;;05.01.2026 21:00:00"], day=6)


def partition_files(path, code: str) -> set[str]:
    actions = pl.DataFrame(DeltaTable(str(path)).get_add_actions(flatten=True))
    return set(actions.filter(pl.col("partition.retailer_code") == code)["path"])


def test_gold_is_the_union_of_silver_partitioned_by_retailer(home, canonical, master):
    two_retailers(home)
    silver_all(home, canonical, master)
    outcomes = gold_all(home, canonical)
    assert all(o.action == "published" for results in outcomes.values() for o in results)
    facts = tables.read(gold_path(home, "daily_store_fact"))
    assert facts.group_by("retailer_code").len().sort("retailer_code").rows() == [
        ("alp_de", 1),
        ("nwg_us", 2),
    ]
    assert DeltaTable(str(gold_path(home, "daily_store_fact"))).metadata().partition_columns == [
        "retailer_code"
    ]
    assert taken_versions(gold_path(home, "daily_store_fact")) == {"alp_de": 0, "nwg_us": 0}
    weekly = tables.read(gold_path(home, "weekly_store_fact"))
    assert weekly.height == 3
    assert DeltaTable(str(gold_path(home, "weekly_store_fact"))).metadata().partition_columns == [
        "retailer_code",
        "week_end_date",
    ]


def test_running_gold_again_changes_nothing(home, canonical, master):
    two_retailers(home)
    silver_all(home, canonical, master)
    gold_all(home, canonical)
    before = {obj: tables.version(gold_path(home, obj)) for obj in OBJECTS}
    silver_all(home, canonical, master)
    again = gold_all(home, canonical)
    assert {obj: tables.version(gold_path(home, obj)) for obj in OBJECTS} == before
    assert {o.action for results in again.values() for o in results} == {"unchanged"}


def test_one_retailers_new_day_touches_only_its_partition(home, canonical, master):
    two_retailers(home)
    silver_all(home, canonical, master)
    gold_all(home, canonical)
    path = gold_path(home, "daily_store_fact")
    alp_files = partition_files(path, "alp_de")
    deliver_nwg(home, "nwg_pos_20260106.csv", [nwg_line(day="01/06/2026", item="1", qty="7")], day=7)
    deliver_nwg(
        home, "nwg_pos_20260105_v2.csv", [nwg_line(item="1", qty="9"), nwg_line(item="2", qty="4")], day=7
    )
    silver_all(home, canonical, master)
    outcomes = {o.retailer_code: o for o in publish_gold(home, canonical, "daily_store_fact", CODES)}
    assert outcomes["alp_de"].action == "unchanged" and outcomes["nwg_us"].action == "published"
    assert outcomes["nwg_us"].rows_upserted == 3, "the new day and the two restated rows (new delivery id)"
    assert partition_files(path, "alp_de") == alp_files
    facts = tables.read(path).filter(pl.col("retailer_code") == "nwg_us").sort("sale_date", "product_id")
    assert facts["units_sold"].to_list() == [Decimal("9.000"), Decimal("4.000"), Decimal("7.000")]
    metrics = DeltaTable(str(path)).history(1)[0]
    assert metrics["operation"] == "MERGE"
    predicate = metrics["operationParameters"]["predicate"]
    assert predicate.startswith("retailer_code = 'nwg_us' AND sale_date >= ")


def test_reconciliation_with_silver_blocks_a_batch_that_would_not_total(home, canonical, master):
    two_retailers(home)
    silver_all(home, canonical, master)
    (batch,) = prepare_batches(home, canonical, "daily_store_fact", "nwg_us", None)
    batch.upserts = batch.upserts.with_columns(pl.col("units_sold") + 1)
    outcome = publish_batch(home, canonical, batch)
    assert outcome.action == "blocked" and outcome.blocked_by == ["reconciliation"]
    assert outcome.reconciliation[0]["units_sold"] != outcome.reconciliation[0]["units_sold_silver"]
    assert not tables.exists(gold_path(home, "daily_store_fact"))
    quarantined = tables.read(gold_quarantine_path(home, "daily_store_fact"))
    assert quarantined.height == 2
    assert quarantined["quarantine_reasons"].to_list() == [["blocked"]] * 2, "no row breaks a rule itself"
    assert quarantined["blocked_by"].to_list() == [["reconciliation"]] * 2
    others = publish_gold(home, canonical, "daily_store_fact", CODES)
    assert {o.retailer_code: o.action for o in others} == {"alp_de": "published", "nwg_us": "published"}


def test_a_silver_publish_during_a_gold_run_neither_blocks_nor_leaks_into_its_batch(home, canonical, master):
    """Gold reads silver at one version (its changes and the reconciliation): a restatement that
    silver publishes meanwhile is the next gold run's, not a false reconciliation failure."""
    two_retailers(home)
    silver_all(home, canonical, master)
    (first,) = prepare_batches(home, canonical, "daily_store_fact", "nwg_us", None)
    deliver_nwg(
        home, "nwg_pos_20260105_v2.csv", [nwg_line(item="1", qty="9"), nwg_line(item="2", qty="4")], day=7
    )
    silver_all(home, canonical, master)
    outcome = publish_batch(home, canonical, first)
    assert (outcome.action, outcome.blocked_by) == ("published", [])
    assert taken_versions(gold_path(home, "daily_store_fact")) == {"nwg_us": first.silver_version}
    (restated,) = prepare_batches(home, canonical, "daily_store_fact", "nwg_us", first.silver_version)
    assert restated.silver_version > first.silver_version
    assert publish_batch(home, canonical, restated).action == "published"
    facts = tables.read(gold_path(home, "daily_store_fact")).sort("product_id")
    assert facts["units_sold"].to_list() == [Decimal("9.000"), Decimal("4.000")]


def test_a_large_batch_is_published_in_parts_by_date_and_the_version_recorded_last(
    home, canonical, master, monkeypatch
):
    monkeypatch.setattr("assets.gold.publish.CHUNK_ROWS", 2)
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2")], day=6)
    deliver_nwg(home, "nwg_pos_20260106.csv", [nwg_line(day="01/06/2026", item="1")], day=7)
    for obj in OBJECTS:
        publish_silver(home, retailer("nwg_us"), canonical, master, obj, master_data=MasterData())
    outcomes = publish_gold(home, canonical, "daily_store_fact", ["nwg_us"])
    assert [(o.part, o.rows_upserted) for o in outcomes] == [("1/2", 2), ("2/2", 1)]
    history = DeltaTable(str(gold_path(home, "daily_store_fact"))).history()
    assert [h.get("shelfguard.silver_version") for h in history[:2]] == ["0", None]
    assert tables.read(gold_path(home, "daily_store_fact")).height == 3


def test_a_tables_version_is_its_latest_commit_read_from_the_log(home):
    path = home.table("gold", "scratch")
    assert tables.version(path) is None
    rows = pl.DataFrame({"k": [1, 2], "v": ["a", "b"]})
    for number in range(3):
        changed = rows.with_columns(pl.lit(str(number)).alias("v"))
        tables.publish_changes(path, changed, rows.select("k").clear(), ["k"])
        assert tables.version(path) == DeltaTable(str(path)).version() == number


def test_gold_says_a_retailer_is_missing_because_silver_blocked_it(home, canonical, master):
    contract = _without_bronze_gtin_rule(retailer("nwg_us"))
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2", upc="12AB")], day=6,
                contract=contract)
    silver = run_all(home, canonical, master, contract=contract)["daily_store_fact"]
    assert silver.blocked
    (fact,) = publish_gold(home, canonical, "daily_store_fact", ["nwg_us"])
    rules = ", ".join(sorted(silver.gate.blocking_rule_ids))
    assert fact.action == "unchanged"
    assert fact.note == (f"not published: silver batch blocked by {rules}; "
                         f"1 delivery held back: {silver.deliveries[0]}")
