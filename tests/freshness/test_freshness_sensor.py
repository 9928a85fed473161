"""The freshness sensor with a controlled clock, a real Dagster instance on disk and a real local
webhook: lateness without runs, one alert per state change, restarts, failing webhooks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assets.definitions.freshness import CHECK_NAME, NOTIFIER_RESOURCE_KEY, build_freshness_sensor
from assets.definitions.resources.notifiers import NotifierResource

DAILY_NY = 'property: freshness\nvalue: 1\nunit: d\nscheduler: cron\nschedule: "0 6 * * *"'
WEEKLY_BERLIN = 'property: freshness\nvalue: 7\nunit: d\nscheduler: cron\nschedule: "0 9 * * 1"'
NEW_YORK = ZoneInfo("America/New_York")
DAY_KEY = ["bronze", "day_us__sales"]


@pytest.fixture
def notifier(webhook, monkeypatch) -> NotifierResource:
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_TOKEN", "s3cret")
    return NotifierResource(channels="webhook", backoff_seconds=0.01)


@pytest.fixture
def daily(make_contract):
    return make_contract("day_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY)


class Ticker:
    """Runs sensor ticks the way the daemon does: each tick gets the cursor the previous one returned."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, notifier: NotifierResource):
        self.sensor = sensor
        self.instance = instance
        self.notifier = notifier
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                          resources={NOTIFIER_RESOURCE_KEY: self.notifier})
        result = self.sensor(context)
        self.cursor = result.cursor
        return result


