"""Real bronze runs as the freshness sensor and the notifiers see them: a run that takes nothing in
is no delivery, and a blocked delivery tells the alert channels."""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.definitions.freshness import NOTIFIER_RESOURCE_KEY, build_freshness_sensor
from assets.definitions.resources.notifiers import NotifierResource
from checks.contract import load_contract
from tests.bronze.conftest import CONTRACTS, materialize_bronze, nwg_row, write_nwg

NWG_KEY = dg.AssetKey(["bronze", "nwg_us__pos_daily"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(CONTRACTS)


@pytest.fixture
def webhook_notifier(webhook, monkeypatch) -> NotifierResource:
    monkeypatch.setenv("SHELFGUARD_NOTIFIER", "webhook")
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_URL", webhook.url)
    return NotifierResource(backoff_seconds=0.01)


def test_a_run_that_takes_nothing_in_neither_delivers_nor_passes_checks(
        defs, shelfguard_home, instance, clock, webhook, webhook_notifier):
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20250227.csv", [nwg_row()])
    delivered = (clock.now - timedelta(days=3)).timestamp()
    os.utime(path, (delivered, delivered))
    assert materialize_bronze(defs, instance, NWG_KEY).success

    empty = materialize_bronze(defs, instance, NWG_KEY)  # the next poll: nothing new in the landing zone
    assert empty.success
    assert empty.asset_materializations_for_node(NWG_KEY.to_python_identifier()) == []
    assert empty.get_asset_check_evaluations() == [], "no green check over no data"

    sensor = build_freshness_sensor([load_contract(CONTRACTS / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")],
                                    clock=clock)
    sensor(dg.build_sensor_context(instance=instance, resources={NOTIFIER_RESOURCE_KEY: webhook_notifier}))
    [alert] = webhook.received
    assert alert["kind"] == "late"
    assert alert["last_delivery"] == (clock.now - timedelta(days=3)).isoformat().replace("+00:00", "Z")


def test_a_blocked_delivery_alerts_the_webhook_from_its_run(defs, shelfguard_home, instance, webhook,
                                                            webhook_notifier):
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", [nwg_row(item="")])
    result = materialize_bronze(defs, instance, NWG_KEY, files=[str(path)])
    [materialization] = result.asset_materializations_for_node(NWG_KEY.to_python_identifier())
    [alert] = webhook.received
    assert alert["kind"] == "gate_blocked"
    assert alert["status"] == "blocked"
    assert alert["asset"] == "bronze/nwg_us__pos_daily"
    assert alert["delivery_id"] == materialization.metadata["delivery_id"].value
    assert "item_nbr_nullValues" in alert["rule_ids"]
