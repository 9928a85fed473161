"""The retailer sensors: a bronze run for every delivery the ledger has not recorded, launched again
when its run was lost, and an alert and a failed `delivery_processed` check when one stays waiting.

The delivery ledger is the one record of what was taken in (ADR 0004), so each tick asks it which
landed files are still waiting: a file recorded by path, size and mtime, or whose content the ledger
already holds (a re-delivered copy), starts nothing, whatever the cursor says. Starting the UI on a
finished demo, or losing the cursor, therefore launches no run. The cursor remembers only what the
ledger cannot: content hashes of waiting files (not re-read every tick), when each waiting delivery
was first seen and last launched, and which stuck alerts went out (ADR 0014).
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotations at definition time.

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import BaseModel, Field, ValidationError

from assets.bronze.ledger import read_ledger
from assets.definitions.bronze import bronze_run_config
from assets.definitions.freshness import CHECK_NAME as ON_TIME_CHECK
from assets.definitions.freshness import Clock, format_duration, utc_now
from assets.definitions.gating import check_specs
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import Alert, AlertKind, NotifierResource
from assets.intake import channel_of, get_channel
from assets.intake.landing import landing_delivery, landing_source, new_landing_files
from assets.plan import AssetNode, bronze_key, retailer_code, server_options
from checks.contract import Contract
from checks.rules import compile_rules
from shelfguard.settings import DataHome

CHECK_NAME = "delivery_processed"
RELAUNCH_AFTER = timedelta(minutes=15)
"""Default grace before a waiting delivery whose run is no longer in progress is launched again
(`SHELFGUARD_RELAUNCH_AFTER_MINUTES`); Dagster's run retries act first, within a daemon tick."""
STUCK_AFTER = timedelta(hours=1)
"""Default time a delivery may wait before it is reported stuck (`SHELFGUARD_STUCK_AFTER_MINUTES`)."""
MAX_RELAUNCH_BACKOFF = timedelta(hours=6)
"""A delivery whose every run dies is launched again at doubling intervals, capped here."""
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
LOGGER = logging.getLogger("shelfguard.deliveries")

AssetJob = Any
"""What `dg.define_asset_job` returns (Dagster exports no public name for its class)."""


