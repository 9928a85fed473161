"""Surrogate keys: one documented algorithm, the same in Python, Polars and DuckDB, in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl

from assets.keys import PRODUCT_KEY, canonical_text, key_sql, surrogate_key, surrogate_keys

REPO = Path(__file__).resolve().parents[2]
TRICKY = pl.DataFrame(
    {
        "product_id": ["alp_de:4711", "a|b", "a\\|b", "\\N", None, "ünïcødé ✓", "", "x\\", "nwg_us:1"],
        "retailer_code": ["alp_de", "c", "c", "c", "c", "c", "c", "c|", None],
        "updated_at": pl.Series(
            [
                datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
                datetime(2026, 1, 1, tzinfo=UTC),
                None,
                datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
            ],
            dtype=pl.Datetime("us", "UTC"),
        ),
    }
)


def test_the_algorithm_is_the_documented_one():
    assert canonical_text("a|b\\c") == "a\\|b\\\\c"
    assert canonical_text(None) == "\\N" and canonical_text("\\N") == "\\\\N"
    assert canonical_text(datetime(2026, 1, 2, 4, 4, 5, 678, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-01-02T03:04:05.000678Z"
    )
    assert canonical_text(date(2026, 1, 2)) == "2026-01-02"
    key = surrogate_key(["alp_de:4711", "alp_de", datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)])
    # sha256("alp_de:4711|alp_de|2026-01-02T03:04:05.000678Z"), fixed forever (ADR 0007)
    assert key == "67ffb9477e9bbd4dd307d3dcf935e8db12eba3eff4a3fa295ab1ebe4857bbd9e"


def test_separator_escape_and_null_cannot_collide():
    keys = surrogate_keys(TRICKY, PRODUCT_KEY).to_list()
    assert len(set(keys)) == len(keys)
    assert surrogate_key(["a|b", "c"]) != surrogate_key(["a", "b|c"])
    assert surrogate_key([None, "c"]) != surrogate_key(["\\N", "c"])
    assert surrogate_key(["", "c"]) != surrogate_key([None, "c"])


def test_polars_duckdb_and_python_compute_the_same_keys():
    python = [surrogate_key(row) for row in TRICKY.select(PRODUCT_KEY).iter_rows()]
    polars = surrogate_keys(TRICKY, PRODUCT_KEY).to_list()
    con = duckdb.connect()
    con.register("versions", TRICKY.to_arrow())
    sql = key_sql([("product_id", "string"), ("retailer_code", "string"), ("updated_at", "timestamp")])
    duck = [row[0] for row in con.execute(f"SELECT {sql} FROM versions").fetchall()]
    assert python == polars == duck


def test_keys_do_not_depend_on_the_process_or_its_hash_seed():
    script = (
        "from datetime import datetime, UTC\n"
        "import polars as pl\n"
        "from assets.keys import PRODUCT_KEY, surrogate_keys\n"
        "frame = pl.DataFrame({'product_id': ['a', 'b|c', None], 'retailer_code': ['r', 'r', 'r'],"
        " 'updated_at': pl.Series([datetime(2026, 1, 1, tzinfo=UTC)] * 3, dtype=pl.Datetime('us', 'UTC'))})\n"
        "print(','.join(surrogate_keys(frame, PRODUCT_KEY).to_list()))\n"
    )
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout.strip())
    assert outputs[0] == outputs[1]
    assert outputs[0].split(",")[0] == surrogate_key(["a", "r", datetime(2026, 1, 1, tzinfo=UTC)])
