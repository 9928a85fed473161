"""A batch as a table of an in-process DuckDB that may spill to disk (Soda engine, `type: sql` rules),
or as a view over the Parquet or Delta files it was read from (`dataset_database`).

A table, not a registered view: Soda finds tables through `information_schema`, and a lazy batch (a
scanned file) can be streamed only once. The rows go into the table in Arrow record batches from
Polars' streaming engine, never collected into one DataFrame; DuckDB keeps the table within
`memory_limit` and spills the rest to a temporary folder that is removed when the connection closes.
After loading, file and network access are switched off (and the configuration can be locked), so a
query in a contract reads nothing but the batch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from checks.engines.base import quote_identifier

MEMORY_LIMIT_ENV = "SHELFGUARD_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"
"""What DuckDB may hold in memory before it spills to its temporary folder."""
STREAM_ROWS = 200_000
"""Rows per Polars batch streamed into DuckDB: large enough to be cheap, small enough to be bounded."""
SPILL_PREFIX = "shelfguard-duckdb-"


@contextmanager
def batch_database(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *,
                   lock_configuration: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection holding each frame as a table of that name, closed and cleaned up afterwards.

    An error raised by Polars while streaming a scanned file is re-raised as it is, so the caller
    can name the file and line (`checks.readers.explain_scan_error`)."""
    with _connection() as connection:
        for name, frame in tables.items():
            _load(connection, name, frame.lazy())
        _seal(connection, lock_configuration)
        yield connection


@contextmanager
def dataset_database(dataset: Any, name: str, select_list: str, *,
                     lock_configuration: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection where `name` is a view `SELECT <select_list>` over a pyarrow dataset (the
    Parquet files or the Delta table of a batch), read in place by every query: DuckDB scans only
    the columns and row groups a query needs, and nothing is copied. The dataset is read through
    Arrow, not DuckDB's file system, so file access is switched off all the same."""
    with _connection() as connection:
        connection.register("__sg_source", dataset)
        connection.execute(f"CREATE VIEW {quote_identifier(name)} AS SELECT {select_list} FROM __sg_source")
        _seal(connection, lock_configuration)
        yield connection


@contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with tempfile.TemporaryDirectory(prefix=SPILL_PREFIX) as spill:
        connection = duckdb.connect(config={
            "memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
            "temp_directory": spill,
        })
        try:
            yield connection
        finally:
            connection.close()


def _seal(connection: duckdb.DuckDBPyConnection, lock_configuration: bool) -> None:
    """No file or network access from here on (a query in a contract reads nothing but the batch)."""
    connection.execute("SET enable_external_access = false")
    if lock_configuration:
        connection.execute("SET lock_configuration = true")


class _ArrowStream:
    """The frame's rows as Arrow record batches, remembering the error that stopped them."""

    def __init__(self, frame: pl.LazyFrame):
        self.frame = frame
        self.error: Exception | None = None

    def reader(self) -> pa.RecordBatchReader:
        batches = self._batches()
        first = next(batches, None)
        if first is None:  # no rows: the schema of an empty frame
            empty = pl.DataFrame(schema=self.frame.collect_schema())
            return pa.RecordBatchReader.from_batches(_arrow(empty).schema, [])
        return pa.RecordBatchReader.from_batches(first.schema, _chained(first, batches))

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for chunk in self.frame.collect_batches(chunk_size=STREAM_ROWS):
                yield from _arrow(chunk).to_batches()
        except Exception as exc:
            self.error = exc
            raise


def _chained(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _arrow(frame: pl.DataFrame) -> pa.Table:
    # The newest Arrow level keeps Polars' string views: no copy before DuckDB's own.
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _load(connection: duckdb.DuckDBPyConnection, name: str, frame: pl.LazyFrame) -> None:
    stream = _ArrowStream(frame)
    connection.register("__sg_stream", stream.reader())
    try:
        connection.execute(f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM __sg_stream")
    except duckdb.Error:
        if stream.error is not None:
            raise stream.error from None
        raise
    finally:
        connection.unregister("__sg_stream")