def minutes_setting(variable: str, default: timedelta) -> timedelta:
    """A positive number of minutes from the environment; a bad value is logged and the default used."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        minutes = float(raw)
    except ValueError:
        minutes = 0.0
    if minutes <= 0:
        LOGGER.error("%s=%r is not a positive number of minutes; using %s", variable, raw, default)
        return default
    return timedelta(minutes=minutes)


class SeenFile(BaseModel):
    """A landed file the ledger has not recorded by path, with its content hash computed once."""

    size: int
    mtime_ns: int
    delivery_id: str
    sha256: str


class WaitingDelivery(BaseModel):
    """A delivery whose content the ledger does not hold yet."""

    first_seen: datetime = Field(description="When a tick first saw it waiting.")
    launches: int = Field(0, description="Runs the sensor launched for it.")
    last_launch: datetime | None = Field(None, description="When the latest of them was launched.")
    alerted: bool = Field(False, description="Whether its stuck alert went out.")


class DeliveriesCursor(BaseModel):
    files: dict[str, SeenFile] = Field(default_factory=dict, description="Waiting files by resolved path.")
    waiting: dict[str, WaitingDelivery] = Field(default_factory=dict, description="By delivery id.")
    failing: dict[str, list[str]] = Field(
        default_factory=dict, description="Asset path -> the stuck delivery ids its check last reported.")

    @classmethod
    def parse(cls, cursor: str | None) -> "DeliveriesCursor":
        if not cursor:
            return cls()
        try:
            return cls.model_validate_json(cursor)
        except ValidationError:  # an older cursor: the ledger alone says what is waiting
            return cls()


class LandedFile(BaseModel):
    path: Path
    object_name: str
    seen: SeenFile

    @property
    def landed_at(self) -> datetime:
        return datetime.fromtimestamp(self.seen.mtime_ns / 1e9, UTC)


def waiting_files(home: DataHome, contract: Contract, nodes: Iterable[AssetNode], ledger: pl.DataFrame,
                  known: dict[str, SeenFile]) -> list[LandedFile]:
    """Landed files whose content the ledger does not hold, oldest first per object. `known` (path →
    `SeenFile`) saves hashing a file whose size and mtime did not change; it is left holding every
    landed file the ledger does not record by path (re-delivered copies too, so a copy of a large
    file is not read again every tick)."""
    code = retailer_code(contract)
    ours = ledger.filter(pl.col("retailer_code") == code)
    recorded = set(ours.select("object", "content_sha256").iter_rows())
    waiting, current = [], {}
    for node in nodes:
        for path in new_landing_files(home, contract, node.object, ledger):
            stat = path.lstat()  # a link is a refused delivery of its own, never its target
            seen = known.get(landing_source(path))
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                delivery = landing_delivery(contract, node.object, path, home.landing_for(code))
                seen = SeenFile(size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                                delivery_id=delivery.delivery_id, sha256=delivery.content_sha256)
            landed = LandedFile(path=path, object_name=node.object, seen=seen)
            if (node.object, seen.sha256) not in recorded:
                waiting.append(landed)
            current[landing_source(path)] = seen
    known.clear()
    known.update(current)
    return waiting


def relaunch_backoff(grace: timedelta, launches: int) -> timedelta:
    return min(grace * 2 ** max(0, launches - 1), MAX_RELAUNCH_BACKOFF)


def latest_run(instance: dg.DagsterInstance, delivery_id: str) -> dg.RunRecord | None:
    records = instance.get_run_records(filters=dg.RunsFilter(tags={"delivery_id": delivery_id}), limit=1)
    return records[0] if records else None


def relaunch_due(state: "WaitingDelivery", run: dg.RunRecord | None, grace: timedelta, now: datetime) -> bool:
    """Launched again when no run of it is in progress and the grace period (doubling with each launch)
    passed since the last launch and since its latest run ended (Dagster's run retries go first)."""
    if state.last_launch is None:
        return True
    if run is not None and run.dagster_run.status in IN_PROGRESS:
        return False
    ended = run.end_time or run.update_timestamp.timestamp() if run is not None else None
    since = max(state.last_launch, datetime.fromtimestamp(ended, UTC)) if ended else state.last_launch
    return now - since >= relaunch_backoff(grace, state.launches)


def run_line(run: dg.RunRecord | None) -> str:
    return f"latest run {run.dagster_run.run_id} {run.dagster_run.status.value}" if run else "no run found"


def asset_key_of(contract: Contract, object_name: str) -> dg.AssetKey:
    return dg.AssetKey(list(bronze_key(retailer_code(contract), object_name)))


def delivery_processed_specs(contract: Contract) -> list[dg.AssetCheckSpec]:
    """One `delivery_processed` check on each bronze asset of a landing retailer."""
    if get_channel(channel_of(contract)).polled:
        return []
    after = format_duration(minutes_setting("SHELFGUARD_STUCK_AFTER_MINUTES", STUCK_AFTER).total_seconds())
    return [
        dg.AssetCheckSpec(
            CHECK_NAME, asset=asset_key_of(contract, name), blocking=False,
            description=f"Every file landed for {name} is taken in by a bronze run within {after} "
                        "(the retailer's sensor reports a file waiting longer, with its delivery id).",
            metadata={"contract_id": contract.id},
        )
        for name in contract.object_names
    ]


def _evaluation(contract: Contract, object_name: str, stuck: list[tuple[LandedFile, str]]) -> dict:
    """Check fields for one asset: passed unless a delivery waits too long (each listed with why)."""
    if not stuck:
        description = f"every landed {object_name} file is taken in"
    else:
        description = f"{len(stuck)} delivery(ies) not taken in: " + "; ".join(
            f"{f.seen.delivery_id} ({f.path.name}): {why}" for f, why in stuck)
    return {
        "asset_key": asset_key_of(contract, object_name), "check_name": CHECK_NAME, "passed": not stuck,
        "description": description,
        "metadata": {
            "waiting_deliveries": dg.MetadataValue.json(
                [{"delivery_id": f.seen.delivery_id, "source": str(f.path), "why": why} for f, why in stuck]),
            "contract_id": dg.MetadataValue.text(contract.id),
        },
    }


def build_delivery_processed_checks(contracts: Iterable[Contract], nodes_of,
                                    clock: Clock = utc_now) -> list[dg.AssetChecksDefinition]:
    """The `delivery_processed` checks as definitions (one per landing retailer): shown in the UI, run
    by hand they judge each waiting file from its mtime; the sensor reports them between runs."""
    definitions = []
    for contract in contracts:
        specs = delivery_processed_specs(contract)
        if specs:
            definitions.append(_retailer_check(contract, nodes_of(contract), specs, clock))
    return definitions


def _retailer_check(contract: Contract, nodes: list[AssetNode], specs: list[dg.AssetCheckSpec],
                    clock: Clock) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=specs, name=f"{retailer_code(contract)}_delivery_processed", can_subset=True)
    def delivery_processed(context: dg.AssetCheckExecutionContext,
                           home: DataHomeResource) -> Iterator[dg.AssetCheckResult]:
        data_home = home.home()
        stuck_after = minutes_setting("SHELFGUARD_STUCK_AFTER_MINUTES", STUCK_AFTER)
        now = clock()
        files = waiting_files(data_home, contract, nodes, read_ledger(data_home.warehouse), {})
        for node in nodes:
            key = asset_key_of(contract, node.object)
            if dg.AssetCheckKey(key, CHECK_NAME) not in context.selected_asset_check_keys:
                continue
            stuck = [(f, f"landed {format_duration((now - f.landed_at).total_seconds())} ago")
                     for f in files if f.object_name == node.object and now - f.landed_at > stuck_after]
            yield dg.AssetCheckResult(**_evaluation(contract, node.object, stuck))

    return delivery_processed


