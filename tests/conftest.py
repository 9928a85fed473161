"""Fixtures shared by every test area: an isolated data home and the repository paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
