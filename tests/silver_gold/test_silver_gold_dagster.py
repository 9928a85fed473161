"""Silver and gold through Dagster: generated assets, checks with numbers, lineage, automation."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.silver_gold_assets import AUTOMATION, RECONCILIATION_CHECK
from tests.silver_gold.conftest import CONTRACTS, NWG_HEADER, deliver_nwg, nwg_line

SILVER_FACT = dg.AssetKey(["silver", "nwg_us", "daily_store_fact"])
GOLD_FACT = dg.AssetKey(["gold", "daily_store_fact"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(CONTRACTS)


def spec_of(defs: dg.Definitions, key: dg.AssetKey) -> dg.AssetSpec:
    return next(s for s in defs.resolve_all_asset_specs() if s.key == key)


def test_every_retailer_feeds_generated_silver_assets_and_one_gold_asset_per_table(defs):
    keys = {k for k in defs.get_repository_def().asset_graph.get_all_asset_keys() if k.path[0] != "bronze"}
    assert {k for k in keys if k.path[0] == "gold"} == {
        dg.AssetKey(["gold", t]) for t in ("prod_dim", "site_dim", "daily_store_fact", "weekly_store_fact")
    }
    assert dg.AssetKey(["silver", "pmp_ar", "weekly_store_fact"]) in keys
    assert dg.AssetKey(["silver", "pmp_ar", "daily_store_fact"]) not in keys
    spec = spec_of(defs, SILVER_FACT)
    assert spec.group_name == "silver" and spec.tags["retailer"] == "nwg_us"
    assert spec.automation_condition == AUTOMATION
    assert {d.asset_key for d in spec.deps} == {
        dg.AssetKey(["bronze", "nwg_us", "pos_daily"]),
        dg.AssetKey(["silver", "nwg_us", "prod_dim"]),
        dg.AssetKey(["silver", "nwg_us", "site_dim"]),
    }
    assert spec.metadata["contract_id"] == "urn:shelfguard:canonical:pos"
    checks = {
        c.name for c in defs.get_repository_def().asset_graph.asset_check_keys if c.asset_key == GOLD_FACT
    }
    assert {RECONCILIATION_CHECK, "daily_store_fact_primary_key", "product_sk_relationship"} <= checks


def test_a_delivery_flows_from_bronze_to_gold_with_check_results(defs, home):
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2")], day=6)
    selection = [
        k
        for k in defs.get_repository_def().asset_graph.get_all_asset_keys()
        if k.path[0] == "gold" or k.path[:2] == ["silver", "nwg_us"]
    ]
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=selection
    )
    assert result.success
    materialized = {
        m.asset_key: m for m in result.asset_materializations_for_node("silver__nwg_us__daily_store_fact")
    }
    metadata = materialized[SILVER_FACT].metadata
    assert metadata["action"].value == "published" and metadata["dagster/row_count"].value == 2
    lineage = metadata["dagster/column_lineage"].value
    assert lineage.deps_by_column["net_sales"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["bronze", "nwg_us", "pos_daily"]), column_name="sales_cents")
    ]
    gold = result.asset_materializations_for_node("gold__daily_store_fact")[0].metadata
    assert gold["rows_upserted"].value == 2 and gold["dagster/row_count"].value == 2
    assert len(gold["dagster/column_lineage"].value.deps_by_column["units_sold"]) == 8
    events = [json.loads(line) for line in home.lineage_file.read_text("utf-8").splitlines()]
    complete = [
        e
        for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "silver.nwg_us.daily_store_fact.gate"
    ]
    assert complete and "dataQualityAssertions" in complete[0]["inputs"][0]["inputFacets"]
    evaluations = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    assert evaluations[(GOLD_FACT, RECONCILIATION_CHECK)].passed
    assert evaluations[(SILVER_FACT, "daily_store_fact_primary_key")].passed


def test_a_new_bronze_delivery_requests_that_retailers_silver_and_gold_without_a_click(defs, home):
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    landing = home.landing_for("nwg_us")  # a new file for the bronze run to take in
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "nwg_pos_20260105.csv").write_text(f"{NWG_HEADER}\n{nwg_line(item='1')}\n")
    bronze = dg.AssetKey(["bronze", "nwg_us", "pos_daily"])
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance, asset_selection=[bronze]).success
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {
        key
        for key in defs.get_repository_def().asset_graph.get_all_asset_keys()
        if second.get_num_requested(key)
    }
    assert dg.AssetKey(["silver", "nwg_us", "prod_dim"]) in requested
    assert dg.AssetKey(["silver", "nwg_us", "daily_store_fact"]) in requested
    assert not any(key.path[:2] == ["silver", "alp_de"] for key in requested), "other retailers wait for data"
