"""Where the dry run finds the latest data of each kind of contract, and how each revision reads it
(the trials of the dry run; a delivery is *replayed* only by `shelfguard replay`).

- a retailer delivering files: its latest files in `landing/<code>/`, read with each revision's
  format hints as bronze reads them (`assets.bronze.ingest.read_delivery`);
- a retailer pulled from a database or an API: its latest deliveries in bronze, the rows as
  delivered (the delivery ledger names them; an unreadable pull is read from its quarantined copy);
- the canonical contract: the current silver table of a retailer feeding a changed object, fitted
  to each revision's columns and types as silver builds its batches; facts per delivery (the latest
  N), dimensions whole (silver gates a dimension whole), with the retailer's silver dimensions as
  the references of relationship rules;
- the corporate master: the latest master files in `landing/corporate/`, read as `read_master`
  reads them.

Everything here only reads the data home.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from assets.plan import CANONICAL_DIMS, retailer_code
from checks.contract import Contract
from checks.engines import DEFAULT_ENGINE
from shelfguard.review.dry_run import WHOLE_TABLE, DryRun, Gate, Sample, compare
from shelfguard.settings import DataHome

if TYPE_CHECKING:
    from checks.gate import GateRun

T = TypeVar("T")
CORPORATE = "corporate"
"""The landing folder of the corporate master files (`assets.silver.publish.read_master`)."""


def try_landing(
    base: Contract, head: Contract, object_name: str, home: DataHome, last: int, engine: str = DEFAULT_ENGINE
) -> DryRun:
    """Both gates on the latest `last` landing files of a retailer object (newest by file time)."""
    from assets.bronze.ingest import read_delivery
    from assets.intake.landing import landing_files

    folder = home.landing_for(retailer_code(head))
    files = {p for side in _having(object_name, base, head) for p in landing_files(home, side, object_name)}
    latest = _latest(sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name)), last)
    samples = [
        Sample(
            path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name,
            partial(read_delivery, object_name=object_name, source=path),
        )
        for path in latest
    ]
    gate = _bronze_gate(object_name, engine)
    return compare(base, head, object_name, samples, gate, retailer=retailer_code(head), folder=str(folder))


def try_bronze(
    base: Contract, head: Contract, object_name: str, home: DataHome, last: int, engine: str = DEFAULT_ENGINE
) -> DryRun:
    """Both gates on the latest `last` deliveries of a pulled retailer object, as bronze holds them."""
    from assets.bronze.ingest import bronze_rows
    from assets.bronze.ledger import latest_attempts, ledger_path, read_ledger

    code = retailer_code(head)
    entries = (
        latest_attempts(read_ledger(home.warehouse))
        .filter((pl.col("retailer_code") == code) & (pl.col("object") == object_name))
        .sort("delivered_at", "delivery_id")
    )
    entries = entries.tail(last) if last > 0 else entries.clear()
    kept = entries.filter(pl.col("in_bronze"))["delivery_id"].to_list()
    rows = bronze_rows(home, code, object_name, kept) if kept else None
    samples = [
        Sample(f"{entry['delivery_id']} ({entry['period']})", partial(_read_pulled, object_name, entry, rows))
        for entry in entries.iter_rows(named=True)
    ]
    folder = str(ledger_path(home.warehouse))
    gate = _bronze_gate(object_name, engine)
    return compare(base, head, object_name, samples, gate, retailer=code, folder=folder, source="bronze")


def try_silver(
    base: Contract,
    head: Contract,
    code: str,
    object_name: str,
    home: DataHome,
    last: int,
    engine: str = DEFAULT_ENGINE,
) -> DryRun | None:
    """Both canonical gates on a retailer's current silver table of `object_name`; None without one."""
    from assets.silver.publish import references_for, silver_dims, silver_path
    from assets.storage import tables
    from checks.gate import run_gate

    path = silver_path(home, code, object_name)
    if not tables.exists(path):
        return None
    if object_name in CANONICAL_DIMS:
        rows = tables.read(path)
        samples = [Sample(path.name, partial(_fit, object_name, rows))] if last > 0 else []
        unit = WHOLE_TABLE
    else:
        deliveries = tables.read(path, columns=["delivery_id", "ingested_at"])
        latest = (
            deliveries.group_by("delivery_id")
            .agg(pl.col("ingested_at").max())
            .sort("ingested_at", "delivery_id")["delivery_id"]
            .to_list()
        )
        latest = _latest(latest, last)
        rows = tables.read(path, where=pl.col("delivery_id").is_in(latest))
        samples = [
            Sample(delivery, partial(_fit, object_name, rows.filter(pl.col("delivery_id") == delivery)))
            for delivery in latest
        ]
        unit = "deliveries in silver"
    dims = silver_dims(home, code)
    def gate(side: Contract, frame: pl.DataFrame) -> GateRun:
        return run_gate(side, object_name, frame, engine=engine, references=references_for(dims, side))

    return compare(base, head, object_name, samples, gate, retailer=code, folder=str(path), source="silver",
                   unit=unit)


