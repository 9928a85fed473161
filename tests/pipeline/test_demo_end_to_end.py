"""The invariants over a whole demo run with every fault: landing → bronze → silver → gold."""

from __future__ import annotations

import json

import polars as pl
import pytest

from assets.bronze.ingest import promotable_rows
from assets.bronze.ledger import current_deliveries, latest_attempts, read_ledger
from assets.lineage.graph import LineageStore
from assets.lineage.naming import table_dataset
from assets.plan import (
    CANONICAL_DIMS,
    CANONICAL_FACTS,
    bronze_table,
    build_plan,
    retailer_code,
)
from assets.silver.mapping import feeding_objects
from assets.silver.publish import is_rollup, ledger_states, silver_ledger
from checks.gate import run_gate
from shelfguard.demo_report import pipeline_report
from shelfguard.settings import CONTRACTS_DIR, DataHome
from tests.lineage.validation import EventValidator

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(all_faults_demo):
    """The session's all-faults demo (tests/conftest.py), read only."""
    return all_faults_demo.home, all_faults_demo.report


def _table(home: DataHome, layer: str, name: str) -> pl.DataFrame | None:
    path = home.table(layer, name)
    return pl.read_delta(str(path)) if (path / "_delta_log").exists() else None


def test_no_published_row_violates_a_blocking_or_quarantine_rule(demo):
    home, _ = demo
    plan = build_plan(CONTRACTS_DIR)
    for node in plan.nodes:
        if node.layer == "bronze":
            continue
        rows = _table(home, node.layer, node.table)
        if rows is None or rows.is_empty():
            continue
        references = {}
        for dim in CANONICAL_DIMS:
            table = _table(home, node.layer, f"{node.retailer}__{dim}" if node.retailer else dim)
            if table is not None:
                references[dim] = table
        result = run_gate(plan.canonical, node.object, rows, references=references).result
        broken = [
            r.id for r in result.rules if r.on_violation in ("block", "quarantine") and r.violating_rows
        ]
        assert broken == [], f"{'/'.join(node.key)} publishes rows that break {broken}"


def test_every_bronze_row_is_promoted_quarantined_or_blocked(demo):
    """Row by row: every bronze row of a current delivery is promotable or quarantined with its
    reasons, never both; the other rows are in blocked deliveries or in ones a restatement superseded."""
    home, _ = demo
    ledger = read_ledger(home.warehouse)
    row_id = ["_delivery_id", "_row_number"]
    traced = 0
    for (code, obj), deliveries in latest_attempts(ledger).filter(pl.col("in_bronze")).group_by(
        "retailer_code", "object"
    ):
        current = current_deliveries(ledger, code, obj).select(
            pl.col("delivery_id").alias("_delivery_id"), pl.col("attempt").alias("_attempt")
        )
        blocked = deliveries.filter(pl.col("verdict") == "block")["delivery_id"].to_list()
        superseded = set(deliveries["delivery_id"]) - set(blocked) - set(current["_delivery_id"])
        rows = pl.read_delta(str(home.table("bronze", bronze_table(code, obj))), columns=row_id)
        in_current = rows.join(current.select("_delivery_id"), on="_delivery_id")
        quarantine_table = home.quarantine / "bronze" / bronze_table(code, obj)
        quarantined = (
            pl.read_delta(str(quarantine_table), columns=[*row_id, "_attempt", "quarantine_reasons"])
            .join(current, on=["_delivery_id", "_attempt"])
            .select(*row_id, "quarantine_reasons")
            if (quarantine_table / "_delta_log").exists()
            else in_current.clear().with_columns(pl.lit(None, pl.List(pl.String)).alias("quarantine_reasons"))
        )
        assert (quarantined["quarantine_reasons"].list.len() > 0).all(), f"{code} {obj}: no reason"
        promotable = promotable_rows(home, code, obj, columns=[]).select(row_id)
        assert promotable.join(quarantined, on=row_id).is_empty(), f"{code} {obj}: promoted and quarantined"
        untraced = in_current.join(promotable, on=row_id, how="anti").join(quarantined, on=row_id, how="anti")
        assert untraced.is_empty(), f"{code} {obj}: bronze rows neither promoted nor quarantined"
        others = rows.join(current.select("_delivery_id"), on="_delivery_id", how="anti")
        assert set(others["_delivery_id"]) <= set(blocked) | superseded
        traced += rows.height
    assert traced > 0


def test_every_promotable_fact_delivery_is_promoted_or_blocked_in_silver(demo):
    home, _ = demo
    plan = build_plan(CONTRACTS_DIR)
    ledger = read_ledger(home.warehouse)
    for node in plan.nodes:
        if node.layer != "silver" or node.object not in CANONICAL_FACTS:
            continue
        contract = next(c for c in plan.retailers if retailer_code(c) == node.retailer)
        if is_rollup(contract, node.object):
            continue
        promotable = {
            delivery
            for obj in feeding_objects(contract, node.object)
            for delivery in current_deliveries(ledger, node.retailer, obj)
            .filter(pl.col("rows_published") > 0)["delivery_id"]
        }
        states = ledger_states(home, node.retailer, node.object)
        assert {d: states.get(d) for d in promotable} == {
            d: states[d] for d in promotable if states.get(d) in ("promoted", "blocked")
        }, f"{'/'.join(node.key)}: accepted deliveries silver never took in"