def check_history(instance: dg.DagsterInstance, key: list[str]) -> list[dg.AssetCheckEvaluation]:
    """Recorded `delivery_on_time` evaluations of an asset, newest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(key), CHECK_NAME), limit=100)
    return [r.event.dagster_event.event_specific_data for r in records]


def at_new_york(clock, *args: int) -> None:
    clock.now = datetime(*args, tzinfo=NEW_YORK)


def test_daily_deadline_passed_turns_late_with_one_alert(daily, instance, deliver, clock, notifier, webhook):
    ticker = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    at_new_york(clock, 2025, 3, 3, 5, 30)
    deliver(DAY_KEY, clock.now)
    at_new_york(clock, 2025, 3, 3, 7, 0)
    ticker.tick()
    assert webhook.received == []
    assert check_history(instance, DAY_KEY)[0].passed

    at_new_york(clock, 2025, 3, 4, 6, 30)  # Tuesday's deadline passed, nothing arrived
    ticker.tick()
    [alert] = webhook.received
    assert alert["kind"] == "late"
    assert alert["retailer"] == "day_us"
    assert alert["asset"] == "bronze/day_us__sales"
    assert alert["contract_id"] == "urn:shelfguard:retailer:day_us"
    assert alert["status"] == "late"
    assert alert["expected_by"] == "2025-03-04T11:00:00Z"
    assert alert["last_delivery"] == "2025-03-03T10:30:00Z"
    assert alert["lateness_seconds"] == 1800
    assert webhook.headers[0]["Authorization"] == "Bearer s3cret"

    latest = check_history(instance, DAY_KEY)[0]
    assert not latest.passed
    assert latest.severity == dg.AssetCheckSeverity.ERROR
    assert latest.metadata["expected_by"].value == clock.now.replace(hour=6, minute=0).timestamp()
    assert latest.metadata["last_delivery"].value == clock.now.replace(day=3, hour=5).timestamp()
    assert latest.metadata["lateness_seconds"].value == 1800
    assert instance.get_runs() == []  # judged and shown without any run


def test_no_duplicates_over_ten_ticks_then_one_recovery_alert(daily, instance, deliver, clock, notifier,
                                                              webhook):
    ticker = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    deliver(DAY_KEY, clock.now - timedelta(days=3))
    for _ in range(10):
        ticker.tick()
        clock.now += timedelta(minutes=5)
    assert [a["kind"] for a in webhook.received] == ["late"]
    assert len(check_history(instance, DAY_KEY)) == 1  # a state that holds is recorded once

    deliver(DAY_KEY, clock.now, delivery_id="d2")
    for _ in range(10):
        ticker.tick()
        clock.now += timedelta(minutes=5)
    assert [a["kind"] for a in webhook.received] == ["late", "on_time_again"]
    recovery = webhook.received[1]
    assert recovery["status"] == "on_time"
    assert recovery["lateness_seconds"] is None
    assert check_history(instance, DAY_KEY)[0].passed


def test_restarted_sensor_with_the_same_cursor_sends_nothing_again(daily, instance, deliver, clock, notifier,
                                                                  webhook):
    deliver(DAY_KEY, clock.now - timedelta(days=3))
    first = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    first.tick()
    assert len(webhook.received) == 1

    restarted = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    restarted.cursor = first.cursor
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        restarted.tick()
    assert len(webhook.received) == 1


def test_weekly_retailer_mid_week_is_on_time(make_contract, instance, deliver, clock, notifier, webhook):
    weekly = make_contract("wek_de", cadence="weekly", timezone="Europe/Berlin", sla=WEEKLY_BERLIN)
    key = ["bronze", "wek_de__sales"]
    ticker = Ticker(build_freshness_sensor([weekly], clock=clock), instance, notifier)
    deliver(key, datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")))  # Monday, before 09:00
    clock.now = datetime(2025, 3, 5, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Wednesday
    for _ in range(5):
        ticker.tick()
        clock.now += timedelta(days=1)
    assert webhook.received == []
    assert check_history(instance, key)[0].passed

    clock.now = datetime(2025, 3, 10, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # next Monday, past 09:00
    ticker.tick()
    assert [a["kind"] for a in webhook.received] == ["late"]


def test_never_delivered_warns_then_alerts_once_a_watched_deadline_passes(daily, instance, deliver, clock,
                                                                          notifier, webhook):
    ticker = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    at_new_york(clock, 2025, 3, 3, 7, 0)  # onboarded after today's 06:00 deadline
    ticker.tick()
    [evaluation] = check_history(instance, DAY_KEY)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["status"].value == "never_delivered"
    at_new_york(clock, 2025, 3, 3, 23, 0)
    ticker.tick()
    assert webhook.received == [], "a deadline that passed before the sensor watched was never expected"

    at_new_york(clock, 2025, 3, 4, 6, 30)  # the first deadline since: missed
    for _ in range(5):
        ticker.tick()
        clock.now += timedelta(minutes=5)
    [alert] = webhook.received
    assert alert["kind"] == "late"
    assert alert["status"] == "never_delivered"
    assert alert["expected_by"] == "2025-03-04T11:00:00Z"
    assert alert["last_delivery"] is None
    assert check_history(instance, DAY_KEY)[0].severity == dg.AssetCheckSeverity.WARN

    deliver(DAY_KEY, clock.now)
    ticker.tick()
    assert [a["kind"] for a in webhook.received] == ["late", "on_time_again"]


def test_every_object_of_a_retailer_is_judged_on_its_own_deliveries(make_contract, instance, deliver, clock,
                                                                   notifier, webhook):
    contract = make_contract("two_us", cadence="daily", timezone="America/New_York", sla=DAILY_NY,
                             objects=("products", "sales"))
    deliver(["bronze", "two_us__sales"], clock.now - timedelta(hours=1))
    deliver(["bronze", "two_us__products"], clock.now - timedelta(days=3))
    Ticker(build_freshness_sensor([contract], clock=clock), instance, notifier).tick()
    assert [a["asset"] for a in webhook.received] == ["bronze/two_us__products"]


def test_webhook_failing_once_still_delivers_the_alert_once(daily, instance, deliver, clock, notifier,
                                                            webhook):
    webhook.fail = 1
    deliver(DAY_KEY, clock.now - timedelta(days=3))
    Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier).tick()
    assert webhook.requests == 2
    assert [a["kind"] for a in webhook.received] == ["late"]


def test_webhook_down_for_a_tick_does_not_stop_the_sensor_and_the_alert_follows(
        daily, instance, deliver, clock, notifier, webhook):
    webhook.fail = 3  # every try of the first tick
    deliver(DAY_KEY, clock.now - timedelta(days=3))
    ticker = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    first = ticker.tick()
    assert webhook.received == []
    assert "1 not delivered" in first.skip_reason.skip_message
    assert len(json.loads(ticker.cursor)["pending"]) == 1

    ticker.tick()
    ticker.tick()
    assert [a["kind"] for a in webhook.received] == ["late"]
    assert json.loads(ticker.cursor)["pending"] == []


def test_unreachable_webhook_is_reported_not_raised(daily, instance, deliver, clock, monkeypatch, caplog):
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_URL", "http://127.0.0.1:9/alerts")  # discard port: refused
    notifier = NotifierResource(channels="webhook,log", backoff_seconds=0.01)
    deliver(DAY_KEY, clock.now - timedelta(days=3))
    ticker = Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier)
    with caplog.at_level("WARNING", logger="shelfguard"):
        ticker.tick()
    assert any("via webhook failed" in r.getMessage() for r in caplog.records)
    assert any("is late by" in r.getMessage() for r in caplog.records if r.name == "shelfguard.alerts")
    [pending] = json.loads(ticker.cursor)["pending"]
    assert pending["channels"] == ["webhook"]  # the log took it; only the webhook is retried


def test_a_run_without_delivery_or_a_replay_does_not_count_as_a_new_delivery(daily, instance, deliver, clock,
                                                                              notifier, webhook):
    yesterday, long_ago = clock.now - timedelta(days=3), clock.now - timedelta(days=9)
    deliver(DAY_KEY, yesterday, delivery_id="d2")
    deliver(DAY_KEY, long_ago, delivery_id="d1")  # d1 replayed after a contract fix
    instance.report_runless_asset_event(dg.AssetMaterialization(  # a bronze run that found nothing new
        asset_key=DAY_KEY, metadata={"delivery_id": "", "delivered_at": None}))
    Ticker(build_freshness_sensor([daily], clock=clock), instance, notifier).tick()
    [alert] = webhook.received
    assert alert["kind"] == "late"
    assert alert["last_delivery"] == yesterday.isoformat().replace("+00:00", "Z")
