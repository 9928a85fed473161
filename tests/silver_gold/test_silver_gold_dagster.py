"""Silver and gold through Dagster: generated assets, checks with numbers, lineage, automation."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import polars as pl
import pytest
from ruamel.yaml import YAML

from assets.definitions import build_definitions
from assets.definitions.gold_views import GOLD_VIEWS_KEY
from assets.definitions.silver_gold import AUTOMATION, RECONCILIATION_CHECK
from assets.gold.publish import gold_path
from assets.storage import tables
from tests.silver_gold.conftest import (
    ALP_FILES,
    ALP_HEADERS,
    CONTRACTS,
    NWG_HEADER,
    deliver_nwg,
    land,
    nwg_line,
)

SILVER_FACT = dg.AssetKey(["silver", "nwg_us__daily_store_fact"])
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
    } | {GOLD_VIEWS_KEY}
    assert dg.AssetKey(["silver", "pmp_ar__weekly_store_fact"]) in keys
    assert dg.AssetKey(["silver", "pmp_ar__daily_store_fact"]) not in keys
    spec = spec_of(defs, SILVER_FACT)
    assert spec.group_name == "nwg_us" and spec.tags["retailer"] == "nwg_us" and "silver" in spec.kinds
    assert spec.automation_condition == AUTOMATION
    assert {d.asset_key for d in spec.deps} == {
        dg.AssetKey(["bronze", "nwg_us__pos_daily"]),
        dg.AssetKey(["silver", "nwg_us__prod_dim"]),
        dg.AssetKey(["silver", "nwg_us__site_dim"]),
    }
    assert spec.metadata["contract_id"] == "urn:shelfguard:canonical:pos"
    checks = {
        c.name for c in defs.get_repository_def().asset_graph.asset_check_keys if c.asset_key == GOLD_FACT
    }
    assert {RECONCILIATION_CHECK, "daily_store_fact_primary_key", "product_sk_relationship"} <= checks


def test_a_delivery_flows_from_bronze_to_gold_with_check_results(defs, home):
    lines = [nwg_line(item="1"), nwg_line(item="2", upc="012345678912")]
    deliver_nwg(home, "nwg_pos_20260105.csv", lines, day=6)
    selection = [
        k
        for k in defs.get_repository_def().asset_graph.get_all_asset_keys()
        if k.path[0] == "gold" or (k.path[0] == "silver" and k.path[1].startswith("nwg_us__"))
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
        dg.TableColumnDep(asset_key=dg.AssetKey(["bronze", "nwg_us__pos_daily"]), column_name="sales_cents")
    ]
    products = result.asset_materializations_for_node("silver__nwg_us__prod_dim")[0].metadata
    (unmatched,) = products["unmatched_master_keys"].value  # no product master delivered yet
    assert (unmatched["master"], unmatched["unmatched"], products["unmatched_count"].value) == (
        "product_master",
        2,
        2,
    )
    gold = result.asset_materializations_for_node("gold__daily_store_fact")[0].metadata
    assert gold["rows_upserted"].value == 2 and gold["dagster/row_count"].value == 2
    assert len(gold["dagster/column_lineage"].value.deps_by_column["units_sold"]) == 8
    events = [json.loads(line) for line in home.lineage_file.read_text("utf-8").splitlines()]
    complete = [
        e
        for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "silver.nwg_us__daily_store_fact.gate"
    ]
    assert complete and "dataQualityAssertions" in complete[0]["inputs"][0]["inputFacets"]
    evaluations = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    assert evaluations[(GOLD_FACT, RECONCILIATION_CHECK)].passed
    assert evaluations[(SILVER_FACT, "daily_store_fact_primary_key")].passed


def without_bronze_upc_rule(tmp_path) -> dg.Definitions:
    """The project's contracts, with nwg_us's bronze UPC rule removed: a bad UPC then passes bronze
    and the canonical GTIN rule blocks that retailer's batch in silver."""
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    path = contracts / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    yaml = YAML()
    document = yaml.load(path)
    upc = next(p for p in document["schema"][0]["properties"] if p["name"] == "upc")
    del upc["quality"]
    yaml.dump(document, path)
    return build_definitions(contracts)


