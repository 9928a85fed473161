"""On the demo, as of its reference moment, `delivery_on_time` finds exactly the injected late deliveries
late, and no bronze asset has a Dagster freshness policy that could say otherwise (ADR 0009)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assets.definitions import build_definitions
from assets.definitions.freshness import delivery_statuses
from assets.plan import load_retailer_contracts
from checks.sla import DeliveryStatus
from shelfguard.commands.demo import DEMO_FAULTS
from shelfguard.dagster_home import open_instance
from shelfguard.demo_data import START_ENV, generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome
from tests.conftest import CONTRACTS_DIR

AS_OF = datetime(2026, 3, 18, 13, 0, tzinfo=UTC)  # a Wednesday: weekly deadlines of Monday and Tuesday passed


@pytest.mark.slow
def test_the_demo_s_freshness_shows_exactly_the_injected_late_deliveries(tmp_path, monkeypatch):
    monkeypatch.delenv(START_ENV, raising=False)
    home = DataHome(tmp_path / "home").ensure()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home.root))
    report = generate(home, days=4, stores=1, products=3, faults=DEMO_FAULTS, as_of=AS_OF)
    with demo_sources(home):
        run = run_pipeline(home, layers=("bronze",), log_level="CRITICAL")
    assert run.errors() == []
    with open_instance(home) as instance:
        statuses = delivery_statuses(load_retailer_contracts(CONTRACTS_DIR), instance, AS_OF, home)
    late = {(s.retailer, s.asset.split("__")[-1]): s.evaluation.status for s in statuses
            if s.evaluation.status is not DeliveryStatus.ON_TIME}
    withheld = [i for i in report.injections_of("late_delivery") if "not delivered" in i.effect]
    assert withheld and late == {(i.retailer, i.object): DeliveryStatus.LATE for i in withheld}
    graph = build_definitions(CONTRACTS_DIR).resolve_asset_graph()
    bronze = [key for key in graph.get_all_asset_keys() if key.path[0] == "bronze"]
    assert all(graph.get(key).freshness_policy is None for key in bronze)