def build_ingest_job(contract: Contract, nodes: list[AssetNode]) -> AssetJob:
    code = retailer_code(contract)
    keys = [asset_key_of(contract, n.object) for n in nodes]
    # delivery_on_time and delivery_processed are judged by sensors between runs, not by an ingestion run.
    names = [ON_TIME_CHECK, CHECK_NAME] if delivery_processed_specs(contract) else [ON_TIME_CHECK]
    judged = dg.AssetSelection.checks(*[dg.AssetCheckKey(key, name) for key in keys for name in names])
    return dg.define_asset_job(
        f"ingest_{code}",
        selection=dg.AssetSelection.assets(*keys) - judged,
        description=f"Take in {code}'s deliveries into bronze and gate them.",
        tags={"retailer": code},
    )


def build_retailer_sensor(contract: Contract, nodes: list[AssetNode], job: AssetJob,
                          clock: Clock = utc_now) -> dg.SensorDefinition:
    """Landing retailers: one run per waiting delivery (first run key = delivery id), running by default.

    Pull retailers: a poll every 15 minutes, stopped by default because it needs the retailer's
    database URL or API token in the environment; its description says which variables.
    """
    code = retailer_code(contract)
    channel = channel_of(contract)
    polled = get_channel(channel).polled
    # a run takes in and gates deliveries; delivery_on_time and delivery_processed are the sensors' to judge
    gate_checks = {node.object: [spec.key for spec in check_specs(compile_rules(contract, node.object),
                                                                  asset_key_of(contract, node.object))]
                   for node in nodes}
    if not polled:
        description = (f"Starts bronze ingestion for each file {code} lands that the delivery ledger has not "
                       "recorded; launches it again when its run was lost; alerts when one stays waiting.")
    else:
        options = server_options(contract)
        needed = [str(options[o]) for o in ("urlEnv", "tokenEnv", "locationEnv") if options.get(o)]
        description = (
            f"Polls {code}'s {channel} every 15 minutes and takes new rows into bronze. Off by default: "
            f"it needs {' and '.join(needed)} in the code location's environment (the contract's server "
            "settings); turn it on once they are set."
        )

    @dg.sensor(
        name=f"{code}_deliveries",
        job=job,
        minimum_interval_seconds=900 if polled else 60,
        description=description,
        default_status=dg.DefaultSensorStatus.STOPPED if polled else dg.DefaultSensorStatus.RUNNING,
    )
    def deliveries_sensor(context: dg.SensorEvaluationContext, home: DataHomeResource,
                          shelfguard_notifier: NotifierResource) -> dg.SensorResult:
        if polled:
            return dg.SensorResult(run_requests=[
                dg.RunRequest(asset_selection=[asset_key_of(contract, node.object)],
                              asset_check_keys=gate_checks[node.object],
                              run_config=bronze_run_config(asset_key_of(contract, node.object)),
                              tags={"retailer": code})
                for node in nodes
            ])
        return _landing_tick(context, home.home(), contract, nodes, gate_checks, shelfguard_notifier, clock())

    return deliveries_sensor


