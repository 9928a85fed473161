"""The delivery ledger: one row per gate run of a delivery, append-only, in Delta.

Dagster's blocking checks run after an asset is written, so the decision "may this delivery be
promoted?" is recorded here per delivery and every later layer reads it (ADR 0004). The ledger is
append-only: a replay adds a new attempt, a restatement adds a new delivery, and the current state
is derived on read, so no row is ever updated in place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from assets.storage.durability import guarded, retry_commit
from shelfguard.settings import DataHome

ACCEPTED_VERDICTS = ("pass", "warn", "quarantine")
"""Verdicts whose accepted rows may be promoted; `block` and `unreadable` deliveries never are."""
UNREADABLE = "unreadable"
"""The verdict of a delivery that could not be read (the gate never ran on it)."""
HELD_BACK_VERDICTS = ("block", UNREADABLE)
"""Verdicts of deliveries that are held back whole (nothing of them promoted)."""

LEDGER_SCHEMA = {
    "delivery_id": pl.String,
    "attempt": pl.Int64,
    "retailer_code": pl.String,
    "object": pl.String,
    "channel": pl.String,
    "source": pl.String,
    "source_size": pl.Int64,
    "source_mtime_ns": pl.Int64,
    "content_sha256": pl.String,
    "period": pl.String,
    "delivered_at": pl.Datetime("us", "UTC"),
    "ingested_at": pl.Datetime("us", "UTC"),
    "rows": pl.Int64,
    "rows_published": pl.Int64,
    "rows_quarantined": pl.Int64,
    "verdict": pl.String,
    "blocking_rules": pl.String,
    "quarantined_rules": pl.String,
    "reason": pl.String,
    "contract_version": pl.String,
    "in_bronze": pl.Boolean,
    "quarantine_path": pl.String,
    "watermark": pl.String,
    "columns": pl.String,
}


@dataclass
class LedgerEntry:
    """What happened to one delivery in one gate run."""

    delivery_id: str
    attempt: int
    retailer_code: str
    object: str
    channel: str
    source: str
    source_size: int | None
    source_mtime_ns: int | None
    content_sha256: str
    period: str
    delivered_at: datetime
    ingested_at: datetime
    rows: int
    rows_published: int
    rows_quarantined: int
    verdict: str
    blocking_rules: str
    quarantined_rules: str
    reason: str
    contract_version: str
    in_bronze: bool
    quarantine_path: str
    watermark: str | None = None
    columns: str = "[]"
    """JSON list of the delivered columns, so a replay sees the delivery as it came."""

    @property
    def accepted(self) -> bool:
        return self.verdict in ACCEPTED_VERDICTS


def ledger_path(warehouse: Path) -> Path:
    return warehouse / "bronze" / "_delivery_ledger"


def read_ledger(warehouse: Path) -> pl.DataFrame:
    """Every ledger row (empty frame with the ledger schema when nothing was ingested yet)."""
    path = ledger_path(warehouse)
    if not (path / "_delta_log").exists():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return pl.read_delta(str(path))


def append_entries(home: DataHome, entries: list[LedgerEntry]) -> None:
    """One commit: the entries are in the ledger together or not at all (the bronze commit point)."""
    if not entries:
        return
    frame = pl.DataFrame([asdict(e) for e in entries], schema=LEDGER_SCHEMA)
    path = ledger_path(home.warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with guarded(home, "bronze__delivery_ledger", [path]):
        retry_commit(lambda: frame.write_delta(str(path), mode="append"))


def last_watermark(ledger: pl.DataFrame, retailer_code: str, object_name: str) -> str | None:
    """Where a pull retailer's next pull starts: the watermark of its latest first-attempt pull.

    Kept in the ledger row of the pull itself, so it is recorded exactly when the delivery is (a
    replay re-gates an old pull and must not move the watermark back).
    """
    pulls = ledger.filter(
        (pl.col("retailer_code") == retailer_code)
        & (pl.col("object") == object_name)
        & (pl.col("attempt") == 1)
        & pl.col("watermark").is_not_null()
        & (pl.col("watermark") != "")
    )
    if pulls.is_empty():
        return None
    return str(pulls.sort("ingested_at")["watermark"][-1])


def last_delivered_at(ledger: pl.DataFrame, retailer_code: str, object_name: str) -> datetime | None:
    """When the retailer last delivered the object, as the ledger recorded it (any verdict)."""
    delivered = ledger.filter(
        (pl.col("retailer_code") == retailer_code) & (pl.col("object") == object_name)
    )["delivered_at"]
    return None if delivered.is_empty() else delivered.max()


def latest_attempts(ledger: pl.DataFrame) -> pl.DataFrame:
    """The latest attempt of every delivery: its current verdict."""
    return ledger.sort("attempt").group_by("delivery_id", maintain_order=True).last()


def current_deliveries(ledger: pl.DataFrame, retailer_code: str, object_name: str) -> pl.DataFrame:
    """Accepted deliveries whose rows are current: per period, the latest accepted delivery supersedes.

    A restatement that is blocked does not supersede: the earlier accepted delivery stays current
    until a corrected file is accepted.
    """
    latest = latest_attempts(ledger).filter(
        (pl.col("retailer_code") == retailer_code)
        & (pl.col("object") == object_name)
        & pl.col("verdict").is_in(ACCEPTED_VERDICTS)
        & pl.col("in_bronze")
    )
    first_ingested = ledger.group_by("delivery_id").agg(
        pl.col("ingested_at").min().alias("first_ingested_at")
    )
    return (
        latest.join(first_ingested, on="delivery_id")
        .sort("first_ingested_at", "delivery_id")
        .group_by("period", maintain_order=True)
        .last()
    )
