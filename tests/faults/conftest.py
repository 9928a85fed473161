"""Fault-injection fixtures: small demo data, pipeline runs in their own processes, and what a data
home holds (row counts and content checksums) to compare a crashed-and-re-run home with a clean one.

Data homes live on /dev/shm where it exists: the Dagster instance's sqlite storage commits
thousands of times per run, and on a busy shared disk the fsyncs alone took minutes. A SIGKILL
is a process death either way; the filesystem does not change what it leaves behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from assets.storage.durability import KILL_AT, orphan_files
from shelfguard.demo_data import generate
from shelfguard.settings import DataHome
from tests.conftest import REPO_ROOT

RETAILERS = ("nwg_us", "crl_au")
"""A landing retailer (daily files: quarantined rows, a blocked, an unreadable, a re-delivered and a
restated file) and a database retailer (one pull: quarantined rows, a watermark)."""
FAULTS = ("negative_units", "truncated_file", "redelivered_file", "restated_file", "invalid_codes")
RUN_TIMEOUT_SECONDS = 900
"""Generous: a hang fails the test, a slow shared machine does not."""
VOLATILE_COLUMNS = {
    "_ingested_at",
    "ingested_at",
    "first_ingested_at",
    "_quarantined_at",
    "recorded_at",
    "_row_hash",
}
"""Columns that legitimately differ between two runs on the same deliveries: when they ran."""


def scratch_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@pytest.fixture
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="shelfguard-faults-", dir=scratch_root()))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_template() -> Iterator[DataHome]:
    """The deliveries every fault test starts from (copied with their mtimes, so equal deliveries)."""
    folder = Path(tempfile.mkdtemp(prefix="shelfguard-faults-template-", dir=scratch_root()))
    home = DataHome(folder / "home").ensure()
    generate(home, days=5, stores=2, products=4, seed=7, faults=FAULTS, retailers=RETAILERS)
    yield home
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def clean_run(demo_template: DataHome) -> dict[str, tuple[int, str]]:
    """What one uninterrupted run makes of the template's deliveries."""
    home = copy_home(demo_template, demo_template.root.parent / "clean")
    finished = run_pipeline(home)
    assert finished.returncode == 0, finished.stderr
    return snapshot(home)


def copy_home(template: DataHome, target: Path) -> DataHome:
    shutil.copytree(template.root, target, symlinks=True)
    return DataHome(target)


def pipeline_process(home: DataHome, kill_at: str | None = None) -> subprocess.Popen:
    """Start one pipeline run on `home` in its own process (killed at `kill_at`, if given)."""
    env = {**os.environ, "SHELFGUARD_HOME": str(home.root)}
    env.pop(KILL_AT, None)
    if kill_at:
        env[KILL_AT] = kill_at
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.pipeline_process", str(home.root), *RETAILERS],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_pipeline(home: DataHome, kill_at: str | None = None) -> subprocess.CompletedProcess:
    process = pipeline_process(home, kill_at)
    stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def delta_tables(home: DataHome) -> list[Path]:
    return sorted(log.parent for log in home.root.rglob("_delta_log") if log.is_dir())


def snapshot(home: DataHome) -> dict[str, tuple[int, str]]:
    """Every Delta table and quarantined file of the home: rows and a checksum of their content
    (volatile columns left out, the home's own path written as `<home>`), by relative path."""
    found = {}
    for table in delta_tables(home):
        rows = pl.read_delta(str(table))
        found[str(table.relative_to(home.root))] = (rows.height, _checksum(rows, home))
    for kept in sorted((home.quarantine / "files").rglob("*")):
        if not kept.is_file():
            continue
        content = kept.read_bytes()
        if kept.name.endswith(".reason.json"):
            reason = json.loads(content)
            reason.pop("ingested_at", None)
            content = json.dumps(reason, sort_keys=True).replace(str(home.root), "<home>").encode()
        found[str(kept.relative_to(home.root))] = (1, hashlib.sha256(content).hexdigest())
    return found


def _checksum(rows: pl.DataFrame, home: DataHome) -> str:
    if {"channel", "delivered_at"} <= set(rows.columns):  # a pull is delivered when it is pulled
        pulled = pl.col("channel") != "landing"
        delivered = pl.when(pulled).then(None).otherwise(pl.col("delivered_at"))
        rows = rows.with_columns(delivered.alias("delivered_at"))
    columns = sorted(c for c in rows.columns if c not in VOLATILE_COLUMNS)
    text = rows.select(
        pl.col(c).cast(pl.String) if not isinstance(rows.schema[c], pl.List) else pl.col(c).list.join("|")
        for c in columns
    ).with_columns(pl.all().str.replace_all(str(home.root), "<home>", literal=True))
    return hashlib.sha256(text.sort(columns, nulls_last=True).write_csv().encode()).hexdigest()


def orphans(home: DataHome) -> list[Path]:
    """Data files under the home that no Delta commit references."""
    return [path for table in delta_tables(home) for path in orphan_files(table)]


def differences(actual: dict, expected: dict) -> list[str]:
    """The tables and files whose rows or content differ, one line each (empty: equal)."""
    lines = []
    for name in sorted(set(actual) | set(expected)):
        if actual.get(name) != expected.get(name):
            got, want = actual.get(name, (None, "")), expected.get(name, (None, ""))
            lines.append(f"{name}: {got[0]} rows ({got[1][:8]}), clean run: {want[0]} ({want[1][:8]})")
    return lines
