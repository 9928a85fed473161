"""Starting `shelfguard ui` on a finished demo launches no run and changes no rule check's result:
the delivery sensors ask the ledger, which already holds every delivery the demo took in."""

from __future__ import annotations

import re

import pytest

from shelfguard.dagster_home import open_instance
from tests.ui.conftest import DemoUi, rule_check_outcomes
from tests.ui.processes import wait_for

SENSOR_TICKS = 2


@pytest.mark.slow
def test_ui_on_a_finished_demo_launches_nothing_and_changes_no_check(demo_ui: DemoUi):
    assert demo_ui.runs_before and demo_ui.checks_before
    ui = demo_ui.ui
    ticked = re.compile(r"Sensor (\w+)_deliveries skipped")

    def every_sensor_ticked() -> bool:
        seen = ticked.findall(ui.log.read_text(errors="replace"))
        codes = set(seen)
        return len(codes) >= 5 and min(seen.count(code) for code in codes) >= SENSOR_TICKS

    wait_for(every_sensor_ticked, 300, f"{SENSOR_TICKS} ticks of every landing retailer's sensor", ui.log)
    with open_instance(demo_ui.home) as instance:
        assert {r.run_id for r in instance.get_runs()} == demo_ui.runs_before, "the UI launched a run"
        assert rule_check_outcomes(instance) == demo_ui.checks_before
