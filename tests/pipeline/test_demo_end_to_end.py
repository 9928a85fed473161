"""The invariants over a whole demo run with every fault: landing → bronze → silver → gold."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import polars as pl
import pytest

from assets.bronze import promotable_rows
from assets.ledger import current_deliveries, latest_attempts, read_ledger
from assets.lineage.graph import LineageStore
from assets.lineage.naming import table_dataset
from assets.lineage.validation import EventValidator
from assets.plan import CANONICAL_DIMS, CANONICAL_FACTS, CANONICAL_OBJECTS, build_plan
from checks.gate import run_gate
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import CONTRACTS_DIR, DataHome

pytestmark = pytest.mark.slow
SIZE = {"days": 8, "stores": 3, "products": 6}


def _run(home: DataHome) -> None:
    with demo_sources(home):
        run = run_pipeline(home, instance=dg.DagsterInstance.ephemeral())
    assert run.errors() == [], "faults block batches; they never break the pipeline"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("demo_e2e")).ensure()
    report = generate(home, faults=["all"], **SIZE)
    _run(home)
    return home, report


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
    home, _ = demo
    ledger = read_ledger(home.warehouse)
    for entry in latest_attempts(ledger).filter(pl.col("in_bronze")).iter_rows(named=True):
        assert entry["rows_published"] + entry["rows_quarantined"] == entry["rows"] or (
            entry["verdict"] == "block" and entry["rows_quarantined"] == entry["rows"]
        ), entry["delivery_id"]
    for (code, obj), _ in ledger.group_by("retailer_code", "object"):
        accepted = current_deliveries(ledger, code, obj)["rows_published"].sum()
        assert promotable_rows(home, code, obj).height == accepted


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


def test_every_lineage_event_validates_and_gold_traces_back_to_retailer_files(demo):
    home, _ = demo
    validator = EventValidator()
    events = [json.loads(line) for line in home.lineage_file.read_text().splitlines() if line.strip()]
    assert events
    problems = [f"{e['job']['name']} {e['eventType']}: {p}" for e in events for p in validator.errors(e)]
    assert problems == []
    store = LineageStore(events)
    gold = table_dataset(home, "gold", "daily_store_fact")
    traces = store.column_lineage(gold, "units_sold", depth=10)
    origins = {(o.dataset.name, o.field) for t in traces for o in t.origins()}
    assert any("/landing/nwg_us/" in name and field == "qty_sold" for name, field in origins), origins
    assert any("/landing/alp_de/" in name for name, _ in origins), origins
    graph = store.lineage(gold.node_id, depth=6)
    landing = [n for n in graph["graph"] if n["type"] == "DATASET" and "/landing/" in n["id"]]
    assert landing, "table-level edges lead from gold back to landing files"


def test_a_second_run_changes_nothing_and_keys_are_stable(demo, tmp_path):
    home, _ = demo
    before = {obj: _table(home, "gold", obj) for obj in CANONICAL_OBJECTS}
    _run(home)
    for obj, rows in before.items():
        after = _table(home, "gold", obj)
        key = [
            c
            for c in ("retailer_code", "product_sk", "site_sk", "sale_date", "week_end_date")
            if c in rows.columns
        ]
        assert after.sort(key).equals(rows.sort(key)), f"re-running changed gold {obj}"
    again = DataHome(tmp_path / "again").ensure()
    generate(again, faults=["all"], **SIZE)
    _run(again)
    for obj in CANONICAL_DIMS:
        key = "product_sk" if obj == "prod_dim" else "site_sk"
        first, second = _table(home, "gold", obj), _table(again, "gold", obj)
        assert sorted(first[key].to_list()) == sorted(second[key].to_list()), f"{obj} surrogate keys differ"
    shutil.rmtree(again.root)
