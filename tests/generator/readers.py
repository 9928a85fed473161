"""Read a generated delivery back the way an ingestion would: by the contract's format and hints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl

from shelfguard.demo_data import Delivery
from shelfguard.demo_data.spec import RetailerSpec


def read_delivery(
    home: Path, spec: RetailerSpec, delivery: Delivery, *, delimiter: str | None = None
) -> pl.DataFrame:
    """The delivery as a frame (text formats as strings; parquet, xlsx and JSON with their own types)."""
    path = home / delivery.location
    if spec.format in ("csv", "text"):
        text = path.read_bytes().decode(spec.encoding)
        return pl.read_csv(text.encode(), separator=delimiter or spec.delimiter, infer_schema=False)
    if spec.format == "jsonl":
        return pl.read_ndjson(path, infer_schema_length=None)
    if spec.format == "parquet":
        return pl.read_parquet(path)
    if spec.format == "xlsx":
        return pl.read_excel(path, sheet_name=spec.sheet, infer_schema_length=0)
    if spec.channel == "api":
        return pl.DataFrame(json.loads(path.read_text("utf-8")), infer_schema_length=None)
    raise ValueError(f"{delivery.location} is not a file delivery")


def read_table(home: Path, code: str, table: str) -> pl.DataFrame:
    with sqlite3.connect(home / "sources" / f"{code}.sqlite") as connection:
        cursor = connection.execute(f'SELECT * FROM "{table}"')
        names = [column[0] for column in cursor.description]
        return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)
