"""Bronze: take a delivery in as delivered, run the retailer contract's gate, record the verdict.

Dagster-free so that the sensor, the asset, the replay command and the demo share one code path.
Bronze keeps every readable delivery (the audit trail) as text exactly as delivered; the gate's
verdict goes to the delivery ledger and violating rows to quarantine. Only what the ledger accepts
is ever promoted (see `promotable_scan`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from assets.bronze.ledger import (
    LEDGER_SCHEMA,
    UNREADABLE,
    LedgerEntry,
    append_entries,
    current_deliveries,
    latest_attempts,
    read_ledger,
)
from assets.intake.base import Delivery
from assets.plan import bronze_table
from assets.storage.durability import copy_atomically, guarded, kill_point, retry_commit, write_atomically
from assets.storage.tables import scope_predicate, sql_literal
from checks.contract import Contract, format_hints, properties_of
from checks.engines import DEFAULT_ENGINE
from checks.engines.base import ROW_NUMBER
from checks.errors import one_line, safe_message
from checks.gate import BLOCKED_BY, QUARANTINE_REASONS, GateRun, run_gate
from checks.readers import DataReadError, read_batch, with_logical_names
from checks.result import GateResult
from checks.samples import violating_sample
from shelfguard.settings import DataHome

STAMP_SCHEMA = {
    "_delivery_id": pl.String,
    "_row_number": pl.Int64,
    "_source_file": pl.String,
    "_ingested_at": pl.Datetime("us", "UTC"),
    "_retailer_code": pl.String,
    "_secure_group_key": pl.String,
    "_data_provider_code": pl.String,
}


@dataclass
class IngestOutcome:
    entry: LedgerEntry
    gate: GateResult | None = None
    violating_sample: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Up to 10 violating rows per rule, with the rules each violates (`checks.samples.violating_sample`)."""
    null_counts: dict[str, int] = field(default_factory=dict)
    """Nulls per delivered column (for the lineage data-quality metrics)."""


def missing_required_columns(contract: Contract, object_name: str, columns: list[str]) -> list[str]:
    props = properties_of(contract.object(object_name))
    return [
        p["name"] for p in props if (p.get("required") or p.get("primaryKey")) and p["name"] not in columns
    ]


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, as bronze keeps it: nested values as JSON, everything else as written."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.String:
            columns.append(column)
        elif isinstance(dtype, pl.Struct):
            columns.append(column.struct.json_encode().alias(name))
        elif isinstance(dtype, pl.List | pl.Array):
            columns.append(column.map_elements(json.dumps, return_dtype=pl.String).alias(name))
        else:
            columns.append(column.cast(pl.String))
    return frame.select(columns)


REASON_SUFFIX = ".reason.json"
"""Beside each file kept in quarantine (or alone, for a refused file): why it was not taken in."""


class UnreadableDelivery(Exception):
    """A delivery that cannot be taken in at all; it is kept as a file in quarantine with the reason."""

    def __init__(self, reason: str, frame: pl.DataFrame | None = None):
        super().__init__(reason)
        self.reason = reason
        self.frame = frame


def read_delivery(contract: Contract, object_name: str, source: Path | pl.DataFrame) -> pl.DataFrame:
    """A delivery as bronze keeps it (every column as text), or `UnreadableDelivery`.

    Unreadable: not the declared format, wrong encoding, truncated, or a required column missing.
    Columns delivered under a property's `physicalName` are kept under its `name`.
    """
    try:
        frame = source if isinstance(source, pl.DataFrame) else read_batch(source, **format_hints(contract))
    except DataReadError as exc:
        raise UnreadableDelivery(str(exc)) from None
    except Exception as exc:  # any failure to read one delivery quarantines it; the others go on
        raise UnreadableDelivery(f"{source}: cannot read: {type(exc).__name__}: {one_line(exc)}") from None
    frame = as_text(with_logical_names(frame, properties_of(contract.object(object_name))))
    missing = missing_required_columns(contract, object_name, frame.columns)
    if missing:
        delivered = ", ".join(frame.columns)
        raise UnreadableDelivery(
            f"required column(s) missing: {', '.join(missing)}; delivered columns: {delivered}", frame
        )
    return frame


