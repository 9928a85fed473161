"""The SLA rule itself (checks.sla): deadlines in the retailer's zone, weekly and monthly cadences,
rolling windows, and contract errors that name the line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checks.contract import ContractError, contract_files, load_contract
from checks.sla import DeliveryStatus, evaluate, sla_of

REPO_ROOT = Path(__file__).resolve().parents[2]
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
DAILY_NY = 'property: freshness\nvalue: 1\nunit: d\nscheduler: cron\nschedule: "0 6 * * *"'
WEEKLY_BERLIN = 'property: freshness\nvalue: 7\nunit: d\nscheduler: cron\nschedule: "0 9 * * 1"'


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_daily_deadline_passed_without_delivery_is_late(make_contract):
    sla = sla_of(make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY))
    delivered = ny(2025, 3, 3, 5, 30)  # Monday, before the 06:00 deadline

    monday = evaluate(sla, delivered, ny(2025, 3, 3, 7, 0))
    assert monday.status is DeliveryStatus.ON_TIME
    assert monday.expected_by == ny(2025, 3, 4, 6, 0)  # Tuesday's file is the next one due

    tuesday = evaluate(sla, delivered, ny(2025, 3, 4, 6, 30))
    assert tuesday.status is DeliveryStatus.LATE
    assert tuesday.expected_by == ny(2025, 3, 4, 6, 0)
    assert tuesday.lateness_seconds == 30 * 60
    assert tuesday.last_delivery == delivered


def test_a_late_delivery_makes_the_retailer_on_time_again(make_contract):
    sla = sla_of(make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY))
    evaluation = evaluate(sla, ny(2025, 3, 4, 9, 0), ny(2025, 3, 4, 9, 5))
    assert evaluation.status is DeliveryStatus.ON_TIME
    assert evaluation.lateness_seconds is None


def test_deadline_follows_the_retailers_clock_across_daylight_saving(make_contract):
    sla = sla_of(make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY))
    # New York moved to EDT on 2025-03-09: 06:00 local is 10:00 UTC from then on, 11:00 UTC before.
    before = evaluate(sla, None, datetime(2025, 3, 8, 12, 0, tzinfo=UTC))
    after = evaluate(sla, None, datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    assert before.expected_by == datetime(2025, 3, 8, 11, 0, tzinfo=UTC)
    assert after.expected_by == datetime(2025, 3, 10, 10, 0, tzinfo=UTC)


def test_weekly_retailer_is_on_time_mid_week(make_contract):
    sla = sla_of(make_contract("wek_de", cadence="weekly", timezone="Europe/Berlin", sla=WEEKLY_BERLIN))
    delivered = berlin(2025, 3, 3, 8, 0)  # Monday before the 09:00 deadline

    for day in (4, 5, 6, 7, 8, 9):  # Tuesday … Sunday
        evaluation = evaluate(sla, delivered, berlin(2025, 3, day, 12, 0))
        assert evaluation.status is DeliveryStatus.ON_TIME, day
        assert evaluation.expected_by == berlin(2025, 3, 10, 9, 0)
    assert evaluate(sla, delivered, berlin(2025, 3, 10, 9, 1)).status is DeliveryStatus.LATE


def test_weekly_retailer_without_this_weeks_file_is_late_mid_week(make_contract):
    sla = sla_of(make_contract("wek_de", cadence="weekly", timezone="Europe/Berlin", sla=WEEKLY_BERLIN))
    evaluation = evaluate(sla, berlin(2025, 2, 24, 8, 0), berlin(2025, 3, 5, 12, 0))
    assert evaluation.status is DeliveryStatus.LATE
    assert evaluation.expected_by == berlin(2025, 3, 3, 9, 0)


def test_monthly_window_longer_than_a_month_still_needs_this_months_file(make_contract):
    monthly = 'property: freshness\nvalue: 34\nunit: d\nscheduler: cron\nschedule: "0 12 3 * *"'
    sla = sla_of(make_contract("mon_uk", cadence="monthly", timezone="Europe/London", sla=monthly))
    london = ZoneInfo("Europe/London")
    now = datetime(2025, 3, 5, 12, 0, tzinfo=london)
    assert evaluate(sla, datetime(2025, 2, 10, tzinfo=london), now).status is DeliveryStatus.ON_TIME
    # January's dump (before February's deadline) does not count for March's, though within 34 days.
    assert evaluate(sla, datetime(2025, 2, 1, tzinfo=london), now).status is DeliveryStatus.LATE


def test_rolling_window_without_schedule(make_contract):
    sla = sla_of(make_contract("win_us", cadence="daily", timezone="UTC",
                               sla="property: latency\nvalue: 26\nunit: h"))
    now = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    fresh = evaluate(sla, now - timedelta(hours=20), now)
    assert fresh.status is DeliveryStatus.ON_TIME
    assert fresh.expected_by == now + timedelta(hours=6)
    stale = evaluate(sla, now - timedelta(hours=27), now)
    assert stale.status is DeliveryStatus.LATE
    assert stale.lateness_seconds == 3600


def test_never_delivered(make_contract):
    cron = sla_of(make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY))
    window = sla_of(make_contract("win_us", cadence="daily", timezone="UTC",
                                  sla="property: freshness\nvalue: 1\nunit: d"))
    now = ny(2025, 3, 4, 7, 0)
    assert evaluate(cron, None, now).status is DeliveryStatus.NEVER_DELIVERED
    assert evaluate(cron, None, now).expected_by == ny(2025, 3, 4, 6, 0)
    assert evaluate(window, None, now).expected_by is None


@pytest.mark.parametrize(("sla", "field", "message"), [
    ("property: freshness\nvalue: 1\nunit: w", "unit", "unit 'w' is not one of d, h, m"),
    ("property: freshness\nvalue: 0\nunit: d", "value", "value 0 is not a positive number"),
    ("property: freshness\nvalue: 30\nunit: s", "unit", "unit 's'"),
    ('property: freshness\nvalue: 1\nunit: d\nscheduler: cron\nschedule: "0 25 * * *"', "schedule",
     "not a valid cron expression"),
    ("property: freshness\nvalue: 1\nunit: d", "value", "shorter than the weekly cadence"),
])
def test_unusable_sla_is_a_contract_error_at_its_line(make_contract, sla, field, message):
    cadence = "weekly" if "shorter than" in message else "daily"
    contract = make_contract("bad_de", cadence=cadence, timezone="Europe/Berlin", sla=sla)
    with pytest.raises(ContractError) as error:
        sla_of(contract)
    lines = error.value.path.read_text().splitlines()
    assert message in error.value.message
    assert lines[error.value.line - 1].strip().startswith(f"{field}:")


def test_every_retailer_contract_in_the_repository_has_a_usable_sla():
    paths = list(contract_files([REPO_ROOT / "contracts" / "retailers"]))
    assert paths
    for path in paths:
        sla = sla_of(load_contract(path))
        assert sla is not None, path
        assert sla.schedule, f"{path}: retailer SLAs carry a cron deadline"


def test_checks_sla_does_not_import_dagster():
    code = "import sys, checks.sla; sys.exit('dagster' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0

