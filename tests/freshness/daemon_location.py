"""Code location for the slow daemon test: one stand-in bronze asset, its `delivery_on_time` check,
and the freshness sensor, all from the contract named by `SHELFGUARD_TEST_CONTRACT`."""

import os

import dagster as dg

from assets.definitions.freshness import (
    NOTIFIER_RESOURCE_KEY,
    bronze_asset_keys,
    build_delivery_on_time_checks,
    build_freshness_sensor,
)
from assets.definitions.resources.notifiers import NotifierResource
from checks.contract import load_contract

contract = load_contract(os.environ["SHELFGUARD_TEST_CONTRACT"])

defs = dg.Definitions(
    assets=[dg.AssetSpec(key, group_name="bronze") for key in bronze_asset_keys(contract).values()],
    asset_checks=build_delivery_on_time_checks([contract]),
    sensors=[build_freshness_sensor([contract], minimum_interval_seconds=2)],
    resources={NOTIFIER_RESOURCE_KEY: NotifierResource(backoff_seconds=0.1)},
)
