"""The invariant over a demo run with every fault: silver and gold hold no violating row, gold
reconciles with silver, and running again (or re-delivering a day) changes nothing."""

from __future__ import annotations

import polars as pl
import pytest

from assets.gold.publish import gold_path
from assets.plan import CANONICAL_FACTS, CANONICAL_OBJECTS, build_plan
from assets.silver.transform import FACT_DATES
from assets.storage import tables
from checks.gate import run_gate
from tests.silver_gold.conftest import CONTRACTS

pytestmark = pytest.mark.slow


def layer_tables(home, layer: str) -> dict[str, pl.DataFrame]:
    folder = home.warehouse / layer
    return (
        {
            p.name: pl.read_delta(str(p))
            for p in sorted(folder.iterdir())
            if tables.exists(p) and not p.name.startswith("_")
        }
        if folder.is_dir()
        else {}
    )


def test_a_demo_with_every_fault_keeps_the_invariant_and_is_repeatable(all_faults_demo):
    home = all_faults_demo.home
    plan = build_plan(CONTRACTS)
    silver, gold = layer_tables(home, "silver"), layer_tables(home, "gold")
    assert set(gold) == set(CANONICAL_OBJECTS)
    for name, rows in [*silver.items(), *gold.items()]:
        canonical_object = name.split("__")[-1]
        references = {dim: gold[dim] for dim in ("prod_dim", "site_dim")}
        result = run_gate(plan.canonical, canonical_object, rows, references=references).result
        violated = [r.id for r in result.rules if r.on_violation != "warn" and r.violating_rows]
        assert violated == [], f"{name} holds rows that violate {violated}"
    for fact in CANONICAL_FACTS:
        date_column = FACT_DATES[fact]
        by_date = ["retailer_code", date_column]
        in_silver = pl.concat([rows for name, rows in silver.items() if name.endswith(fact)])
        totals = [
            frame.group_by(by_date).agg(pl.col("units_sold").sum(), pl.col("net_sales").sum()).sort(by_date)
            for frame in (in_silver, gold[fact])
        ]
        assert totals[0].equals(totals[1]), f"gold {fact} does not reconcile with silver"

    # the same day delivered again, and nothing else new, changes no gold table
    assert all_faults_demo.versions_redelivered == all_faults_demo.versions_first
    second = all_faults_demo.again  # the same deliveries in another home (without the copy)
    for obj in CANONICAL_OBJECTS:
        key = [c for c in gold[obj].columns if c != "ingested_at"]
        first_rows = pl.read_delta(str(gold_path(home, obj))).select(key).sort(key)
        second_rows = pl.read_delta(str(gold_path(second, obj))).select(key).sort(key)
        assert first_rows.equals(second_rows), f"a second demo run gives another gold {obj}"