@pytest.mark.slow
def test_deliveries_reach_gold_by_automation_and_a_blocked_batch_stops_only_its_retailer(tmp_path, home):
    defs = without_bronze_upc_rule(tmp_path)
    nwg_lines = [NWG_HEADER, nwg_line(item="1"), nwg_line(item="2", upc="12AB")]
    land(home, "nwg_us", "nwg_pos_20260105.csv", nwg_lines)
    alp = {
        "products": "4006381333931;Tee;M;W;05.01.2026 08:00:00",
        "stores": "7;4012345000009;Markt 7;Ulm;BW;City;01.01.2026 08:00:00",
        "sales": "05.01.2026;7;4006381333931;2;3,98;;05.01.2026 21:00:00",
    }
    for obj, line in alp.items():
        land(home, "alp_de", f"{ALP_FILES[obj]}_20260105.csv", [ALP_HEADERS[obj], line], encoding="latin-1")
    instance = dg.DagsterInstance.ephemeral()
    sensors = [s for s in defs.sensors if isinstance(s, dg.AutomationConditionSensorDefinition)]
    keys = defs.resolve_asset_graph().get_all_asset_keys()

    def tick(sensor: dg.AutomationConditionSensorDefinition, cursor=None):
        return dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=sensor.asset_selection, cursor=cursor
        )

    cursors = {sensor.name: tick(sensor).cursor for sensor in sensors}
    job = defs.resolve_implicit_global_asset_job_def()
    bronze = [dg.AssetKey(["bronze", "nwg_us__pos_daily"])] + [
        dg.AssetKey(["bronze", f"alp_de__{obj}"]) for obj in alp
    ]
    assert job.execute_in_process(instance=instance, asset_selection=bronze).success  # as the sensors do

    runs, evaluations = [], {}
    for _ in range(4):  # the automation sensors' ticks, each followed by the runs they request
        requested_this_tick = []
        for sensor in sensors:
            result = tick(sensor, cursors[sensor.name])
            cursors[sensor.name] = result.cursor
            requested = [k for k in keys if result.get_num_requested(k)]
            if requested:
                requested_this_tick.append((sensor.name, requested))
        if not requested_this_tick:
            break
        for name, requested in requested_this_tick:
            run = job.execute_in_process(instance=instance, asset_selection=requested, raise_on_error=False)
            runs.append((name, set(requested), run))
            evaluations.update({(e.asset_key, e.check_name): e for e in run.get_asset_check_evaluations()})
    assert runs, "no tick requested anything"
    assert not requested_this_tick, "the automation settles once everything is up to date"
    for name, selected, _ in runs:  # a run never mixes retailers or layers
        assert len({k.path[0] for k in selected}) == 1, (name, selected)
        silver = {k.path[1].split("__")[0] for k in selected if k.path[0] == "silver"}
        assert len(silver) <= 1, (name, selected)
    status = {name: run.success for name, _, run in runs}
    assert status["automation_nwg_us"] is False, "nwg_us's blocked batch fails its own run"
    assert status["automation_alp_de"] and status["automation_gold"] and status["automation_reader_views"]
    ran = set().union(*(selected for _, selected, _ in runs))
    assert {dg.AssetKey(["gold", t]) for t in ("prod_dim", "site_dim", "daily_store_fact")} <= ran
    waiting = [k for k in ran if k.path[0] == "silver" and k.path[1].startswith("kst_uk__")]
    assert not waiting, "retailers without data wait"

    gold = tables.read(gold_path(home, "daily_store_fact"))
    assert gold["retailer_code"].to_list() == ["alp_de"], "nwg_us's blocked batch stops nwg_us only"
    assert tables.read(gold_path(home, "prod_dim")).filter(pl.col("retailer_code") == "nwg_us").is_empty()
    blocked_key = dg.AssetKey(["silver", "nwg_us__prod_dim"])
    blocked = instance.get_latest_materialization_event(blocked_key)
    assert blocked.asset_materialization.metadata["action"].value == "blocked"
    failed = evaluations[(blocked_key, "prod_dim_gtin_format")]
    assert not failed.passed and failed.metadata["violating_rows"].value == 1
    graph = defs.resolve_asset_graph()
    assert graph.get_check_spec(dg.AssetCheckKey(blocked_key, "prod_dim_gtin_format")).blocking
    assert evaluations[(dg.AssetKey(["silver", "alp_de__prod_dim"]), "prod_dim_gtin_format")].passed
