"""Surrogate keys: sha256 over a canonical text form, identical in Python, Polars and DuckDB (ADR 0007).

A key must not change across processes, runs, library versions or engines, so it never uses an
engine's internal `hash()` or any set/dict iteration order. The algorithm, in full:

1. Take the key columns in their fixed order (`PRODUCT_KEY`, `SITE_KEY`): the natural key, then
   `retailer_code`, then `updated_at`.
2. Write each value in its canonical text form: strings as they are; dates `YYYY-MM-DD`;
   timestamps in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; integers in decimal; booleans `true`/`false`.
3. Escape: `\\` becomes `\\\\` and `|` becomes `\\|`; a null is the marker `\\N` (which no escaped
   value can equal, since an escaped backslash is always doubled).
4. Join the escaped values with `|` and take the lowercase hex sha256 of the UTF-8 bytes.

`key_sql` is the same algorithm as a DuckDB SQL expression, `spark_key` as a PySpark column
(`sha2(concat_ws('|', …), 256)`; Spark and Sail have SHA-256 natively).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SEPARATOR = "|"
ESCAPE = "\\"
NULL_MARKER = "\\N"
PRODUCT_KEY = ("product_id", "retailer_code", "updated_at")
SITE_KEY = ("site_id", "retailer_code", "updated_at")
SPARK_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
"""The same form as a Spark datetime pattern (rendered in the session time zone, which must be UTC)."""
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""strftime form of canonical timestamps (Python and DuckDB: `%f` is six digits of microseconds)."""


def canonical_text(value: object) -> str:
    """One value in its canonical, escaped text form (the reference implementation)."""
    if value is None:
        return NULL_MARKER
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive timestamps have no canonical form; silver timestamps are UTC")
        text = value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, int | Decimal | str):
        text = str(value)
    else:
        raise TypeError(f"no canonical text form for {type(value).__name__}")
    return text.replace(ESCAPE, ESCAPE * 2).replace(SEPARATOR, ESCAPE + SEPARATOR)


def surrogate_key(values: Sequence[object]) -> str:
    """The key of one row's key values, in key order."""
    text = SEPARATOR.join(canonical_text(v) for v in values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            raise ValueError(f"column {name!r} is a naive timestamp; silver timestamps are UTC")
        text = column.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    elif dtype == pl.Date:
        text = column.dt.strftime("%Y-%m-%d")
    elif dtype == pl.Boolean:
        text = pl.when(column).then(pl.lit("true")).when(column.not_()).then(pl.lit("false"))
    elif dtype == pl.String or dtype.is_integer() or isinstance(dtype, pl.Decimal):
        text = column.cast(pl.String)
    else:
        raise TypeError(f"no canonical text form for column {name!r} of type {dtype}")
    escaped = text.str.replace_all(ESCAPE, ESCAPE * 2, literal=True).str.replace_all(
        SEPARATOR, ESCAPE + SEPARATOR, literal=True
    )
    return escaped.fill_null(NULL_MARKER)


def canonical_string_expr(schema: pl.Schema, columns: Sequence[str]) -> pl.Expr:
    """The canonical string of the key columns, as a Polars expression."""
    return pl.concat_str([_text_expr(c, schema[c]) for c in columns], separator=SEPARATOR)


def _sha256_hex(texts: pl.Series) -> pl.Series:
    return pl.Series([hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts], dtype=pl.String)


def surrogate_keys(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """The key of every row of `frame`; each distinct key string is hashed once."""
    texts = frame.select(canonical_string_expr(frame.schema, columns).alias("text"))
    distinct = texts.unique("text")
    distinct = distinct.with_columns(_sha256_hex(distinct["text"]).alias("key"))
    return texts.join(distinct, on="text", how="left", maintain_order="left")["key"]


def with_surrogate_key(frame: pl.DataFrame, name: str, columns: Sequence[str]) -> pl.DataFrame:
    return frame.with_columns(surrogate_keys(frame, columns).alias(name))


def _sql_text(name: str, kind: str) -> str:
    column = '"' + name.replace('"', '""') + '"'
    if kind == "timestamp":
        text = f"strftime(timezone('UTC', {column}), '{TIMESTAMP_FORMAT}')"
    elif kind == "date":
        text = f"strftime({column}, '%Y-%m-%d')"
    elif kind == "boolean":
        text = f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    elif kind in ("string", "integer", "decimal"):
        text = f"CAST({column} AS VARCHAR)"
    else:
        raise ValueError(f"no canonical text form for kind {kind!r}")
    return f"coalesce(replace(replace({text}, '\\', '\\\\'), '|', '\\|'), '\\N')"


def key_sql(columns: Sequence[tuple[str, str]]) -> str:
    """DuckDB SQL for the key of `(column, kind)` pairs; kinds: string, date, timestamp (UTC), integer,
    decimal, boolean. Timestamp columns must be TIMESTAMP WITH TIME ZONE."""
    parts = ", ".join(_sql_text(name, kind) for name, kind in columns)
    return f"sha256(concat_ws('{SEPARATOR}', {parts}))"


def _spark_text(name: str, kind: str) -> Column:
    from pyspark.sql import functions as F

    column = F.col(name)
    if kind == "timestamp":
        text = F.date_format(column, SPARK_TIMESTAMP_FORMAT)
    elif kind == "date":
        text = F.date_format(column, "yyyy-MM-dd")
    elif kind == "boolean":
        text = F.when(column, F.lit("true")).when(~column, F.lit("false"))
    elif kind in ("string", "integer", "decimal"):
        text = column.cast("string")
    else:
        raise TypeError(f"no canonical text form for column {name!r} of type {kind}")
    doubled = F.replace(text, F.lit(ESCAPE), F.lit(ESCAPE * 2))
    escaped = F.replace(doubled, F.lit(SEPARATOR), F.lit(ESCAPE + SEPARATOR))
    return F.coalesce(escaped, F.lit(NULL_MARKER))


SPARK_KINDS = {
    "timestamp": "timestamp",
    "date": "date",
    "boolean": "boolean",
    "string": "string",
    "bigint": "integer",
    "int": "integer",
    "smallint": "integer",
    "tinyint": "integer",
}


def spark_kind(simple_type: str) -> str:
    """The canonical text kind of a Spark column type (`DataType.simpleString()`)."""
    if simple_type.startswith("decimal"):
        return "decimal"
    if simple_type not in SPARK_KINDS:
        raise TypeError(f"no canonical text form for Spark type {simple_type}")
    return SPARK_KINDS[simple_type]


def spark_key_text(frame: DataFrame, columns: Sequence[str]) -> Column:
    """The canonical string of the key columns, as a Spark column (`canonical_string_expr`).

    Timestamps are rendered in the session time zone, so the session must run in UTC
    (`checks.spark_session` sets it); anything else is refused rather than hashed differently.
    """
    from pyspark.sql import functions as F

    zone = frame.sparkSession.conf.get("spark.sql.session.timeZone")
    types = dict(frame.dtypes)
    if zone != "UTC" and any(types[c] == "timestamp" for c in columns):
        raise ValueError(f"surrogate keys need a Spark session in UTC, not {zone}")
    return F.concat_ws(SEPARATOR, *(_spark_text(c, spark_kind(types[c])) for c in columns))


def spark_key(frame: DataFrame, columns: Sequence[str]) -> Column:
    """The key of `columns` of a Spark frame, as a column: the same bytes hashed as `surrogate_key`."""
    from pyspark.sql import functions as F

    return F.sha2(spark_key_text(frame, columns), 256)
