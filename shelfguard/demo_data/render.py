"""Canonical rows → a retailer's columns and values → the bytes of its delivery format.

Values are first made what the contract says the column holds (the inverse of its `transform`,
its date format, its logical type), then written by the format's writer. Writers return bytes so
byte-level faults and hashes work the same for every format, and they write nothing that depends on
the clock (xlsx creation time is fixed), so the same input gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shelfguard.demo_data.patterns import sequence_from_pattern
from shelfguard.demo_data.spec import ColumnSpec, ObjectSpec

XLSX_CREATED = datetime(2020, 1, 1)
"""Creation time written into every xlsx (xlsxwriter would use the clock)."""
TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class TextOptions:
    """How a delimited text file is written."""

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_separator: str = "."
    header: bool = True


def retailer_rows(obj: ObjectSpec, canonical_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each canonical row as the retailer's columns, with values of the columns' types."""
    rows = []
    for index, canonical in enumerate(canonical_rows):
        row = {}
        for column in obj.columns:
            target = next((t for t in column.targets_for(obj.grain) if t in canonical), None)
            value = canonical[target] if target else extra_value(column, index, canonical)
            row[column.name] = typed_value(column, value)
        rows.append(row)
    return rows


def typed_value(column: ColumnSpec, value: Any) -> Any:
    """The canonical value as the column delivers it (inverse transform, date format, type)."""
    if value is None:
        return None
    if column.transform == "cents_to_units":
        value = int(Decimal(value).scaleb(2))
    elif column.transform == "negate":
        value = -value
    kind = column.logical_type
    if kind in ("date", "timestamp"):
        return value.strftime(column.strftime) if column.strftime else value
    if kind == "integer":
        return int(Decimal(value).to_integral_value())
    if kind == "number":
        return value
    if kind == "boolean":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def extra_value(column: ColumnSpec, index: int, canonical: dict[str, Any]) -> Any:
    """A plausible value for a column that feeds no canonical column (it is carried as an extra)."""
    if column.valid_values:
        return column.valid_values[index % len(column.valid_values)]
    if column.pattern and column.logical_type == "string":
        return sequence_from_pattern(column.pattern, index % 100 + 1)
    moments = [value for value in canonical.values() if isinstance(value, date)]
    kind = column.logical_type
    if kind == "date":
        return next((m for m in moments if not isinstance(m, datetime)), None)
    if kind == "timestamp":
        return next((m for m in moments if isinstance(m, datetime)), None)
    if kind == "integer":
        return index % 10
    if kind == "number":
        return Decimal(index % 40) / 4
    if kind == "boolean":
        return index % 2 == 0
    return f"{column.name.lower()}-{index % 7 + 1}"


def text_value(value: Any, decimal_separator: str = ".") -> str:
    """A value as text in a delimited file (empty = null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_TEXT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return str(value).replace(".", decimal_separator)
    return str(value)


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_TEXT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent >= 0
            else float(value)
        )
    return value


def write_text(columns: list[str], rows: list[dict[str, Any]], options: TextOptions) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=options.delimiter, lineterminator="\n")
    if options.header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([text_value(row.get(column), options.decimal_separator) for column in columns])
    return buffer.getvalue().encode(options.encoding)


def write_jsonl(columns: list[str], rows: list[dict[str, Any]], encoding: str = "utf-8") -> bytes:
    lines = [
        json.dumps({column: json_value(row.get(column)) for column in columns}, ensure_ascii=False)
        for row in rows
    ]
    return "".join(line + "\n" for line in lines).encode(encoding)


def write_json_page(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    records = [{column: json_value(row.get(column)) for column in columns} for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8")


def write_parquet(obj: ObjectSpec, columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    import polars as pl

    by_name = {column.name: column for column in obj.columns}
    data = {}
    for name in columns:
        dtype = _polars_type(by_name[name])
        values = [row.get(name) for row in rows]
        if dtype == pl.Float64:
            values = [float(v) if v is not None else None for v in values]
        data[name] = pl.Series(name, values, dtype=dtype)
    buffer = io.BytesIO()
    pl.DataFrame(data).write_parquet(buffer)
    return buffer.getvalue()


def _polars_type(column: ColumnSpec) -> Any:
    import polars as pl

    physical = column.physical_type.upper()
    kind = column.logical_type
    if kind in ("date", "timestamp") and not column.strftime:
        return pl.Date if kind == "date" else pl.Datetime("us")
    if kind == "integer":
        return pl.Int32 if physical in ("INT", "INT32", "INTEGER") else pl.Int64
    if kind == "number":
        decimal = re.fullmatch(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)", physical)
        return pl.Decimal(int(decimal.group(1)), int(decimal.group(2))) if decimal else pl.Float64
    if kind == "boolean":
        return pl.Boolean
    return pl.String


def write_xlsx(columns: list[str], rows: list[dict[str, Any]], sheet: str | None) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": XLSX_CREATED})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    timestamp_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    worksheet = workbook.add_worksheet(sheet or "Sheet1")
    for col, name in enumerate(columns):
        worksheet.write_string(0, col, name)
    for row_number, row in enumerate(rows, start=1):
        for col, name in enumerate(columns):
            value = row.get(name)
            if value is None:
                continue
            if isinstance(value, bool):
                worksheet.write_boolean(row_number, col, value)
            elif isinstance(value, int | float | Decimal):
                worksheet.write_number(row_number, col, float(value))
            elif isinstance(value, date):
                fmt = timestamp_format if isinstance(value, datetime) else date_format
                worksheet.write_datetime(row_number, col, value, fmt)
            else:
                worksheet.write_string(row_number, col, str(value))
    workbook.close()
    return buffer.getvalue()


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_TEXT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
