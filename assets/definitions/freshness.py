"""Freshness from the contracts' SLAs: the `delivery_on_time` check of every bronze asset, the sensor
that evaluates it and alerts, and the Dagster freshness policies of silver and gold tables.

A bronze asset has no Dagster freshness policy: a policy judges when the asset was materialized, the
retailer's SLA when the retailer delivered (a file taken in late, a replay or the demo taking in a
fortnight at once would look fresh to the policy and late to the SLA), so the two could not agree
(ADR 0009).

Dagster OSS shows freshness state but only Dagster+ alerts on it (ADR 0009), so our sensor judges
every retailer's bronze assets on each tick with `checks.sla`, records the result as a runless
`delivery_on_time` check evaluation (a retailer that sends nothing turns red without any run), and
tells the notifiers once per state change. The sensor's cursor holds the last state of each asset,
so a restarted daemon neither repeats nor forgets an alert.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotations at definition time.

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import BaseModel, Field, ValidationError

from assets.bronze.ledger import last_delivered_at as ledger_delivered_at
from assets.bronze.ledger import read_ledger
from assets.definitions.resources.notifiers import Alert, AlertKind, NotifierResource
from assets.intake import channel_of
from assets.intake.landing import landing_files, landing_refusal
from assets.plan import bronze_key, retailer_code
from checks.contract import Contract
from checks.sla import (
    CADENCE_PERIODS,
    DeliveryStatus,
    Sla,
    SlaEvaluation,
    evaluate,
    shortest_deadline_gap,
    sla_for,
    sla_of,
    timestamp_to_datetime,
)
from shelfguard.settings import DataHome

CHECK_NAME = "delivery_on_time"
NOTIFIER_RESOURCE_KEY = "shelfguard_notifier"
SENSOR_NAME = "shelfguard_freshness"
MAX_PENDING_ALERTS = 200
"""Undelivered alerts kept in the cursor for the next ticks; beyond this the oldest are dropped (logged)."""
MAX_ALERT_TICKS = 20
"""Ticks an undelivered alert is retried on before it is dropped (logged)."""
DELIVERY_LOOKBACK = 50
"""Recent materializations of a bronze asset searched for its latest delivery."""

Clock = Callable[[], datetime]
LOGGER = logging.getLogger("shelfguard.freshness")


def utc_now() -> datetime:
    return datetime.now(UTC)


def bronze_asset_keys(contract: Contract) -> dict[str, dg.AssetKey]:
    """`bronze/<retailer>__<object>` by object name, for every delivered object of a retailer contract."""
    code = retailer_code(contract)
    return {name: dg.AssetKey(list(bronze_key(code, name))) for name in contract.object_names}


def _policy(sla: Sla, widen_by: timedelta = timedelta(0)) -> dg.FreshnessPolicy:
    if sla.schedule:
        lower_bound = min(sla.window, shortest_deadline_gap(sla.schedule))
        return dg.FreshnessPolicy.cron(deadline_cron=sla.schedule, lower_bound_delta=lower_bound,
                                       timezone=sla.timezone)
    return dg.FreshnessPolicy.time_window(fail_window=sla.window + widen_by)


def canonical_freshness_policy(canonical: Contract, canonical_object: str,
                               retailers: Sequence[Contract]) -> dg.FreshnessPolicy | None:
    """The policy of a silver (one retailer) or gold (all retailers feeding it) table of `canonical_object`.

    Only objects the canonical SLA names in `element` (all objects when it names none) get one. The
    canonical window says how far behind the latest delivery a table may be, and a retailer only
    delivers once per cadence, so a rolling window is widened by the shortest cadence of `retailers`
    (a weekly retailer's silver table is not stale five days a week).
    """
    sla = sla_of(canonical)
    if sla is None:
        return None
    named = {element.strip().split(".")[0] for element in (sla.element or "").split(",") if element.strip()}
    if named and canonical_object not in named:
        return None
    cadences = [r.custom.get("cadence") for r in retailers]
    periods = [CADENCE_PERIODS[c] for c in cadences if c in CADENCE_PERIODS]
    return _policy(sla, min(periods, default=timedelta(0)))


def delivery_on_time_check_specs(contract: Contract) -> list[dg.AssetCheckSpec]:
    """One `delivery_on_time` check on each bronze asset of the retailer with an SLA (its object's own,
    else the contract's; a one-off delivery has none).

    Each delivered object is judged on its own deliveries, so a retailer that sends sales but forgets
    the store file shows exactly which file is late.
    """
    specs = []
    for name, key in bronze_asset_keys(contract).items():
        sla = sla_for(contract, name)
        if sla is not None:
            specs.append(dg.AssetCheckSpec(
                CHECK_NAME, asset=key, blocking=False,
                description=f"The delivery arrives within the contract SLA: {sla.describe()}.",
                metadata={"sla": sla.describe(), "contract_id": contract.id}))
    return specs


class AssetDeliveryStatus(BaseModel):
    """One bronze asset judged against its retailer's SLA."""

    retailer: str = Field(description="Retailer code.")
    contract_id: str = Field(description="ODCS id of the retailer contract.")
    asset: str = Field(description="Asset key as a path, e.g. bronze/nwg_us__pos_daily.")
    sla: str = Field(description="The SLA in one line.")
    evaluation: SlaEvaluation

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey.from_user_string(self.asset)

    def message(self) -> str:
        evaluation = self.evaluation
        expected, last = _iso(evaluation.expected_by), _iso(evaluation.last_delivery)
        if evaluation.status is DeliveryStatus.LATE:
            late_by = format_duration(evaluation.lateness_seconds)
            return (f"{self.retailer}: {self.asset} is late by {late_by} "
                    f"(expected by {expected}, last delivery {last})")
        if evaluation.status is DeliveryStatus.NEVER_DELIVERED:
            due = f" (expected by {expected})" if evaluation.expected_by else ""
            return f"{self.retailer}: {self.asset} was never delivered{due}"
        return f"{self.retailer}: {self.asset} is on time (last delivery {last}, next expected by {expected})"

    def metadata(self) -> dict[str, dg.MetadataValue]:
        evaluation = self.evaluation

        def moment(value: datetime | None) -> dg.MetadataValue:
            return dg.MetadataValue.timestamp(value) if value else dg.MetadataValue.text("none")

        return {
            "status": dg.MetadataValue.text(evaluation.status.value),
            "sla": dg.MetadataValue.text(self.sla),
            "expected_by": moment(evaluation.expected_by),
            "last_delivery": moment(evaluation.last_delivery),
            "lateness_seconds": dg.MetadataValue.float(evaluation.lateness_seconds or 0.0),
            "lateness": dg.MetadataValue.text(format_duration(evaluation.lateness_seconds)),
            "evaluated_at": dg.MetadataValue.timestamp(evaluation.evaluated_at),
            "contract_id": dg.MetadataValue.text(self.contract_id),
        }

    def severity(self) -> dg.AssetCheckSeverity:
        never = self.evaluation.status is DeliveryStatus.NEVER_DELIVERED
        return dg.AssetCheckSeverity.WARN if never else dg.AssetCheckSeverity.ERROR

    def check_evaluation(self) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(asset_key=self.asset_key, check_name=CHECK_NAME,
                                       passed=self.evaluation.passed, metadata=self.metadata(),
                                       severity=self.severity(), description=self.message())

    def check_result(self) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=self.asset_key, check_name=CHECK_NAME,
                                   passed=self.evaluation.passed, metadata=self.metadata(),
                                   severity=self.severity(), description=self.message())

    def alert(self, kind: AlertKind) -> Alert:
        evaluation = self.evaluation
        return Alert(kind=kind, retailer=self.retailer, asset=self.asset, contract_id=self.contract_id,
                     status=evaluation.status.value, expected_by=evaluation.expected_by,
                     last_delivery=evaluation.last_delivery, lateness_seconds=evaluation.lateness_seconds,
                     message=self.message())


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


def format_duration(seconds: float | None) -> str:
    """`2d 3h 4m` for people; `-` for no lateness."""
    if not seconds or seconds <= 0:
        return "-"
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or f"{int(seconds)}s"


def delivered_at(materialization: dg.AssetMaterialization, stored_at: float) -> float | None:
    """When the retailer delivered what a bronze materialization holds (its `delivered_at` metadata).

    A materialization without the key counts as delivered when it was stored; one whose `delivered_at`
    is empty took in nothing new (a run with no delivery) and is no delivery.
    """
    if "delivered_at" not in materialization.metadata:
        return stored_at
    value = getattr(materialization.metadata["delivered_at"], "value", None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def last_delivered_at(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    """The latest delivery among the asset's recent materializations (a replay of an old delivery
    materializes it again with its old `delivered_at`, so the newest event is not always the latest)."""
    records = instance.fetch_materializations(key, limit=DELIVERY_LOOKBACK).records
    times = [delivered_at(r.asset_materialization, r.timestamp) for r in records if r.asset_materialization]
    return max((t for t in times if t is not None), default=None)


def last_landed_at(home: DataHome, contract: Contract, object_name: str) -> float | None:
    """The newest modification time of a regular file of the object in the retailer's landing folder:
    the retailer delivered it then, also when its content was taken in before (a daily snapshot sent
    again unchanged is ingested once, ADR 0004) or no bronze run has taken it in yet."""
    if channel_of(contract) != "landing":
        return None
    landing = home.landing_for(retailer_code(contract))
    times = []
    for path in landing_files(home, contract, object_name):
        info = path.lstat()
        if landing_refusal(path, info, landing) is None:
            times.append(info.st_mtime)
    return max(times, default=None)


def delivery_statuses(contracts: Iterable[Contract], instance: dg.DagsterInstance,
                      now: datetime, home: DataHome | None = None) -> list[AssetDeliveryStatus]:
    """Every bronze asset of every contract with an SLA, judged at `now`: the latest delivery the
    delivery ledger of `home` (default: `SHELFGUARD_HOME`) recorded, the instance's event log
    reported, or the landing folder holds, whichever is later. The ledger is committed with the
    delivery itself, so a run that died before Dagster recorded its materialisation still counts
    (ADR 0018); a landed file counts from its arrival (`last_landed_at`)."""
    data_home = home or DataHome.from_env()
    ledger = read_ledger(data_home.warehouse)
    statuses = []
    for contract in contracts:
        for name, key in bronze_asset_keys(contract).items():
            sla = sla_for(contract, name)
            if sla is None:
                continue
            recorded = ledger_delivered_at(ledger, retailer_code(contract), name)
            reported = last_delivered_at(instance, key)
            landed = last_landed_at(data_home, contract, name)
            candidates = (recorded.timestamp() if recorded else None, reported, landed)
            times = [t for t in candidates if t is not None]
            last = timestamp_to_datetime(max(times, default=None))
            statuses.append(AssetDeliveryStatus(
                retailer=retailer_code(contract), contract_id=contract.id, asset=key.to_user_string(),
                sla=sla.describe(), evaluation=evaluate(sla, last, now),
            ))
    return statuses


def build_delivery_on_time_checks(contracts: Iterable[Contract],
                                  clock: Clock = utc_now) -> list[dg.AssetChecksDefinition]:
    """The `delivery_on_time` checks as executable definitions (one per retailer), so they appear in the
    UI, can be run by hand, and run after a bronze materialization that selects them; the sensor
    reports the same checks between runs."""
    definitions = []
    for contract in contracts:
        specs = delivery_on_time_check_specs(contract)
        if specs:
            definitions.append(_retailer_check(contract, specs, clock))
    return definitions


def _retailer_check(contract: Contract, specs: list[dg.AssetCheckSpec],
                    clock: Clock) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=specs, name=f"{retailer_code(contract)}_delivery_on_time", can_subset=True)
    def delivery_on_time(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        for status in delivery_statuses([contract], context.instance, clock()):
            if dg.AssetCheckKey(status.asset_key, CHECK_NAME) in selected:
                yield status.check_result()

    return delivery_on_time


class AssetState(BaseModel):
    status: DeliveryStatus
    expected_by: datetime | None = None
    last_delivery: datetime | None = None
    first_seen: datetime | None = Field(None, description="When the sensor first judged the asset.")

    @property
    def alert_status(self) -> DeliveryStatus:
        """The status alerts follow: never delivered counts as late once a deadline passed while the
        sensor watched (a deadline before that, e.g. yesterday's on the day a retailer is onboarded,
        was never expected of the asset)."""
        overdue = (self.status is DeliveryStatus.NEVER_DELIVERED and self.expected_by is not None
                   and self.first_seen is not None and self.expected_by > self.first_seen)
        return DeliveryStatus.LATE if overdue else self.status


class PendingAlert(BaseModel):
    alert: Alert
    channels: list[str] = Field(description="Channels that have not taken the alert yet.")
    ticks: int = Field(0, description="Ticks it has been tried on.")


class FreshnessCursor(BaseModel):
    """The sensor's memory between ticks and across daemon restarts (stored as the sensor cursor)."""

    assets: dict[str, AssetState] = Field(default_factory=dict, description="Last state per asset path.")
    pending: list[PendingAlert] = Field(default_factory=list, description="Alerts not yet delivered.")

    @classmethod
    def parse(cls, cursor: str | None) -> "FreshnessCursor":
        if not cursor:
            return cls()
        try:
            return cls.model_validate_json(cursor)
        except ValidationError:
            LOGGER.warning("freshness sensor cursor unreadable; starting from no known state")
            return cls()


def transition(previous: DeliveryStatus | None, current: DeliveryStatus) -> AlertKind | None:
    """The alert a state change calls for: turning late (also when first seen late) or on time again."""
    if current is DeliveryStatus.LATE and previous is not DeliveryStatus.LATE:
        return AlertKind.LATE
    if current is DeliveryStatus.ON_TIME and previous is DeliveryStatus.LATE:
        return AlertKind.ON_TIME_AGAIN
    return None


class TickSummary(BaseModel):
    evaluated: int = 0
    late: int = 0
    reported: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0

    def line(self) -> str:
        return (f"{self.evaluated} assets evaluated, {self.late} late, {self.reported} check results "
                f"reported, {self.alerts_sent} alerts delivered, {self.alerts_failed} not delivered (retried "
                "next tick)")


def build_freshness_sensor(contracts: Sequence[Contract], *, clock: Clock = utc_now, name: str = SENSOR_NAME,
                           minimum_interval_seconds: int = 60) -> dg.SensorDefinition:
    """The sensor that evaluates `delivery_on_time` for every retailer and alerts on state changes.

    Needs the `shelfguard_notifier` resource (`NotifierResource`). `clock` is injectable for tests.
    """
    contracts = list(contracts)

    @dg.sensor(name=name, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Judges every retailer's deliveries against its contract SLA, records the "
                           "delivery_on_time checks and sends an alert on each change of state.")
    def freshness_sensor(context: dg.SensorEvaluationContext,
                         shelfguard_notifier: NotifierResource) -> dg.SensorResult:
        cursor = FreshnessCursor.parse(context.cursor)
        summary = TickSummary()
        alerts = [(p.alert, p.channels, p.ticks) for p in cursor.pending]
        channels = shelfguard_notifier.configured_channels()
        states: dict[str, AssetState] = {}  # assets no longer in any contract are forgotten
        for status in delivery_statuses(contracts, context.instance, clock()):
            summary.evaluated += 1
            evaluation = status.evaluation
            summary.late += evaluation.status is DeliveryStatus.LATE
            previous = cursor.assets.get(status.asset)
            first_seen = (previous.first_seen if previous else None) or evaluation.evaluated_at
            state = AssetState(status=evaluation.status, expected_by=evaluation.expected_by,
                               last_delivery=evaluation.last_delivery, first_seen=first_seen)
            if previous != state:
                context.instance.report_runless_asset_event(status.check_evaluation())
                summary.reported += 1
            kind = transition(previous.alert_status if previous else None, state.alert_status)
            if kind is not None:
                alerts.append((status.alert(kind), channels, 0))
            states[status.asset] = state
        cursor.assets = states
        cursor.pending = _deliver(shelfguard_notifier, alerts, summary, context.log)
        context.log.info(summary.line())
        return dg.SensorResult(cursor=cursor.model_dump_json(), skip_reason=summary.line())

    return freshness_sensor


def _deliver(notifier: NotifierResource, alerts: list[tuple[Alert, list[str], int]], summary: TickSummary,
             log: dg.DagsterLogManager) -> list[PendingAlert]:
    """Send each alert to its channels; a channel that gives up is not tried again this tick, and what it
    missed stays pending for the next ticks (bounded), so a dead webhook cannot stall the sensor."""
    down: set[str] = set()
    pending: list[PendingAlert] = []
    for alert, channels, ticks in alerts:
        report = notifier.send(alert, [c for c in channels if c not in down])
        down.update(report.failed)
        missed = [c for c in channels if c not in report.sent]
        if not missed:
            summary.alerts_sent += 1
            continue
        summary.alerts_failed += 1
        if ticks + 1 >= MAX_ALERT_TICKS:
            via = ", ".join(missed)
            log.error(f"dropping alert after {MAX_ALERT_TICKS} ticks via {via}: {alert.message}")
        else:
            pending.append(PendingAlert(alert=alert, channels=missed, ticks=ticks + 1))
    if len(pending) > MAX_PENDING_ALERTS:
        for dropped in pending[:-MAX_PENDING_ALERTS]:
            log.error(f"dropping undelivered alert (too many pending): {dropped.alert.message}")
        pending = pending[-MAX_PENDING_ALERTS:]
    return pending

