"""Demo data generated once per test session: a clean run and a run with every fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfguard.demo_data import GenerationReport, generate
from shelfguard.settings import DataHome


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    home = tmp_path_factory.mktemp("clean_home")
    return home, generate(DataHome(home))


@pytest.fixture(scope="session")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    home = tmp_path_factory.mktemp("faulty_home")
    return home, generate(DataHome(home), faults=["all"])
