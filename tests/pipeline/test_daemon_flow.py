"""The deployment path, no clicks: the real `dagster-daemon` on the project's code location takes a
file dropped in a landing folder to gold (the retailer's sensor starts bronze, the automation sensor
silver and gold), each run in its own process as a deployment runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets import tables
from assets.gold import gold_path
from shelfguard.dagster_home import DAGSTER_YAML
from shelfguard.settings import DataHome
from tests.silver_gold.conftest import NWG_HEADER, land, nwg_line

REPO_ROOT = Path(__file__).resolve().parents[2]
DAEMON_BINARY = Path(sys.executable).parent / "dagster-daemon"
TIMEOUT_SECONDS = 420


def gold_rows(home: DataHome) -> pl.DataFrame | None:
    try:
        return tables.read(gold_path(home, "daily_store_fact"))
    except OSError:  # the first commit being written
        return None


@pytest.mark.slow
def test_a_landed_file_reaches_gold_through_the_daemon_without_a_click(tmp_path):
    home = DataHome(tmp_path / "shelfguard_home").ensure()
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_module:\n      module_name: assets.definitions\n"
        f"      working_directory: {REPO_ROOT}\n      location_name: shelfguard\n",
        encoding="utf-8",
    )
    lines = [NWG_HEADER, nwg_line(item="1"), nwg_line(item="2", qty="4")]
    land(home, "nwg_us", "nwg_pos_20260105.csv", lines)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "SHELFGUARD_HOME": str(home.root),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "SODA_CORE_TELEMETRY_ENABLED": "false",
    }
    log = tmp_path / "daemon.log"
    with log.open("w") as output:
        daemon = subprocess.Popen(
            [str(DAEMON_BINARY), "run", "-w", str(workspace)],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            gold = gold_rows(home)
            if gold is not None and gold.height == 2:
                break
            time.sleep(2)
        else:
            pytest.fail(f"no gold rows after {TIMEOUT_SECONDS} s; daemon log:\n{log.read_text()[-6000:]}")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    assert sorted(gold["product_id"].to_list()) == ["nwg_us:1", "nwg_us:2"]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        started_by = {run.tags.get("dagster/sensor_name") for run in runs}
        assert {"nwg_us_deliveries", "pipeline_automation"} <= started_by, started_by
        assert {run.status for run in runs} <= {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED}