def gate_delivery(contract: Contract, object_name: str, frame: pl.DataFrame, *, engine: str) -> GateRun:
    """The retailer contract's gate on one delivery, with the contract's decimal separator."""
    hints = format_hints(contract)
    return run_gate(
        contract, object_name, frame, engine=engine, decimal_separator=hints.get("decimal_separator")
    )


FLUSH_ROWS = 250_000
"""Rows a `BronzeWriter` holds before it commits them."""


class BronzeWriter:
    """A run's bronze, quarantine and ledger appends of one retailer object, committed together
    every `FLUSH_ROWS` rows (a backfill of hundreds of files would otherwise spend its time
    re-reading the growing ledger and opening Delta tables for one commit per delivery).

    Exactly once (ADR 0018): the writer holds the object's lock, so no other run takes the same
    delivery in meanwhile; it reads the ledger after taking the lock; each flush records which
    deliveries it is about to commit, commits the data, then the ledger entries in one commit (the
    commit point). A writer that finds what a dead predecessor left pending deletes the rows whose
    ledger entries never landed before it takes anything in, so the delivery is taken in again,
    once. Until then those rows are invisible: only deliveries the ledger names are promoted.
    """

    def __init__(self, home: DataHome, code: str, object_name: str):
        self.home = home
        table = bronze_table(code, object_name)
        self.table = home.table("bronze", table)
        self.quarantine_table = home.quarantine / "bronze" / table
        self._scope = f"bronze__{table}"
        self.ledger = pl.DataFrame(schema=LEDGER_SCHEMA)
        self._ingested: set[tuple] = set()
        self._tables: dict[Path, list[pl.DataFrame]] = {}
        self._pending: dict[Path, set[tuple[str, int]]] = {}
        self._entries: list[LedgerEntry] = []
        self._rows = 0
        self._stack = ExitStack()

    def __enter__(self) -> BronzeWriter:
        guard = self._stack.enter_context(
            guarded(self.home, self._scope, [self.table, self.quarantine_table])
        )
        self._guard = guard
        self.ledger = read_ledger(self.home.warehouse)
        if guard.recovered:
            self._roll_back(guard.recovered)
        self._ingested = set(self.ledger.select("retailer_code", "object", "content_sha256").iter_rows())
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Commit what was taken in, also when a later delivery raised (its own rows were not added)."""
        try:
            self.flush()
        except BaseException as failure:
            # the guard must see the failure: it keeps the pending record for the next writer
            self._stack.__exit__(type(failure), failure, failure.__traceback__)
            raise
        self._stack.__exit__(*exc_info)

    def ingest(
        self,
        contract: Contract,
        delivery: Delivery,
        *,
        engine: str = DEFAULT_ENGINE,
        now: datetime | None = None,
    ) -> IngestOutcome | None:
        """Take one delivery in; None when the same content was already ingested (re-delivery)."""
        content = (delivery.retailer_code, delivery.object_name, delivery.content_sha256)
        if content in self._ingested:
            return None
        self._ingested.add(content)
        source = delivery.frame if delivery.frame is not None else delivery.path
        ingested_at = now or datetime.now(UTC)
        return _take_in(
            self, contract, delivery, source, ingested_at, attempt=1, engine=engine, in_bronze=False
        )

    def append(self, table: Path, rows: pl.DataFrame) -> None:
        self._tables.setdefault(table, []).append(rows)
        attempt = pl.col("_attempt") if "_attempt" in rows.columns else pl.lit(1, dtype=pl.Int64)
        self._pending.setdefault(table, set()).update(
            rows.select("_delivery_id", attempt.alias("_attempt")).unique().iter_rows()
        )
        self._rows += rows.height

    def record(self, entry: LedgerEntry) -> None:
        self._entries.append(entry)
        if self._rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Data first, then the ledger entries that make it promotable, in one commit."""
        if not self._entries and not self._tables:
            return
        self._guard.pending({str(t): sorted(pairs) for t, pairs in self._pending.items()})
        for table, parts in self._tables.items():
            _append_delta(table, pl.concat(parts, how="diagonal_relaxed"))
            kill_point("bronze.table")
        kill_point("bronze.data")
        append_entries(self.home, self._entries)
        kill_point("bronze.ledger")
        self._guard.settled()
        self.ledger = pl.concat(
            [self.ledger, pl.DataFrame([asdict(e) for e in self._entries], schema=LEDGER_SCHEMA)]
        )
        self._tables, self._pending, self._entries, self._rows = {}, {}, [], 0

    def _roll_back(self, pending: dict[str, list[list]]) -> None:
        """Delete the rows a dead writer committed whose ledger entries never landed."""
        recorded = set(self.ledger.select("delivery_id", "attempt").iter_rows())
        for table, pairs in pending.items():
            lost = sorted({(d, int(a)) for d, a in pairs} - recorded)
            if not lost or not (Path(table) / "_delta_log").is_dir():
                continue
            if Path(table) == self.table:
                predicate = scope_predicate("_delivery_id", [d for d, _ in lost], alias="")
            else:
                predicate = " OR ".join(
                    f"(_delivery_id = {sql_literal(d)} AND _attempt = {a})" for d, a in lost
                )
            retry_commit(lambda t=table, p=predicate: DeltaTable(t).delete(p))


