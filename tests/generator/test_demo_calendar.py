"""The demo's calendar ends on its reference moment, so freshness shows exactly the injected lateness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.sla import DeliveryStatus, evaluate, sla_for
from shelfguard.demo_data import AS_OF_ENV, START_ENV, GenerationReport, generate, retailer_specs
from shelfguard.settings import DataHome
from tests.conftest import CONTRACTS_DIR

MOMENTS = [
    datetime(2026, 1, 2, 9, 0, tzinfo=UTC),  # early in a month: the monthly file of November is due
    datetime(2026, 3, 17, 2, 30, tzinfo=UTC),  # a Tuesday before Tokyo's noon deadline
    datetime(2026, 3, 31, 23, 0, tzinfo=UTC),  # Sydney is already on April 1st
    datetime(2026, 12, 8, 2, 45, tzinfo=UTC),  # before Tuesday's deadlines: one week due in 14 days
    datetime(2026, 12, 8, 14, 45, tzinfo=UTC),
]


@pytest.fixture(autouse=True)
def calendar_ending_today(monkeypatch):
    monkeypatch.delenv(START_ENV, raising=False)


def late_assets(report: GenerationReport, as_of: datetime, now: datetime) -> set[tuple[str, str]]:
    """(retailer, object) judged late at `now` by the SLA rule, as after a demo run at `as_of`: a landed
    file was delivered at its arrival (mtime), a database or API pull when the demo pulled it."""
    specs = retailer_specs(CONTRACTS_DIR)
    late = set()
    for code in report.retailers:
        contract = specs[code].contract
        for name in contract.object_names:
            sla = sla_for(contract, name)
            deliveries = report.deliveries_of(code, name)
            times = [d.delivered_at if d.channel == "landing" else as_of for d in deliveries]
            if sla is not None:
                status = evaluate(sla, max(times, default=None), now).status
                assert status is not DeliveryStatus.NEVER_DELIVERED, (code, name)
                if status is DeliveryStatus.LATE:
                    late.add((code, name))
    return late


def late_by_injection(report: GenerationReport) -> set[tuple[str, str]]:
    """The deliveries the late_delivery fault kept from arriving by the reference moment."""
    injections = report.injections_of("late_delivery")
    return {(i.retailer, i.object) for i in injections if "not delivered" in i.effect}


@pytest.mark.parametrize("as_of", MOMENTS, ids=lambda m: m.isoformat())
def test_freshness_at_the_reference_moment_shows_only_the_injected_late_deliveries(tmp_path, as_of):
    report = generate(DataHome(tmp_path), days=4, stores=1, products=2, faults=["late_delivery"],
                      as_of=as_of)
    assert report.end == as_of.date() and report.as_of == as_of
    assert max(d.delivered_at for d in report.deliveries) <= as_of, "nothing arrives after the moment"
    for path in (tmp_path / "landing").rglob("*"):
        assert path.is_dir() or path.stat().st_mtime <= as_of.timestamp(), path
    injected = late_by_injection(report)
    assert injected, "the withheld delivery is late"
    assert late_assets(report, as_of, as_of) == injected
    assert late_assets(report, as_of, as_of + timedelta(hours=12)) >= injected, "and stays late"


def test_the_calendar_follows_the_environment_and_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv(AS_OF_ENV, "2026-03-17T02:30:00Z")
    first = generate(DataHome(tmp_path / "a"), days=3, stores=1, products=2, retailers=["nwg_us", "kst_uk"])
    second = generate(DataHome(tmp_path / "b"), days=3, stores=1, products=2, retailers=["nwg_us", "kst_uk"])
    assert first.model_dump(exclude={"deliveries"}) == second.model_dump(exclude={"deliveries"})
    assert [d.sha256 for d in first.deliveries] == [d.sha256 for d in second.deliveries]
    nwg = sorted(d.period for d in first.deliveries_of("nwg_us"))
    assert nwg == ["2026-03-15"], "of the 15th to the 17th, the 16th is due at 06:00 New York, later"
    assert [d.period for d in first.deliveries_of("kst_uk", "sales_history")] == ["2026-02"]
    assert first.start == datetime(2026, 2, 28).date(), "kst_uk reaches back to the month that is due"


def test_a_fixed_start_is_a_fixed_calendar(tmp_path, monkeypatch):
    monkeypatch.delenv(AS_OF_ENV, raising=False)  # the real now: long after that calendar
    report = generate(DataHome(tmp_path), days=2, stores=1, products=2, retailers=["nwg_us"],
                      start=datetime(2025, 3, 24).date())
    assert sorted(d.period for d in report.deliveries_of("nwg_us")) == ["2025-03-24", "2025-03-25"]
