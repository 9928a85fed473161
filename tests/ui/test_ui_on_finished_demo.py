"""Starting `shelfguard ui` on a finished demo launches no run and changes no rule check's result:
the delivery sensors ask the ledger, which already holds every delivery the demo took in."""

from __future__ import annotations

import re

import dagster as dg
import pytest

from shelfguard.commands.demo import DEMO_FAULTS
from shelfguard.dagster_home import open_instance
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome
from tests.ui.processes import UiProcess, wait_for

SENSOR_TICKS = 2


def _rule_check_outcomes(instance: dg.DagsterInstance) -> dict[tuple[str, str], bool]:
    """The latest result of every rule check (delivery_on_time is the freshness sensor's to report)."""
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=100000)
    outcomes = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.check_name != "delivery_on_time":
            outcomes[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
    return outcomes


@pytest.mark.slow
def test_ui_on_a_finished_demo_launches_nothing_and_changes_no_check(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "home").ensure()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home.root))
    generate(home, days=3, stores=2, products=5, faults=DEMO_FAULTS)
    with demo_sources(home):
        run_pipeline(home, log_level="CRITICAL")
    with open_instance(home) as instance:
        runs_before = {r.run_id for r in instance.get_runs()}
        checks_before = _rule_check_outcomes(instance)
    assert runs_before and checks_before

    ui = UiProcess(home.root, tmp_path / "ui.log")
    try:
        ui.wait_until_loaded()
        ticked = re.compile(r"Sensor (\w+)_deliveries skipped")

        def every_sensor_ticked() -> bool:
            seen = ticked.findall(ui.log.read_text(errors="replace"))
            codes = set(seen)
            return len(codes) >= 5 and min(seen.count(code) for code in codes) >= SENSOR_TICKS

        wait_for(every_sensor_ticked, 300, f"{SENSOR_TICKS} ticks of every landing retailer's sensor", ui.log)
    finally:
        assert ui.stop() == 0
    with open_instance(home) as instance:
        assert {r.run_id for r in instance.get_runs()} == runs_before, "the UI launched a run"
        assert _rule_check_outcomes(instance) == checks_before