def try_master(
    base: Contract, head: Contract, object_name: str, home: DataHome, last: int, engine: str = DEFAULT_ENGINE
) -> DryRun:
    """Both gates on the latest `last` files of a master object (latest by name, as silver takes them)."""
    from assets.plan import object_option

    folder = home.landing_for(CORPORATE)
    files: set[Path] = set()
    for side in _having(object_name, base, head):
        pattern = object_option(side, object_name, "filePattern")
        if pattern and folder.is_dir():
            files.update(p for p in folder.glob(pattern) if p.is_file())
    samples = [Sample(path.name, partial(_read_master, path)) for path in _latest(sorted(files), last)]
    gate = partial(_canonical_gate, object_name=object_name, engine=engine)
    return compare(base, head, object_name, samples, gate, retailer=CORPORATE, folder=str(folder),
                   source="master")


def _bronze_gate(object_name: str, engine: str) -> Gate:
    """The retailer gate bronze runs on a delivery, as `compare` calls it for each side."""
    from assets.bronze.ingest import gate_delivery

    return lambda side, frame: gate_delivery(side, object_name, frame, engine=engine)


def _canonical_gate(side: Contract, frame: pl.DataFrame, *, object_name: str, engine: str) -> GateRun:
    from checks.gate import run_gate

    return run_gate(side, object_name, frame, engine=engine)


def _having(object_name: str, *sides: Contract) -> list[Contract]:
    return [side for side in sides if object_name in side.object_names]


def _latest(items: Sequence[T], last: int) -> list[T]:
    return list(items[-last:]) if last > 0 else []


def _read_pulled(
    object_name: str, entry: dict, rows: pl.DataFrame | None, contract: Contract
) -> pl.DataFrame:
    """A pulled delivery's rows with the columns it came with; an unreadable one from quarantine."""
    from assets.bronze.ingest import UnreadableDelivery, read_delivery

    if entry["in_bronze"] and rows is not None:
        delivered = rows.filter(pl.col("_delivery_id") == entry["delivery_id"])
        return read_delivery(contract, object_name, delivered.select(json.loads(entry["columns"])))
    kept = Path(entry["quarantine_path"] or "")
    if kept.suffix != ".parquet" or not kept.is_file():
        raise UnreadableDelivery(entry["reason"] or "the delivery's rows are not in bronze any more")
    return read_delivery(contract, object_name, pl.read_parquet(kept))


def _fit(object_name: str, rows: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Silver rows in this revision's columns and types: what silver would build for it (a column
    it adds is null, as an unmapped column is); values that do not convert make the batch unreadable."""
    from assets.bronze.ingest import UnreadableDelivery
    from assets.silver.mapping import canonical_schema
    from checks.errors import one_line

    schema = canonical_schema(contract, object_name)
    try:
        return rows.select(
            pl.col(name).cast(dtype) if name in rows.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in schema.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise UnreadableDelivery(
            f"the silver rows do not fit this revision's types: {one_line(exc)}"
        ) from None


def _read_master(path: Path, contract: Contract) -> pl.DataFrame:
    from assets.bronze.ingest import UnreadableDelivery
    from checks.contract import format_hints
    from checks.readers import DataReadError, read_batch

    try:
        return read_batch(path, **format_hints(contract))
    except DataReadError as exc:
        raise UnreadableDelivery(str(exc)) from None
