"""Surrogate keys on Spark: bit for bit the keys of the Python reference and of Polars (ADR 0007)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from assets.keys import PRODUCT_KEY, spark_key, surrogate_key, surrogate_keys
from tests.silver_gold.test_keys import TRICKY

pytestmark = pytest.mark.spark

EDGES = pl.DataFrame(
    {
        "text": ["", None, "\\N", "\\", "|", "a|b\\c", "ünïcødé ✓ 東京 🛒", " lead and trail ", "x" * 300],
        "day": [date(1, 1, 1), date(1969, 12, 31), None, date(2024, 2, 29), date(9999, 12, 31),
                date(1970, 1, 1), date(2026, 3, 29), date(2026, 10, 25), date(2000, 1, 1)],
        "moment": pl.Series(
            [
                datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(1970, 1, 1, tzinfo=UTC),
                None,
                datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=UTC),
                datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(2026, 10, 25, 0, 59, 59, 500000, tzinfo=UTC),
                datetime(1900, 1, 1, 12, tzinfo=UTC),
                datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
                datetime(2000, 2, 29, tzinfo=UTC),
            ],
            dtype=pl.Datetime("us", "UTC"),
        ),
        "flag": [True, False, None, True, False, None, True, False, True],
        "count": [0, -1, None, 2**62, -(2**62), 7, 42, 1, 10],
    }
)


def _spark_keys(spark, frame: pl.DataFrame, columns) -> list[str]:
    rows = spark.createDataFrame(frame.with_row_index("_order").cast({"_order": pl.Int64}).to_arrow())
    return [r[0] for r in rows.select(spark_key(rows, columns).alias("k")).orderBy("_order").collect()]


def test_spark_computes_the_polars_and_python_keys(spark) -> None:
    python = [surrogate_key(row) for row in TRICKY.select(PRODUCT_KEY).iter_rows()]
    assert _spark_keys(spark, TRICKY, PRODUCT_KEY) == surrogate_keys(TRICKY, PRODUCT_KEY).to_list() == python
    assert python[0] == "67ffb9477e9bbd4dd307d3dcf935e8db12eba3eff4a3fa295ab1ebe4857bbd9e"


@pytest.mark.parametrize("columns", [["text"], ["day"], ["moment"], ["flag"], ["count"],
                                     ["text", "day", "moment", "flag", "count"]])
def test_every_kind_of_value_hashes_the_same(spark, columns: list[str]) -> None:
    python = [surrogate_key(row) for row in EDGES.select(columns).iter_rows()]
    assert _spark_keys(spark, EDGES, columns) == surrogate_keys(EDGES, columns).to_list() == python


def test_a_session_outside_utc_is_refused_for_timestamps(spark) -> None:
    rows = spark.createDataFrame(TRICKY.to_arrow())
    spark.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        with pytest.raises(ValueError, match="UTC"):
            spark_key(rows, PRODUCT_KEY)
        assert spark_key(rows, ["product_id"]) is not None  # no timestamp: the zone does not matter
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
