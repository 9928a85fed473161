"""Per-object SLAs: an SLA whose `element` names an object judges that object's asset (check,
freshness report) instead of the contract's; an object delivered once (`refresh: once`) is never late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.definitions.freshness import delivery_on_time_check_specs, delivery_statuses
from checks.contract import load_contract
from checks.sla import DeliveryStatus

DAILY = """\
  - property: freshness
    value: 1
    unit: d
    scheduler: cron
    schedule: "0 8 * * *"
    element: verkoop.datum
"""
WEEKLY_ARTICLES = """\
  - property: freshness
    value: 7
    unit: d
    scheduler: cron
    schedule: "0 8 * * 1"
    element: artikelen
"""
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:shelfguard:retailer:hvn_nl
name: hvn_nl
version: 1.0.0
status: active
customProperties:
  - property: retailerCode
    value: hvn_nl
  - property: timezone
    value: Europe/Amsterdam
  - property: cadence
    value: daily
slaProperties:
{slas}schema:
  - name: verkoop
    physicalType: file
  - name: artikelen
    physicalType: file
    customProperties:
      - property: refresh
        value: full
  - name: winkels
    physicalType: file
    customProperties:
      - property: refresh
        value: once
"""
NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # a Thursday


def _contract(tmp_path, slas: str):
    path = tmp_path / "hvn_nl.odcs.yaml"
    path.write_text(CONTRACT.format(slas=slas), encoding="utf-8")
    return load_contract(path)


def _statuses(contract, instance, deliveries: dict[str, datetime]) -> dict[str, DeliveryStatus]:
    for name, moment in deliveries.items():
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=dg.AssetKey(["bronze", f"hvn_nl__{name}"]),
            metadata={"delivered_at": moment.timestamp()}))
    statuses = delivery_statuses([contract], instance, NOW)
    return {s.asset.split("__")[-1]: s.evaluation.status for s in statuses}


def test_an_objects_own_sla_changes_only_that_objects_freshness(tmp_path, instance):
    monday = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    deliveries = {"verkoop": NOW - timedelta(hours=5), "artikelen": monday,
                  "winkels": NOW - timedelta(days=40)}
    contract_wide = _statuses(_contract(tmp_path, DAILY), instance, deliveries)
    per_object = _statuses(_contract(tmp_path, DAILY + WEEKLY_ARTICLES), instance, deliveries)

    assert contract_wide == {"verkoop": DeliveryStatus.ON_TIME, "artikelen": DeliveryStatus.LATE}
    assert per_object == {"verkoop": DeliveryStatus.ON_TIME, "artikelen": DeliveryStatus.ON_TIME}, (
        "Monday's weekly article file is on time until next Monday; sales keep the daily deadline"
    )
    assert "winkels" not in per_object, "a one-off delivery is never judged late"


def test_checks_follow_the_objects_sla(tmp_path):
    contract = _contract(tmp_path, DAILY + WEEKLY_ARTICLES)
    specs = {spec.asset_key.path[-1].split("__")[-1]: spec for spec in delivery_on_time_check_specs(contract)}
    assert set(specs) == {"verkoop", "artikelen"}
    assert "0 8 * * 1" in specs["artikelen"].description and "0 8 * * *" in specs["verkoop"].description
