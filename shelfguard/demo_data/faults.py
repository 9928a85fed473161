"""Named faults: which deliveries get them, and what each does to rows, columns or bytes.

Targets are chosen from the contracts, deterministically: each fault form has an eligibility rule
(e.g. `negative_units` needs a units column whose pattern rejects a minus sign); the eligible
retailers are taken in code order, rotated by the form's position in `VARIANTS` so that faults
spread over retailers; within the retailer the first eligible object (facts first) and a period
near the middle of the range that no other fault uses. The latest period is kept for
`late_delivery`, which goes only to a retailer with an earlier period (late, not never delivered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from shelfguard.demo_data.schedule import Planned, Variant
from shelfguard.demo_data.spec import ColumnSpec, ObjectSpec, RetailerSpec

FAULTS = (
    "nulls",
    "invalid_codes",
    "negative_units",
    "duplicate_keys",
    "missing_column",
    "renamed_column",
    "wrong_delimiter",
    "wrong_encoding",
    "truncated_file",
    "empty_file",
    "redelivered_file",
    "restated_file",
    "late_delivery",
)
TEXT_FORMATS = ("csv", "text")
WRONG_DELIMITERS = {",": ";", ";": ",", "|": "\t", "\t": ","}
WRONG_ENCODING = "utf-16"
BINARY_TRUNCATION_BYTES = 16
LATE_BY_HOURS = 3
REDELIVERED_AFTER_HOURS = 2
RESTATED_AFTER_DAYS = 1


def required_column(obj: ObjectSpec) -> ColumnSpec | None:
    """The column a nulls or missing_column fault hits: a required measure, else a required non-key column."""
    required = [column for column in obj.columns if column.required]
    measures = [column for column in required if column.maps_to("units_sold", "net_sales")]
    others = [column for column in required if column.name not in obj.duplicate_key]
    return next(iter(measures or others or required), None)


def code_column(obj: ObjectSpec) -> ColumnSpec | None:
    """A GTIN or GLN column with a format rule, preferring one that is not also the id."""
    codes = [column for column in obj.columns if column.maps_to("gtin", "gln") and column.pattern]
    plain = [column for column in codes if not column.maps_to("product_id", "site_id")]
    return next(iter(plain or codes), None)


def units_column(obj: ObjectSpec) -> ColumnSpec | None:
    """A units column whose format rule rejects negative numbers."""
    return next(
        (
            column
            for column in obj.columns_mapped_to("units_sold")
            if column.pattern and not re.fullmatch(column.pattern, "-1")
        ),
        None,
    )


def column_to_rename(obj: ObjectSpec) -> ColumnSpec | None:
    """A required amount column, else the first required column."""
    required = [column for column in obj.columns if column.required]
    money = [column for column in required if column.maps_to("net_sales")]
    return next(iter(money or required), None)


def _landing(spec: RetailerSpec, obj: ObjectSpec) -> bool:
    return spec.channel == "landing"


VARIANTS: tuple[Variant, ...] = (
    Variant("nulls", None, lambda spec, obj: required_column(obj) is not None),
    Variant("invalid_codes", None, lambda spec, obj: code_column(obj) is not None),
    Variant("negative_units", None, lambda spec, obj: units_column(obj) is not None),
    Variant("duplicate_keys", None, lambda spec, obj: True),
    Variant(
        "missing_column", None, lambda spec, obj: _landing(spec, obj) and required_column(obj) is not None
    ),
    Variant(
        "renamed_column", None, lambda spec, obj: _landing(spec, obj) and column_to_rename(obj) is not None
    ),
    Variant("wrong_delimiter", None, lambda spec, obj: _landing(spec, obj) and spec.format in TEXT_FORMATS),
    Variant(
        "wrong_encoding",
        None,
        lambda spec, obj: _landing(spec, obj) and spec.format in (*TEXT_FORMATS, "jsonl"),
    ),
    Variant(
        "truncated_file",
        "text",
        lambda spec, obj: _landing(spec, obj) and spec.format in (*TEXT_FORMATS, "jsonl"),
    ),
    Variant(
        "truncated_file",
        "binary",
        lambda spec, obj: _landing(spec, obj) and spec.format in ("parquet", "xlsx"),
    ),
    Variant("empty_file", None, _landing),
    Variant(
        "redelivered_file", None, lambda spec, obj: _landing(spec, obj) and obj.period_pattern is not None
    ),
    Variant("restated_file", None, lambda spec, obj: _landing(spec, obj) and obj.period_pattern is not None),
    Variant("late_delivery", "withheld", _landing, latest=True),
    Variant("late_delivery", "arrived_late", _landing, latest=True),
)


def assign_faults(selected: set[str], planned: list[Planned]) -> dict[str, str]:
    """Attach the selected faults to deliveries; return the faults that found no place, with why."""
    by_retailer: dict[str, list[Planned]] = {}
    for delivery in planned:
        by_retailer.setdefault(delivery.spec.code, []).append(delivery)
    latest = {code: max(d.period.start for d in deliveries) for code, deliveries in by_retailer.items()}
    used: set[tuple[str, date]] = set()
    not_injected: dict[str, str] = {}
    for number, variant in enumerate(VARIANTS):
        if variant.fault not in selected:
            continue
        eligible = sorted(
            code
            for code, deliveries in by_retailer.items()
            if any(variant.eligible(d.spec, d.obj) for d in deliveries)
        )
        if not eligible:
            not_injected[variant.label] = "no generated retailer's contract allows it"
            continue
        if variant.latest:  # late after an earlier period on time, not a retailer that never delivered
            eligible = [code for code in eligible if len({d.period.start for d in by_retailer[code]}) > 1]
            if not eligible:
                not_injected[variant.label] = "no eligible retailer has two periods due; generate more days"
                continue
        rotated = eligible[number % len(eligible) :] + eligible[: number % len(eligible)]
        for code in rotated:
            chosen = _choose(by_retailer[code], variant, number, used, latest[code])
            if chosen:
                for delivery in chosen:
                    delivery.variants.append(variant)
                used.add((code, chosen[0].period.start))
                break
        else:
            earlier = any(d.period.start != latest[code] for code in eligible for d in by_retailer[code])
            not_injected[variant.label] = (
                "every eligible delivery already carries another fault"
                if variant.latest or earlier
                else "only the latest period was generated (it is kept for late_delivery); generate more days"
            )
    return not_injected


def _choose(
    deliveries: list[Planned], variant: Variant, number: int, used: set[tuple[str, date]], latest: object
) -> list[Planned]:
    code = deliveries[0].spec.code
    if variant.latest:
        return [] if (code, latest) in used else [d for d in deliveries if d.period.start == latest]
    objects = sorted(
        {d.obj.index: d.obj for d in deliveries if variant.eligible(d.spec, d.obj)}.values(),
        key=lambda obj: (not obj.is_fact, obj.index),
    )
    for obj in objects:
        starts = sorted({d.period.start for d in deliveries if d.obj is obj and d.period.start != latest})
        if not starts:
            continue
        first = (len(starts) // 2 + number) % len(starts)
        for start in starts[first:] + starts[:first]:
            if (code, start) not in used:
                candidates = [d for d in deliveries if d.obj is obj and d.period.start == start]
                return [min(candidates, key=lambda d: d.key or "")]
    return []


def spread(count: int, size: int) -> list[int]:
    """`size` row positions spread evenly over `count` rows."""
    return [(i * count) // size + count // (2 * size) for i in range(size)]


def rows_text(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def affected_rows(count: int) -> int:
    """How many rows a row-level fault touches: 0.5 % of the delivery, at least one."""
    return max(1, count // 200)


@dataclass(frozen=True)
class Applied:
    """What a fault did to one delivery, for the report."""

    fault: str
    effect: str
    variant: str | None = None
    column: str | None = None
    renamed_to: str | None = None
    rows_affected: int | None = None


Rows = list[dict[str, Any]]


def _nulls(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    column = required_column(obj)
    assert column is not None
    positions = spread(len(rows), affected_rows(len(rows)))
    for position in positions:
        rows[position][column.name] = None
    effect = f"{rows_text(len(positions))} with null {column.name} (required)"
    return columns, rows, Applied("nulls", effect, column=column.name, rows_affected=len(positions))


def _invalid_codes(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    column = code_column(obj)
    assert column is not None
    filled = [i for i, row in enumerate(rows) if row[column.name]]
    positions = [filled[i] for i in spread(len(filled), affected_rows(len(rows)))]
    for position in positions:
        rows[position][column.name] = "X" + str(rows[position][column.name])[1:]
    effect = f"{rows_text(len(positions))} whose {column.name} breaks its pattern {column.pattern}"
    return columns, rows, Applied("invalid_codes", effect, column=column.name, rows_affected=len(positions))


def _negative_units(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    column = units_column(obj)
    assert column is not None
    positions = spread(len(rows), affected_rows(len(rows)))
    for position in positions:
        rows[position][column.name] = -abs(rows[position][column.name]) or -1
    effect = f"{rows_text(len(positions))} with negative {column.name}"
    return columns, rows, Applied("negative_units", effect, column=column.name, rows_affected=len(positions))


def _duplicate_keys(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    positions = set(spread(len(rows), affected_rows(len(rows))))
    doubled = [copy for i, row in enumerate(rows) for copy in ([row, dict(row)] if i in positions else [row])]
    effect = (
        f"{rows_text(len(positions))} delivered twice: duplicateValues over ({', '.join(obj.duplicate_key)}) "
        f"is {len(positions)}"
    )
    return columns, doubled, Applied("duplicate_keys", effect, rows_affected=len(positions))


def _missing_column(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    column = required_column(obj)
    assert column is not None
    effect = f"required column {column.name} is absent"
    return (
        [c for c in columns if c != column.name],
        rows,
        Applied("missing_column", effect, column=column.name),
    )


def _renamed_column(obj: ObjectSpec, columns: list[str], rows: Rows) -> tuple[list[str], Rows, Applied]:
    column = column_to_rename(obj)
    assert column is not None
    new_name = column.name.upper() if column.name != column.name.upper() else column.name.lower()
    for row in rows:
        row[new_name] = row.pop(column.name)
    effect = f"column {column.name} is delivered as {new_name} (missing + one extra column)"
    renamed = [new_name if c == column.name else c for c in columns]
    return renamed, rows, Applied("renamed_column", effect, column=column.name, renamed_to=new_name)


ROW_FAULTS = {
    "nulls": _nulls,
    "invalid_codes": _invalid_codes,
    "negative_units": _negative_units,
    "duplicate_keys": _duplicate_keys,
    "missing_column": _missing_column,
    "renamed_column": _renamed_column,
}
"""Faults that change the rows or columns of a delivery (any channel), before it is written."""


def apply_row_fault(
    fault: str, obj: ObjectSpec, columns: list[str], rows: Rows
) -> tuple[list[str], Rows, Applied]:
    """A copy of the delivery's columns and rows with a row- or column-level fault applied."""
    return ROW_FAULTS[fault](obj, list(columns), [dict(row) for row in rows])