def _landing_tick(context: dg.SensorEvaluationContext, home: DataHome, contract: Contract,
                  nodes: list[AssetNode], gate_checks: dict[str, list[dg.AssetCheckKey]],
                  notifier: NotifierResource, now: datetime) -> dg.SensorResult:
    code = retailer_code(contract)
    grace = minutes_setting("SHELFGUARD_RELAUNCH_AFTER_MINUTES", RELAUNCH_AFTER)
    stuck_after = minutes_setting("SHELFGUARD_STUCK_AFTER_MINUTES", STUCK_AFTER)
    cursor = DeliveriesCursor.parse(context.cursor)
    known = dict(cursor.files)
    files = waiting_files(home, contract, nodes, read_ledger(home.warehouse), known)
    waiting: dict[str, WaitingDelivery] = {}
    requests, stuck = [], {}
    for landed in files:
        delivery_id = landed.seen.delivery_id
        if delivery_id in waiting:  # the same content at another path: one run takes it in
            continue
        state = cursor.waiting.get(delivery_id) or WaitingDelivery(first_seen=now)
        waiting[delivery_id] = state
        run = latest_run(context.instance, delivery_id) if state.launches else None
        if relaunch_due(state, run, grace, now):
            key = asset_key_of(contract, landed.object_name)
            run_key = delivery_id if not state.launches else f"{delivery_id}:relaunch-{state.launches}"
            requests.append(dg.RunRequest(
                run_key=run_key, asset_selection=[key], asset_check_keys=gate_checks[landed.object_name],
                run_config=bronze_run_config(key, files=[str(landed.path)]),
                tags={"retailer": code, "delivery_id": delivery_id},
            ))
            if state.launches:
                context.log.warning(f"{delivery_id} ({landed.path.name}) still not in the ledger "
                                    f"{format_duration((now - state.last_launch).total_seconds())} after "
                                    f"its last launch: launching it again ({run_key})")
            state.launches, state.last_launch = state.launches + 1, now
        waited = now - max(state.first_seen, landed.landed_at)
        if waited > stuck_after:
            why = (f"waiting {format_duration(waited.total_seconds())}, {state.launches} run(s) launched, "
                   f"{run_line(latest_run(context.instance, delivery_id))}")
            stuck.setdefault(landed.object_name, []).append((landed, why))
            if not state.alerted:  # a channel that failed is tried again next tick
                state.alerted = _alert_stuck(notifier, contract, landed, why, context.log)
    failing: dict[str, list[str]] = {}
    for node in nodes:
        asset = asset_key_of(contract, node.object).to_user_string()
        object_stuck = stuck.get(node.object, [])
        ids = sorted(f.seen.delivery_id for f, _ in object_stuck)
        if ids:
            failing[asset] = ids
        # a change of what is stuck is reported (so its recovery too); a quiet asset reports nothing
        if ids != cursor.failing.get(asset, []):
            context.instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(**_evaluation(contract, node.object, object_stuck)))
    cursor = DeliveriesCursor(files=known, waiting=waiting, failing=failing)
    return dg.SensorResult(run_requests=requests, cursor=cursor.model_dump_json())


def _alert_stuck(notifier: NotifierResource, contract: Contract, landed: LandedFile, why: str,
                 log: dg.DagsterLogManager) -> bool:
    code = retailer_code(contract)
    asset = asset_key_of(contract, landed.object_name).to_user_string()
    message = f"{code}: delivery {landed.seen.delivery_id} ({landed.path.name}) not taken in: {why}"
    log.error(message)
    alert = Alert(kind=AlertKind.DELIVERY_STUCK, retailer=code, asset=asset, contract_id=contract.id,
                  status="stuck", delivery_id=landed.seen.delivery_id, message=message)
    return not notifier.send(alert).failed