def test_the_report_accounts_for_every_accepted_fact_row(demo):
    """Per retailer, the demo report's rows promoted to silver and the rows of fact batches silver
    blocked add up to the fact rows the bronze gate accepted; every blocked batch is listed."""
    home, _ = demo
    plan = build_plan(CONTRACTS_DIR)
    ledger = read_ledger(home.warehouse)
    report = pipeline_report(home)
    promoted = {row[0]: row[4] for row in report.retailers}
    blocked_deliveries = {row[0]: row[8] for row in report.retailers}
    listed = {(layer, table) for layer, table, *_ in report.blocked_batches}
    held_back = latest_attempts(ledger).filter(pl.col("verdict").is_in(["block", "unreadable"]))
    for contract in plan.retailers:
        code = retailer_code(contract)
        facts = [f for f in CANONICAL_FACTS if not is_rollup(contract, f)]
        accepted = sum(
            int(current_deliveries(ledger, code, obj)["rows_published"].sum())
            for fact in facts
            for obj in feeding_objects(contract, fact)
        )
        blocked = 0
        blocked_ids = set(held_back.filter(pl.col("retailer_code") == code)["delivery_id"])
        for fact in facts:
            mine = (pl.col("retailer_code") == code) & (pl.col("canonical_object") == fact)
            entries = silver_ledger(home, mine).filter(pl.col("state") == "blocked")
            blocked += int(entries["rows"].sum())
            blocked_ids |= set(entries["delivery_id"])
            if not entries.is_empty():
                assert ("silver", f"{code}__{fact}") in listed, f"{code} {fact}: blocked batch not reported"
        assert promoted[code] + blocked == accepted, code
        assert blocked_deliveries[code] >= len(blocked_ids), f"{code}: blocked deliveries undercounted"


def test_gold_reconciles_with_silver(demo):
    home, _ = demo
    plan = build_plan(CONTRACTS_DIR)
    for fact in CANONICAL_FACTS:
        date = "sale_date" if fact == "daily_store_fact" else "week_end_date"
        gold = _table(home, "gold", fact)
        assert gold is not None and not gold.is_empty()
        silver = pl.concat(
            [
                t
                for n in plan.nodes
                if n.layer == "silver" and n.object == fact
                if (t := _table(home, "silver", n.table)) is not None
            ],
            how="diagonal_relaxed",
        )
        totals = [
            frame.group_by("retailer_code", date)
            .agg(pl.col("units_sold", "net_sales").sum())
            .sort("retailer_code", date)
            for frame in (gold, silver)
        ]
        assert totals[0].equals(totals[1]), f"{fact}: gold totals differ from silver"


def test_every_lineage_event_validates_and_gold_traces_back_to_retailer_files(all_faults_demo):
    home = all_faults_demo.home
    validator = EventValidator()
    every = [json.loads(line) for line in home.lineage_file.read_text().splitlines() if line.strip()]
    assert every
    problems = [f"{e['job']['name']} {e['eventType']}: {p}" for e in every for p in validator.errors(e)]
    assert problems == []
    # traced through the first run's events: the later runs of the session's demo take in nothing new
    first = all_faults_demo.lineage_first.splitlines()
    store = LineageStore([json.loads(line) for line in first if line.strip()])
    gold = table_dataset(home, "gold", "daily_store_fact")
    traces = store.column_lineage(gold, "units_sold", depth=10)
    origins = {(o.dataset.name, o.field) for t in traces for o in t.origins()}
    assert any("/landing/nwg_us/" in name and field == "qty_sold" for name, field in origins), origins
    assert any("/landing/alp_de/" in name for name, _ in origins), origins
    graph = store.lineage(gold.node_id, depth=6)
    landing = [n for n in graph["graph"] if n["type"] == "DATASET" and "/landing/" in n["id"]]
    assert landing, "table-level edges lead from gold back to landing files"


def test_a_second_run_changes_nothing_and_keys_are_stable(all_faults_demo):
    for obj, rows in all_faults_demo.gold_first.items():
        after = all_faults_demo.gold_rerun[obj]
        key = [
            c
            for c in ("retailer_code", "product_sk", "site_sk", "sale_date", "week_end_date")
            if c in rows.columns
        ]
        assert after.sort(key).equals(rows.sort(key)), f"re-running changed gold {obj}"
    home, again = all_faults_demo.home, all_faults_demo.again  # the same demo generated and run again
    for obj in CANONICAL_DIMS:
        key = "product_sk" if obj == "prod_dim" else "site_sk"
        first, second = _table(home, "gold", obj), _table(again, "gold", obj)
        assert sorted(first[key].to_list()) == sorted(second[key].to_list()), f"{obj} surrogate keys differ"
