"""Fixtures shared by every test area: an isolated data home and the repository paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import polars as pl

    from shelfguard.settings import DataHome

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"

os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
FIXTURE_START = "2025-03-24"
FIXTURE_AS_OF = "2025-12-31T00:00:00Z"
"""The demo data of the tests is a fixed calendar (from a Monday: 14 days are two whole weeks touching
two months) seen from a fixed moment after all of it arrived, so fault targets, file names and the
report are the same on any day; tests of the calendar that ends on its reference moment unset the
start (tests/generator/test_demo_calendar.py)."""
os.environ.setdefault("SHELFGUARD_DEMO_START", FIXTURE_START)
os.environ.setdefault("SHELFGUARD_DEMO_AS_OF", FIXTURE_AS_OF)


@pytest.fixture
def shelfguard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SHELFGUARD_HOME for one test."""
    home = tmp_path / "shelfguard_home"
    home.mkdir()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of the test run (`checks.spark_session`: local Sail unless SPARK_REMOTE or
    Databricks Connect is configured), started on first use and stopped at the end of the session."""
    from checks import spark_session

    session = spark_session.spark_session()
    yield session
    spark_session.stop()


@dataclass
class AllFaultsDemo:
    """The demo with every fault, run through the pipeline, then run again with nothing new, then
    with one day delivered a second time; and the same demo generated and run in another home."""

    home: DataHome
    report: object
    """The generator's `GenerationReport`."""
    gold_first: dict[str, pl.DataFrame]
    """Every gold table after the first run."""
    gold_rerun: dict[str, pl.DataFrame]
    """Every gold table after the second run, which had nothing new."""
    lineage_first: str
    """The lineage file after the first run (later runs with nothing new take in no landing file)."""
    versions_first: dict[str, int | None]
    versions_redelivered: dict[str, int | None]
    """Gold versions after the first run, and after the third (one day delivered again)."""
    again: DataHome


ALL_FAULTS_SIZE = {"days": 8, "stores": 3, "products": 6}


@pytest.fixture(scope="session")
def all_faults_demo(tmp_path_factory: pytest.TempPathFactory) -> AllFaultsDemo:
    """One all-faults demo for the tests that only read it (tests/pipeline/test_demo_end_to_end.py,
    tests/silver_gold/test_invariant.py): its four pipeline runs are made once per session."""
    import shutil

    import dagster as dg
    import polars as pl

    from assets.gold.publish import gold_path
    from assets.plan import CANONICAL_OBJECTS
    from assets.storage import tables
    from shelfguard.demo_data import generate
    from shelfguard.demo_sources import demo_sources
    from shelfguard.pipeline import run_pipeline
    from shelfguard.settings import DataHome

    def run(home: DataHome) -> None:
        os.environ["SHELFGUARD_HOME"] = str(home.root)
        with demo_sources(home):
            outcome = run_pipeline(home, instance=dg.DagsterInstance.ephemeral())
        assert outcome.errors() == [], "faults block batches; they never break the pipeline"

    def gold(home: DataHome) -> dict[str, pl.DataFrame]:
        return {obj: pl.read_delta(str(gold_path(home, obj))) for obj in CANONICAL_OBJECTS}

    def versions(home: DataHome) -> dict[str, int | None]:
        return {obj: tables.version(gold_path(home, obj)) for obj in CANONICAL_OBJECTS}

    previous = os.environ.get("SHELFGUARD_HOME")
    try:
        home = DataHome(tmp_path_factory.mktemp("all_faults_demo")).ensure()
        report = generate(home, faults=["all"], **ALL_FAULTS_SIZE)
        run(home)
        gold_first, versions_first = gold(home), versions(home)
        lineage_first = home.lineage_file.read_text("utf-8")
        run(home)
        gold_rerun = gold(home)
        landing = home.landing_for("nwg_us")
        day = sorted(landing.glob("nwg_pos_*.csv"))[0]
        shutil.copy2(day, landing / f"{day.stem}_copy.csv")  # the same day delivered again, nothing else new
        run(home)
        again = DataHome(tmp_path_factory.mktemp("all_faults_demo_again")).ensure()
        generate(again, faults=["all"], **ALL_FAULTS_SIZE)
        run(again)
    finally:
        if previous is None:
            os.environ.pop("SHELFGUARD_HOME", None)
        else:
            os.environ["SHELFGUARD_HOME"] = previous
    return AllFaultsDemo(
        home, report, gold_first, gold_rerun, lineage_first, versions_first, versions(home), again
    )
