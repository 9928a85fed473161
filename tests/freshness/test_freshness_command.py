"""`shelfguard freshness`: per retailer and bronze asset, from the Dagster instance in SHELFGUARD_HOME."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import dagster as dg

from shelfguard.cli import main

DAILY_NY = 'property: freshness\nvalue: 1\nunit: d\nscheduler: cron\nschedule: "0 6 * * *"'


def test_without_an_instance_everything_is_never_delivered(tmp_path, shelfguard_home, make_contract, capsys):
    make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY,
                  objects=("products", "sales"))
    assert main(["freshness", "--format", "json", "--contracts", str(tmp_path / "contracts")]) == 0
    statuses = json.loads(capsys.readouterr().out)
    assert [(s["asset"], s["evaluation"]["status"]) for s in statuses] == [
        ("bronze/day_us__products", "never_delivered"), ("bronze/day_us__sales", "never_delivered")]
    assert not (shelfguard_home / "dagster").exists()  # looking does not create an instance


def test_reads_last_deliveries_from_the_instance(tmp_path, shelfguard_home, make_contract, capsys):
    make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY,
                  objects=("products", "sales"))
    dagster_home = shelfguard_home / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    now = datetime.now(UTC)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for name, age in (("products", timedelta(days=3)), ("sales", timedelta(minutes=5))):
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=["bronze", f"day_us__{name}"],
                metadata={"delivery_id": f"{name}-1", "delivered_at": (now - age).timestamp()}))

    contracts = str(tmp_path / "contracts")
    assert main(["freshness", "--format", "json", "--contracts", contracts]) == 0
    by_asset = {s["asset"]: s for s in json.loads(capsys.readouterr().out)}
    products, sales = by_asset["bronze/day_us__products"], by_asset["bronze/day_us__sales"]
    assert products["evaluation"]["status"] == "late"
    assert products["evaluation"]["lateness_seconds"] > 0
    assert sales["evaluation"]["status"] == "on_time"
    assert sales["sla"] == "freshness 1d, due 0 6 * * * America/New_York"

    assert main(["freshness", "--contracts", contracts]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RETAILER", "ASSET", "SLA", "LAST", "DELIVERY", "EXPECTED", "BY", "STATUS"]
    products_line = next(line for line in lines if "bronze/day_us__products" in line)
    assert " late (" in products_line
    assert re.search(r"\d\d:\d\d E[SD]T", products_line)  # times are shown in New York time
    assert next(line for line in lines if "bronze/day_us__sales" in line).endswith("on time")


def test_missing_contracts_folder_is_a_usage_error(tmp_path, shelfguard_home, capsys):
    assert main(["freshness", "--contracts", str(tmp_path / "nowhere")]) == 2
    assert "no retailers/ folder" in capsys.readouterr().err
