"""Nothing dropped on the deployment path: a bronze run whose worker is killed before the run starts is
failed by Dagster, retried by the shipped run-retry policy, and its delivery reaches bronze."""

from __future__ import annotations

import os
import signal
import time

import dagster as dg
import psutil
import pytest

from assets.bronze.ledger import read_ledger
from shelfguard.settings import DataHome
from tests.pipeline.daemon import running_daemon
from tests.silver_gold.conftest import NWG_HEADER, land, nwg_line

TIMEOUT_SECONDS = 900  # generous: catches a hang, not a slow shared machine


def _run_workers(daemon_pid: int) -> list[psutil.Process]:
    """Processes the code server spawned to execute a run (multiprocessing children of `dagster api grpc`)."""
    workers = []
    for process in psutil.Process(daemon_pid).children(recursive=True):
        try:
            parent = process.parent()
            spawned = "spawn_main" in " ".join(process.cmdline())
            if spawned and parent and "grpc" in " ".join(parent.cmdline()):
                workers.append(process)
        except psutil.Error:
            continue
    return workers


@pytest.mark.slow
def test_a_run_killed_before_it_starts_is_retried_and_its_delivery_reaches_bronze(tmp_path):
    home = DataHome(tmp_path / "shelfguard_home").ensure()
    land(home, "nwg_us", "nwg_pos_20260105.csv", [NWG_HEADER, nwg_line(item="1")])
    with running_daemon(tmp_path, home) as (daemon, dagster_home, log):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        killed = None
        while killed is None and time.monotonic() < deadline:
            for worker in _run_workers(daemon.pid):
                os.kill(worker.pid, signal.SIGKILL)
                killed = worker.pid
            time.sleep(0.05)
        assert killed, f"no run worker seen; daemon log:\n{log.read_text()[-6000:]}"
        while time.monotonic() < deadline:
            delivered = read_ledger(home.warehouse)
            if delivered.height:
                break
            time.sleep(2)
        else:
            pytest.fail(f"the delivery never reached bronze; daemon log:\n{log.read_text()[-6000:]}")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={"retailer": "nwg_us"}),
                                           ascending=True)
    first, *later = records
    assert first.dagster_run.status is dg.DagsterRunStatus.FAILURE
    assert first.start_time is None, "killed before the run started"
    assert later and later[0].dagster_run.tags.get("dagster/parent_run_id") == first.dagster_run.run_id, (
        "retried by Dagster's run retries"
    )
    assert delivered["verdict"].to_list() == ["pass"] and delivered["in_bronze"].all()
