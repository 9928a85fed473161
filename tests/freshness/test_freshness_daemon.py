"""The real `dagster-daemon` runs the freshness sensor against a one-minute SLA: the retailer turns
late with no run, the webhook is told once, and a delivery brings it back on time with one more
alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.definitions.freshness import CHECK_NAME

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
ASSET_KEY = dg.AssetKey(["bronze", "min_us__sales"])
DAEMON_BINARY = Path(sys.executable).parent / "dagster-daemon"


def wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; daemon log:\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_daemon_turns_a_silent_retailer_late_and_alerts_once(tmp_path, make_contract, webhook):
    contract = make_contract("min_us", cadence=None, timezone="UTC",
                             sla="property: freshness\nvalue: 1\nunit: m")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_file:\n      relative_path: {HERE / 'daemon_location.py'}\n"
        f"      working_directory: {REPO_ROOT}\n      location_name: freshness_test\n", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1",
           "SHELFGUARD_TEST_CONTRACT": str(contract.path), "SHELFGUARD_NOTIFIER": "webhook",
           "SHELFGUARD_WEBHOOK_URL": webhook.url, "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5"}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        def deliver(delivery_id: str) -> None:
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=ASSET_KEY,
                metadata={"delivery_id": delivery_id, "delivered_at": datetime.now(UTC).timestamp()}))

        def kinds() -> list[str]:
            return [alert["kind"] for alert in webhook.received]

        deliver("d1")
        log = tmp_path / "daemon.log"
        with log.open("w") as output:
            command = [str(DAEMON_BINARY), "run", "-w", str(workspace)]
            daemon = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        try:
            wait_for(lambda: kinds() == ["late"], 180, "the late alert", log)
            late_after = time.monotonic() - started
            deliver("d2")
            wait_for(lambda: kinds() == ["late", "on_time_again"], 60, "the recovery alert", log)
            time.sleep(6)  # a few more ticks: nothing new may be sent
            assert kinds() == ["late", "on_time_again"]
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()

        late = webhook.received[0]
        assert late["retailer"] == "min_us"
        assert late["asset"] == "bronze/min_us__sales"
        assert late["lateness_seconds"] >= 0
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(ASSET_KEY, CHECK_NAME), limit=20)
        outcomes = [r.event.dagster_event.event_specific_data.passed for r in reversed(history)]
        assert outcomes[:1] == [True] and False in outcomes and outcomes[-1] is True
        assert instance.get_runs() == []
        print(f"late alert after {late_after:.0f}s of daemon time")