def truncate(data: bytes, variant: str, header_lines: int) -> tuple[bytes, Applied]:
    """Cut a file: text mid-row (a partial last line), binary inside the footer."""
    if variant == "binary":
        kept = data[:-BINARY_TRUNCATION_BYTES]
        effect = (
            f"last {BINARY_TRUNCATION_BYTES} bytes (footer) cut off: {len(kept)} of {len(data)} bytes; "
            "the file cannot be read"
        )
        return kept, Applied("truncated_file", effect, variant)
    cut = len(data) * 3 // 5
    while cut > 1 and data[cut - 1 : cut] == b"\n":
        cut -= 1
    kept = data[:cut]
    complete = kept.count(b"\n") - header_lines
    effect = f"cut mid-row after {cut} of {len(data)} bytes: {complete} complete data rows and a partial one"
    return kept, Applied("truncated_file", effect, variant, rows_affected=complete)


def restate(
    canonical_rows: list[dict[str, Any]], obj: ObjectSpec, updated_at: Any
) -> tuple[list[dict[str, Any]], int]:
    """A corrected version of a delivery: some rows change, every row gets the new export time."""
    rows = [dict(row) for row in canonical_rows]
    positions = spread(len(rows), max(1, len(rows) // 20))
    fact = "daily_store_fact" if obj.grain == "daily" else "weekly_store_fact"
    for position in positions:
        row = rows[position]
        if obj.is_fact:
            row[f"{fact}.units_sold"] += 1
            row[f"{fact}.net_sales"] += row["unit_price"]
        elif obj.grain == "product":
            row["prod_dim.description"] += " (corrected)"
        else:
            row["site_dim.name"] += " (corrected)"
    for row in rows:
        for target in [t for t in row if t.endswith(".updated_at")]:
            row[target] = updated_at
    return rows, len(positions)
