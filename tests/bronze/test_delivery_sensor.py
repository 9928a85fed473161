"""The retailer sensor asks the ledger: one run per delivery it has not recorded, none for what it holds
(also with a lost cursor), a lost run launched again after the grace period, a stuck delivery alerted
once and shown as a failed `delivery_processed` check."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.bronze.ledger import read_ledger
from assets.definitions import build_definitions
from assets.definitions.bronze import bronze_run_config
from assets.definitions.deliveries import (
    CHECK_NAME,
    DeliveriesCursor,
    build_ingest_job,
    build_retailer_sensor,
)
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import NotifierResource
from assets.plan import build_plan
from shelfguard.settings import DataHome
from tests.bronze.conftest import CONTRACTS, nwg_row, write_nwg
from tests.freshness.conftest import Clock, webhook  # noqa: F401 (fixture)

NWG_KEY = dg.AssetKey(["bronze", "nwg_us__pos_daily"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(CONTRACTS)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def sensor(defs, clock) -> dg.SensorDefinition:
    plan = build_plan(CONTRACTS)
    contract = next(c for c in plan.retailers if c.custom["retailerCode"] == "nwg_us")
    nodes = plan.retailer_nodes("nwg_us", "bronze")
    return build_retailer_sensor(contract, nodes, build_ingest_job(contract, nodes), clock=clock)


class Ticks:
    """Sensor ticks that carry the cursor from one to the next, as the daemon does."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, notifier: NotifierResource):
        self.sensor, self.instance, self.notifier, self.cursor = sensor, instance, notifier, None

    def __call__(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                          resources={"shelfguard_notifier": self.notifier,
                                                     "home": DataHomeResource()})
        result = self.sensor(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def tick(sensor, instance, webhook, monkeypatch) -> Ticks:  # noqa: F811 (fixture)
    monkeypatch.setenv("SHELFGUARD_NOTIFIER", "webhook")
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_URL", webhook.url)
    return Ticks(sensor, instance, NotifierResource(backoff_seconds=0.01))


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(defs, instance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """The run the daemon would launch for the request: the retailer's ingest job."""
    job = defs.resolve_job_def("ingest_nwg_us")
    return job.execute_in_process(run_config=request.run_config, instance=instance, tags=request.tags,
                                  raise_on_error=False)


def test_one_run_per_delivery_the_ledger_has_not_recorded(tick, shelfguard_home):
    folder = shelfguard_home / "landing" / "nwg_us"
    first = write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001")])
    [request] = tick()
    assert request.run_key == f"nwg_us:pos_daily:{_sha(first)[:16]}"
    assert request.run_config == bronze_run_config(NWG_KEY, files=[str(first)])
    assert request.tags["delivery_id"] == request.run_key
    checks = {key.name for key in request.asset_check_keys}
    assert "item_nbr_nullValues" in checks and not checks & {"delivery_on_time", CHECK_NAME}, (
        "a run gates its delivery; on-time and processed are the sensors' to judge"
    )
    assert tick() == [], "a tick with nothing new requests nothing"
    write_nwg(folder, "nwg_pos_20261102_copy.csv", [nwg_row(item="5001")])
    assert tick() == [], "the same content at another path is one delivery: one run takes it in"


def test_a_corrected_file_at_the_same_path_is_a_new_delivery(tick, shelfguard_home):
    folder = shelfguard_home / "landing" / "nwg_us"
    path = write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001", qty="3")])
    [first] = tick()
    write_nwg(folder, path.name, [nwg_row(item="5001", qty="30")])  # the retailer restates the day
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    [corrected] = tick()
    assert corrected.run_key == f"nwg_us:pos_daily:{_sha(path)[:16]}" != first.run_key
    assert corrected.run_config == bronze_run_config(NWG_KEY, files=[str(path)])


def test_what_the_ledger_recorded_launches_nothing_even_with_a_lost_cursor(
    defs, tick, sensor, instance, shelfguard_home
):
    folder = shelfguard_home / "landing" / "nwg_us"
    write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001")])
    write_nwg(folder, "nwg_pos_20261103.csv", [nwg_row(day="11/03/2026", item="5002")])
    requests = tick()
    assert len(requests) == 2
    for request in requests:
        assert _run(defs, instance, request).success
    # a re-delivered copy, ingested once: the ledger holds its content, not its path
    copy = write_nwg(folder, "nwg_pos_20261102_again.csv", [nwg_row(item="5001")])
    assert read_ledger(DataHome.from_env().warehouse).height == 2
    assert tick() == []
    assert list(DeliveriesCursor.parse(tick.cursor).files) == [str(copy.resolve())], (
        "the copy's hash is kept, so it is not read again every tick"
    )
    restarted = Ticks(sensor, instance, tick.notifier)  # a new daemon, a reset or older cursor
    assert restarted() == [], "the ledger, not the cursor, says what was taken in"
    assert restarted() == []


def test_a_lost_run_is_launched_again_after_the_grace_period_with_a_new_run_key(
    defs, tick, instance, clock, shelfguard_home, monkeypatch
):
    monkeypatch.setenv("SHELFGUARD_RELAUNCH_AFTER_MINUTES", "10")
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", [nwg_row()])
    clock.now -= timedelta(minutes=30)  # the run below ends now: half an hour after its launch
    [first] = tick()
    job = defs.resolve_job_def("ingest_nwg_us")
    run = instance.create_run_for_job(job, run_config=first.run_config, tags=first.tags)  # launched
    clock.now += timedelta(minutes=11)
    assert tick() == [], "no second run while one is in progress"
    instance.report_run_failed(run)  # e.g. the code server timed out: failed from outside the run
    clock.now += timedelta(minutes=24)
    assert tick() == [], "within the grace period after its run ended (Dagster's run retries go first)"
    clock.now += timedelta(minutes=6)
    [again] = tick()
    assert again.run_key == f"{first.run_key}:relaunch-1"
    assert again.tags["delivery_id"] == first.tags["delivery_id"]
    assert again.run_config == bronze_run_config(NWG_KEY, files=[str(path)])
    clock.now += timedelta(minutes=15)
    assert tick() == [], "the next launch waits twice as long"
    assert _run(defs, instance, again).success
    clock.now += timedelta(days=1)
    assert tick() == [], "in the ledger now: never launched again"


def _processed_evaluations(instance) -> list:
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(NWG_KEY, CHECK_NAME), limit=20)
    return [r.event.dagster_event.event_specific_data for r in reversed(records)]


def test_a_stuck_delivery_alerts_once_and_fails_its_check_until_taken_in(
    defs, tick, instance, clock, webhook, shelfguard_home, monkeypatch  # noqa: F811 (fixture)
):
    monkeypatch.setenv("SHELFGUARD_STUCK_AFTER_MINUTES", "30")
    monkeypatch.setenv("SHELFGUARD_RELAUNCH_AFTER_MINUTES", "1000")
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", [nwg_row()])
    [first] = tick()
    clock.now += timedelta(minutes=20)
    assert tick() == [] and webhook.received == []
    assert _processed_evaluations(instance) == [], "a quiet asset reports nothing"
    clock.now += timedelta(minutes=15)
    tick()
    tick()
    [alert] = webhook.received
    assert alert["kind"] == "delivery_stuck" and alert["status"] == "stuck"
    assert alert["delivery_id"] == first.run_key and alert["asset"] == "bronze/nwg_us__pos_daily"
    assert path.name in alert["message"] and "1 run(s) launched" in alert["message"]
    [failed] = _processed_evaluations(instance)
    assert not failed.passed and first.run_key in failed.description
    assert _run(defs, instance, first).success
    tick()
    assert [e.passed for e in _processed_evaluations(instance)] == [False, True]
    assert len(webhook.received) == 1
