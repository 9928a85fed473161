"""The generation report: every delivery written and every fault injected, with exact numbers.

Tests of ingestion, gates and freshness assert against it, so each fault records the effect a
correct pipeline must show (which column, how many rows).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class FaultInjection(BaseModel):
    """One fault put into one delivery."""

    fault: str = Field(description="The fault name, e.g. `nulls` (see shelfguard.demo_data.FAULTS).")
    variant: str | None = Field(
        None,
        description="For faults with several forms: e.g. `text`/`binary` "
        "(truncated_file), `withheld`/`arrived_late` (late_delivery).",
    )
    retailer: str
    object: str = Field(description="The contract's schema object.")
    period: str = Field(description="The delivery period label (2025-03-24, 2025-W13, 2025-03).")
    location: str = Field(
        description="The faulty delivery: a path relative to SHELFGUARD_HOME, or "
        "`sources/<code>.sqlite#<table>` / an API page file."
    )
    effect: str = Field(description="What a correct pipeline must observe, in words.")
    column: str | None = Field(None, description="The column affected (as named in the contract).")
    renamed_to: str | None = Field(None, description="renamed_column: the name the file uses instead.")
    rows_affected: int | None = Field(None, description="Rows changed, nulled, duplicated or left complete.")
    second_location: str | None = Field(None, description="redelivered/restated_file: the second file.")


class Delivery(BaseModel):
    """One delivery: a landing file, a database load batch or an API page file."""

    retailer: str = Field(description="Retailer code, or `corporate` for the master data files.")
    object: str
    channel: str = Field(description="landing, database, api or reference (corporate master data).")
    location: str = Field(
        description="Path relative to SHELFGUARD_HOME; `sources/<code>.sqlite#<table>` for a database batch."
    )
    period: str
    key: str | None = Field(None, description="The region or store of a split delivery.")
    first_date: date | None = Field(None, description="First business date in the delivery.")
    last_date: date | None = Field(None, description="Last business date in the delivery.")
    rows: int = Field(
        description="Data rows rendered into the delivery (after row faults such as duplicates)."
    )
    bytes: int | None = Field(None, description="File size (files only).")
    sha256: str | None = Field(None, description="Content hash (files only).")
    delivered_at: datetime = Field(description="Arrival (UTC); landing files carry it as their mtime.")
    due_by: datetime | None = Field(None, description="The SLA deadline this delivery answers (UTC).")
    watermark: str | None = Field(None, description="Database batches: the `updated_at` value of the batch.")
    faults: list[str] = Field(default_factory=list, description="Names of the faults injected into it.")


class MasterData(BaseModel):
    product_master: str = Field(description="Path of the product master file, relative to SHELFGUARD_HOME.")
    site_master: str
    products: int = Field(description="Rows in the product master.")
    sites: int = Field(description="Rows in the site master.")
    unmatched_gtins: dict[str, list[str]] = Field(
        description="Per retailer: GTINs it sends (as sent) that the product master lacks, after "
        "left-padding both sides with zeros to 14 digits."
    )
    unmatched_glns: dict[str, list[str]] = Field(
        description="Per retailer: GLNs it sends that the site master lacks."
    )


class GenerationReport(BaseModel):
    seed: int
    start: date
    end: date
    as_of: datetime = Field(description="The reference moment (UTC): nothing arriving later was written.")
    days: int
    stores: int = Field(description="Stores per retailer.")
    products: int = Field(description="Products in the catalogue (every retailer lists all).")
    faults_requested: list[str]
    retailers: list[str]
    deliveries: list[Delivery]
    injections: list[FaultInjection]
    not_injected: dict[str, str] = Field(
        default_factory=dict, description="Requested faults that found no eligible delivery, with the reason."
    )
    skipped: dict[str, str] = Field(
        default_factory=dict, description="Retailers the generator cannot follow, with the contract line why."
    )
    master: MasterData

    def deliveries_of(self, retailer: str, object_name: str | None = None) -> list[Delivery]:
        return [
            d
            for d in self.deliveries
            if d.retailer == retailer and (object_name is None or d.object == object_name)
        ]

    def injections_of(self, fault: str) -> list[FaultInjection]:
        return [injection for injection in self.injections if injection.fault == fault]