def ingest(
    home: DataHome,
    contract: Contract,
    delivery: Delivery,
    *,
    engine: str = DEFAULT_ENGINE,
    now: datetime | None = None,
) -> IngestOutcome | None:
    """Take one delivery in and commit it; None when the same content was already ingested."""
    with BronzeWriter(home, delivery.retailer_code, delivery.object_name) as writer:
        return writer.ingest(contract, delivery, engine=engine, now=now)


def replay(
    home: DataHome,
    contract: Contract,
    delivery_id: str,
    *,
    engine: str = DEFAULT_ENGINE,
    now: datetime | None = None,
) -> IngestOutcome:
    """Run the current contract's gate again on a delivery (after the contract or data was fixed)."""
    known = read_ledger(home.warehouse).filter(pl.col("delivery_id") == delivery_id)
    if known.is_empty():
        raise KeyError(f"unknown delivery {delivery_id!r}")
    with BronzeWriter(home, known["retailer_code"][0], known["object"][0]) as writer:
        attempts = writer.ledger.filter(pl.col("delivery_id") == delivery_id)
        last = LedgerEntry(**latest_attempts(attempts).row(0, named=True))
        delivery = Delivery(
            last.retailer_code,
            last.object,
            last.channel,
            last.source,
            last.content_sha256,
            last.period,
            last.delivered_at,
            source_size=last.source_size,
            source_mtime_ns=last.source_mtime_ns,
            watermark=last.watermark,
            refused=last.reason if last.quarantine_path.endswith(REASON_SUFFIX) else None,
        )
        if last.in_bronze:
            source = bronze_rows(home, last.retailer_code, last.object, [delivery_id]).select(
                json.loads(last.columns)
            )
        else:
            source = Path(last.quarantine_path)
        return _take_in(
            writer,
            contract,
            delivery,
            source,
            now or datetime.now(UTC),
            attempt=last.attempt + 1,
            engine=engine,
            in_bronze=last.in_bronze,
        )


def _take_in(
    writer: BronzeWriter,
    contract: Contract,
    delivery: Delivery,
    source: Path | pl.DataFrame,
    ingested_at: datetime,
    *,
    attempt: int,
    engine: str,
    in_bronze: bool,
) -> IngestOutcome:
    if delivery.refused is not None:
        return _reject_unreadable(writer, contract, delivery, ingested_at, delivery.refused, attempt=attempt)
    try:
        frame = read_delivery(contract, delivery.object_name, source)
    except UnreadableDelivery as exc:
        return _reject_unreadable(
            writer, contract, delivery, ingested_at, exc.reason, exc.frame, attempt=attempt
        )
    return _gate_and_record(
        writer,
        contract,
        delivery,
        frame,
        ingested_at,
        attempt=attempt,
        engine=engine,
        append_to_bronze=not in_bronze,
    )


