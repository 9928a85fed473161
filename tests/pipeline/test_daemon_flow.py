"""The deployment path, no clicks: the real `dagster-daemon` on the project's code location takes a
file dropped in a landing folder to gold (the retailer's sensor starts bronze, the retailer's automation
sensor silver, the gold one gold), each run in its own process as a deployment runs it."""

from __future__ import annotations

import time

import dagster as dg
import polars as pl
import pytest

from assets.gold.publish import gold_path
from assets.storage import tables
from shelfguard.settings import DataHome
from tests.pipeline.daemon import running_daemon
from tests.silver_gold.conftest import NWG_HEADER, land, nwg_line

TIMEOUT_SECONDS = 900  # generous: catches a hang, not a slow shared machine


def gold_rows(home: DataHome) -> pl.DataFrame | None:
    try:
        return tables.read(gold_path(home, "daily_store_fact"))
    except OSError:  # the first commit being written
        return None


@pytest.mark.slow
def test_a_landed_file_reaches_gold_through_the_daemon_without_a_click(tmp_path):
    home = DataHome(tmp_path / "shelfguard_home").ensure()
    lines = [NWG_HEADER, nwg_line(item="1"), nwg_line(item="2", qty="4")]
    land(home, "nwg_us", "nwg_pos_20260105.csv", lines)
    with running_daemon(tmp_path, home) as (_, dagster_home, log):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            gold = gold_rows(home)
            if gold is not None and gold.height == 2:
                break
            time.sleep(2)
        else:
            pytest.fail(f"no gold rows after {TIMEOUT_SECONDS} s; daemon log:\n{log.read_text()[-6000:]}")
    assert sorted(gold["product_id"].to_list()) == ["nwg_us:1", "nwg_us:2"]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        started_by = {run.tags.get("dagster/sensor_name") for run in runs}
        assert {"nwg_us_deliveries", "automation_nwg_us", "automation_gold"} <= started_by, started_by
        assert {run.status for run in runs} <= {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED}
