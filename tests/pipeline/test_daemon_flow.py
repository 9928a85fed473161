"""The deployment path, no clicks: the real `dagster-daemon` on the project's code location takes a
file dropped in a landing folder to gold (the retailer's sensor starts bronze, the retailer's automation
sensor silver, the gold one gold), each run in its own process as a deployment runs it."""

from __future__ import annotations

import time

import dagster as dg
import polars as pl
import pytest

from assets.definitions.gold_views import GOLD_VIEWS_KEY
from assets.gold.publish import gold_path
from assets.storage import tables
from shelfguard.settings import DataHome
from tests.pipeline.daemon import running_daemon
from tests.silver_gold.conftest import NWG_HEADER, land, nwg_line

TIMEOUT_SECONDS = 900  # generous: catches a hang, not a slow shared machine
GOLD_TABLES = ("prod_dim", "site_dim", "daily_store_fact", "weekly_store_fact")
IN_PROGRESS = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED)


def gold_rows(home: DataHome) -> pl.DataFrame | None:
    try:
        return tables.read(gold_path(home, "daily_store_fact"))
    except OSError:  # the first commit being written
        return None


def settled(dagster_home) -> bool:
    """The readers' views were rebuilt after the latest gold change and no run is queued or running
    (the automation sensors launch silver, gold and the views in runs of their own)."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        views = instance.get_latest_materialization_event(GOLD_VIEWS_KEY)
        gold = [instance.get_latest_materialization_event(dg.AssetKey(["gold", t])) for t in GOLD_TABLES]
        busy = instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_PROGRESS)))
    latest_gold = max((e.timestamp for e in gold if e is not None), default=0.0)
    return views is not None and views.timestamp > latest_gold and not busy


@pytest.mark.slow
def test_a_landed_file_reaches_gold_through_the_daemon_without_a_click(tmp_path):
    home = DataHome(tmp_path / "shelfguard_home").ensure()
    lines = [NWG_HEADER, nwg_line(item="1"), nwg_line(item="2", qty="4")]
    land(home, "nwg_us", "nwg_pos_20260105.csv", lines)
    with running_daemon(tmp_path, home) as (_, dagster_home, log):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            gold = gold_rows(home)
            if gold is not None and gold.height == 2 and settled(dagster_home):
                break
            time.sleep(2)
        else:
            pytest.fail(f"no gold rows after {TIMEOUT_SECONDS} s; daemon log:\n{log.read_text()[-6000:]}")
    assert sorted(gold["product_id"].to_list()) == ["nwg_us:1", "nwg_us:2"]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        started_by = {run.tags.get("dagster/sensor_name") for run in runs}
        assert {"nwg_us_deliveries", "automation_nwg_us", "automation_gold"} <= started_by, started_by
        assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