def _stamp(
    contract: Contract, delivery: Delivery, frame: pl.DataFrame, ingested_at: datetime
) -> pl.DataFrame:
    custom = contract.custom
    return frame.with_columns(
        pl.lit(delivery.delivery_id).alias("_delivery_id"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row_number"),
        pl.lit(delivery.source).alias("_source_file"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(str(custom["retailerCode"])).alias("_retailer_code"),
        pl.lit(str(custom["secureGroupKey"])).alias("_secure_group_key"),
        pl.lit(str(custom["dataProviderCode"])).alias("_data_provider_code"),
    )


def _append_delta(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    retry_commit(
        lambda: frame.write_delta(str(path), mode="append", delta_write_options={"schema_mode": "merge"})
    )


def _gate_and_record(
    writer: BronzeWriter,
    contract: Contract,
    delivery: Delivery,
    frame: pl.DataFrame,
    ingested_at: datetime,
    *,
    attempt: int,
    engine: str,
    append_to_bronze: bool,
) -> IngestOutcome:
    gate = gate_delivery(contract, delivery.object_name, frame, engine=engine)
    table = bronze_table(delivery.retailer_code, delivery.object_name)
    if append_to_bronze:
        writer.append(writer.home.table("bronze", table), _stamp(contract, delivery, frame, ingested_at))
    quarantine_path = ""
    if gate.quarantined.height:
        quarantined = (
            _stamp(contract, delivery, frame, ingested_at)
            .join(
                gate.quarantined.select(
                    pl.col(ROW_NUMBER).cast(pl.Int64).alias("_row_number"), QUARANTINE_REASONS, BLOCKED_BY
                ),
                on="_row_number",
            )
            .with_columns(pl.lit(attempt, dtype=pl.Int64).alias("_attempt"))
        )
        quarantine_table = writer.home.quarantine / "bronze" / table
        writer.append(quarantine_table, quarantined)
        quarantine_path = str(quarantine_table)
    result = gate.result
    entry = _ledger_entry(
        contract,
        delivery,
        attempt,
        ingested_at,
        frame,
        rows_published=result.rows_published,
        rows_quarantined=result.rows_quarantined,
        verdict=str(result.verdict),
        blocking_rules=",".join(result.blocking_rule_ids),
        quarantined_rules=",".join(
            r.id for r in result.rules if r.on_violation == "quarantine" and r.violating_rows and r.passed
        ),
        reason="" if result.verdict != "block" else f"blocked by {', '.join(result.blocking_rule_ids)}",
        in_bronze=True,
        quarantine_path=quarantine_path,
    )
    writer.record(entry)
    return IngestOutcome(entry, result, violating_sample(frame, gate), frame.null_count().row(0, named=True))


def _ledger_entry(
    contract: Contract,
    delivery: Delivery,
    attempt: int,
    ingested_at: datetime,
    frame: pl.DataFrame | None,
    *,
    verdict: str,
    reason: str,
    in_bronze: bool,
    quarantine_path: str,
    rows_published: int = 0,
    rows_quarantined: int = 0,
    blocking_rules: str = "",
    quarantined_rules: str = "",
) -> LedgerEntry:
    return LedgerEntry(
        delivery_id=delivery.delivery_id,
        attempt=attempt,
        retailer_code=delivery.retailer_code,
        object=delivery.object_name,
        channel=delivery.channel,
        source=delivery.source,
        source_size=delivery.source_size,
        source_mtime_ns=delivery.source_mtime_ns,
        content_sha256=delivery.content_sha256,
        period=delivery.period,
        delivered_at=delivery.delivered_at,
        ingested_at=ingested_at,
        rows=0 if frame is None else frame.height,
        rows_published=rows_published,
        rows_quarantined=rows_quarantined,
        verdict=verdict,
        blocking_rules=blocking_rules,
        quarantined_rules=quarantined_rules,
        reason=safe_message(reason),
        contract_version=contract.version,
        in_bronze=in_bronze,
        quarantine_path=quarantine_path,
        watermark=delivery.watermark,
        columns=json.dumps([] if frame is None else frame.columns),
    )


def _reject_unreadable(
    writer: BronzeWriter,
    contract: Contract,
    delivery: Delivery,
    ingested_at: datetime,
    reason: str,
    frame: pl.DataFrame | None = None,
    attempt: int = 1,
) -> IngestOutcome:
    """Keep the delivery as a file in quarantine with its reason; nothing of it reaches bronze. A
    delivery refused at the landing boundary keeps only its reason (nothing is copied from a link)."""
    folder = writer.home.quarantine / "files" / delivery.retailer_code
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{delivery.object_name}__{delivery.content_sha256[:16]}"
    reason = safe_message(reason)
    if delivery.refused is not None:
        kept = folder / f"{stem}__{delivery.path.name if delivery.path else 'refused'}"
    elif delivery.path is not None:
        kept = folder / f"{stem}__{delivery.path.name}"
        if not kept.exists():
            copy_atomically(delivery.path, kept)
    else:
        kept = folder / f"{stem}.parquet"
        if frame is not None or delivery.frame is not None:
            (frame if frame is not None else delivery.frame).write_parquet(kept)
    reason_file = kept.with_name(kept.name + REASON_SUFFIX)
    write_atomically(
        reason_file,
        json.dumps(
            {
                "delivery_id": delivery.delivery_id,
                "source": delivery.source,
                "reason": reason,
                "ingested_at": ingested_at.isoformat(),
                "attempt": attempt,
            },
            indent=2,
        )
    )
    entry = _ledger_entry(
        contract,
        delivery,
        attempt,
        ingested_at,
        frame,
        verdict=UNREADABLE,
        reason=reason,
        in_bronze=False,
        quarantine_path=str(reason_file if delivery.refused is not None else kept),
    )
    writer.record(entry)
    return IngestOutcome(entry)


def bronze_columns(home: DataHome, code: str, object_name: str) -> list[str]:
    """Every column bronze holds for an object (delivered and stamps), from the table's schema alone."""
    path = home.table("bronze", bronze_table(code, object_name))
    if not (path / "_delta_log").exists():
        return list(STAMP_SCHEMA)
    return pl.scan_delta(str(path)).collect_schema().names()


def bronze_scan(
    home: DataHome,
    code: str,
    object_name: str,
    delivery_ids: list[str],
    columns: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """The bronze rows of some deliveries, as a query (stamp columns only when none exist).

    `columns` reads only those (with the delivery id and row number): bronze keeps every column
    as text, so a layer that reads what it maps needs a fraction of the memory.
    """
    path = home.table("bronze", bronze_table(code, object_name))
    if not (path / "_delta_log").exists():
        return pl.LazyFrame(schema=STAMP_SCHEMA)
    scan = pl.scan_delta(str(path)).filter(pl.col("_delivery_id").is_in(delivery_ids))
    if columns is not None:
        scan = scan.select(list(dict.fromkeys(["_delivery_id", "_row_number", *columns])))
    return scan


def bronze_rows(
    home: DataHome,
    code: str,
    object_name: str,
    delivery_ids: list[str],
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The bronze rows of some deliveries, in delivery order."""
    return (
        bronze_scan(home, code, object_name, delivery_ids, columns)
        .collect()
        .sort("_delivery_id", "_row_number")
    )


def promotable_scan(
    home: DataHome,
    code: str,
    object_name: str,
    *,
    since: datetime | None = None,
    columns: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """Bronze rows the gate accepted, as a query: current accepted deliveries minus their
    quarantined rows.

    `since` keeps only deliveries first ingested after it (incremental promotion); `columns` as in
    `bronze_scan`. A caller that aggregates (a dimension's observations) collects it streaming, so
    a retailer's whole history is never in memory at once.
    """
    ledger = read_ledger(home.warehouse)
    current = current_deliveries(ledger, code, object_name)
    if since is not None:
        current = current.filter(pl.col("first_ingested_at") > since)
    rows = bronze_scan(home, code, object_name, current["delivery_id"].to_list(), columns)
    quarantine_table = home.quarantine / "bronze" / bronze_table(code, object_name)
    if not (quarantine_table / "_delta_log").exists():
        return rows
    latest = current.select("delivery_id", pl.col("attempt").alias("_attempt")).lazy()
    rejected = (
        pl.scan_delta(str(quarantine_table))
        .select("_delivery_id", "_row_number", "_attempt")
        .join(latest, left_on=["_delivery_id", "_attempt"], right_on=["delivery_id", "_attempt"])
        .select("_delivery_id", "_row_number")
    )
    return rows.join(rejected, on=["_delivery_id", "_row_number"], how="anti")


def promotable_rows(
    home: DataHome,
    code: str,
    object_name: str,
    *,
    since: datetime | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """`promotable_scan`, collected in delivery order."""
    return (
        promotable_scan(home, code, object_name, since=since, columns=columns)
        .collect()
        .sort("_delivery_id", "_row_number")
    )
