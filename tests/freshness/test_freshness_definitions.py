"""Freshness policies and `delivery_on_time` checks as Dagster definitions, from the contracts."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import dagster as dg

from assets.definitions import build_definitions
from assets.definitions.freshness import (
    CHECK_NAME,
    NOTIFIER_RESOURCE_KEY,
    bronze_asset_keys,
    build_delivery_on_time_checks,
    build_freshness_sensor,
    canonical_freshness_policy,
    delivery_on_time_check_specs,
)
from assets.definitions.resources.notifiers import NotifierResource
from assets.plan import load_retailer_contracts, retailer_code
from checks.contract import load_contract
from checks.sla import sla_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
DAILY_NY = 'property: freshness\nvalue: 1\nunit: d\nscheduler: cron\nschedule: "0 6 * * *"'
WEEKLY_BERLIN = 'property: freshness\nvalue: 7\nunit: d\nscheduler: cron\nschedule: "0 9 * * 1"'


def test_a_cron_sla_becomes_a_cron_freshness_policy_in_the_contracts_zone(make_contract):
    """Where a policy is given (silver and gold, from the canonical SLA), a cron deadline is read in the
    contract's zone; a retailer contract stands in for a canonical one with a schedule."""
    contract = make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY)
    policy = canonical_freshness_policy(contract, "sales", [contract])
    assert isinstance(policy, dg.FreshnessPolicy)
    assert policy.deadline_cron == "0 6 * * *"
    assert policy.timezone == "America/New_York"
    assert policy.lower_bound_delta == timedelta(days=1)


def test_monthly_window_is_capped_at_the_shortest_month(make_contract):
    sla = 'property: freshness\nvalue: 34\nunit: d\nscheduler: cron\nschedule: "0 12 3 * *"'
    contract = make_contract("mon_uk", cadence="monthly", timezone="Europe/London", sla=sla)
    assert canonical_freshness_policy(contract, "sales", [contract]).lower_bound_delta == timedelta(days=28)


def test_canonical_sla_covers_daily_facts_widened_by_the_retailers_cadence(make_contract):
    canonical = load_contract(CONTRACTS_DIR / "canonical" / "pos_canonical.odcs.yaml")
    daily = make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY)
    weekly = make_contract("wek_de", cadence="weekly", timezone="Europe/Berlin", sla=WEEKLY_BERLIN)

    def window(*retailers) -> timedelta:
        policy = canonical_freshness_policy(canonical, "daily_store_fact", list(retailers))
        return policy.fail_window.to_timedelta()

    assert window(daily) == timedelta(days=3)  # silver of a daily retailer: 2 days behind, one day apart
    assert window(weekly) == timedelta(days=9)  # silver of a weekly retailer
    assert window(daily, weekly) == timedelta(days=3)  # gold, fed by both
    assert canonical_freshness_policy(canonical, "prod_dim", [daily]) is None


def test_silver_and_gold_tables_carry_the_canonical_freshness_policy():
    graph = build_definitions(CONTRACTS_DIR).resolve_asset_graph()
    canonical = load_contract(CONTRACTS_DIR / "canonical" / "pos_canonical.odcs.yaml")
    retailers = {retailer_code(c): c for c in load_retailer_contracts(CONTRACTS_DIR)}

    def window(*key: str) -> timedelta:
        return graph.get(dg.AssetKey(list(key))).freshness_policy.fail_window.to_timedelta()

    for code in ("nwg_us", "lks_ca"):
        expected = canonical_freshness_policy(canonical, "daily_store_fact", [retailers[code]])
        assert window("silver", f"{code}__daily_store_fact") == expected.fail_window.to_timedelta()
    assert window("silver", "lks_ca__daily_store_fact") == timedelta(days=9)  # a weekly retailer
    assert window("gold", "daily_store_fact") == timedelta(days=3)  # the daily retailers set the pace
    assert graph.get(dg.AssetKey(["gold", "prod_dim"])).freshness_policy is None
    assert graph.get(dg.AssetKey(["silver", "nwg_us__prod_dim"])).freshness_policy is None


def test_definitions_from_every_repository_contract_load():
    contracts = load_retailer_contracts(CONTRACTS_DIR)
    bronze = [dg.AssetSpec(key, group_name="bronze")
              for contract in contracts for key in bronze_asset_keys(contract).values()]
    defs = dg.Definitions(assets=bronze, asset_checks=build_delivery_on_time_checks(contracts),
                          sensors=[build_freshness_sensor(contracts)],
                          resources={NOTIFIER_RESOURCE_KEY: NotifierResource()})
    dg.Definitions.validate_loadable(defs)
    assert len(defs.resolve_asset_graph().asset_check_keys) == len(bronze)


def test_a_bronze_asset_s_freshness_is_its_delivery_on_time_check_alone():
    """A Dagster policy judges the materialization time, the SLA the delivery time: on the demo, which
    takes in every due delivery at once, a policy would call a withheld retailer fresh while the check
    calls it late. So bronze has the check and no policy, and they cannot disagree (ADR 0009)."""
    graph = build_definitions(CONTRACTS_DIR).resolve_asset_graph()
    bronze = [key for key in graph.get_all_asset_keys() if key.path[0] == "bronze"]
    assert bronze and all(graph.get(key).freshness_policy is None for key in bronze)
    on_time = {key.asset_key for key in graph.asset_check_keys if key.name == CHECK_NAME}
    with_sla = {key for contract in load_retailer_contracts(CONTRACTS_DIR)
                for name, key in bronze_asset_keys(contract).items() if sla_for(contract, name)}
    assert on_time == with_sla and with_sla


def test_check_runs_after_a_bronze_materialization(make_contract, instance):
    contract = make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY)
    [spec] = delivery_on_time_check_specs(contract)

    @dg.asset(key=spec.asset_key)
    def stand_in_bronze() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"delivery_id": "d1", "delivered_at": time.time()})

    result = dg.materialize([stand_in_bronze, *build_delivery_on_time_checks([contract])], instance=instance)
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME
    assert evaluation.passed
    assert evaluation.metadata["status"].value == "on_time"
