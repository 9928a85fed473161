"""One finished demo and one `shelfguard ui` on it for every UI test that only reads (the sensor
test and the browser test): building the demo and loading the code location take most of their time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest

from shelfguard.commands.demo import DEMO_FAULTS
from shelfguard.dagster_home import open_instance
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome
from tests.ui.processes import UiProcess


def rule_check_outcomes(instance: dg.DagsterInstance) -> dict[tuple[str, str], bool]:
    """The latest result of every rule check (delivery_on_time is the freshness sensor's to report)."""
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=100000)
    outcomes = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.check_name != "delivery_on_time":
            outcomes[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
    return outcomes


@dataclass
class DemoUi:
    """A finished all-faults demo, what its instance held before the UI started, and the UI on it."""

    home: DataHome
    runs_before: set[str]
    checks_before: dict[tuple[str, str], bool]
    ui: UiProcess


@pytest.fixture(scope="session")
def demo_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoUi]:
    root = tmp_path_factory.mktemp("demo_ui")
    with pytest.MonkeyPatch.context() as patch:
        home = DataHome(root / "home").ensure()
        patch.setenv("SHELFGUARD_HOME", str(home.root))
        generate(home, days=3, stores=2, products=5, faults=DEMO_FAULTS)
        with demo_sources(home):
            run_pipeline(home, log_level="CRITICAL")
        with open_instance(home) as instance:
            runs_before = {r.run_id for r in instance.get_runs()}
            checks_before = rule_check_outcomes(instance)
        ui = UiProcess(home.root, root / "ui.log")
        try:
            ui.wait_until_loaded()
            yield DemoUi(home, runs_before, checks_before, ui)
        finally:
            assert ui.stop() == 0, ui.log.read_text(errors="replace")[-3000:]
